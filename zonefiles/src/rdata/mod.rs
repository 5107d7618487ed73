//! Record data: read from presentation format, written back, and checked in wire format.
//!
//! Rdata is kept in uncompressed wire format with its domain names in lower case, which is its
//! DNSSEC canonical form (RFC 4034 §6.2) and exactly what an answer copies out. Every known type
//! has a field layout ([`schema::layout`]); unknown types, and any type written in the RFC 3597
//! generic form `\# len hex`, are opaque octets (a known type given in generic form is checked
//! against its layout and canonicalised all the same).

pub mod schema;
mod svcb;
pub(crate) mod text;

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::master::Token;
use crate::name::{Name, wire_name_len};
use crate::rtype::RecordType;
pub use schema::Field;

/// Why wire-format rdata does not fit its type's layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The rdata ends inside a field.
    #[error("rdata ends inside its {0:?} field")]
    Truncated(Field),
    /// Bytes are left over after the last field.
    #[error("{0} bytes left after the last rdata field")]
    Trailing(usize),
    /// A field's contents are malformed (a bad name, bitmap or parameter list).
    #[error("malformed {0:?} field")]
    Malformed(Field),
    /// Rdata longer than 65535 octets.
    #[error("rdata longer than 65535 octets")]
    TooLong,
}

/// Why presentation-format rdata could not be read: the token it stopped at and what it wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RdataError {
    /// Index of the offending token; equal to the token count when one was missing.
    pub token: usize,
    /// What was expected there, for the message "expected …".
    pub expected: &'static str,
}

/// Calls `visit` with each field of `wire` under `layout` and the bytes it occupies.
pub fn for_each_field<'a>(
    layout: &[Field],
    wire: &'a [u8],
    mut visit: impl FnMut(Field, &'a [u8]),
) -> Result<(), WireError> {
    if wire.len() > usize::from(u16::MAX) {
        return Err(WireError::TooLong);
    }
    let mut pos = 0;
    for &field in layout {
        let rest = &wire[pos..];
        let len = match field {
            Field::U8 => 1,
            Field::U16 | Field::Type => 2,
            Field::U32 | Field::Duration | Field::Time | Field::Ipv4 => 4,
            Field::Ipv6 => 16,
            Field::Name => match wire_name_len(rest) {
                Ok(len) => len,
                Err(_) if rest.is_empty() => return Err(WireError::Truncated(field)),
                Err(_) => return Err(WireError::Malformed(field)),
            },
            Field::CharString | Field::Salt | Field::NextHashed | Field::CaaTag => {
                let len = 1 + *rest.first().ok_or(WireError::Truncated(field))? as usize;
                if field == Field::CaaTag && len == 1 {
                    return Err(WireError::Malformed(field));
                }
                len
            }
            Field::CharStrings => {
                let mut at = 0;
                while at < rest.len() {
                    at += 1 + rest[at] as usize;
                }
                if at > rest.len() || rest.is_empty() {
                    return Err(WireError::Truncated(field));
                }
                at
            }
            Field::TypeBitmap => {
                check_type_bitmap(rest).map_err(|()| WireError::Malformed(field))?;
                rest.len()
            }
            Field::SvcParams => {
                svcb::check_params(rest).map_err(|()| WireError::Malformed(field))?;
                rest.len()
            }
            Field::HexRest | Field::Base64Rest | Field::RestString => rest.len(),
        };
        if len > rest.len() {
            return Err(WireError::Truncated(field));
        }
        visit(field, &rest[..len]);
        pos += len;
    }
    if pos != wire.len() {
        return Err(WireError::Trailing(wire.len() - pos));
    }
    Ok(())
}

/// Checks wire-format rdata of `rtype` and lower-cases the names in it (RFC 4034 §6.2).
/// Unknown types are accepted as they are.
pub fn canonicalize(rtype: RecordType, wire: &mut [u8]) -> Result<(), WireError> {
    let Some(layout) = schema::layout(rtype) else {
        return if wire.len() > usize::from(u16::MAX) {
            Err(WireError::TooLong)
        } else {
            Ok(())
        };
    };
    let mut names = Vec::new();
    let base = wire.as_ptr() as usize;
    for_each_field(layout, wire, |field, bytes| {
        if field == Field::Name {
            names.push(bytes.as_ptr() as usize - base);
        }
    })?;
    for start in names {
        crate::name::lowercase_wire(&mut wire[start..]);
    }
    Ok(())
}

/// Reads the rdata of one record of type `rtype` from its presentation-format tokens.
pub fn parse(
    rtype: RecordType,
    tokens: &[Token<'_>],
    origin: Option<&Name>,
    out: &mut Vec<u8>,
) -> Result<(), RdataError> {
    out.clear();
    if tokens
        .first()
        .is_some_and(|t| !t.quoted && t.bytes == b"\\#")
    {
        text::parse_generic(tokens, out)?;
        return canonicalize(rtype, out).map_err(|_| RdataError {
            token: tokens.len().saturating_sub(1),
            expected: "generic rdata that fits the type's format",
        });
    }
    let Some(layout) = schema::layout(rtype) else {
        return Err(RdataError {
            token: 0,
            expected: "the RFC 3597 generic form `\\# length hex` for this type",
        });
    };
    text::parse_fields(layout, tokens, origin, out)?;
    if out.len() > usize::from(u16::MAX) {
        return Err(RdataError {
            token: tokens.len() - 1,
            expected: "rdata of at most 65535 octets",
        });
    }
    Ok(())
}

/// Writes wire-format rdata in presentation format; opaque or malformed data is written in
/// the RFC 3597 generic form, so the output always reads back to the same octets.
pub fn write(rtype: RecordType, wire: &[u8], out: &mut String) {
    let start = out.len();
    if let Some(layout) = schema::layout(rtype)
        && text::write_fields(layout, wire, out).is_ok()
    {
        return;
    }
    out.truncate(start);
    text::write_generic(wire, out);
}

/// Reads the IPv4 address of an `A` rdata.
pub fn ipv4(wire: &[u8]) -> Option<Ipv4Addr> {
    <[u8; 4]>::try_from(wire).ok().map(Ipv4Addr::from)
}

/// Reads the IPv6 address of an `AAAA` rdata.
pub fn ipv6(wire: &[u8]) -> Option<Ipv6Addr> {
    <[u8; 16]>::try_from(wire).ok().map(Ipv6Addr::from)
}

/// The wire-format bytes of the name in layout field `index` of `wire`, if that field is a
/// name; no allocation.
pub fn name_field_wire(rtype: RecordType, wire: &[u8], index: usize) -> Option<&[u8]> {
    let layout = schema::layout(rtype)?;
    let mut found = None;
    let mut i = 0;
    for_each_field(layout, wire, |field, bytes| {
        if i == index && field == Field::Name {
            found = Some(bytes);
        }
        i += 1;
    })
    .ok()?;
    found
}

/// The domain name in the layout field `index` of `wire`, if that field is a name.
pub fn name_field(rtype: RecordType, wire: &[u8], index: usize) -> Option<Name> {
    let layout = schema::layout(rtype)?;
    let mut found = None;
    let mut i = 0;
    for_each_field(layout, wire, |field, bytes| {
        if i == index && field == Field::Name {
            found = Some(Name::from_wire_unchecked(bytes));
        }
        i += 1;
    })
    .ok()?;
    found
}

/// The SOA serial (RFC 1035 §3.3.13) of an SOA rdata.
pub fn soa_serial(wire: &[u8]) -> Option<u32> {
    soa_u32(wire, 0)
}

/// The SOA minimum field, the negative-caching TTL bound (RFC 2308 §4).
pub fn soa_minimum(wire: &[u8]) -> Option<u32> {
    soa_u32(wire, 4)
}

fn soa_u32(wire: &[u8], index: usize) -> Option<u32> {
    let mname = wire_name_len(wire).ok()?;
    let rname = wire_name_len(wire.get(mname..)?).ok()?;
    let at = mname + rname + 4 * index;
    let bytes = wire.get(at..at + 4)?;
    if wire.len() != mname + rname + 20 {
        return None;
    }
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

/// Replaces the serial of an SOA rdata.
pub fn set_soa_serial(wire: &mut [u8], serial: u32) -> Option<()> {
    let mname = wire_name_len(wire).ok()?;
    let rname = wire_name_len(wire.get(mname..)?).ok()?;
    let at = mname + rname;
    wire.get_mut(at..at + 4)?
        .copy_from_slice(&serial.to_be_bytes());
    Some(())
}

/// Checks a type bitmap (RFC 4034 §4.1.2): windows in increasing order, 1–32 octets each,
/// no trailing zero octets (so a bitmap has one encoding, the one its text form reads to).
fn check_type_bitmap(mut bitmap: &[u8]) -> Result<(), ()> {
    let mut last_window: Option<u8> = None;
    while !bitmap.is_empty() {
        let [window, len, rest @ ..] = bitmap else {
            return Err(());
        };
        let len = *len as usize;
        if last_window.is_some_and(|last| *window <= last)
            || len == 0
            || len > 32
            || rest.len() < len
            || rest[len - 1] == 0
        {
            return Err(());
        }
        last_window = Some(*window);
        bitmap = &rest[len..];
    }
    Ok(())
}

/// The types listed in a type bitmap, in increasing order.
pub fn bitmap_types(bitmap: &[u8]) -> Vec<RecordType> {
    let mut types = Vec::new();
    let mut rest = bitmap;
    while let [window, len, tail @ ..] = rest {
        let len = (*len as usize).min(tail.len());
        for (i, byte) in tail[..len].iter().enumerate() {
            for bit in 0..8 {
                if byte & (0x80 >> bit) != 0 {
                    types.push(RecordType(u16::from(*window) << 8 | (i * 8 + bit) as u16));
                }
            }
        }
        rest = &tail[len..];
    }
    types
}

/// Encodes a sorted, deduplicated list of types as a type bitmap (RFC 4034 §4.1.2).
pub fn encode_bitmap(types: &[RecordType], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < types.len() {
        let window = (types[i].0 >> 8) as u8;
        let mut bits = [0u8; 32];
        let mut used = 0;
        while i < types.len() && (types[i].0 >> 8) as u8 == window {
            let low = (types[i].0 & 0xff) as usize;
            bits[low / 8] |= 0x80 >> (low % 8);
            used = low / 8 + 1;
            i += 1;
        }
        out.push(window);
        out.push(used as u8);
        out.extend_from_slice(&bits[..used]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitmap_round_trip() {
        let types = [
            RecordType::A,
            RecordType::NS,
            RecordType::SOA,
            RecordType::RRSIG,
            RecordType::NSEC,
            RecordType::CAA,
        ];
        let mut wire = Vec::new();
        encode_bitmap(&types, &mut wire);
        assert!(check_type_bitmap(&wire).is_ok());
        assert_eq!(bitmap_types(&wire), types);
    }

    #[test]
    fn rejects_truncated_wire() {
        let layout = schema::layout(RecordType::MX).unwrap();
        assert_eq!(
            for_each_field(layout, &[0, 10, 3, b'c'], |_, _| ()),
            Err(WireError::Malformed(Field::Name))
        );
        assert_eq!(
            for_each_field(layout, &[0, 10, 0, 1], |_, _| ()),
            Err(WireError::Trailing(1))
        );
    }
}
