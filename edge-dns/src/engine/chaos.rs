//! CHAOS-class identity queries (RFC 4892): the server's name and version, when configured.

use zonefiles::RecordType;

use super::message::{Full, Section, Writer};
use super::{AA, CLASS_CH, Config, Query, rcode};

/// Answers CHAOS-class identity queries (RFC 4892): `id.server`/`hostname.bind` and
/// `version.server`/`version.bind`, TXT or ANY.
pub(super) fn chaos(w: &mut Writer<'_>, query: &Query<'_>, config: &Config) -> u16 {
    let name = query.qname;
    let is = |text: &[u8]| name.eq_ignore_ascii_case(text);
    let value = if is(b"\x02id\x06server\x00") || is(b"\x08hostname\x04bind\x00") {
        config.identity.as_deref()
    } else if is(b"\x07version\x06server\x00") || is(b"\x07version\x04bind\x00") {
        config.version.as_deref()
    } else {
        None
    };
    let Some(value) = value else {
        return rcode::REFUSED;
    };
    if query.qtype != RecordType::TXT.0 && query.qtype != RecordType::ANY.0 {
        w.set_flags(w.flags() | AA);
        return rcode::NOERROR;
    }
    let value = &value[..value.len().min(255)];
    let written = (|| -> Result<(), Full> {
        w.name(name, true)?;
        w.u16(RecordType::TXT.0)?;
        w.u16(CLASS_CH)?;
        w.u32(0)?;
        w.u16(value.len() as u16 + 1)?;
        w.bytes(&[value.len() as u8])?;
        w.bytes(value)
    })();
    if written.is_ok() {
        w.count(Section::Answer);
    }
    w.set_flags(w.flags() | AA);
    rcode::NOERROR
}
