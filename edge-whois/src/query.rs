//! Reading a WHOIS query (RFC 3912: one line). The grammar is the one gTLD registries use:
//! `domain X`, `nameserver X` (a name or an IPv4/IPv6 address), `registrar X` (a name or an
//! IANA id), or a bare query classified as users expect: an address is a name server; a name
//! one label below a served TLD is a domain, a deeper one a name server; anything else is a
//! registrar's name. A trailing dot asks for every domain starting with the text (`mack.`), as
//! does a trailing `*` (`mack*`: the Debian `whois` client strips final dots).
//! Names are case-insensitive; U-labels are turned into A-labels (UTS 46).

use std::net::IpAddr;

use zonefiles::ZoneName;

/// A query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// A domain by name (A-label, lower case).
    Domain(String),
    /// Domains whose names start with this (lower case, A-label form of the text).
    DomainPrefix(String),
    /// A name server by name.
    NameserverName(String),
    /// A name two or more labels below its TLD: a domain in a zone that registers at the
    /// third level (`john.smith.name`), else a name server.
    DomainOrNameserver(String),
    /// Name servers with this address.
    NameserverAddress(IpAddr),
    /// A registrar by IANA id.
    RegistrarId(u32),
    /// A registrar by name (case-insensitive).
    RegistrarName(String),
    /// A name under a TLD this server does not serve.
    NotServed(String),
}

/// Why a query line is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    /// Nothing but spaces.
    #[error("empty query")]
    Empty,
    /// Control characters or bytes that are not UTF-8.
    #[error("control characters or bytes that are not UTF-8")]
    Binary,
    /// A name that is not a valid domain name.
    #[error("not a valid domain name")]
    BadName,
}

/// Reads one query line (without its line end) for a server serving `tlds` (lower case,
/// without dots).
pub fn parse(line: &[u8], tlds: &[ZoneName]) -> Result<Query, Malformed> {
    let text = std::str::from_utf8(line).map_err(|_| Malformed::Binary)?;
    if text.chars().any(|c| c.is_control() && c != '\t') {
        return Err(Malformed::Binary);
    }
    let text = text.trim();
    if text.is_empty() {
        return Err(Malformed::Empty);
    }
    let (keyword, rest) = match text.split_once(char::is_whitespace) {
        Some((k, r)) => (k.to_ascii_lowercase(), r.trim()),
        None => (String::new(), text),
    };
    match keyword.as_str() {
        "domain" => domain(rest, tlds),
        "nameserver" | "ns" | "host" => Ok(match rest.parse::<IpAddr>() {
            Ok(ip) => Query::NameserverAddress(ip),
            Err(_) => Query::NameserverName(a_label(rest)?),
        }),
        "registrar" => Ok(match rest.parse::<u32>() {
            Ok(id) => Query::RegistrarId(id),
            Err(_) => Query::RegistrarName(rest.to_owned()),
        }),
        _ => bare(text, tlds),
    }
}

fn domain(text: &str, tlds: &[ZoneName]) -> Result<Query, Malformed> {
    if let Some(prefix) = text.strip_suffix('.').or_else(|| text.strip_suffix('*')) {
        return prefix_query(prefix);
    }
    let name = a_label(text)?;
    Ok(if served(&name, tlds) {
        Query::Domain(name)
    } else {
        Query::NotServed(name)
    })
}

fn prefix_query(prefix: &str) -> Result<Query, Malformed> {
    let prefix = prefix.trim_end_matches(['.', '*']);
    if prefix.is_empty() {
        return Err(Malformed::Empty);
    }
    // A prefix may stop mid-label, so it is lower-cased rather than IDNA-mapped, unless it
    // has non-ASCII characters (then the whole text is converted).
    let prefix = if prefix.is_ascii() {
        prefix.to_ascii_lowercase()
    } else {
        a_label(prefix)?
    };
    Ok(Query::DomainPrefix(prefix))
}

fn bare(text: &str, tlds: &[ZoneName]) -> Result<Query, Malformed> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(Query::NameserverAddress(ip));
    }
    let partial = text.ends_with('.') || text.ends_with('*');
    if text.len() > 1 && partial && !text.contains(char::is_whitespace) {
        return prefix_query(text);
    }
    if text.contains(char::is_whitespace) || !text.contains('.') {
        return Ok(match text.parse::<u32>() {
            Ok(id) => Query::RegistrarId(id),
            Err(_) => Query::RegistrarName(text.to_owned()),
        });
    }
    let name = a_label(text)?;
    if !served(&name, tlds) {
        return Ok(Query::NotServed(name));
    }
    // One label below the TLD: a domain; deeper: a domain where the TLD registers at the
    // third level, else a name server.
    let below = name.split('.').count() - 1;
    Ok(if below == 1 {
        Query::Domain(name)
    } else {
        Query::DomainOrNameserver(name)
    })
}

/// True if the name lies under one of the served TLDs.
fn served(name: &str, tlds: &[ZoneName]) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(_, tld)| tlds.iter().any(|t| t == tld))
}

/// The A-label form of a name (UTS 46 mapping, lower case, no final dot).
pub fn a_label(text: &str) -> Result<String, Malformed> {
    let text = text.trim().trim_end_matches('.');
    if text.is_empty() || text.len() > 253 * 4 {
        return Err(Malformed::BadName);
    }
    let ascii = idna::domain_to_ascii(text).map_err(|_| Malformed::BadName)?;
    let ok = !ascii.is_empty()
        && ascii.len() <= 253
        && ascii.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok {
        Ok(ascii)
    } else {
        Err(Malformed::BadName)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> Result<Query, Malformed> {
        parse(
            text.as_bytes(),
            &["tld".parse().unwrap(), "name".parse().unwrap()],
        )
    }

    #[test]
    fn keywords_and_bare_queries_are_classified_as_users_expect() {
        assert_eq!(
            q("domain Example.TLD"),
            Ok(Query::Domain("example.tld".into()))
        );
        assert_eq!(q("example.tld"), Ok(Query::Domain("example.tld".into())));
        assert_eq!(
            q("ns1.example.tld"),
            Ok(Query::DomainOrNameserver("ns1.example.tld".into()))
        );
        assert_eq!(
            q("nameserver ns1.example.net"),
            Ok(Query::NameserverName("ns1.example.net".into()))
        );
        assert_eq!(
            q("192.0.2.1"),
            Ok(Query::NameserverAddress("192.0.2.1".parse().unwrap()))
        );
        assert_eq!(
            q("nameserver 2001:db8::1"),
            Ok(Query::NameserverAddress("2001:db8::1".parse().unwrap()))
        );
        assert_eq!(q("registrar 1234"), Ok(Query::RegistrarId(1234)));
        assert_eq!(
            q("registrar Example Registrar"),
            Ok(Query::RegistrarName("Example Registrar".into()))
        );
        assert_eq!(
            q("Example Registrar"),
            Ok(Query::RegistrarName("Example Registrar".into()))
        );
        assert_eq!(q("example.com"), Ok(Query::NotServed("example.com".into())));
        assert_eq!(q("mack."), Ok(Query::DomainPrefix("mack".into())));
        assert_eq!(q("domain Mack."), Ok(Query::DomainPrefix("mack".into())));
        assert_eq!(q("mack*"), Ok(Query::DomainPrefix("mack".into())));
        assert_eq!(q("domain mack*"), Ok(Query::DomainPrefix("mack".into())));
    }

    #[test]
    fn u_labels_become_a_labels() {
        assert_eq!(
            q("bücher.tld"),
            Ok(Query::Domain("xn--bcher-kva.tld".into()))
        );
        assert_eq!(
            q("domain BÜCHER.tld"),
            Ok(Query::Domain("xn--bcher-kva.tld".into()))
        );
    }

    #[test]
    fn junk_is_refused() {
        assert_eq!(q(""), Err(Malformed::Empty));
        assert_eq!(q("   "), Err(Malformed::Empty));
        assert_eq!(parse(b"\xff\xfe", &[]), Err(Malformed::Binary));
        assert_eq!(q("exa\u{0}mple.tld"), Err(Malformed::Binary));
        assert_eq!(q("domain exa_mple.tld"), Err(Malformed::BadName));
    }
}
