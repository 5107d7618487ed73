//! The field layout of each known record type: one table drives reading presentation format,
//! writing it back, and checking wire-format rdata, so the three can never disagree.

use crate::rtype::RecordType;

/// One field of an rdata layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// An unsigned 8-bit decimal.
    U8,
    /// An unsigned 16-bit decimal.
    U16,
    /// An unsigned 32-bit decimal.
    U32,
    /// A 32-bit duration, decimal or with BIND units (`1h30m`), as in SOA timers.
    Duration,
    /// A domain name, stored uncompressed and lower case (RFC 4034 §6.2).
    Name,
    /// An IPv4 address (4 octets).
    Ipv4,
    /// An IPv6 address (16 octets).
    Ipv6,
    /// One `<character-string>`: a length octet and up to 255 octets.
    CharString,
    /// One or more `<character-string>`s up to the end of the rdata (TXT, SPF).
    CharStrings,
    /// Hexadecimal up to the end of the rdata; may span several tokens.
    HexRest,
    /// Base64 up to the end of the rdata; may span several tokens.
    Base64Rest,
    /// A length octet and hexadecimal octets, `-` for none (NSEC3 salt, RFC 5155 §3.3).
    Salt,
    /// A length octet and base32hex octets (NSEC3 next hashed owner, RFC 5155 §3.3).
    NextHashed,
    /// A type bitmap up to the end of the rdata (RFC 4034 §4.1.2), written as type mnemonics.
    TypeBitmap,
    /// A record type code, written as a mnemonic.
    Type,
    /// An RRSIG time, `YYYYMMDDHHmmSS` or seconds (RFC 4034 §3.2).
    Time,
    /// A CAA tag: a length octet and alphanumerics (RFC 8659 §4.1).
    CaaTag,
    /// Octets up to the end of the rdata written as one string without a length (CAA value, URI target).
    RestString,
    /// SVCB/HTTPS parameters up to the end of the rdata (RFC 9460 §2.2).
    SvcParams,
}

use Field::*;

/// The layout of a known type, or `None` when only the RFC 3597 generic form applies.
pub fn layout(rtype: RecordType) -> Option<&'static [Field]> {
    Some(match rtype {
        RecordType::A => &[Ipv4],
        RecordType::NS | RecordType::CNAME | RecordType::PTR | RecordType::DNAME => &[Name],
        RecordType::SOA => &[Name, Name, U32, Duration, Duration, Duration, Duration],
        RecordType::HINFO => &[CharString, CharString],
        RecordType::MX | RecordType::AFSDB | RecordType::KX => &[U16, Name],
        RecordType::TXT | RecordType::SPF => &[CharStrings],
        RecordType::RP => &[Name, Name],
        RecordType::AAAA => &[Ipv6],
        RecordType::SRV => &[U16, U16, U16, Name],
        RecordType::NAPTR => &[U16, U16, CharString, CharString, CharString, Name],
        RecordType::CERT => &[U16, U16, U8, Base64Rest],
        RecordType::DS | RecordType::CDS => &[U16, U8, U8, HexRest],
        RecordType::SSHFP => &[U8, U8, HexRest],
        RecordType::RRSIG => &[Type, U8, U8, U32, Time, Time, U16, Name, Base64Rest],
        RecordType::NSEC => &[Name, TypeBitmap],
        RecordType::DNSKEY | RecordType::CDNSKEY => &[U16, U8, U8, Base64Rest],
        RecordType::DHCID | RecordType::OPENPGPKEY => &[Base64Rest],
        RecordType::NSEC3 => &[U8, U8, U16, Salt, NextHashed, TypeBitmap],
        RecordType::NSEC3PARAM => &[U8, U8, U16, Salt],
        RecordType::TLSA | RecordType::SMIMEA => &[U8, U8, U8, HexRest],
        RecordType::CSYNC => &[U32, U16, TypeBitmap],
        RecordType::ZONEMD => &[U32, U8, U8, HexRest],
        RecordType::SVCB | RecordType::HTTPS => &[U16, Name, SvcParams],
        RecordType::URI => &[U16, U16, RestString],
        RecordType::CAA => &[U8, CaaTag, RestString],
        _ => return None,
    })
}

/// Where a name that answers may need additional records for sits in the rdata: the index of
/// its field in the layout (RFC 1034 §3.6.2 additional processing; RFC 2782 for SRV).
pub fn additional_name_field(rtype: RecordType) -> Option<usize> {
    match rtype {
        RecordType::NS => Some(0),
        RecordType::MX => Some(1),
        RecordType::SRV => Some(3),
        _ => None,
    }
}
