//! Reading an RDAP request (RFC 9082): the path below the base URL and the query string, into
//! a [`Request`], or the reason it is refused and the HTTP status that says so.
//!
//! - Lookups: `domain/<name>` and `nameserver/<name>` (A-labels or U-labels, percent-encoded
//!   UTF-8; a final dot is allowed), `entity/<handle>` (a registrar's IANA id), `help`.
//! - Searches: `domains?name=`, `domains?nsLdhName=`, `domains?nsIp=`, `nameservers?name=`,
//!   `nameservers?ip=`, `entities?fn=`, `entities?handle=`. A pattern is a full name, or a
//!   prefix ended by one `*` (RFC 9082 §4.1 lets a server choose where `*` may appear: here
//!   only at the end, after at least [`MIN_PREFIX`] characters, and only in ASCII, since a
//!   partial U-label has no A-label prefix). IP searches take one address, no pattern.
//! - `ip/…` and `autnum/…` exist in RFC 9082 but concern number registries: 501.
//! - Anything else: 400 for a malformed request, 404 for a path RDAP does not define.

use std::borrow::Cow;
use std::net::IpAddr;

use crate::query::a_label;

/// The shortest prefix a search with `*` accepts (`e*` would page through the whole zone).
pub const MIN_PREFIX: usize = 2;

/// A name or a prefix to search for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// A whole name (A-label, lower case) or, for entities, a whole name as given.
    Exact(String),
    /// Names starting with this (lower case).
    Prefix(String),
}

/// What a search looks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Search {
    /// Domains by name.
    DomainsByName(Pattern),
    /// Domains delegated to a name server (by its name).
    DomainsByNameserver(Pattern),
    /// Domains delegated to a name server with this address.
    DomainsByNameserverIp(IpAddr),
    /// Name servers by name.
    NameserversByName(Pattern),
    /// Name servers by address.
    NameserversByIp(IpAddr),
    /// Registrars by name (`fn`, the vCard's full name).
    EntitiesByName(Pattern),
    /// Registrars by handle (IANA id).
    EntitiesByHandle(u32),
}

/// An RDAP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// One domain.
    Domain(String),
    /// One name server (host object).
    Nameserver(String),
    /// One registrar, by IANA id.
    Entity(u32),
    /// The help text.
    Help,
    /// A search.
    Search(Search),
}

/// Why a request is refused, with its HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// 400: malformed.
    #[error("{0}")]
    BadRequest(String),
    /// 404: no such path (or, for an entity, a handle that cannot exist).
    #[error("{0}")]
    NotFound(String),
    /// 422: a well-formed search this server does not run (too broad, or a pattern form it
    /// does not support).
    #[error("{0}")]
    Unprocessable(String),
    /// 501: a query type of RDAP this server does not serve.
    #[error("{0}")]
    NotImplemented(String),
}

impl Refused {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Refused::BadRequest(_) => 400,
            Refused::NotFound(_) => 404,
            Refused::Unprocessable(_) => 422,
            Refused::NotImplemented(_) => 501,
        }
    }
}

fn bad(what: impl Into<String>) -> Refused {
    Refused::BadRequest(what.into())
}

/// The longest path or query string read.
pub const MAX_TARGET: usize = 2048;

/// Reads a request: `path` is what follows the base URL's path (no leading `/`), `query` the
/// query string (without `?`).
pub fn parse(path: &str, query: Option<&str>) -> Result<Request, Refused> {
    if path.len() > MAX_TARGET || query.is_some_and(|q| q.len() > MAX_TARGET) {
        return Err(bad("the request is too long"));
    }
    let (kind, rest) = match path.split_once('/') {
        Some((kind, rest)) => (kind, Some(rest)),
        None => (path, None),
    };
    let one = |what: &str| -> Result<String, Refused> {
        let rest = rest.filter(|r| !r.is_empty() && !r.contains('/'));
        let rest = rest.ok_or_else(|| bad(format!("expected /{kind}/<{what}>")))?;
        decode(rest)
    };
    match (kind, query) {
        ("domain", _) => Ok(Request::Domain(name(&one("domain name")?)?)),
        ("nameserver", _) => Ok(Request::Nameserver(name(&one("name server name")?)?)),
        ("entity", _) => {
            let handle = one("handle")?;
            handle
                .parse::<u32>()
                .ok()
                .filter(|&id| id > 0)
                .map(Request::Entity)
                .ok_or_else(|| {
                    Refused::NotFound(format!(
                        "no entity {handle:?}: entities here are registrars, by IANA id"
                    ))
                })
        }
        ("help", _) if rest.is_none_or(str::is_empty) => Ok(Request::Help),
        ("domains" | "nameservers" | "entities", _) if rest.is_some_and(|r| !r.is_empty()) => {
            Err(bad(format!("a search takes no path after /{kind}")))
        }
        ("domains" | "nameservers" | "entities", None) => {
            Err(bad(format!("/{kind} needs a search parameter")))
        }
        ("domains" | "nameservers" | "entities", Some(query)) => search(kind, query),
        ("ip" | "autnum", _) => Err(Refused::NotImplemented(format!(
            "/{kind} queries are answered by the regional internet registries, not here"
        ))),
        _ => Err(Refused::NotFound(
            "no such RDAP path: try /domain/<name>, /nameserver/<name>, /entity/<IANA id>, \
             /domains?name=<pattern> or /help"
                .into(),
        )),
    }
}

fn search(kind: &str, query: &str) -> Result<Request, Refused> {
    let mut pairs = form_urlencoded::parse(query.as_bytes());
    let (key, value) = pairs
        .next()
        .ok_or_else(|| bad(format!("/{kind} needs a search parameter")))?;
    if pairs.next().is_some() {
        return Err(bad("a search takes exactly one parameter"));
    }
    let value = value.trim();
    if value.is_empty() || value.chars().any(char::is_control) {
        return Err(bad(format!("an empty or malformed value for {key}")));
    }
    let search = match (kind, key.as_ref()) {
        ("domains", "name") => Search::DomainsByName(name_pattern(value)?),
        ("domains", "nsLdhName") => Search::DomainsByNameserver(name_pattern(value)?),
        ("domains", "nsIp") => Search::DomainsByNameserverIp(address(value)?),
        ("nameservers", "name") => Search::NameserversByName(name_pattern(value)?),
        ("nameservers", "ip") => Search::NameserversByIp(address(value)?),
        ("entities", "fn") => Search::EntitiesByName(text_pattern(value)?),
        ("entities", "handle") => Search::EntitiesByHandle(
            value
                .parse()
                .map_err(|_| bad("entity handles here are registrars' IANA ids"))?,
        ),
        (kind, key) => {
            return Err(bad(format!(
                "/{kind} does not search by {key:?}: see /help for the searches served"
            )));
        }
    };
    Ok(Request::Search(search))
}

/// Percent-decodes one path segment as UTF-8.
fn decode(segment: &str) -> Result<String, Refused> {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .map(Cow::into_owned)
        .map_err(|_| bad("the path is not percent-encoded UTF-8"))
}

fn name(text: &str) -> Result<String, Refused> {
    if text.chars().any(char::is_control) || text.contains(char::is_whitespace) {
        return Err(bad("not a valid domain name"));
    }
    a_label(text).map_err(|_| bad(format!("{text:?} is not a valid domain name")))
}

fn address(text: &str) -> Result<IpAddr, Refused> {
    text.parse()
        .map_err(|_| bad(format!("{text:?} is not an IPv4 or IPv6 address")))
}

/// A prefix pattern's text, if the value ends in `*`; refuses `*` elsewhere and short or
/// non-ASCII prefixes.
fn prefix(value: &str) -> Result<Option<String>, Refused> {
    let Some(prefix) = value.strip_suffix('*') else {
        if value.contains('*') {
            return Err(Refused::Unprocessable(
                "`*` is accepted only at the end of a pattern".into(),
            ));
        }
        return Ok(None);
    };
    if prefix.contains('*') {
        return Err(Refused::Unprocessable(
            "`*` is accepted only once, at the end of a pattern".into(),
        ));
    }
    if prefix.chars().count() < MIN_PREFIX {
        return Err(Refused::Unprocessable(format!(
            "a pattern needs at least {MIN_PREFIX} characters before `*`"
        )));
    }
    if !prefix.is_ascii() {
        return Err(Refused::Unprocessable(
            "a pattern with `*` must be ASCII (A-labels): a partial U-label has no A-label".into(),
        ));
    }
    Ok(Some(prefix.to_ascii_lowercase()))
}

fn name_pattern(value: &str) -> Result<Pattern, Refused> {
    match prefix(value)? {
        Some(p) => {
            let ok = p
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
            if !ok {
                return Err(bad(format!("{value:?} is not a valid name pattern")));
            }
            Ok(Pattern::Prefix(p))
        }
        None => Ok(Pattern::Exact(name(value)?)),
    }
}

fn text_pattern(value: &str) -> Result<Pattern, Refused> {
    Ok(match prefix(value)? {
        Some(p) => Pattern::Prefix(p),
        None => Pattern::Exact(value.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_take_a_labels_u_labels_and_percent_encoding() {
        assert_eq!(
            parse("domain/Example.TLD", None),
            Ok(Request::Domain("example.tld".into()))
        );
        assert_eq!(
            parse("domain/example.tld.", None),
            Ok(Request::Domain("example.tld".into()))
        );
        assert_eq!(
            parse("domain/b%C3%BCcher.tld", None),
            Ok(Request::Domain("xn--bcher-kva.tld".into()))
        );
        assert_eq!(
            parse("domain/bücher.tld", None),
            Ok(Request::Domain("xn--bcher-kva.tld".into()))
        );
        assert_eq!(
            parse("nameserver/ns1.example.tld", None),
            Ok(Request::Nameserver("ns1.example.tld".into()))
        );
        assert_eq!(parse("entity/1234", None), Ok(Request::Entity(1234)));
        assert_eq!(parse("help", None), Ok(Request::Help));
        assert_eq!(parse("help/", None), Ok(Request::Help));
    }

    #[test]
    fn searches_take_one_parameter_and_trailing_wildcards() {
        let s = |path, query| {
            parse(path, Some(query)).map(|r| match r {
                Request::Search(s) => s,
                other => panic!("{other:?}"),
            })
        };
        assert_eq!(
            s("domains", "name=exa*"),
            Ok(Search::DomainsByName(Pattern::Prefix("exa".into())))
        );
        assert_eq!(
            s("domains", "name=Example.tld"),
            Ok(Search::DomainsByName(Pattern::Exact("example.tld".into())))
        );
        assert_eq!(
            s("domains", "nsLdhName=ns1.example.net"),
            Ok(Search::DomainsByNameserver(Pattern::Exact(
                "ns1.example.net".into()
            )))
        );
        assert_eq!(
            s("domains", "nsIp=2001%3Adb8%3A%3A1"),
            Ok(Search::DomainsByNameserverIp(
                "2001:db8::1".parse().unwrap()
            ))
        );
        assert_eq!(
            s("nameservers", "ip=192.0.2.1"),
            Ok(Search::NameserversByIp("192.0.2.1".parse().unwrap()))
        );
        assert_eq!(
            s("entities", "fn=Example%20Reg*"),
            Ok(Search::EntitiesByName(Pattern::Prefix(
                "example reg".into()
            )))
        );
        assert_eq!(s("entities", "handle=9"), Ok(Search::EntitiesByHandle(9)));
    }

    #[test]
    fn refusals_carry_the_status_that_says_why() {
        let status = |path: &str, query: Option<&str>| parse(path, query).unwrap_err().status();
        assert_eq!(status("domain/", None), 400);
        assert_eq!(status("domain/a/b", None), 400);
        assert_eq!(status("domain/exa_mple.tld", None), 400);
        assert_eq!(status("domain/%FF.tld", None), 400);
        assert_eq!(status("domain/a%0Ab.tld", None), 400);
        assert_eq!(status("entity/ACME-1", None), 404);
        assert_eq!(status("nothing/here", None), 404);
        assert_eq!(status("ip/192.0.2.0", None), 501);
        assert_eq!(status("autnum/64496", None), 501);
        assert_eq!(status("domains", None), 400);
        assert_eq!(status("domains", Some("name=a*&name=b*")), 400);
        assert_eq!(status("domains", Some("color=blue")), 400);
        assert_eq!(status("domains", Some("nsIp=not-an-ip")), 400);
        assert_eq!(status("domains", Some("name=*")), 422);
        assert_eq!(status("domains", Some("name=e*")), 422);
        assert_eq!(status("domains", Some("name=*ample.tld")), 422);
        assert_eq!(status("domains", Some("name=b%C3%BC*")), 422);
        assert_eq!(status(&"x".repeat(3000), None), 400);
    }
}
