//! RDAP responses (RFC 9083) in the shape ICANN's gTLD RDAP Response Profile asks of a
//! registry: `rdapConformance` and the notices at the top, a self link on every object, the
//! registrar as an entity with its IANA id and abuse contact, statuses in RFC 8056's words,
//! DS records as `secureDNS`, and the event "last update of RDAP database".
//!
//! The same records the port-43 answers render ([`crate::render`]), from the same tree; the
//! registry holds no contact data (a thin registry: registrars keep their customers'), so a
//! domain's only entity is its registrar.
//!
//! Each object is a struct that borrows the record and serializes straight to the answer's
//! bytes ([`to_bytes`]): no intermediate JSON tree, so an answer costs a few allocations
//! (dates, links) rather than one per member.

use std::borrow::Cow;
use std::net::IpAddr;

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use zonefiles::whois::{Domain, DomainStatus, Host, Registrar};

use crate::render::{Texts, iso8601, unicode_form};

/// The conformance levels every answer declares.
pub const CONFORMANCE: [&str; 3] = [
    "rdap_level_0",
    "icann_rdap_response_profile_1",
    "icann_rdap_technical_implementation_guide_1",
];

/// The media type of every answer (RFC 7480 §4.2).
pub const MEDIA_TYPE: &str = "application/rdap+json";

/// What every answer needs besides its records.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The base URL, ending in `/` (links are made from it).
    pub base: &'a str,
    /// The URL the client asked for.
    pub url: &'a str,
    /// The operator's texts (terms of use, the inaccuracy form).
    pub texts: &'a Texts,
    /// The port-43 server's host name, shown on each object.
    pub port43: Option<&'a str>,
    /// When the data last changed.
    pub last_update: Option<i64>,
}

/// An answer's bytes.
pub fn to_bytes(answer: &impl Serialize) -> Vec<u8> {
    let mut out = Vec::with_capacity(4096);
    // Serializing these structs into a Vec cannot fail (no maps with non-string keys).
    let _ = serde_json::to_writer(&mut out, answer);
    out
}

/// RFC 8056's words for an EPP domain status (§2: `ok` is "active").
pub fn status(status: DomainStatus) -> &'static str {
    match status {
        DomainStatus::Ok => "active",
        DomainStatus::Inactive => "inactive",
        DomainStatus::ClientDeleteProhibited => "client delete prohibited",
        DomainStatus::ClientHold => "client hold",
        DomainStatus::ClientRenewProhibited => "client renew prohibited",
        DomainStatus::ClientTransferProhibited => "client transfer prohibited",
        DomainStatus::ClientUpdateProhibited => "client update prohibited",
        DomainStatus::ServerDeleteProhibited => "server delete prohibited",
        DomainStatus::ServerHold => "server hold",
        DomainStatus::ServerRenewProhibited => "server renew prohibited",
        DomainStatus::ServerTransferProhibited => "server transfer prohibited",
        DomainStatus::ServerUpdateProhibited => "server update prohibited",
        DomainStatus::PendingCreate => "pending create",
        DomainStatus::PendingDelete => "pending delete",
        DomainStatus::PendingRenew => "pending renew",
        DomainStatus::PendingTransfer => "pending transfer",
        DomainStatus::PendingUpdate => "pending update",
        DomainStatus::AddPeriod => "add period",
        DomainStatus::AutoRenewPeriod => "auto renew period",
        DomainStatus::RenewPeriod => "renew period",
        DomainStatus::TransferPeriod => "transfer period",
        DomainStatus::RedemptionPeriod => "redemption period",
        DomainStatus::PendingRestore => "pending restore",
    }
}

/// A link (RFC 9083 §4.2).
#[derive(Serialize)]
pub struct Link<'a> {
    value: &'a str,
    rel: &'static str,
    href: String,
    #[serde(rename = "type")]
    media: &'static str,
}

fn self_link<'a>(ctx: &Context<'a>, kind: &str, name: &str) -> [Link<'a>; 1] {
    [Link {
        value: ctx.url,
        rel: "self",
        href: format!("{}{kind}/{name}", ctx.base),
        media: MEDIA_TYPE,
    }]
}

/// An event (RFC 9083 §4.5).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    event_action: &'static str,
    event_date: String,
}

fn event(action: &'static str, time: i64) -> Event {
    Event {
        event_action: action,
        event_date: iso8601(time),
    }
}

fn events(ctx: &Context, of: &[(&'static str, i64)]) -> Vec<Event> {
    let mut out: Vec<Event> = of.iter().map(|&(a, t)| event(a, t)).collect();
    out.extend(
        ctx.last_update
            .map(|t| event("last update of RDAP database", t)),
    );
    out
}

/// A notice (RFC 9083 §4.3).
#[derive(Serialize)]
pub struct Notice<'a> {
    title: &'static str,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    description: [Cow<'a, str>; 1],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    links: Vec<Link<'a>>,
}

/// Addresses split by family (RFC 9083 §5.2 `ipAddresses`).
pub struct Addresses<'a>(&'a [IpAddr]);

impl Serialize for Addresses<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let family = |v4: bool| {
            self.0
                .iter()
                .filter(move |a| a.is_ipv4() == v4)
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
        };
        let (v4, v6) = (family(true), family(false));
        let mut map = s.serialize_map(None)?;
        if !v4.is_empty() {
            map.serialize_entry("v4", &v4)?;
        }
        if !v6.is_empty() {
            map.serialize_entry("v6", &v6)?;
        }
        map.end()
    }
}

/// A jCard (RFC 7095) with a full name and, for a contact, a voice telephone and an e-mail.
pub struct Vcard<'a> {
    name: &'a str,
    tel: Option<&'a str>,
    email: Option<&'a str>,
}

/// `{}` in a jCard property.
#[derive(Serialize)]
struct NoParameters {}

#[derive(Serialize)]
struct TelParameters {
    #[serde(rename = "type")]
    kind: &'static str,
}

impl Serialize for Vcard<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Properties<'b>(&'b Vcard<'b>);
        impl Serialize for Properties<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut seq = s.serialize_seq(None)?;
                seq.serialize_element(&("version", NoParameters {}, "text", "4.0"))?;
                seq.serialize_element(&("fn", NoParameters {}, "text", self.0.name))?;
                if let Some(tel) = self.0.tel {
                    let uri = format!("tel:{tel}");
                    let voice = TelParameters { kind: "voice" };
                    seq.serialize_element(&("tel", voice, "uri", uri))?;
                }
                if let Some(email) = self.0.email {
                    seq.serialize_element(&("email", NoParameters {}, "text", email))?;
                }
                seq.end()
            }
        }
        ("vcard", Properties(self)).serialize(s)
    }
}

/// A public identifier (RFC 9083 §4.8).
#[derive(Serialize)]
pub struct PublicId {
    #[serde(rename = "type")]
    kind: &'static str,
    identifier: String,
}

/// An entity: a registrar, or its abuse contact.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entity<'a> {
    object_class_name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    handle: Option<String>,
    roles: [&'static str; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    public_ids: Option<[PublicId; 1]>,
    vcard_array: Vcard<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    links: Vec<Link<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    events: Vec<Event>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    entities: Vec<Entity<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port43: Option<&'a str>,
}

fn iana_id(id: u32) -> Option<[PublicId; 1]> {
    Some([PublicId {
        kind: "IANA Registrar ID",
        identifier: id.to_string(),
    }])
}

/// A registrar as an entity: `registrar` role, IANA id, name, and its abuse contact.
pub fn registrar<'a>(ctx: &Context<'a>, r: &'a Registrar) -> Entity<'a> {
    let handle = r.iana_id.to_string();
    let mut links = vec![Link {
        value: ctx.url,
        rel: "self",
        href: format!("{}entity/{handle}", ctx.base),
        media: MEDIA_TYPE,
    }];
    if !r.url.is_empty() {
        links.push(Link {
            value: ctx.url,
            rel: "about",
            href: r.url.clone(),
            media: "text/html",
        });
    }
    Entity {
        object_class_name: "entity",
        handle: Some(handle),
        roles: ["registrar"],
        public_ids: iana_id(r.iana_id),
        vcard_array: Vcard {
            name: &r.name,
            tel: None,
            email: None,
        },
        links,
        events: vec![event("last changed", r.updated)],
        entities: vec![Entity {
            object_class_name: "entity",
            handle: None,
            roles: ["abuse"],
            public_ids: None,
            vcard_array: Vcard {
                name: "Abuse contact",
                tel: Some(&r.abuse_phone),
                email: Some(&r.abuse_email),
            },
            links: Vec::new(),
            events: Vec::new(),
            entities: Vec::new(),
            port43: None,
        }],
        port43: ctx.port43,
    }
}

/// The sponsor of an object: its registrar, or, when the registrar's record is missing from
/// the tree, an entity with the IANA id alone.
fn sponsor<'a>(ctx: &Context<'a>, id: u32, r: Option<&'a Registrar>) -> Entity<'a> {
    match r {
        Some(r) => registrar(ctx, r),
        None => Entity {
            object_class_name: "entity",
            handle: Some(id.to_string()),
            roles: ["registrar"],
            public_ids: iana_id(id),
            vcard_array: Vcard {
                name: "",
                tel: None,
                email: None,
            },
            links: Vec::new(),
            events: Vec::new(),
            entities: Vec::new(),
            port43: None,
        },
    }
}

/// A name server: a host object in full, or a name only (in a domain's `nameservers`, or a
/// host of another TLD).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NameserverObject<'a> {
    object_class_name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    handle: Option<&'a str>,
    ldh_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    unicode_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip_addresses: Option<Addresses<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<[&'static str; 1]>,
    links: [Link<'a>; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    entities: Option<[Entity<'a>; 1]>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    events: Vec<Event>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remarks: Option<[Incomplete; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port43: Option<&'a str>,
}

/// The remark on a search result that is a summary (RFC 9083 §10.2.1's truncation type).
#[derive(Serialize)]
pub struct Incomplete {
    title: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    description: [&'static str; 1],
}

const INCOMPLETE: Incomplete = Incomplete {
    title: "Incomplete Data",
    kind: "object truncated due to unexplainable reasons",
    description: ["Summary only: look the object up by its self link for all of it."],
};

/// A domain in search results: its name and link.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainSummary<'a> {
    object_class_name: &'static str,
    ldh_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    unicode_name: Option<String>,
    links: [Link<'a>; 1],
    remarks: [Incomplete; 1],
}

/// A domain in search results.
pub fn domain_summary<'a>(ctx: &Context<'a>, name: &'a str) -> DomainSummary<'a> {
    DomainSummary {
        object_class_name: "domain",
        ldh_name: name,
        unicode_name: unicode_form(name),
        links: self_link(ctx, "domain", name),
        remarks: [INCOMPLETE],
    }
}

/// A name server in search results: its name and link.
pub fn nameserver_summary<'a>(ctx: &Context<'a>, name: &'a str) -> NameserverObject<'a> {
    NameserverObject {
        remarks: Some([INCOMPLETE]),
        ..delegation(ctx, name, &[])
    }
}

/// A name server as a domain lists it: its name, and its glue when the registry has some.
fn delegation<'a>(
    ctx: &Context<'a>,
    name: &'a str,
    addresses: &'a [IpAddr],
) -> NameserverObject<'a> {
    NameserverObject {
        object_class_name: "nameserver",
        handle: None,
        ldh_name: name,
        unicode_name: unicode_form(name),
        ip_addresses: (!addresses.is_empty()).then_some(Addresses(addresses)),
        status: None,
        links: self_link(ctx, "nameserver", name),
        entities: None,
        events: Vec::new(),
        remarks: None,
        port43: None,
    }
}

/// A name server (host object).
pub fn nameserver<'a>(
    ctx: &Context<'a>,
    h: &'a Host,
    r: Option<&'a Registrar>,
) -> NameserverObject<'a> {
    NameserverObject {
        handle: Some(&h.roid),
        status: Some(["active"]),
        entities: Some([sponsor(ctx, h.registrar, r)]),
        events: events(
            ctx,
            &[("registration", h.created), ("last changed", h.updated)],
        ),
        port43: ctx.port43,
        ..delegation(ctx, &h.name, &h.addresses)
    }
}

/// A DS record in `secureDNS` (RFC 9083 §5.3).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DsData {
    key_tag: u16,
    algorithm: u8,
    digest_type: u8,
    digest: String,
}

/// `secureDNS`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecureDns {
    delegation_signed: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ds_data: Vec<DsData>,
}

/// Statuses in RFC 8056's words.
pub struct Statuses<'a>(&'a [DomainStatus]);

impl Serialize for Statuses<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|&st| status(st)))
    }
}

/// A domain.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainObject<'a> {
    object_class_name: &'static str,
    handle: &'a str,
    ldh_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    unicode_name: Option<String>,
    links: [Link<'a>; 1],
    status: Statuses<'a>,
    entities: [Entity<'a>; 1],
    events: Vec<Event>,
    nameservers: Vec<NameserverObject<'a>>,
    #[serde(rename = "secureDNS")]
    secure_dns: SecureDns,
    #[serde(skip_serializing_if = "Option::is_none")]
    port43: Option<&'a str>,
}

/// A domain.
pub fn domain<'a>(ctx: &Context<'a>, d: &'a Domain, r: Option<&'a Registrar>) -> DomainObject<'a> {
    DomainObject {
        object_class_name: "domain",
        handle: &d.roid,
        ldh_name: &d.name,
        unicode_name: unicode_form(&d.name),
        links: self_link(ctx, "domain", &d.name),
        status: Statuses(&d.statuses),
        entities: [sponsor(ctx, d.registrar, r)],
        events: events(
            ctx,
            &[
                ("registration", d.created),
                ("expiration", d.expires),
                ("last changed", d.updated),
            ],
        ),
        nameservers: d
            .nameservers
            .iter()
            .map(|ns| delegation(ctx, &ns.name, &ns.addresses))
            .collect(),
        secure_dns: SecureDns {
            delegation_signed: !d.ds.is_empty(),
            ds_data: d
                .ds
                .iter()
                .map(|ds| DsData {
                    key_tag: ds.key_tag,
                    algorithm: ds.algorithm,
                    digest_type: ds.digest_type,
                    digest: data_encoding::HEXUPPER.encode(&ds.digest),
                })
                .collect(),
        },
        port43: ctx.port43,
    }
}

fn notice<'a>(
    title: &'static str,
    description: &'a str,
    link: Option<(&'a str, &'static str, String, &'static str)>,
) -> Notice<'a> {
    Notice {
        title,
        kind: None,
        description: [Cow::Borrowed(description)],
        links: link
            .map(|(value, rel, href, media)| Link {
                value,
                rel,
                href,
                media,
            })
            .into_iter()
            .collect(),
    }
}

/// The notices at the top of every answer: the terms of use (linking to `/help`), and for
/// domains the status code and inaccuracy complaint notices of the gTLD profile.
fn notices<'a>(ctx: &Context<'a>, domain: bool) -> Vec<Notice<'a>> {
    let mut out = vec![notice(
        "Terms of Use",
        &ctx.texts.terms,
        Some((
            ctx.url,
            "terms-of-service",
            format!("{}help", ctx.base),
            MEDIA_TYPE,
        )),
    )];
    if domain {
        out.push(notice(
            "Status Codes",
            "For more information on domain status codes, please visit https://icann.org/epp",
            Some((
                ctx.url,
                "glossary",
                "https://icann.org/epp".into(),
                "text/html",
            )),
        ));
        let form = ctx.texts.inaccuracy_url.trim_end_matches('/');
        out.push(Notice {
            title: "RDDS Inaccuracy Complaint Form",
            kind: None,
            description: [Cow::Owned(format!(
                "URL of the ICANN RDDS Inaccuracy Complaint Form: {form}"
            ))],
            links: vec![Link {
                value: ctx.url,
                rel: "help",
                href: form.to_owned(),
                media: "text/html",
            }],
        });
    }
    out
}

/// A top-level answer: `rdapConformance` and the notices, then the object's members.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Top<'a, T: Serialize> {
    rdap_conformance: [&'static str; 3],
    notices: Vec<Notice<'a>>,
    #[serde(flatten)]
    object: T,
}

/// Puts `rdapConformance` and the notices on a top-level object (`domain`: with the notices
/// a domain answer carries).
pub fn top<'a, T: Serialize>(ctx: &Context<'a>, object: T, domain: bool) -> Top<'a, T> {
    Top {
        rdap_conformance: CONFORMANCE,
        notices: notices(ctx, domain),
        object,
    }
}

/// Search results under `member` (`domainSearchResults`, …).
pub struct Results<T> {
    member: &'static str,
    results: Vec<T>,
}

impl<T: Serialize> Serialize for Results<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry(self.member, &self.results)?;
        map.end()
    }
}

/// Search results (`domainSearchResults`, …), with the profile's truncation notice when the
/// cap cut them.
pub fn search<'a, T: Serialize>(
    ctx: &Context<'a>,
    member: &'static str,
    results: Vec<T>,
    truncated: bool,
) -> Top<'a, Results<T>> {
    let mut out = top(ctx, Results { member, results }, false);
    if truncated {
        out.notices.push(Notice {
            title: "Search Policy",
            kind: Some("result set truncated due to unexplainable reasons"),
            description: [Cow::Borrowed(
                "Search results are limited: refine the search for more.",
            )],
            links: Vec::new(),
        });
    }
    out
}

/// No members: the help answer and errors are notices and fields of the top alone.
#[derive(Serialize)]
pub struct Nothing {}

/// The help answer: what is served and how.
pub fn help<'a>(ctx: &Context<'a>) -> Top<'a, Nothing> {
    let mut out = top(ctx, Nothing {}, false);
    out.notices.push(notice(
        "Queries",
        "Lookups: /domain/<name> (A-label or U-label), /nameserver/<name>, /entity/<registrar \
         IANA id>. Searches: /domains?name=, /domains?nsLdhName=, /domains?nsIp=, \
         /nameservers?name=, /nameservers?ip=, /entities?fn=, /entities?handle=. A search \
         pattern is a whole name or an ASCII prefix ending in a single `*`.",
        Some((ctx.url, "self", format!("{}help", ctx.base), MEDIA_TYPE)),
    ));
    out
}

/// An error's members (RFC 9083 §6).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorObject<'a> {
    error_code: u16,
    title: &'a str,
    description: [&'a str; 1],
}

/// An error answer, with the conformance and notices the profile asks for.
pub fn error<'a>(
    ctx: &Context<'a>,
    code: u16,
    title: &'a str,
    description: &'a str,
) -> Top<'a, ErrorObject<'a>> {
    top(
        ctx,
        ErrorObject {
            error_code: code,
            title,
            description: [description],
        },
        false,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_take_rfc_8056_words() {
        assert_eq!(status(DomainStatus::Ok), "active");
        // Every other status is its EPP name in lower-case words.
        for s in DomainStatus::ALL.into_iter().skip(1) {
            let words: String = s
                .epp()
                .chars()
                .flat_map(|c| {
                    let space = c.is_ascii_uppercase().then_some(' ');
                    space.into_iter().chain([c.to_ascii_lowercase()])
                })
                .collect();
            assert_eq!(status(s), words);
        }
    }

    #[test]
    fn objects_serialize_to_rfc_9083_members() {
        let texts = Texts::default();
        let ctx = Context {
            base: "https://rdap.example/",
            url: "https://rdap.example/domain/x.tld",
            texts: &texts,
            port43: Some("whois.example"),
            last_update: Some(0),
        };
        let registrar = Registrar {
            iana_id: 9,
            name: "R".into(),
            whois_server: String::new(),
            url: String::new(),
            abuse_email: "a@r.example".into(),
            abuse_phone: "+1.5".into(),
            updated: 0,
        };
        let bytes = to_bytes(&top(&ctx, super::registrar(&ctx, &registrar), false));
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(json["rdapConformance"][0], "rdap_level_0");
        assert_eq!(json["handle"], "9");
        assert_eq!(
            json["vcardArray"][1][1],
            serde_json::json!(["fn", {}, "text", "R"])
        );
        let abuse = &json["entities"][0]["vcardArray"][1];
        assert_eq!(
            abuse[2],
            serde_json::json!(["tel", {"type": "voice"}, "uri", "tel:+1.5"])
        );
        assert_eq!(
            abuse[3],
            serde_json::json!(["email", {}, "text", "a@r.example"])
        );
        let error: serde_json::Value =
            serde_json::from_slice(&to_bytes(&error(&ctx, 404, "Not Found", "x"))).unwrap();
        assert_eq!(error["errorCode"], 404);
        assert_eq!(error["description"][0], "x");
    }
}
