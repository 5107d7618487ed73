//! SVCB and HTTPS service parameters (RFC 9460 §2.1, §2.2, §7 and Appendix A).

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use data_encoding::BASE64;

use super::text::{unescape_string, write_escaped};
use crate::master::Token;

const MANDATORY: u16 = 0;
const ALPN: u16 = 1;
const NO_DEFAULT_ALPN: u16 = 2;
const PORT: u16 = 3;
const IPV4HINT: u16 = 4;
const ECH: u16 = 5;
const IPV6HINT: u16 = 6;

const NAMES: [&str; 7] = [
    "mandatory",
    "alpn",
    "no-default-alpn",
    "port",
    "ipv4hint",
    "ech",
    "ipv6hint",
];

fn key_from_text(text: &[u8]) -> Option<u16> {
    if let Some(i) = NAMES
        .iter()
        .position(|n| n.as_bytes().eq_ignore_ascii_case(text))
    {
        return Some(i as u16);
    }
    let digits = text.strip_prefix(b"key")?;
    let key: u16 = super::text::number(digits)?;
    (key != u16::MAX).then_some(key)
}

fn write_key(key: u16, out: &mut String) {
    match NAMES.get(usize::from(key)) {
        Some(name) => out.push_str(name),
        None => {
            let _ = write!(out, "key{key}");
        }
    }
}

/// Checks wire-format parameters: keys strictly increasing, lengths in bounds, and the
/// values of the keys defined by RFC 9460 well formed.
pub(super) fn check_params(mut wire: &[u8]) -> Result<(), ()> {
    let mut last: Option<u16> = None;
    while !wire.is_empty() {
        let [k0, k1, l0, l1, rest @ ..] = wire else {
            return Err(());
        };
        let key = u16::from_be_bytes([*k0, *k1]);
        let len = usize::from(u16::from_be_bytes([*l0, *l1]));
        if last.is_some_and(|l| key <= l) || key == u16::MAX || rest.len() < len {
            return Err(());
        }
        let value = &rest[..len];
        let ok = match key {
            // RFC 9460 §8: a list of keys, never `mandatory` itself (nor the reserved 65535).
            MANDATORY => {
                !value.is_empty()
                    && value.len() % 2 == 0
                    && value
                        .chunks(2)
                        .all(|k| !matches!(u16::from_be_bytes([k[0], k[1]]), MANDATORY | u16::MAX))
            }
            ALPN => !value.is_empty() && alpn_ids(value).is_some(),
            NO_DEFAULT_ALPN => value.is_empty(),
            PORT => value.len() == 2,
            IPV4HINT => !value.is_empty() && value.len() % 4 == 0,
            IPV6HINT => !value.is_empty() && value.len() % 16 == 0,
            _ => true,
        };
        if !ok {
            return Err(());
        }
        last = Some(key);
        wire = &rest[len..];
    }
    Ok(())
}

fn alpn_ids(mut value: &[u8]) -> Option<Vec<&[u8]>> {
    let mut ids = Vec::new();
    while let [len, rest @ ..] = value {
        let len = usize::from(*len);
        if len == 0 || rest.len() < len {
            return None;
        }
        ids.push(&rest[..len]);
        value = &rest[len..];
    }
    Some(ids)
}

/// Reads parameters from their tokens; on error returns the index of the bad token.
pub(super) fn parse_params(tokens: &[Token<'_>], out: &mut Vec<u8>) -> Result<(), usize> {
    let mut params: Vec<(u16, Vec<u8>)> = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let text = token.bytes;
        let (key_text, value) = match text.iter().position(|&b| b == b'=') {
            Some(eq) => {
                let mut value = &text[eq + 1..];
                if value.len() >= 2 && value[0] == b'"' && value[value.len() - 1] == b'"' {
                    value = &value[1..value.len() - 1];
                }
                (&text[..eq], Some(value))
            }
            None => (text, None),
        };
        let key = key_from_text(key_text).ok_or(i)?;
        let wire = parse_value(key, value).ok_or(i)?;
        if params.iter().any(|(k, _)| *k == key) {
            return Err(i);
        }
        params.push((key, wire));
    }
    params.sort_by_key(|(k, _)| *k);
    for (key, value) in params {
        out.extend_from_slice(&key.to_be_bytes());
        out.extend_from_slice(
            &u16::try_from(value.len())
                .map_err(|_| 0usize)?
                .to_be_bytes(),
        );
        out.extend_from_slice(&value);
    }
    Ok(())
}

/// Splits a value list at unescaped commas (RFC 9460 Appendix A.1), decoding escapes.
fn value_list(text: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut items = vec![Vec::new()];
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'\\' => {
                let (b, used) = crate::name::unescape(&text[i + 1..])?;
                items.last_mut()?.push(b);
                i += 1 + used;
            }
            b',' => {
                items.push(Vec::new());
                i += 1;
            }
            b => {
                items.last_mut()?.push(b);
                i += 1;
            }
        }
    }
    items.iter().all(|item| !item.is_empty()).then_some(items)
}

fn parse_value(key: u16, value: Option<&[u8]>) -> Option<Vec<u8>> {
    let mut wire = Vec::new();
    match key {
        NO_DEFAULT_ALPN => {
            if value.is_some_and(|v| !v.is_empty()) {
                return None;
            }
        }
        MANDATORY => {
            for item in value_list(value?)? {
                let key = key_from_text(&item)?;
                if key == MANDATORY {
                    return None;
                }
                wire.extend_from_slice(&key.to_be_bytes());
            }
        }
        ALPN => {
            for item in value_list(value?)? {
                wire.push(u8::try_from(item.len()).ok()?);
                wire.extend_from_slice(&item);
            }
        }
        PORT => {
            let port: u16 = super::text::number(value?)?;
            wire.extend_from_slice(&port.to_be_bytes());
        }
        IPV4HINT => {
            for item in value_list(value?)? {
                let addr: Ipv4Addr = std::str::from_utf8(&item).ok()?.parse().ok()?;
                wire.extend_from_slice(&addr.octets());
            }
        }
        IPV6HINT => {
            for item in value_list(value?)? {
                let addr: Ipv6Addr = std::str::from_utf8(&item).ok()?.parse().ok()?;
                wire.extend_from_slice(&addr.octets());
            }
        }
        ECH => wire = BASE64.decode(value?).ok()?,
        _ => wire = unescape_string(value.unwrap_or(b""))?,
    }
    Some(wire)
}

/// Writes parameters that passed [`check_params`]; returns false if there were none.
pub(super) fn write_params(mut wire: &[u8], out: &mut String) -> bool {
    let mut any = false;
    while let [k0, k1, l0, l1, rest @ ..] = wire {
        let key = u16::from_be_bytes([*k0, *k1]);
        let len = usize::from(u16::from_be_bytes([*l0, *l1]));
        let value = &rest[..len];
        if any {
            out.push(' ');
        }
        any = true;
        write_key(key, out);
        let list = |out: &mut String, items: Vec<String>| {
            out.push('=');
            out.push_str(&items.join(","));
        };
        match key {
            NO_DEFAULT_ALPN => {}
            MANDATORY => {
                let keys = value
                    .chunks(2)
                    .map(|c| {
                        let mut s = String::new();
                        write_key(u16::from_be_bytes([c[0], c[1]]), &mut s);
                        s
                    })
                    .collect();
                list(out, keys);
            }
            ALPN => {
                let ids = alpn_ids(value)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|id| {
                        let mut s = String::new();
                        for &b in id {
                            match b {
                                b',' => s.push_str("\\044"),
                                _ => write_escaped(&[b], &mut s),
                            }
                        }
                        s
                    })
                    .collect();
                list(out, ids);
            }
            PORT => {
                let _ = write!(out, "={}", u16::from_be_bytes([value[0], value[1]]));
            }
            IPV4HINT => list(
                out,
                value
                    .chunks(4)
                    .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]).to_string())
                    .collect(),
            ),
            IPV6HINT => list(
                out,
                value
                    .chunks(16)
                    .map(|c| Ipv6Addr::from(<[u8; 16]>::try_from(c).expect("16")).to_string())
                    .collect(),
            ),
            ECH => {
                out.push('=');
                out.push_str(&BASE64.encode(value));
            }
            _ => {
                out.push('=');
                super::text::write_char_string(value, out);
            }
        }
        wire = &rest[len..];
    }
    any
}
