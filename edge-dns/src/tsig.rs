//! TSIG (RFC 8945) for zone transfers, NOTIFY and signed queries, on hickory-proto's
//! implementation: a keyring from the configuration, request verification with the time
//! check the crate leaves to its caller, and response signing, including the later messages
//! of a multi-message transfer (§5.3.1), which the crate has no helper for.
//!
//! Only HMAC-SHA256, -SHA384 and -SHA512 are accepted, with full-length MACs.

use std::sync::Arc;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::tsig::{TSIG, TsigAlgorithm, TsigError, make_tsig_record};
use hickory_proto::rr::{Name as HName, Record};
use hickory_proto::rr::{TSigResponseContext, TSigner};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};

use crate::config::KeyConfig;

/// The time difference allowed between signer and verifier, in seconds (RFC 8945 §10
/// recommends 300).
pub const FUDGE: u16 = 300;

/// One key.
#[derive(Clone)]
pub struct Key {
    /// The key's name, as configured (lower case, absolute).
    pub name: String,
    signer: TSigner,
}

/// A `[[key]]` that cannot be used, and why.
#[derive(Debug, Clone, thiserror::Error)]
#[error("[[key]] {key}: {why}")]
pub struct KeyError {
    /// The key's name as configured.
    pub key: String,
    /// What is wrong.
    pub why: String,
}

/// Signing a message failed (hickory-proto could not read or encode it, or its TSIG record).
#[derive(Debug, Clone, thiserror::Error)]
#[error("signing a message with TSIG: {0}")]
pub struct SignError(String);

fn sign_error(e: impl std::fmt::Display) -> SignError {
    SignError(e.to_string())
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key").field("name", &self.name).finish()
    }
}

impl Key {
    /// A key from its configuration.
    pub fn from_config(config: &KeyConfig) -> Result<Key, KeyError> {
        let bad = |why: String| KeyError {
            key: config.name.clone(),
            why,
        };
        let algorithm = match config.algorithm.to_ascii_lowercase().as_str() {
            "hmac-sha256" => TsigAlgorithm::HmacSha256,
            "hmac-sha384" => TsigAlgorithm::HmacSha384,
            "hmac-sha512" => TsigAlgorithm::HmacSha512,
            other => {
                return Err(bad(format!(
                    "algorithm {other:?}: use hmac-sha256, hmac-sha384 or hmac-sha512"
                )));
            }
        };
        let secret = data_encoding::BASE64
            .decode(config.secret.trim().as_bytes())
            .map_err(|_| bad("the secret is not base64 (tsig-keygen prints one)".into()))?;
        if secret.is_empty() {
            return Err(bad("the secret is empty".into()));
        }
        let name = absolute(&config.name);
        let key_name = HName::from_ascii(&name)
            .map_err(|_| bad("the key name is not a domain name".into()))?;
        let signer =
            TSigner::new(secret, algorithm, key_name, FUDGE).map_err(|e| bad(e.to_string()))?;
        Ok(Key { name, signer })
    }
}

fn absolute(name: &str) -> String {
    let name = name.trim().to_ascii_lowercase();
    if name.ends_with('.') {
        name
    } else {
        format!("{name}.")
    }
}

/// The configured keys.
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    keys: Arc<Vec<Key>>,
}

/// Why a signed request is refused (RFC 8945 §5.2), answered NOTAUTH with this TSIG error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The key is not known, or not with this algorithm (BADKEY).
    BadKey,
    /// The MAC does not verify (BADSIG).
    BadSig,
    /// Signed outside the allowed time window (BADTIME).
    BadTime,
}

impl Failure {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Failure::BadKey => "badkey",
            Failure::BadSig => "badsig",
            Failure::BadTime => "badtime",
        }
    }
}

/// A verified request: what signing the response needs.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The key the request was signed with.
    pub key: Key,
    mac: Vec<u8>,
    id: u16,
    /// The request's Time Signed.
    time: u64,
}

/// The outcome of checking a request's TSIG.
#[derive(Debug)]
pub enum Verdict {
    /// No TSIG record.
    Unsigned,
    /// Signed with a known key, MAC and time good.
    Valid(Signed),
    /// Signed, and refused; answer with [`error_response`].
    Invalid(Failure, Option<Signed>),
}

impl Keyring {
    /// The keyring of a configuration.
    pub fn new(keys: &[KeyConfig]) -> Result<Keyring, KeyError> {
        let keys = keys
            .iter()
            .map(Key::from_config)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Keyring {
            keys: Arc::new(keys),
        })
    }

    /// The key of this name.
    pub fn get(&self, name: &str) -> Option<&Key> {
        let name = absolute(name);
        self.keys.iter().find(|k| k.name == name)
    }

    /// Checks the TSIG of a request (`message` already parsed from `bytes`) at time `now`.
    pub fn verify(&self, bytes: &[u8], message: &Message, now: u64) -> Verdict {
        let Some(tsig) = message.signature.as_deref() else {
            return Verdict::Unsigned;
        };
        let name = tsig.name.to_ascii().to_ascii_lowercase();
        let Some(key) = self.get(&name) else {
            return Verdict::Invalid(Failure::BadKey, None);
        };
        match key.signer.verify_message_byte(bytes, None, true) {
            Ok((mac, time, window)) => {
                let signed = Signed {
                    key: key.clone(),
                    mac,
                    id: message.metadata.id,
                    time,
                };
                if window.start <= now && now <= window.end {
                    Verdict::Valid(signed)
                } else {
                    Verdict::Invalid(Failure::BadTime, Some(signed))
                }
            }
            Err(hickory_proto::dnssec::DnsSecError::TsigWrongKey) => {
                Verdict::Invalid(Failure::BadKey, None)
            }
            Err(_) => Verdict::Invalid(Failure::BadSig, None),
        }
    }
}

impl Signed {
    /// Signs the first (or only) message of the response in place: appends the TSIG record
    /// and counts it. Returns the MAC, which the next message's signature chains from.
    pub fn sign_first(&self, response: &mut Vec<u8>, now: u64) -> Result<Vec<u8>, SignError> {
        let context = TSigResponseContext::new(
            self.id,
            now,
            self.key.signer.clone(),
            self.mac.clone(),
            None,
        );
        let record = context.sign(response).map_err(sign_error)?;
        let mac = record.data.mac.clone();
        append(response, &record)?;
        Ok(mac)
    }

    /// Signs a later message of a multi-message response (RFC 8945 §5.3.1): the MAC covers
    /// the previous MAC, this message and the timers only.
    pub fn sign_next(
        &self,
        response: &mut Vec<u8>,
        previous_mac: &[u8],
        now: u64,
    ) -> Result<Vec<u8>, SignError> {
        let mut tbs = Vec::with_capacity(response.len() + previous_mac.len() + 10);
        tbs.extend_from_slice(&(previous_mac.len() as u16).to_be_bytes());
        tbs.extend_from_slice(previous_mac);
        tbs.extend_from_slice(response);
        tbs.extend_from_slice(&((now >> 32) as u16).to_be_bytes());
        tbs.extend_from_slice(&(now as u32).to_be_bytes());
        tbs.extend_from_slice(&FUDGE.to_be_bytes());
        let mac = self.key.signer.sign(&tbs).map_err(sign_error)?;
        let tsig = TSIG::new(
            self.key.signer.algorithm().clone(),
            now,
            FUDGE,
            mac.clone(),
            self.id,
            None,
            Vec::new(),
        );
        let record = make_tsig_record(self.key.signer.signer_name().clone(), tsig);
        append(response, &record)?;
        Ok(mac)
    }

    /// Signs an outgoing request (NOTIFY) in place; returns its MAC.
    pub fn sign_request(key: &Key, request: &mut Vec<u8>, now: u64) -> Result<Vec<u8>, SignError> {
        let mut message = Message::from_vec(request).map_err(sign_error)?;
        let (record, _) = key.signer.sign_message(&message, now).map_err(sign_error)?;
        let mac = record.data.mac.clone();
        message.set_signature(record);
        *request = message.to_vec().map_err(sign_error)?;
        Ok(mac)
    }
}

/// Appends a TSIG record to a message and counts it in ARCOUNT.
fn append(message: &mut Vec<u8>, record: &Record<TSIG>) -> Result<(), SignError> {
    let mut bytes = Vec::with_capacity(128);
    let mut encoder = BinEncoder::new(&mut bytes);
    record.emit(&mut encoder).map_err(sign_error)?;
    message.extend_from_slice(&bytes);
    let count = u16::from_be_bytes([message[10], message[11]]).wrapping_add(1);
    message[10..12].copy_from_slice(&count.to_be_bytes());
    Ok(())
}

/// The answer to a request whose TSIG failed: NOTAUTH with a TSIG record carrying the error,
/// unsigned for BADKEY and BADSIG, signed for BADTIME (RFC 8945 §5.2).
pub fn error_response(
    request: &Message,
    failure: Failure,
    signed: Option<&Signed>,
    now: u64,
) -> Vec<u8> {
    let mut response = Message::error_msg(
        request.metadata.id,
        request.metadata.op_code,
        ResponseCode::NotAuth,
    );
    response.queries = request.queries.clone();
    let mut bytes = response.to_vec().unwrap_or_default();
    if bytes.len() < 12 {
        return bytes;
    }
    let id = request.metadata.id;
    let record = match (failure, signed, request.signature.as_deref()) {
        // Signed with the request's key, the client's time as Time Signed and the server's in
        // Other Data, so the client can tell how far apart the clocks are (RFC 8945 §5.2.3).
        (Failure::BadTime, Some(signed), _) => {
            let mut other = Vec::with_capacity(6);
            other.extend_from_slice(&((now >> 32) as u16).to_be_bytes());
            other.extend_from_slice(&(now as u32).to_be_bytes());
            let stub = TSIG::new(
                signed.key.signer.algorithm().clone(),
                signed.time,
                FUDGE,
                Vec::new(),
                id,
                Some(TsigError::BadTime),
                other,
            );
            signed
                .key
                .signer
                .encode_response_tbs(&signed.mac, &bytes, &stub)
                .and_then(|tbs| {
                    signed
                        .key
                        .signer
                        .sign(&tbs)
                        .map_err(|e| hickory_proto::ProtoError::from(e.to_string()))
                })
                .map(|mac| {
                    let name = signed.key.signer.signer_name().clone();
                    Box::new(make_tsig_record(name, stub.set_mac(mac)))
                })
        }
        (Failure::BadSig, _, Some(tsig)) => {
            let tsig_data = TSIG::new(
                tsig.data.algorithm.clone(),
                now,
                FUDGE,
                Vec::new(),
                id,
                Some(TsigError::BadSig),
                Vec::new(),
            );
            Ok(Box::new(make_tsig_record(tsig.name.clone(), tsig_data)))
        }
        (_, _, Some(tsig)) => {
            TSigResponseContext::unknown_key(id, now, tsig.name.clone()).sign(&bytes)
        }
        _ => return bytes,
    };
    if let Ok(record) = record {
        let _ = append(&mut bytes, &record);
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{MessageType, OpCode, Query};
    use hickory_proto::rr::RecordType;

    fn key(name: &str, secret: &str) -> KeyConfig {
        KeyConfig {
            name: name.into(),
            algorithm: "hmac-sha256".into(),
            secret: secret.into(),
        }
    }

    fn signed_query(key: &Key, now: u64) -> Vec<u8> {
        let mut message = Message::query();
        message.metadata.id = 77;
        message.metadata.message_type = MessageType::Query;
        message.metadata.op_code = OpCode::Query;
        message.add_query(Query::query(
            HName::from_ascii("tld.").unwrap(),
            RecordType::AXFR,
        ));
        let mut bytes = message.to_vec().unwrap();
        Signed::sign_request(key, &mut bytes, now).unwrap();
        bytes
    }

    #[test]
    fn requests_verify_and_failures_are_told_apart() {
        let ring = Keyring::new(&[key("xfr", "c2VjcmV0IGtleSBmb3IgdGVzdHM=")]).unwrap();
        let good = ring.get("xfr.").unwrap().clone();
        let now = 1_700_000_000;
        let bytes = signed_query(&good, now);
        let message = Message::from_vec(&bytes).unwrap();
        assert!(
            matches!(ring.verify(&bytes, &message, now + 10), Verdict::Valid(_)),
            "a good signature verifies"
        );
        assert!(matches!(
            ring.verify(&bytes, &message, now + 1000),
            Verdict::Invalid(Failure::BadTime, Some(_))
        ));
        let mut tampered = bytes.clone();
        tampered[13] ^= 1; // in the question name
        let t = Message::from_vec(&tampered).unwrap();
        assert!(matches!(
            ring.verify(&tampered, &t, now),
            Verdict::Invalid(Failure::BadSig, None)
        ));
        let stranger = Key::from_config(&key("other", "c2VjcmV0IGtleSBmb3IgdGVzdHM=")).unwrap();
        let bytes = signed_query(&stranger, now);
        let m = Message::from_vec(&bytes).unwrap();
        assert!(matches!(
            ring.verify(&bytes, &m, now),
            Verdict::Invalid(Failure::BadKey, None)
        ));

        // A two-message response verifies with hickory's client-side chain verifier.
        let request = Message::from_vec(&signed_query(&good, now)).unwrap();
        let (_, verifier) = good.signer.sign_message(&request, now).unwrap();
        let mut verifier = verifier.unwrap();
        // The verifier chains from the MAC of the request it signed itself.
        let signed_again = Signed {
            key: good.clone(),
            mac: verifier_mac(&good, &request, now),
            id: 77,
            time: now,
        };
        let mut first = Message::response(77, OpCode::Query).to_vec().unwrap();
        let mac = signed_again.sign_first(&mut first, now).unwrap();
        let mut second = Message::response(77, OpCode::Query).to_vec().unwrap();
        signed_again.sign_next(&mut second, &mac, now).unwrap();
        verifier.verify(&first).unwrap();
        verifier.verify(&second).unwrap();
    }

    fn verifier_mac(key: &Key, request: &Message, now: u64) -> Vec<u8> {
        let (record, _) = key.signer.sign_message(request, now).unwrap();
        record.data.mac.clone()
    }
}
