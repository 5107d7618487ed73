//! DNS cookies (RFC 7873) with interoperable server cookies (RFC 9018).
//!
//! A server cookie is 16 bytes: version 1, three reserved bytes, a 32-bit timestamp and an
//! 8-byte SipHash-2-4 of the client cookie, those first 8 bytes and the client's address, keyed
//! by a 128-bit secret. Every satellite of an anycast set given the same secret accepts the
//! cookies of the others. A cookie is valid for an hour (and up to five minutes ahead, for
//! clock skew); one older than half an hour is replaced by a fresh one in the answer.
//!
//! Queries without a cookie pay nothing here; one SipHash (about 20 ns) checks a cookie and
//! at most one more makes a new one.

use std::hash::Hasher;
use std::net::IpAddr;

use siphasher::sip::SipHasher24;

/// The length of the server cookie we issue.
pub const SERVER_LEN: usize = 16;
/// Cookies older than this (seconds) are still valid but replaced (RFC 9018 §4.3).
const REFRESH_AFTER: u32 = 1800;
/// Cookies older than this are invalid (RFC 9018 §4.3).
const VALID_FOR: u32 = 3600;
/// How far in the future a timestamp may be (clock skew between anycast sites).
const FUTURE_SKEW: u32 = 300;

/// The secrets server cookies are made and checked with.
#[derive(Clone)]
pub struct Secrets {
    /// New cookies are made with this one.
    pub current: [u8; 16],
    /// Cookies made with this one are still accepted (during a secret rollover).
    pub previous: Option<[u8; 16]>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets { .. }")
    }
}

/// The COOKIE option of a query (RFC 7873 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cookie {
    /// The client cookie.
    pub client: [u8; 8],
    server: [u8; 32],
    server_len: u8,
}

impl Cookie {
    /// Reads the option data; `None` when its length is not 8 or 16–40 (FORMERR, §5.2.2).
    pub fn read(data: &[u8]) -> Option<Cookie> {
        if data.len() != 8 && !(16..=40).contains(&data.len()) {
            return None;
        }
        let mut cookie = Cookie {
            client: data[..8].try_into().ok()?,
            server: [0; 32],
            server_len: (data.len() - 8) as u8,
        };
        cookie.server[..data.len() - 8].copy_from_slice(&data[8..]);
        Some(cookie)
    }

    /// The server cookie the client sent, if any.
    pub fn server(&self) -> &[u8] {
        &self.server[..usize::from(self.server_len)]
    }

    /// The server cookie to answer with: the client's own when it is ours, valid and recent,
    /// a new one otherwise. The flag says whether the client's cookie was valid.
    pub fn answer(&self, secrets: &Secrets, client: IpAddr, now: u32) -> ([u8; SERVER_LEN], bool) {
        if let Ok(sent) = <[u8; SERVER_LEN]>::try_from(self.server()) {
            let stamp = u32::from_be_bytes([sent[4], sent[5], sent[6], sent[7]]);
            // Serial-number arithmetic: the timestamp wraps in 2106.
            let age = now.wrapping_sub(stamp);
            let fresh = age <= VALID_FOR || age.wrapping_neg() <= FUTURE_SKEW;
            let ours = sent[0] == 1
                && fresh
                && std::iter::once(&secrets.current)
                    .chain(&secrets.previous)
                    .any(|secret| mac(secret, &self.client, &sent[..8], client) == sent[8..]);
            if ours {
                let renew = age <= VALID_FOR && age > REFRESH_AFTER;
                if !renew {
                    return (sent, true);
                }
                return (make(&secrets.current, &self.client, client, now), true);
            }
        }
        (make(&secrets.current, &self.client, client, now), false)
    }
}

/// A new server cookie for this client cookie, address and time (RFC 9018 §4.4).
fn make(secret: &[u8; 16], client_cookie: &[u8; 8], client: IpAddr, now: u32) -> [u8; SERVER_LEN] {
    let mut cookie = [0u8; SERVER_LEN];
    cookie[0] = 1;
    cookie[4..8].copy_from_slice(&now.to_be_bytes());
    let mac = mac(secret, client_cookie, &cookie[..8], client);
    cookie[8..].copy_from_slice(&mac);
    cookie
}

/// The hash part of a server cookie: SipHash-2-4 over the client cookie, the server cookie's
/// first 8 bytes as sent (reserved bytes included) and the client's address.
fn mac(secret: &[u8; 16], client_cookie: &[u8; 8], head: &[u8], client: IpAddr) -> [u8; 8] {
    let mut hash = SipHasher24::new_with_key(secret);
    hash.write(client_cookie);
    hash.write(head);
    match client {
        IpAddr::V4(a) => hash.write(&a.octets()),
        IpAddr::V6(a) => hash.write(&a.octets()),
    }
    hash.finish().to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: [u8; 16] = *b"0123456789abcdef";

    fn secrets() -> Secrets {
        Secrets {
            current: SECRET,
            previous: None,
        }
    }

    /// The worked examples of RFC 9018 Appendix A.
    #[test]
    fn rfc9018_examples() {
        let secret: [u8; 16] = data_hex("e5e973e5a6b2a43f48e7dc849e37bfcf");
        let client: [u8; 8] = data_hex("2464c4abcf10c957");
        let address = "198.51.100.100".parse().unwrap();
        let a1 = make(&secret, &client, address, 1559731985);
        assert_eq!(a1, data_hex::<16>("010000005cf79f111f8130c3eee29480"));
        let a2 = make(&secret, &client, address, 1559734385);
        assert_eq!(a2, data_hex::<16>("010000005cf7a871d4a564a1442aca77"));
        let other: [u8; 8] = data_hex("fc93fc62807ddb86");
        let a3 = make(
            &secret,
            &other,
            "203.0.113.203".parse().unwrap(),
            1559734700,
        );
        assert_eq!(a3, data_hex::<16>("010000005cf7a9acf73a7810aca2381e"));
        let new: [u8; 16] = data_hex("445536bcd2513298075a5d379663c962");
        let ipv6 = "2001:db8:220:1:59de:d0f4:8769:82b8".parse().unwrap();
        let a4 = make(&new, &data_hex("22681ab97d52c298"), ipv6, 1559741961);
        assert_eq!(a4, data_hex::<16>("010000005cf7c609a6bb79d16625507a"));
    }

    /// A.3: the reserved bytes a client sends are part of the hash it is checked against.
    #[test]
    fn reserved_bytes_as_sent_are_hashed() {
        let secrets = Secrets {
            current: data_hex("e5e973e5a6b2a43f48e7dc849e37bfcf"),
            previous: None,
        };
        let sent: [u8; 24] = data_hex("fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5");
        let cookie = Cookie::read(&sent).unwrap();
        let (_, valid) =
            cookie.answer(&secrets, "203.0.113.203".parse().unwrap(), 0x5cf7_8f71 + 60);
        assert!(valid);
    }

    fn data_hex<const N: usize>(text: &str) -> [u8; N] {
        let bytes: Vec<u8> = (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect();
        bytes.try_into().unwrap()
    }

    #[test]
    fn lengths_other_than_8_or_16_to_40_are_malformed() {
        for len in 0..50 {
            let ok = len == 8 || (16..=40).contains(&len);
            assert_eq!(Cookie::read(&vec![7; len]).is_some(), ok, "{len}");
        }
    }

    #[test]
    fn our_cookie_is_echoed_while_recent_and_renewed_after_half_an_hour() {
        let client = "192.0.2.1".parse().unwrap();
        let first = Cookie::read(&[9; 8]).unwrap();
        let (issued, valid) = first.answer(&secrets(), client, 1000);
        assert!(!valid);
        let mut sent = [9u8; 24];
        sent[8..].copy_from_slice(&issued);
        let second = Cookie::read(&sent).unwrap();
        assert_eq!(second.answer(&secrets(), client, 1100), (issued, true));
        let (renewed, valid) = second.answer(&secrets(), client, 1000 + 2000);
        assert!(valid);
        assert_ne!(renewed, issued);
        assert!(!second.answer(&secrets(), client, 1000 + 4000).1, "expired");
        assert!(
            !second.answer(&secrets(), client, 1000 - 400).1,
            "too far ahead"
        );
        let other = "192.0.2.2".parse().unwrap();
        assert!(!second.answer(&secrets(), other, 1100).1, "another address");
        let rolled = Secrets {
            current: [1; 16],
            previous: Some(SECRET),
        };
        assert!(second.answer(&rolled, client, 1100).1, "previous secret");
    }
}
