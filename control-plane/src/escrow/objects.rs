//! The registry's objects in RFC 9022's XML, both ways: what a deposit writes for a domain, a
//! host object and a registrar, and what a restore reads back from them.
//!
//! Written with the prefixes the deposit's root element declares ([`NAMESPACES`]); read by
//! namespace, so a deposit with other prefixes (another registry's) reads the same. What RFC
//! 9022 has no place for is not deposited: passwords (registrars' and domains'), balances, the
//! ledger, the history, and what a grace period would refund. A `server…` status carries the
//! case it was set for as its text (`udrp: case-123`), which EPP allows.
//!
//! One file on purpose: each object's writer and reader mirror each other field by field (the
//! round-trip tests below hold them together), and a change to one must be seen beside the other.

use std::fmt::Write as _;
use std::net::IpAddr;

use zonefiles::calendar;
use zonefiles::whois::{DelegationSigner, DomainStatus};

use crate::front::epp::response::date_time;
use crate::front::epp::translate::{ds_data, host_roid, hosts, statuses};
use crate::front::epp::xml::{Element, escape};
use crate::model::{
    Case, Deletion, Domain, Host, Nameserver, Reason, Registrar, Statuses, Transfer, TransferStatus,
};
use crate::publish::domain_roid;

/// RFC 8909's deposit.
pub const RDE: &str = "urn:ietf:params:xml:ns:rde-1.0";
/// RFC 9022's header object.
pub const HEADER: &str = "urn:ietf:params:xml:ns:rdeHeader-1.0";
/// RFC 9022's domain object.
pub const RDE_DOMAIN: &str = "urn:ietf:params:xml:ns:rdeDomain-1.0";
/// RFC 9022's host object.
pub const RDE_HOST: &str = "urn:ietf:params:xml:ns:rdeHost-1.0";
/// RFC 9022's registrar object.
pub const RDE_REGISTRAR: &str = "urn:ietf:params:xml:ns:rdeRegistrar-1.0";
/// RFC 9022's EPP parameters object.
pub const EPP_PARAMS: &str = "urn:ietf:params:xml:ns:rdeEppParams-1.0";
const DOMAIN: &str = crate::front::epp::DOMAIN;
const SECDNS: &str = crate::front::epp::SECDNS;

/// The objects a deposit lists in its menu and counts in its header.
pub const OBJECTS: [&str; 4] = [RDE_DOMAIN, RDE_HOST, RDE_REGISTRAR, EPP_PARAMS];

/// The namespace declarations of a deposit's root element, with the prefixes the writers here
/// use.
pub const NAMESPACES: &str = concat!(
    r#"xmlns:rde="urn:ietf:params:xml:ns:rde-1.0" "#,
    r#"xmlns:rdeHeader="urn:ietf:params:xml:ns:rdeHeader-1.0" "#,
    r#"xmlns:rdeDomain="urn:ietf:params:xml:ns:rdeDomain-1.0" "#,
    r#"xmlns:rdeHost="urn:ietf:params:xml:ns:rdeHost-1.0" "#,
    r#"xmlns:rdeRegistrar="urn:ietf:params:xml:ns:rdeRegistrar-1.0" "#,
    r#"xmlns:rdeEppParams="urn:ietf:params:xml:ns:rdeEppParams-1.0" "#,
    r#"xmlns:domain="urn:ietf:params:xml:ns:domain-1.0" "#,
    r#"xmlns:host="urn:ietf:params:xml:ns:host-1.0" "#,
    r#"xmlns:secDNS="urn:ietf:params:xml:ns:secDNS-1.1" "#,
    r#"xmlns:rgp="urn:ietf:params:xml:ns:rgp-1.0" "#,
    r#"xmlns:epp="urn:ietf:params:xml:ns:epp-1.0""#
);

/// Why an object of a deposit could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ObjectError(pub String);

fn bad(text: impl Into<String>) -> ObjectError {
    ObjectError(text.into())
}

/// A registrar's `clID` in a deposit: its registrar-id, at least three digits (RFC 5730's
/// `clIDType` is 3 to 16 characters).
pub fn client_id(id: u32) -> String {
    format!("{id:03}")
}

/// A domain as a deposit holds it: the domain, its name servers and its latest transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainEntry {
    /// The domain (its `zone` and `cluster` are for the caller to set).
    pub domain: Domain,
    /// Its name servers, in order.
    pub nameservers: Vec<Nameserver>,
    /// Its latest transfer, pending or ended.
    pub transfer: Option<Transfer>,
}

/// One object of a deposit's `<rde:contents>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// The header: the TLD and how many objects of each kind.
    Header {
        /// The TLD.
        tld: String,
        /// (object URI, count).
        counts: Vec<(String, u64)>,
    },
    /// A domain.
    Domain(Box<DomainEntry>),
    /// A host object.
    Host(Host),
    /// A registrar.
    Registrar(Registrar),
    /// The EPP parameters (nothing to restore from them).
    EppParams,
}

/// One name a differential deposit's `<rde:deletes>` removes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Delete {
    /// A domain, by name.
    Domain(String),
    /// A host object, by name.
    Host(String),
    /// A registrar, by registrar-id.
    Registrar(u32),
}

/// Opens a domain's `<rdeDomain:domain>` with its name and ROID.
fn domain_opening(out: &mut String, origin: &str, domain: &Domain) {
    let _ = write!(
        out,
        "<rdeDomain:domain><rdeDomain:name>{}</rdeDomain:name><rdeDomain:roid>{}</rdeDomain:roid>",
        escape(&domain.name),
        domain_roid(domain.id, origin)
    );
}

/// A domain's sponsor (`clID`) and its creation, expiry and last update.
fn sponsor_and_dates(out: &mut String, domain: &Domain) {
    let _ = write!(
        out,
        "<rdeDomain:clID>{}</rdeDomain:clID><rdeDomain:crDate>{}</rdeDomain:crDate><rdeDomain:exDate>{}</rdeDomain:exDate><rdeDomain:upDate>{}</rdeDomain:upDate>",
        client_id(domain.registrar),
        date_time(domain.created),
        date_time(domain.expires),
        date_time(domain.updated)
    );
}

/// Appends a domain's `<rdeDomain:domain>`.
pub fn domain(
    out: &mut String,
    origin: &str,
    domain: &Domain,
    nameservers: &[Nameserver],
    transfer: Option<&Transfer>,
) {
    let pending = transfer.filter(|t| t.status == TransferStatus::Pending);
    domain_opening(out, origin, domain);
    for status in statuses(domain, nameservers, pending) {
        let case = domain
            .case
            .as_ref()
            .filter(|_| status.starts_with("server"));
        match case {
            Some(case) => {
                let _ = write!(
                    out,
                    r#"<rdeDomain:status s="{status}">{}: {}</rdeDomain:status>"#,
                    case.reason.as_str(),
                    escape(&case.reference)
                );
            }
            None => {
                let _ = write!(out, r#"<rdeDomain:status s="{status}"/>"#);
            }
        }
    }
    if let Some(deletion) = domain.deletion {
        let rgp = if deletion.redeemable {
            "redemptionPeriod"
        } else {
            "pendingDelete"
        };
        let _ = write!(out, r#"<rdeDomain:rgpStatus s="{rgp}"/>"#);
    }
    if !nameservers.is_empty() {
        out.push_str("<rdeDomain:ns>");
        hosts(out, nameservers);
        out.push_str("</rdeDomain:ns>");
    }
    sponsor_and_dates(out, domain);
    if !domain.ds.is_empty() {
        out.push_str("<rdeDomain:secDNS>");
        ds_data(out, &domain.ds);
        out.push_str("</rdeDomain:secDNS>");
    }
    if let Some(t) = transfer {
        if t.status.completed() {
            let _ = write!(
                out,
                "<rdeDomain:trDate>{}</rdeDomain:trDate>",
                date_time(t.acted)
            );
        }
        let _ = write!(
            out,
            "<rdeDomain:trnData><rdeDomain:trStatus>{}</rdeDomain:trStatus><rdeDomain:reRr>{}</rdeDomain:reRr><rdeDomain:reDate>{}</rdeDomain:reDate><rdeDomain:acRr>{}</rdeDomain:acRr><rdeDomain:acDate>{}</rdeDomain:acDate><rdeDomain:exDate>{}</rdeDomain:exDate></rdeDomain:trnData>",
            t.status.as_str(),
            client_id(t.gaining),
            date_time(t.requested),
            client_id(t.losing),
            date_time(t.acted),
            date_time(t.expires)
        );
    }
    out.push_str("</rdeDomain:domain>");
}

/// Appends a domain's `<rdeDomain:domain>` as bulk registration data access gives it ("thin"):
/// name, ROID, statuses, sponsor and dates.
pub fn thin_domain(out: &mut String, origin: &str, domain: &Domain, nameservers: &[Nameserver]) {
    domain_opening(out, origin, domain);
    for status in statuses(domain, nameservers, None) {
        let _ = write!(out, r#"<rdeDomain:status s="{status}"/>"#);
    }
    sponsor_and_dates(out, domain);
    out.push_str("</rdeDomain:domain>");
}

/// Appends a host object's `<rdeHost:host>`.
pub fn host(out: &mut String, host: &Host) {
    let _ = write!(
        out,
        r#"<rdeHost:host><rdeHost:name>{}</rdeHost:name><rdeHost:roid>{}</rdeHost:roid><rdeHost:status s="ok"/>"#,
        escape(&host.name),
        host_roid(host.id)
    );
    for address in &host.addresses {
        let family = if address.is_ipv4() { "v4" } else { "v6" };
        let _ = write!(
            out,
            r#"<rdeHost:addr ip="{family}">{address}</rdeHost:addr>"#
        );
    }
    let _ = write!(
        out,
        "<rdeHost:clID>{}</rdeHost:clID><rdeHost:crRr>{}</rdeHost:crRr><rdeHost:crDate>{}</rdeHost:crDate><rdeHost:upDate>{}</rdeHost:upDate></rdeHost:host>",
        client_id(host.registrar),
        client_id(host.creator),
        date_time(host.created),
        date_time(host.updated)
    );
}

/// True if `phone` is an E.164 number as EPP writes it (`+1.5555550100`).
fn e164(phone: &str) -> bool {
    let Some((country, number)) = phone.strip_prefix('+').and_then(|p| p.split_once('.')) else {
        return false;
    };
    let digits = |s: &str, max: usize| {
        !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
    };
    digits(country, 3) && digits(number, 14)
}

/// Appends a registrar's `<rdeRegistrar:registrar>`. Its abuse contact is its `email` and
/// `voice` (a telephone number not in E.164 form is left out).
pub fn registrar(out: &mut String, r: &Registrar) {
    let _ = write!(
        out,
        "<rdeRegistrar:registrar><rdeRegistrar:id>{}</rdeRegistrar:id><rdeRegistrar:name>{}</rdeRegistrar:name>",
        client_id(r.id),
        escape(&r.name)
    );
    if r.iana_id > 0 {
        let _ = write!(
            out,
            "<rdeRegistrar:gurid>{}</rdeRegistrar:gurid>",
            r.iana_id
        );
    }
    let status = if r.active { "ok" } else { "terminated" };
    let _ = write!(out, "<rdeRegistrar:status>{status}</rdeRegistrar:status>");
    if e164(&r.abuse_phone) {
        let _ = write!(
            out,
            "<rdeRegistrar:voice>{}</rdeRegistrar:voice>",
            r.abuse_phone
        );
    }
    if !r.abuse_email.trim().is_empty() {
        let _ = write!(
            out,
            "<rdeRegistrar:email>{}</rdeRegistrar:email>",
            escape(&r.abuse_email)
        );
    }
    if !r.url.trim().is_empty() {
        let _ = write!(
            out,
            "<rdeRegistrar:url>{}</rdeRegistrar:url>",
            escape(&r.url)
        );
    }
    if !r.whois_server.trim().is_empty() {
        let _ = write!(
            out,
            "<rdeRegistrar:whoisInfo><rdeRegistrar:name>{}</rdeRegistrar:name></rdeRegistrar:whoisInfo>",
            escape(&r.whois_server)
        );
    }
    let _ = write!(
        out,
        "<rdeRegistrar:upDate>{}</rdeRegistrar:upDate></rdeRegistrar:registrar>",
        date_time(r.updated)
    );
}

/// Appends the `<rdeEppParams:eppParams>` of the EPP service (what its greeting says).
pub fn epp_params(out: &mut String) {
    out.push_str("<rdeEppParams:eppParams><rdeEppParams:version>1.0</rdeEppParams:version><rdeEppParams:lang>en</rdeEppParams:lang>");
    for object in crate::front::epp::OBJECTS {
        let _ = write!(out, "<rdeEppParams:objURI>{object}</rdeEppParams:objURI>");
    }
    out.push_str("<rdeEppParams:svcExtension>");
    for extension in crate::front::epp::EXTENSIONS {
        let _ = write!(out, "<epp:extURI>{extension}</epp:extURI>");
    }
    let _ = write!(
        out,
        "</rdeEppParams:svcExtension><rdeEppParams:dcp>{}</rdeEppParams:dcp></rdeEppParams:eppParams>",
        crate::front::epp::DATA_COLLECTION
            .replace('<', "<epp:")
            .replace("<epp:/", "</epp:")
    );
}

/// Appends the `<rdeHeader:header>`: the TLD and a count for each object URI.
pub fn header(out: &mut String, tld: &str, counts: &[(&str, u64)]) {
    let _ = write!(
        out,
        "<rdeHeader:header><rdeHeader:tld>{}</rdeHeader:tld>",
        escape(tld)
    );
    for (uri, count) in counts {
        let _ = write!(
            out,
            r#"<rdeHeader:count uri="{uri}">{count}</rdeHeader:count>"#
        );
    }
    out.push_str("</rdeHeader:header>");
}

/// Reads an RFC 3339 time (`2026-12-07T00:00:00Z`, fractions and `+00:00` accepted) as
/// seconds since 1970.
pub fn parse_time(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, rest) = text.split_at_checked(10)?;
    let day = calendar::parse_date(date)?;
    let rest = rest.strip_prefix(['T', 't'])?;
    let (clock, zone) = match rest.find(['Z', 'z', '+', '-']) {
        Some(at) => rest.split_at(at),
        None => return None,
    };
    let clock = clock.split('.').next()?;
    let mut parts = clock.split(':').map(|p| p.parse::<i64>().ok());
    let (Some(Some(h)), Some(Some(m)), Some(Some(s)), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    let offset = match zone {
        "Z" | "z" => 0,
        _ => {
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let (oh, om) = zone[1..].split_once(':')?;
            sign * (oh.parse::<i64>().ok()? * 3600 + om.parse::<i64>().ok()? * 60)
        }
    };
    Some(day + h * 3600 + m * 60 + s - offset)
}

fn text<'a>(e: &'a Element, ns: &str, name: &str) -> Result<&'a str, ObjectError> {
    e.child(ns, name)
        .map(Element::token)
        .ok_or_else(|| bad(format!("<{}> has no <{name}>", e.name)))
}

fn time(e: &Element, ns: &str, name: &str) -> Result<Option<i64>, ObjectError> {
    e.child(ns, name)
        .map(|c| {
            parse_time(c.token())
                .ok_or_else(|| bad(format!("<{name}> {:?} is not a time", c.token())))
        })
        .transpose()
}

fn parse_client(text: &str) -> Result<u32, ObjectError> {
    text.trim()
        .parse()
        .map_err(|_| bad(format!("the client id {text:?} is not a registrar-id")))
}

/// The number of a ROID (`D123-NAME`, `H45-HOST`) with that letter.
fn roid_number(roid: &str, letter: char) -> Result<i64, ObjectError> {
    roid.strip_prefix(letter)
        .and_then(|r| r.split_once('-'))
        .and_then(|(n, _)| n.parse().ok())
        .ok_or_else(|| bad(format!("the ROID {roid:?} is not one this registry writes")))
}

fn address(e: &Element) -> Result<IpAddr, ObjectError> {
    e.token()
        .parse()
        .map_err(|_| bad(format!("{:?} is not an IP address", e.token())))
}

fn nameservers(ns: Option<&Element>) -> Result<Vec<Nameserver>, ObjectError> {
    let Some(ns) = ns else {
        return Ok(Vec::new());
    };
    if ns.child(DOMAIN, "hostObj").is_some() {
        return Err(bad(
            "name servers as <domain:hostObj> are not restored: this registry deposits <domain:hostAttr>",
        ));
    }
    ns.all(DOMAIN, "hostAttr")
        .map(|attr| {
            let mut addresses = attr
                .all(DOMAIN, "hostAddr")
                .map(address)
                .collect::<Result<Vec<_>, _>>()?;
            addresses.sort();
            Ok(Nameserver {
                name: text(attr, DOMAIN, "hostName")?.to_ascii_lowercase(),
                addresses,
            })
        })
        .collect()
}

fn read_domain(e: &Element) -> Result<DomainEntry, ObjectError> {
    let name = text(e, RDE_DOMAIN, "name")?.to_ascii_lowercase();
    let id = roid_number(text(e, RDE_DOMAIN, "roid")?, 'D')?;
    let mut set = Statuses::NONE;
    let mut case = None;
    let mut pending_delete = false;
    for status in e.all(RDE_DOMAIN, "status") {
        let value = status.attribute("s").unwrap_or_default();
        if value == "pendingDelete" {
            pending_delete = true;
            continue;
        }
        let parsed = DomainStatus::from_epp(value)
            .ok_or_else(|| bad(format!("{name}: unknown status {value:?}")))?;
        if Statuses::SETTABLE.contains(&parsed) {
            set = set.with(parsed, true);
            if let Some((reason, reference)) = status.token().split_once(": ")
                && let Some(reason) = Reason::parse(reason)
            {
                case = Some(Case {
                    reason,
                    reference: reference.to_string(),
                });
            }
        }
    }
    let redeemable = e
        .all(RDE_DOMAIN, "rgpStatus")
        .any(|s| s.attribute("s") == Some("redemptionPeriod"));
    let created =
        time(e, RDE_DOMAIN, "crDate")?.ok_or_else(|| bad(format!("{name}: no crDate")))?;
    let expires =
        time(e, RDE_DOMAIN, "exDate")?.ok_or_else(|| bad(format!("{name}: no exDate")))?;
    let updated = time(e, RDE_DOMAIN, "upDate")?.unwrap_or(created);
    let mut ds = Vec::new();
    if let Some(sec) = e.child(RDE_DOMAIN, "secDNS") {
        for d in sec.all(SECDNS, "dsData") {
            let number = |field: &str| -> Result<u64, ObjectError> {
                text(d, SECDNS, field)?
                    .parse()
                    .map_err(|_| bad(format!("{name}: DS {field} is not a number")))
            };
            ds.push(DelegationSigner {
                key_tag: u16::try_from(number("keyTag")?).map_err(|_| bad("keyTag range"))?,
                algorithm: u8::try_from(number("alg")?).map_err(|_| bad("alg range"))?,
                digest_type: u8::try_from(number("digestType")?)
                    .map_err(|_| bad("digestType range"))?,
                digest: data_encoding::HEXUPPER_PERMISSIVE
                    .decode(text(d, SECDNS, "digest")?.as_bytes())
                    .map_err(|_| bad(format!("{name}: the DS digest is not hex")))?,
            });
        }
    }
    let transfer = match e.child(RDE_DOMAIN, "trnData") {
        None => None,
        Some(t) => {
            let status = TransferStatus::parse(text(t, RDE_DOMAIN, "trStatus")?)
                .ok_or_else(|| bad(format!("{name}: unknown transfer status")))?;
            Some(Transfer {
                domain: name.clone(),
                status,
                gaining: parse_client(text(t, RDE_DOMAIN, "reRr")?)?,
                losing: parse_client(text(t, RDE_DOMAIN, "acRr")?)?,
                requested: time(t, RDE_DOMAIN, "reDate")?
                    .ok_or_else(|| bad(format!("{name}: no reDate")))?,
                acted: time(t, RDE_DOMAIN, "acDate")?
                    .ok_or_else(|| bad(format!("{name}: no acDate")))?,
                expires: time(t, RDE_DOMAIN, "exDate")?.unwrap_or(expires),
                fee: 0,
            })
        }
    };
    Ok(DomainEntry {
        domain: Domain {
            name: name.clone(),
            zone: 0,
            id,
            registrar: parse_client(text(e, RDE_DOMAIN, "clID")?)?,
            statuses: set,
            case: case.filter(|_| set.iter().any(|s| s.epp().starts_with("server"))),
            created,
            expires,
            updated,
            cluster: None,
            auth_hash: None,
            ds,
            deletion: pending_delete.then_some(Deletion {
                at: updated,
                redeemable,
            }),
            billed: None,
        },
        nameservers: nameservers(e.child(RDE_DOMAIN, "ns"))?,
        transfer,
    })
}

fn read_host(e: &Element) -> Result<Host, ObjectError> {
    let name = text(e, RDE_HOST, "name")?.to_ascii_lowercase();
    let registrar = parse_client(text(e, RDE_HOST, "clID")?)?;
    let created = time(e, RDE_HOST, "crDate")?.ok_or_else(|| bad(format!("{name}: no crDate")))?;
    let mut addresses = e
        .all(RDE_HOST, "addr")
        .map(address)
        .collect::<Result<Vec<_>, _>>()?;
    addresses.sort();
    Ok(Host {
        id: roid_number(text(e, RDE_HOST, "roid")?, 'H')?,
        registrar,
        creator: match e.child(RDE_HOST, "crRr") {
            Some(c) => parse_client(c.token())?,
            None => registrar,
        },
        parent: None,
        created,
        updated: time(e, RDE_HOST, "upDate")?.unwrap_or(created),
        addresses,
        name,
    })
}

fn read_registrar(e: &Element) -> Result<Registrar, ObjectError> {
    let optional = |ns: &str, name: &str| e.child(ns, name).map(|c| c.token().to_string());
    Ok(Registrar {
        id: parse_client(text(e, RDE_REGISTRAR, "id")?)?,
        iana_id: match e.child(RDE_REGISTRAR, "gurid") {
            Some(g) => g
                .token()
                .parse()
                .map_err(|_| bad("the gurid is not a number"))?,
            None => 0,
        },
        name: text(e, RDE_REGISTRAR, "name")?.to_string(),
        whois_server: e
            .child(RDE_REGISTRAR, "whoisInfo")
            .and_then(|w| w.child(RDE_REGISTRAR, "name"))
            .map(|n| n.token().to_string())
            .unwrap_or_default(),
        url: optional(RDE_REGISTRAR, "url").unwrap_or_default(),
        abuse_email: optional(RDE_REGISTRAR, "email").unwrap_or_default(),
        abuse_phone: optional(RDE_REGISTRAR, "voice").unwrap_or_default(),
        password_hash: String::new(),
        active: e.child(RDE_REGISTRAR, "status").map(Element::token) != Some("terminated"),
        balance: 0,
        credit_limit: 0,
        updated: time(e, RDE_REGISTRAR, "upDate")?.unwrap_or(0),
        certificate: None,
    })
}

/// Reads one child of `<rde:contents>`.
pub fn read_content(e: &Element) -> Result<Content, ObjectError> {
    match (e.namespace.as_str(), e.name.as_str()) {
        (RDE_DOMAIN, "domain") => Ok(Content::Domain(Box::new(read_domain(e)?))),
        (RDE_HOST, "host") => Ok(Content::Host(read_host(e)?)),
        (RDE_REGISTRAR, "registrar") => Ok(Content::Registrar(read_registrar(e)?)),
        (EPP_PARAMS, "eppParams") => Ok(Content::EppParams),
        (HEADER, "header") => Ok(Content::Header {
            tld: text(e, HEADER, "tld")?.to_ascii_lowercase(),
            counts: e
                .all(HEADER, "count")
                .map(|c| {
                    let count = c
                        .token()
                        .parse()
                        .map_err(|_| bad("a header count is not a number"))?;
                    Ok((c.attribute("uri").unwrap_or_default().to_string(), count))
                })
                .collect::<Result<_, ObjectError>>()?,
        }),
        (ns, name) => Err(bad(format!(
            "<{name}> in {ns:?} is not an object this registry restores"
        ))),
    }
}

/// Reads one child of `<rde:deletes>`.
pub fn read_deletes(e: &Element) -> Result<Vec<Delete>, ObjectError> {
    let names = |ns: &str| -> Vec<String> {
        e.all(ns, "name")
            .map(|n| n.token().to_ascii_lowercase())
            .collect()
    };
    match (e.namespace.as_str(), e.name.as_str()) {
        (RDE_DOMAIN, "delete") => Ok(names(RDE_DOMAIN).into_iter().map(Delete::Domain).collect()),
        (RDE_HOST, "delete") => Ok(names(RDE_HOST).into_iter().map(Delete::Host).collect()),
        (RDE_REGISTRAR, "delete") => e
            .all(RDE_REGISTRAR, "id")
            .map(|id| parse_client(id.token()).map(Delete::Registrar))
            .collect(),
        (ns, name) => Err(bad(format!(
            "<{name}> in {ns:?} is not a deletion this registry restores"
        ))),
    }
}

/// Appends a differential deposit's `<rde:deletes>` children for these names.
pub fn deletes(out: &mut String, deleted: &[Delete]) {
    for d in deleted {
        match d {
            Delete::Domain(name) => {
                let _ = write!(
                    out,
                    "<rdeDomain:delete><rdeDomain:name>{}</rdeDomain:name></rdeDomain:delete>",
                    escape(name)
                );
            }
            Delete::Host(name) => {
                let _ = write!(
                    out,
                    "<rdeHost:delete><rdeHost:name>{}</rdeHost:name></rdeHost:delete>",
                    escape(name)
                );
            }
            Delete::Registrar(id) => {
                let _ = write!(
                    out,
                    "<rdeRegistrar:delete><rdeRegistrar:id>{}</rdeRegistrar:id></rdeRegistrar:delete>",
                    client_id(*id)
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::epp::xml::parse;

    fn wrap(inner: &str) -> Element {
        let document = format!("<rde:contents {NAMESPACES}>{inner}</rde:contents>");
        parse(document.as_bytes()).unwrap().children.remove(0)
    }

    fn sample() -> DomainEntry {
        let at = calendar::parse_date("2026-03-04").unwrap() + 3_723;
        DomainEntry {
            domain: Domain {
                name: "john.smith.name".into(),
                zone: 0,
                id: 42,
                registrar: 1001,
                statuses: Statuses::of(DomainStatus::ServerHold)
                    .with(DomainStatus::ClientTransferProhibited, true),
                case: Some(Case {
                    reason: Reason::Udrp,
                    reference: "D2026-0001 <x>".into(),
                }),
                created: at,
                expires: at + 365 * 86_400,
                updated: at + 60,
                cluster: None,
                auth_hash: None,
                ds: vec![DelegationSigner {
                    key_tag: 12345,
                    algorithm: 13,
                    digest_type: 2,
                    digest: vec![0xAB; 32],
                }],
                deletion: Some(Deletion {
                    at: at + 60,
                    redeemable: true,
                }),
                billed: None,
            },
            nameservers: vec![
                Nameserver {
                    name: "ns.john.smith.name".into(),
                    addresses: vec!["192.0.2.1".parse().unwrap(), "2001:db8::1".parse().unwrap()],
                },
                Nameserver {
                    name: "ns.example.net".into(),
                    addresses: vec![],
                },
            ],
            transfer: Some(Transfer {
                domain: "john.smith.name".into(),
                status: TransferStatus::Pending,
                gaining: 1002,
                losing: 1001,
                requested: at + 10,
                acted: at + 5 * 86_400,
                expires: at + 730 * 86_400,
                fee: 0,
            }),
        }
    }

    #[test]
    fn a_domain_reads_back_as_it_was_written() {
        let entry = sample();
        let mut out = String::new();
        domain(
            &mut out,
            "name",
            &entry.domain,
            &entry.nameservers,
            entry.transfer.as_ref(),
        );
        let Content::Domain(read) = read_content(&wrap(&out)).unwrap() else {
            panic!("not a domain: {out}");
        };
        assert_eq!(*read, entry);
    }

    #[test]
    fn hosts_and_registrars_read_back_as_they_were_written() {
        let h = Host {
            name: "ns1.example.net".into(),
            id: 7,
            registrar: 1002,
            creator: 1001,
            parent: None,
            created: 1_700_000_000,
            updated: 1_700_000_100,
            addresses: vec!["198.51.100.7".parse().unwrap()],
        };
        let mut out = String::new();
        host(&mut out, &h);
        assert_eq!(read_content(&wrap(&out)).unwrap(), Content::Host(h));
        let r = Registrar {
            id: 7,
            iana_id: 9999,
            name: "Registrar & Sons".into(),
            whois_server: "whois.example".into(),
            url: "https://example.com/".into(),
            abuse_email: "abuse@example.com".into(),
            abuse_phone: "+1.5555550100".into(),
            password_hash: String::new(),
            active: false,
            balance: 0,
            credit_limit: 0,
            updated: 1_700_000_000,
            certificate: None,
        };
        let mut out = String::new();
        registrar(&mut out, &r);
        assert!(
            out.contains("<rdeRegistrar:id>007</rdeRegistrar:id>"),
            "{out}"
        );
        assert_eq!(read_content(&wrap(&out)).unwrap(), Content::Registrar(r));
    }

    #[test]
    fn deletes_read_back() {
        let all = vec![
            Delete::Domain("a.name".into()),
            Delete::Host("ns.a.name".into()),
            Delete::Registrar(1003),
        ];
        let mut out = String::new();
        deletes(&mut out, &all);
        let document = format!("<rde:deletes {NAMESPACES}>{out}</rde:deletes>");
        let root = parse(document.as_bytes()).unwrap();
        let read: Vec<Delete> = root
            .children
            .iter()
            .flat_map(|e| read_deletes(e).unwrap())
            .collect();
        assert_eq!(read, all);
    }

    #[test]
    fn times_are_read_as_rfc_3339_writes_them() {
        let t = calendar::parse_date("2026-12-07").unwrap();
        assert_eq!(parse_time("2026-12-07T00:00:00Z"), Some(t));
        assert_eq!(parse_time("2026-12-07T01:02:03.0Z"), Some(t + 3723));
        assert_eq!(parse_time("2026-12-07T01:00:00+01:00"), Some(t));
        assert_eq!(parse_time(&date_time(t + 59)), Some(t + 59));
        for wrong in [
            "2026-12-07",
            "2026-12-07T25:00:00Z",
            "2026-13-01T00:00:00Z",
            "x",
        ] {
            assert_eq!(parse_time(wrong), None, "{wrong}");
        }
    }
}
