//! Presentation format of rdata fields (RFC 1035 §5.1, RFC 3597 §5, and each type's RFC).

use std::fmt::Write as _;

use data_encoding::{BASE32HEX_NOPAD, BASE64, HEXUPPER_PERMISSIVE};

use super::schema::Field;
use super::{RdataError, svcb};
use crate::calendar::{civil_from_days, days_from_civil};
use crate::master::Token;
use crate::name::{Name, unescape, write_label};
use crate::rtype::RecordType;

fn err(token: usize, expected: &'static str) -> RdataError {
    RdataError { token, expected }
}

/// Reads `tokens` into `out` following `layout`.
pub(super) fn parse_fields(
    layout: &[Field],
    tokens: &[Token<'_>],
    origin: Option<&Name>,
    out: &mut Vec<u8>,
) -> Result<(), RdataError> {
    let mut at = 0;
    for &field in layout {
        let token = tokens.get(at);
        let need = |what| token.map(|t| t.bytes).ok_or(err(at, what));
        match field {
            Field::U8 => {
                out.push(number(need("an 8-bit number")?).ok_or(err(at, "an 8-bit number"))?)
            }
            Field::U16 => out.extend_from_slice(
                &number::<u16>(need("a 16-bit number")?)
                    .ok_or(err(at, "a 16-bit number"))?
                    .to_be_bytes(),
            ),
            Field::U32 => out.extend_from_slice(
                &number::<u32>(need("a 32-bit number")?)
                    .ok_or(err(at, "a 32-bit number"))?
                    .to_be_bytes(),
            ),
            Field::Duration => out.extend_from_slice(
                &duration(need("a duration")?)
                    .ok_or(err(at, "a duration such as 3600 or 1h"))?
                    .to_be_bytes(),
            ),
            Field::Name => {
                let name =
                    Name::from_text(need("a domain name")?, origin).map_err(|e| match e {
                        crate::name::NameError::NoOrigin => {
                            err(at, "an absolute domain name (no $ORIGIN is set)")
                        }
                        _ => err(at, "a domain name"),
                    })?;
                out.extend_from_slice(name.as_wire());
            }
            Field::Ipv4 => {
                let text = std::str::from_utf8(need("an IPv4 address")?).unwrap_or("");
                let addr: std::net::Ipv4Addr =
                    text.parse().map_err(|_| err(at, "an IPv4 address"))?;
                out.extend_from_slice(&addr.octets());
            }
            Field::Ipv6 => {
                let text = std::str::from_utf8(need("an IPv6 address")?).unwrap_or("");
                let addr: std::net::Ipv6Addr =
                    text.parse().map_err(|_| err(at, "an IPv6 address"))?;
                out.extend_from_slice(&addr.octets());
            }
            Field::CharString => {
                char_string(need("a character string")?, out)
                    .ok_or(err(at, "a character string of at most 255 octets"))?;
            }
            Field::CharStrings => {
                need("a character string")?;
                while let Some(t) = tokens.get(at) {
                    char_string(t.bytes, out)
                        .ok_or(err(at, "a character string of at most 255 octets"))?;
                    at += 1;
                }
                continue;
            }
            Field::HexRest | Field::Base64Rest => {
                let (what, encoding) = if field == Field::HexRest {
                    ("hexadecimal data", &HEXUPPER_PERMISSIVE)
                } else {
                    ("base64 data", &BASE64)
                };
                need(what)?;
                let joined: Vec<u8> = tokens[at..].iter().flat_map(|t| t.bytes).copied().collect();
                let decoded = encoding.decode(&joined).map_err(|_| err(at, what))?;
                out.extend_from_slice(&decoded);
                at = tokens.len();
                continue;
            }
            Field::Salt => {
                let text = need("a salt in hexadecimal or -")?;
                let salt = if text == b"-" {
                    Vec::new()
                } else {
                    HEXUPPER_PERMISSIVE
                        .decode(text)
                        .map_err(|_| err(at, "a salt in hexadecimal or -"))?
                };
                length_prefixed(&salt, out).ok_or(err(at, "a salt of at most 255 octets"))?;
            }
            Field::NextHashed => {
                let text = need("a base32hex hash")?.to_ascii_uppercase();
                let hash = BASE32HEX_NOPAD
                    .decode(&text)
                    .map_err(|_| err(at, "a base32hex hash"))?;
                if hash.is_empty() {
                    return Err(err(at, "a base32hex hash"));
                }
                length_prefixed(&hash, out).ok_or(err(at, "a hash of at most 255 octets"))?;
            }
            Field::TypeBitmap => {
                let mut types = Vec::new();
                for (i, t) in tokens.iter().enumerate().skip(at) {
                    types.push(RecordType::from_text(t.bytes).ok_or(err(i, "a record type"))?);
                }
                types.sort();
                types.dedup();
                super::encode_bitmap(&types, out);
                at = tokens.len();
                continue;
            }
            Field::Type => {
                let rtype = RecordType::from_text(need("a record type")?)
                    .ok_or(err(at, "a record type"))?;
                out.extend_from_slice(&rtype.0.to_be_bytes());
            }
            Field::Time => {
                let time = rrsig_time(need("a time as YYYYMMDDHHmmSS")?)
                    .ok_or(err(at, "a time as YYYYMMDDHHmmSS"))?;
                out.extend_from_slice(&time.to_be_bytes());
            }
            Field::CaaTag => {
                let tag = need("a CAA tag")?;
                if tag.is_empty() || !tag.iter().all(u8::is_ascii_alphanumeric) {
                    return Err(err(at, "a CAA tag of letters and digits"));
                }
                length_prefixed(tag, out).ok_or(err(at, "a CAA tag"))?;
            }
            Field::RestString => {
                let bytes = unescape_string(need("a string")?).ok_or(err(at, "a string"))?;
                out.extend_from_slice(&bytes);
            }
            Field::SvcParams => {
                svcb::parse_params(&tokens[at..], out)
                    .map_err(|i| err(at + i, "a service parameter"))?;
                at = tokens.len();
                continue;
            }
        }
        at += 1;
    }
    if at < tokens.len() {
        return Err(err(at, "the end of the record"));
    }
    Ok(())
}

/// Reads the RFC 3597 generic form `\# length hex…` (the `\#` token included).
pub(super) fn parse_generic(tokens: &[Token<'_>], out: &mut Vec<u8>) -> Result<(), RdataError> {
    let len: usize = tokens
        .get(1)
        .and_then(|t| number::<u16>(t.bytes))
        .ok_or(err(1, "the rdata length after \\#"))?
        .into();
    let joined: Vec<u8> = tokens[2..].iter().flat_map(|t| t.bytes).copied().collect();
    let data = HEXUPPER_PERMISSIVE
        .decode(&joined)
        .map_err(|_| err(2, "hexadecimal rdata"))?;
    if data.len() != len {
        return Err(err(
            tokens.len(),
            "as many rdata octets as the \\# length says",
        ));
    }
    out.extend_from_slice(&data);
    Ok(())
}

/// Writes `wire` following `layout`; fails if the wire does not fit the layout.
pub(super) fn write_fields(
    layout: &[Field],
    wire: &[u8],
    out: &mut String,
) -> Result<(), super::WireError> {
    let mut fields = Vec::with_capacity(layout.len());
    super::for_each_field(layout, wire, |field, bytes| fields.push((field, bytes)))?;
    for (i, (field, bytes)) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let be = |n: usize| {
            bytes
                .iter()
                .take(n)
                .fold(0u32, |a, b| a << 8 | u32::from(*b))
        };
        match field {
            Field::U8 | Field::U16 | Field::U32 | Field::Duration => {
                let _ = write!(out, "{}", be(4));
            }
            Field::Type => {
                let _ = write!(out, "{}", RecordType(be(2) as u16));
            }
            Field::Name => {
                let _ = write!(out, "{}", Name::from_wire_unchecked(bytes));
            }
            Field::Ipv4 => {
                let _ = write!(out, "{}", super::ipv4(bytes).expect("4 octets"));
            }
            Field::Ipv6 => {
                let _ = write!(out, "{}", super::ipv6(bytes).expect("16 octets"));
            }
            Field::CharString => write_char_string(&bytes[1..], out),
            Field::CharStrings => {
                let mut rest = bytes;
                let mut first = true;
                while let [len, tail @ ..] = rest {
                    if !first {
                        out.push(' ');
                    }
                    first = false;
                    write_char_string(&tail[..*len as usize], out);
                    rest = &tail[*len as usize..];
                }
            }
            Field::HexRest => {
                if bytes.is_empty() {
                    return Err(super::WireError::Truncated(field));
                }
                out.push_str(&HEXUPPER_PERMISSIVE.encode(bytes));
            }
            Field::Base64Rest => {
                if bytes.is_empty() {
                    return Err(super::WireError::Truncated(field));
                }
                out.push_str(&BASE64.encode(bytes));
            }
            Field::Salt => {
                if bytes.len() == 1 {
                    out.push('-');
                } else {
                    out.push_str(&HEXUPPER_PERMISSIVE.encode(&bytes[1..]));
                }
            }
            Field::NextHashed => {
                if bytes.len() == 1 {
                    return Err(super::WireError::Malformed(field));
                }
                out.push_str(&BASE32HEX_NOPAD.encode(&bytes[1..]));
            }
            Field::TypeBitmap => {
                let types = super::bitmap_types(bytes);
                for (i, t) in types.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    let _ = write!(out, "{t}");
                }
                if types.is_empty() {
                    // Drop the separator written before an empty bitmap.
                    if out.ends_with(' ') {
                        out.pop();
                    }
                }
            }
            Field::Time => write_rrsig_time(be(4), out),
            Field::CaaTag => {
                if !bytes[1..].iter().all(u8::is_ascii_alphanumeric) {
                    return Err(super::WireError::Malformed(field));
                }
                out.push_str(std::str::from_utf8(&bytes[1..]).expect("alphanumeric"));
            }
            Field::RestString => write_char_string(bytes, out),
            Field::SvcParams => {
                if !svcb::write_params(bytes, out) && out.ends_with(' ') {
                    out.pop();
                }
            }
        }
    }
    Ok(())
}

/// Writes the RFC 3597 generic form.
pub(super) fn write_generic(wire: &[u8], out: &mut String) {
    let _ = write!(out, "\\# {}", wire.len());
    if !wire.is_empty() {
        out.push(' ');
        out.push_str(&HEXUPPER_PERMISSIVE.encode(wire));
    }
}

/// Reads a decimal number of type `T`.
pub(crate) fn number<T: std::str::FromStr>(text: &[u8]) -> Option<T> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// Reads a TTL or SOA timer: decimal seconds or BIND units (`1w2d3h4m5s`, case-insensitive).
pub(crate) fn duration(text: &[u8]) -> Option<u32> {
    if let Some(n) = number::<u32>(text) {
        return Some(n);
    }
    let mut total: u64 = 0;
    let mut current: Option<u64> = None;
    for &c in text {
        if c.is_ascii_digit() {
            let n = current.unwrap_or(0) * 10 + u64::from(c - b'0');
            if n > u64::from(u32::MAX) {
                return None;
            }
            current = Some(n);
        } else {
            let unit = match c.to_ascii_lowercase() {
                b'w' => 604_800,
                b'd' => 86_400,
                b'h' => 3_600,
                b'm' => 60,
                b's' => 1,
                _ => return None,
            };
            total += current.take()? * unit;
        }
    }
    if current.is_some() {
        return None;
    }
    u32::try_from(total).ok()
}

/// Appends one `<character-string>` read from a token: escapes decoded, at most 255 octets.
fn char_string(text: &[u8], out: &mut Vec<u8>) -> Option<()> {
    length_prefixed(&unescape_string(text)?, out)
}

fn length_prefixed(bytes: &[u8], out: &mut Vec<u8>) -> Option<()> {
    out.push(u8::try_from(bytes.len()).ok()?);
    out.extend_from_slice(bytes);
    Some(())
}

/// Decodes `\X` and `\DDD` escapes in a string token.
pub(crate) fn unescape_string(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'\\' {
            let (b, used) = unescape(&text[i + 1..])?;
            out.push(b);
            i += 1 + used;
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Writes octets as a quoted string, escaping `"`, `\` and non-printable octets.
pub(crate) fn write_char_string(bytes: &[u8], out: &mut String) {
    out.push('"');
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\{b:03}");
            }
        }
    }
    out.push('"');
}

/// Reads an RRSIG time: `YYYYMMDDHHmmSS` in UTC, or plain seconds (RFC 4034 §3.2).
fn rrsig_time(text: &[u8]) -> Option<u32> {
    if text.len() != 14 {
        return number(text);
    }
    let field = |range: std::ops::Range<usize>| number::<u32>(&text[range]);
    let (year, month, day) = (field(0..4)?, field(4..6)?, field(6..8)?);
    let (hour, minute, second) = (field(8..10)?, field(10..12)?, field(12..14)?);
    if !(1..=12).contains(&month) || day == 0 || day > 31 || hour > 23 || minute > 59 || second > 60
    {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    let seconds = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    // Serial number arithmetic on 32 bits (RFC 4034 §3.1.5): keep the low 32 bits.
    Some(seconds.rem_euclid(1 << 32) as u32)
}

fn write_rrsig_time(seconds: u32, out: &mut String) {
    let days = i64::from(seconds) / 86_400;
    let rem = i64::from(seconds) % 86_400;
    let (year, month, day) = civil_from_days(days);
    let _ = write!(
        out,
        "{year:04}{month:02}{day:02}{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
}

/// Writes a label-like token for SVCB keys and similar, escaping like a name label.
pub(crate) fn write_escaped(bytes: &[u8], out: &mut String) {
    let _ = write_label(out, bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration(b"3600"), Some(3600));
        assert_eq!(duration(b"1h30m"), Some(5400));
        assert_eq!(duration(b"1W"), Some(604_800));
        assert_eq!(duration(b"1h30"), None);
        assert_eq!(duration(b"h"), None);
        assert_eq!(duration(b"9999999999"), None);
    }

    #[test]
    fn rrsig_times_round_trip() {
        let t = rrsig_time(b"20261121085400").unwrap();
        let mut s = String::new();
        write_rrsig_time(t, &mut s);
        assert_eq!(s, "20261121085400");
        assert_eq!(rrsig_time(b"19700101000000"), Some(0));
    }
}
