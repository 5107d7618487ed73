//! Record types and classes (RFC 1035 §3.2.2–3.2.4, RFC 3597 §5 for `TYPEnn`/`CLASSnn`).

use std::fmt;

/// A resource record type code.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordType(pub u16);

macro_rules! record_types {
    ($($name:ident = $code:expr, $text:expr;)*) => {
        impl RecordType {
            $(
                #[doc = concat!("`", $text, "`")]
                pub const $name: RecordType = RecordType($code);
            )*
            /// The mnemonic of a known type, `None` for others.
            pub fn mnemonic(self) -> Option<&'static str> {
                match self.0 {
                    $($code => Some($text),)*
                    _ => None,
                }
            }
            /// Reads a mnemonic (case-insensitive) or `TYPEnn` (RFC 3597 §5).
            pub fn from_text(text: &[u8]) -> Option<RecordType> {
                $(if text.eq_ignore_ascii_case($text.as_bytes()) {
                    return Some(RecordType($code));
                })*
                parse_generic(text, b"TYPE").map(RecordType)
            }
        }
    };
}

record_types! {
    A = 1, "A";
    NS = 2, "NS";
    CNAME = 5, "CNAME";
    SOA = 6, "SOA";
    PTR = 12, "PTR";
    HINFO = 13, "HINFO";
    MX = 15, "MX";
    TXT = 16, "TXT";
    RP = 17, "RP";
    AFSDB = 18, "AFSDB";
    AAAA = 28, "AAAA";
    SRV = 33, "SRV";
    NAPTR = 35, "NAPTR";
    KX = 36, "KX";
    CERT = 37, "CERT";
    DNAME = 39, "DNAME";
    OPT = 41, "OPT";
    DS = 43, "DS";
    SSHFP = 44, "SSHFP";
    RRSIG = 46, "RRSIG";
    NSEC = 47, "NSEC";
    DNSKEY = 48, "DNSKEY";
    DHCID = 49, "DHCID";
    NSEC3 = 50, "NSEC3";
    NSEC3PARAM = 51, "NSEC3PARAM";
    TLSA = 52, "TLSA";
    SMIMEA = 53, "SMIMEA";
    CDS = 59, "CDS";
    CDNSKEY = 60, "CDNSKEY";
    OPENPGPKEY = 61, "OPENPGPKEY";
    CSYNC = 62, "CSYNC";
    ZONEMD = 63, "ZONEMD";
    SVCB = 64, "SVCB";
    HTTPS = 65, "HTTPS";
    SPF = 99, "SPF";
    TSIG = 250, "TSIG";
    IXFR = 251, "IXFR";
    AXFR = 252, "AXFR";
    ANY = 255, "ANY";
    URI = 256, "URI";
    CAA = 257, "CAA";
}

impl RecordType {
    /// Types that may not appear as data in a zone: meta and query types (RFC 6895 §3.1).
    pub fn is_meta(self) -> bool {
        matches!(self.0, 0 | 41 | 128..=255)
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.mnemonic() {
            Some(m) => f.write_str(m),
            None => write!(f, "TYPE{}", self.0),
        }
    }
}

impl fmt::Debug for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A class code; zones served here are `IN`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Class(pub u16);

impl Class {
    /// The Internet class.
    pub const IN: Class = Class(1);
    /// The Chaos class (RFC 1035), used for server identification queries.
    pub const CH: Class = Class(3);
    /// Hesiod.
    pub const HS: Class = Class(4);
    /// CSNET (obsolete).
    pub const CS: Class = Class(2);

    /// Reads `IN`, `CH`, `HS`, `CS` or `CLASSnn` (RFC 3597 §5).
    pub fn from_text(text: &[u8]) -> Option<Class> {
        for (name, class) in [
            (&b"IN"[..], Class::IN),
            (b"CH", Class::CH),
            (b"HS", Class::HS),
            (b"CS", Class::CS),
        ] {
            if text.eq_ignore_ascii_case(name) {
                return Some(class);
            }
        }
        parse_generic(text, b"CLASS").map(Class)
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Class::IN => f.write_str("IN"),
            Class::CH => f.write_str("CH"),
            Class::HS => f.write_str("HS"),
            Class::CS => f.write_str("CS"),
            Class(n) => write!(f, "CLASS{n}"),
        }
    }
}

impl fmt::Debug for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

fn parse_generic(text: &[u8], prefix: &[u8]) -> Option<u16> {
    if text.len() <= prefix.len() || !text[..prefix.len()].eq_ignore_ascii_case(prefix) {
        return None;
    }
    let digits = &text[prefix.len()..];
    if digits.len() > 5 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mnemonics_and_generic_forms() {
        assert_eq!(RecordType::from_text(b"aaaa"), Some(RecordType::AAAA));
        assert_eq!(RecordType::from_text(b"TYPE65"), Some(RecordType::HTTPS));
        assert_eq!(RecordType::from_text(b"type65534"), Some(RecordType(65534)));
        assert_eq!(RecordType::from_text(b"TYPE65536"), None);
        assert_eq!(RecordType(65534).to_string(), "TYPE65534");
        assert_eq!(Class::from_text(b"class1"), Some(Class::IN));
        assert_eq!(Class::from_text(b"in"), Some(Class::IN));
    }
}
