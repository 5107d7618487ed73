//! RDAP responses (RFC 9083) in the shape ICANN's gTLD RDAP Response Profile asks of a
//! registry: `rdapConformance` and the notices at the top, a self link on every object, the
//! registrar as an entity with its IANA id and abuse contact, statuses in RFC 8056's words,
//! DS records as `secureDNS`, and the event "last update of RDAP database".
//!
//! The same records the port-43 answers render ([`crate::render`]), from the same tree; the
//! registry holds no contact data (a thin registry: registrars keep their customers'), so a
//! domain's only entity is its registrar.

use serde_json::{Value, json};
use zonefiles::whois::{Domain, DomainStatus, Host, Nameserver, Registrar};

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

/// An RFC 8056 status for an EPP domain status: `clientTransferProhibited` becomes "client
/// transfer prohibited", `ok` "active".
pub fn status(status: DomainStatus) -> String {
    if status == DomainStatus::Ok {
        return "active".into();
    }
    let mut out = String::new();
    for c in status.epp().chars() {
        if c.is_ascii_uppercase() {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

fn link(ctx: &Context, path: &str, rel: &str) -> Value {
    json!({
        "value": ctx.url,
        "rel": rel,
        "href": format!("{}{path}", ctx.base),
        "type": MEDIA_TYPE,
    })
}

fn event(action: &str, time: i64) -> Value {
    json!({ "eventAction": action, "eventDate": iso8601(time) })
}

fn names(object: &mut serde_json::Map<String, Value>, name: &str) {
    object.insert("ldhName".into(), json!(name));
    if let Some(unicode) = unicode_form(name) {
        object.insert("unicodeName".into(), json!(unicode));
    }
}

fn addresses(list: &[std::net::IpAddr]) -> Value {
    let (v4, v6): (Vec<_>, Vec<_>) = list.iter().partition(|a| a.is_ipv4());
    let text = |v: Vec<&std::net::IpAddr>| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let mut out = serde_json::Map::new();
    if !v4.is_empty() {
        out.insert("v4".into(), json!(text(v4)));
    }
    if !v6.is_empty() {
        out.insert("v6".into(), json!(text(v6)));
    }
    Value::Object(out)
}

/// A registrar as an entity: `registrar` role, IANA id, name, and its abuse contact.
pub fn registrar(ctx: &Context, r: &Registrar) -> Value {
    let mut entity = json!({
        "objectClassName": "entity",
        "handle": r.iana_id.to_string(),
        "roles": ["registrar"],
        "publicIds": [{ "type": "IANA Registrar ID", "identifier": r.iana_id.to_string() }],
        "vcardArray": ["vcard", [
            ["version", {}, "text", "4.0"],
            ["fn", {}, "text", r.name],
        ]],
        "links": [link(ctx, &format!("entity/{}", r.iana_id), "self")],
        "events": [event("last changed", r.updated)],
        "entities": [{
            "objectClassName": "entity",
            "roles": ["abuse"],
            "vcardArray": ["vcard", [
                ["version", {}, "text", "4.0"],
                ["fn", {}, "text", format!("Abuse contact of {}", r.name)],
                ["tel", { "type": "voice" }, "uri", format!("tel:{}", r.abuse_phone)],
                ["email", {}, "text", r.abuse_email],
            ]],
        }],
    });
    if !r.url.is_empty() {
        entity["links"]
            .as_array_mut()
            .expect("an array")
            .push(json!({
                "value": ctx.url,
                "rel": "about",
                "href": r.url,
                "type": "text/html",
            }));
    }
    if let Some(port43) = ctx.port43 {
        entity["port43"] = json!(port43);
    }
    entity
}

/// A registrar known only by its IANA id (its record is missing from the tree).
fn registrar_id_only(id: u32) -> Value {
    json!({
        "objectClassName": "entity",
        "handle": id.to_string(),
        "roles": ["registrar"],
        "publicIds": [{ "type": "IANA Registrar ID", "identifier": id.to_string() }],
        "vcardArray": ["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", ""]]],
    })
}

fn sponsor(ctx: &Context, id: u32, r: Option<&Registrar>) -> Value {
    match r {
        Some(r) => registrar(ctx, r),
        None => registrar_id_only(id),
    }
}

fn nameserver_summary(ctx: &Context, ns: &Nameserver) -> Value {
    let mut object = serde_json::Map::new();
    object.insert("objectClassName".into(), json!("nameserver"));
    names(&mut object, &ns.name);
    if !ns.addresses.is_empty() {
        object.insert("ipAddresses".into(), addresses(&ns.addresses));
    }
    object.insert(
        "links".into(),
        json!([link(ctx, &format!("nameserver/{}", ns.name), "self")]),
    );
    Value::Object(object)
}

/// A domain.
pub fn domain(ctx: &Context, d: &Domain, r: Option<&Registrar>) -> Value {
    let mut object = serde_json::Map::new();
    object.insert("objectClassName".into(), json!("domain"));
    object.insert("handle".into(), json!(d.roid));
    names(&mut object, &d.name);
    object.insert(
        "links".into(),
        json!([link(ctx, &format!("domain/{}", d.name), "self")]),
    );
    object.insert(
        "status".into(),
        json!(d.statuses.iter().map(|s| status(*s)).collect::<Vec<_>>()),
    );
    object.insert("entities".into(), json!([sponsor(ctx, d.registrar, r)]));
    let mut events = vec![
        event("registration", d.created),
        event("expiration", d.expires),
        event("last changed", d.updated),
    ];
    if let Some(t) = ctx.last_update {
        events.push(event("last update of RDAP database", t));
    }
    object.insert("events".into(), json!(events));
    object.insert(
        "nameservers".into(),
        json!(
            d.nameservers
                .iter()
                .map(|ns| nameserver_summary(ctx, ns))
                .collect::<Vec<_>>()
        ),
    );
    let ds: Vec<Value> =
        d.ds.iter()
            .map(|ds| {
                json!({
                    "keyTag": ds.key_tag,
                    "algorithm": ds.algorithm,
                    "digestType": ds.digest_type,
                    "digest": data_encoding::HEXUPPER.encode(&ds.digest),
                })
            })
            .collect();
    let secure = if ds.is_empty() {
        json!({ "delegationSigned": false })
    } else {
        json!({ "delegationSigned": true, "dsData": ds })
    };
    object.insert("secureDNS".into(), secure);
    if let Some(port43) = ctx.port43 {
        object.insert("port43".into(), json!(port43));
    }
    Value::Object(object)
}

/// A name server (host object).
pub fn nameserver(ctx: &Context, h: &Host, r: Option<&Registrar>) -> Value {
    let mut object = serde_json::Map::new();
    object.insert("objectClassName".into(), json!("nameserver"));
    object.insert("handle".into(), json!(h.roid));
    names(&mut object, &h.name);
    if !h.addresses.is_empty() {
        object.insert("ipAddresses".into(), addresses(&h.addresses));
    }
    object.insert("status".into(), json!(["active"]));
    object.insert(
        "links".into(),
        json!([link(ctx, &format!("nameserver/{}", h.name), "self")]),
    );
    object.insert("entities".into(), json!([sponsor(ctx, h.registrar, r)]));
    let mut events = vec![
        event("registration", h.created),
        event("last changed", h.updated),
    ];
    if let Some(t) = ctx.last_update {
        events.push(event("last update of RDAP database", t));
    }
    object.insert("events".into(), json!(events));
    if let Some(port43) = ctx.port43 {
        object.insert("port43".into(), json!(port43));
    }
    Value::Object(object)
}

/// A name server that is not a host object here (a host of another TLD some domains use):
/// its name only.
pub fn external_nameserver(ctx: &Context, name: &str) -> Value {
    nameserver_summary(
        ctx,
        &Nameserver {
            name: name.to_owned(),
            addresses: Vec::new(),
        },
    )
}

fn notice(title: &str, description: &str, links: Value) -> Value {
    json!({ "title": title, "description": [description], "links": links })
}

/// The notices at the top of every answer: the terms of use (linking to `/help`), and for
/// domains the status code and inaccuracy complaint notices of the gTLD profile.
fn notices(ctx: &Context, domain: bool) -> Vec<Value> {
    let mut out = vec![notice(
        "Terms of Use",
        &ctx.texts.terms,
        json!([{
            "value": ctx.url,
            "rel": "terms-of-service",
            "href": format!("{}help", ctx.base),
            "type": MEDIA_TYPE,
        }]),
    )];
    if domain {
        out.push(notice(
            "Status Codes",
            "For more information on domain status codes, please visit https://icann.org/epp",
            json!([{
                "value": ctx.url,
                "rel": "glossary",
                "href": "https://icann.org/epp",
                "type": "text/html",
            }]),
        ));
        out.push(notice(
            "RDDS Inaccuracy Complaint Form",
            &format!(
                "URL of the ICANN RDDS Inaccuracy Complaint Form: {}",
                ctx.texts.inaccuracy_url.trim_end_matches('/')
            ),
            json!([{
                "value": ctx.url,
                "rel": "help",
                "href": ctx.texts.inaccuracy_url.trim_end_matches('/'),
                "type": "text/html",
            }]),
        ));
    }
    out
}

/// Puts `rdapConformance` and the notices on a top-level object.
pub fn top(ctx: &Context, object: Value, domain: bool) -> Value {
    let mut out = serde_json::Map::new();
    out.insert("rdapConformance".into(), json!(CONFORMANCE));
    out.insert("notices".into(), json!(notices(ctx, domain)));
    if let Value::Object(fields) = object {
        out.extend(fields);
    }
    Value::Object(out)
}

/// Search results (`domainSearchResults`, …), with the profile's truncation notice when the
/// cap cut them.
pub fn search(ctx: &Context, member: &str, results: Vec<Value>, truncated: bool) -> Value {
    let mut out = top(ctx, json!({ member: results }), false);
    if truncated {
        out["notices"]
            .as_array_mut()
            .expect("an array")
            .push(json!({
                "title": "Search Policy",
                "type": "result set truncated due to unexplainable reasons",
                "description": ["Search results are limited: refine the search for more."],
            }));
    }
    out
}

/// The help answer: what is served and how.
pub fn help(ctx: &Context) -> Value {
    let mut out = top(ctx, json!({}), false);
    out["notices"].as_array_mut().expect("an array").push(notice(
        "Queries",
        "Lookups: /domain/<name> (A-label or U-label), /nameserver/<name>, /entity/<registrar \
         IANA id>. Searches: /domains?name=, /domains?nsLdhName=, /domains?nsIp=, \
         /nameservers?name=, /nameservers?ip=, /entities?fn=, /entities?handle=. A search \
         pattern is a whole name or an ASCII prefix ending in a single `*`.",
        json!([{ "value": ctx.url, "rel": "self", "href": format!("{}help", ctx.base), "type": MEDIA_TYPE }]),
    ));
    out
}

/// An error answer (RFC 9083 §6), with the conformance and notices the profile asks for.
pub fn error(ctx: &Context, code: u16, title: &str, description: &str) -> Value {
    let mut out = top(ctx, json!({}), false);
    out["errorCode"] = json!(code);
    out["title"] = json!(title);
    out["description"] = json!([description]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_take_rfc_8056_words() {
        assert_eq!(status(DomainStatus::Ok), "active");
        assert_eq!(
            status(DomainStatus::ClientTransferProhibited),
            "client transfer prohibited"
        );
        assert_eq!(status(DomainStatus::AutoRenewPeriod), "auto renew period");
        assert_eq!(status(DomainStatus::ServerHold), "server hold");
        assert_eq!(status(DomainStatus::PendingRestore), "pending restore");
        assert_eq!(status(DomainStatus::Inactive), "inactive");
    }
}
