//! RDAP (RFC 7480, 9082, 9083) from the same WHOIS tree and indexes as port 43: a change is
//! visible as soon as the agent renames its record into place, and the same per-prefix limits
//! apply.
//!
//! - [`request`]: the path and query grammar (sans-IO; fuzzed).
//! - [`response`]: the JSON of each object class, the notices and errors of ICANN's profile.
//! - [`http`]: the listeners (plain HTTP for loopback and testing, HTTPS with certificates
//!   reloaded on SIGHUP), HTTP/1.1 keep-alive and HTTP/2, limits and headers.
//!
//! [`answer`] is the call between them: from a parsed request to the status and body, reading
//! records the way the port-43 answers do (without waiting for the disk first, then, for a
//! record not in memory, on a blocking thread).

pub mod http;
pub mod request;
pub mod response;

use serde::Deserialize;
use zonefiles::whois::cached::Wait;
use zonefiles::whois::{Object, ObjectKey, Registrar};

use crate::answer::{NotCached, Outcome, Service};
use request::{Pattern, Refused, Request, Search};
use response::{Context, to_bytes};

/// The RDAP section of the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Plain-HTTP addresses (loopback, testing, or behind a TLS-terminating proxy); off when
    /// empty.
    pub listen: Vec<std::net::SocketAddr>,
    /// HTTPS addresses; they need `certificate` and `key`.
    pub tls_listen: Vec<std::net::SocketAddr>,
    /// The certificate chain (PEM), read again on SIGHUP.
    pub certificate: Option<std::path::PathBuf>,
    /// The certificate's private key (PEM), read again on SIGHUP.
    pub key: Option<std::path::PathBuf>,
    /// The public base URL (e.g. `https://rdap.nic.example/`) links are made from; when
    /// absent, the scheme and `Host` of each request.
    pub base_url: Option<String>,
    /// Where lookups of names under TLDs not served here are redirected (RFC 7480 §5.2), a
    /// base URL ending in `/` such as a bootstrap redirector (`https://rdap.org/`); when
    /// absent they get 404.
    pub redirect_other_tlds: Option<String>,
    /// The port-43 server's host name, shown on objects (`port43`).
    pub port43: Option<String>,
    /// Connections open at once (more are closed on accept).
    pub max_connections: usize,
    /// A connection with no request for this long is closed (milliseconds); also the time
    /// allowed to send a request's headers.
    pub idle_timeout_ms: u64,
    /// The largest request head, in bytes (at least 8192).
    pub max_header_bytes: usize,
    /// Headers a request may have.
    pub max_headers: usize,
    /// HTTP/2 streams a connection may have open at once.
    pub max_streams: u32,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: Vec::new(),
            tls_listen: Vec::new(),
            certificate: None,
            key: None,
            base_url: None,
            redirect_other_tlds: None,
            port43: None,
            max_connections: 4096,
            idle_timeout_ms: 30_000,
            max_header_bytes: 8192,
            max_headers: 32,
            max_streams: 32,
        }
    }
}

impl Config {
    /// Checks what serde cannot.
    pub fn check(&self) -> anyhow::Result<()> {
        if !self.tls_listen.is_empty() {
            anyhow::ensure!(
                self.certificate.is_some() && self.key.is_some(),
                "rdap.tls_listen needs rdap.certificate and rdap.key"
            );
        }
        anyhow::ensure!(
            self.max_header_bytes >= 8192,
            "rdap.max_header_bytes must be at least 8192"
        );
        anyhow::ensure!(self.max_headers >= 8, "rdap.max_headers must be at least 8");
        for (key, url) in [
            ("base_url", &self.base_url),
            ("redirect_other_tlds", &self.redirect_other_tlds),
        ] {
            if let Some(url) = url {
                anyhow::ensure!(
                    (url.starts_with("https://") || url.starts_with("http://"))
                        && url.ends_with('/'),
                    "rdap.{key} must be an http(s) URL ending in `/`"
                );
            }
        }
        Ok(())
    }
}

/// An answer: HTTP status, body, and what it was for the metrics.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: Vec<u8>,
    /// The outcome counted.
    pub outcome: Outcome,
    /// Where a redirect points (`Location`).
    pub location: Option<String>,
}

impl Reply {
    fn new(status: u16, body: Vec<u8>, outcome: Outcome) -> Reply {
        Reply {
            status,
            body,
            outcome,
            location: None,
        }
    }
}

/// The answer to a request. `base` ends in `/`; `url` is the URL asked for.
pub fn answer(
    service: &Service,
    config: &Config,
    base: &str,
    url: &str,
    request: Result<Request, Refused>,
    wait: Wait,
) -> Result<Reply, NotCached> {
    let ctx = Context {
        base,
        url,
        texts: &service.texts,
        port43: config.port43.as_deref(),
        last_update: service.last_update(wait)?,
    };
    let error = |status: u16, title: &str, description: &str, outcome: Outcome| {
        let body = to_bytes(&response::error(&ctx, status, title, description));
        Reply::new(status, body, outcome)
    };
    let not_found = |what: &str| {
        let description = format!("{what} is not registered here");
        error(404, "Not Found", &description, Outcome::NotFound)
    };
    let found = |body| Reply::new(200, body, Outcome::Found);
    let request = match request {
        Ok(request) => request,
        Err(refused) => {
            let title = match refused.status() {
                400 => "Bad Request",
                404 => "Not Found",
                422 => "Unprocessable Search",
                _ => "Not Implemented",
            };
            let description = refused.to_string();
            return Ok(error(
                refused.status(),
                title,
                &description,
                Outcome::Malformed,
            ));
        }
    };
    Ok(match request {
        Request::Help => found(to_bytes(&response::help(&ctx))),
        Request::Domain(name) if !served(service, &name) => match &config.redirect_other_tlds {
            Some(elsewhere) => {
                let location = format!("{elsewhere}domain/{name}");
                Reply {
                    location: Some(location.clone()),
                    ..error(301, "Moved Permanently", &location, Outcome::NotServed)
                }
            }
            None => {
                let text = service.texts.not_served.replace("{query}", &name);
                error(404, "Not Found", &text, Outcome::NotServed)
            }
        },
        Request::Domain(name) => match service.get(ObjectKey::Domain(name.clone()), wait)? {
            Some(Object::Domain(d)) => {
                let r = service.registrar(d.registrar, wait)?;
                let object = response::domain(&ctx, &d, r.as_ref());
                found(to_bytes(&response::top(&ctx, object, true)))
            }
            _ => not_found(&name),
        },
        Request::Nameserver(name) => match service.get(ObjectKey::Host(name.clone()), wait)? {
            Some(Object::Host(h)) => {
                let r = service.registrar(h.registrar, wait)?;
                let object = response::nameserver(&ctx, &h, r.as_ref());
                found(to_bytes(&response::top(&ctx, object, false)))
            }
            _ => not_found(&name),
        },
        Request::Entity(id) => match service.registrar(id, wait)? {
            Some(r) => found(to_bytes(&response::top(
                &ctx,
                response::registrar(&ctx, &r),
                false,
            ))),
            None => not_found(&format!("registrar {id}")),
        },
        Request::Search(search) => {
            let (matched, truncated) = run_search(service, &search, wait)?;
            let body = match &matched {
                Matched::Domains(names) if !names.is_empty() => {
                    let objects = names
                        .iter()
                        .map(|name| response::domain_summary(&ctx, name))
                        .collect();
                    to_bytes(&response::search(
                        &ctx,
                        "domainSearchResults",
                        objects,
                        truncated,
                    ))
                }
                Matched::Nameservers(names) if !names.is_empty() => {
                    let objects = names
                        .iter()
                        .map(|name| response::nameserver_summary(&ctx, name))
                        .collect();
                    let member = "nameserverSearchResults";
                    to_bytes(&response::search(&ctx, member, objects, truncated))
                }
                Matched::Entities(list) if !list.is_empty() => {
                    let objects = list.iter().map(|r| response::registrar(&ctx, r)).collect();
                    to_bytes(&response::search(
                        &ctx,
                        "entitySearchResults",
                        objects,
                        truncated,
                    ))
                }
                _ => {
                    let nothing = "no object matches the search";
                    return Ok(error(404, "Not Found", nothing, Outcome::NotFound));
                }
            };
            found(body)
        }
    })
}

/// What a search found. Domains and name servers come from the search indexes alone and are
/// answered as summaries (a name and its link; RFC 9083 §4.3's truncation remark says so),
/// so a search costs an index range, not a read per result; registrars are few and held in
/// memory, and are answered whole.
enum Matched {
    Domains(Vec<String>),
    Nameservers(Vec<String>),
    Entities(Vec<Registrar>),
}

/// Up to `cap` domains delegated to any of these name servers (sorted), and whether there
/// were more.
fn delegated_to(
    index: &zonefiles::whois::index::Index,
    servers: Vec<String>,
    cap: usize,
) -> (Vec<String>, bool) {
    let mut names = Vec::new();
    let mut more = false;
    for ns in servers {
        let (used, cut) = index.domains_using(&ns, cap - names.len().min(cap));
        names.extend(used);
        more |= cut;
        if names.len() >= cap {
            break;
        }
    }
    names.sort_unstable();
    names.dedup();
    (names, more)
}

fn served(service: &Service, name: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(_, tld)| service.tlds.iter().any(|t| t == tld))
}

/// Runs a search: what it found, and whether the cap cut it.
fn run_search(
    service: &Service,
    search: &Search,
    wait: Wait,
) -> Result<(Matched, bool), NotCached> {
    let cap = service.max_results;
    let index = service.index();
    let exact = |names: (Vec<String>, bool), name: &str| -> Vec<String> {
        names.0.into_iter().filter(|n| n == name).collect()
    };
    Ok(match search {
        Search::DomainsByName(Pattern::Exact(name)) => (
            Matched::Domains(exact(index.domains_with_prefix(name, 1), name)),
            false,
        ),
        Search::DomainsByName(Pattern::Prefix(prefix)) => {
            let (names, more) = index.domains_with_prefix(prefix, cap);
            (Matched::Domains(names), more)
        }
        Search::DomainsByNameserver(Pattern::Exact(ns)) => {
            let (names, more) = index.domains_using(ns, cap);
            (Matched::Domains(names), more)
        }
        Search::DomainsByNameserver(Pattern::Prefix(prefix)) => {
            let (servers, more) = index.nameservers_with_prefix(prefix, cap);
            let (names, cut) = delegated_to(&index, servers, cap);
            (Matched::Domains(names), more || cut)
        }
        Search::DomainsByNameserverIp(ip) => {
            let (names, more) = delegated_to(&index, index.hosts_with_address(*ip, cap), cap);
            (Matched::Domains(names), more)
        }
        Search::NameserversByName(Pattern::Exact(name)) => {
            let host = matches!(
                service.get(ObjectKey::Host(name.clone()), wait)?,
                Some(Object::Host(_))
            );
            let used = !index.domains_using(name, 1).0.is_empty();
            let names = if host || used {
                vec![name.clone()]
            } else {
                Vec::new()
            };
            (Matched::Nameservers(names), false)
        }
        Search::NameserversByName(Pattern::Prefix(prefix)) => {
            let (names, more) = index.nameservers_with_prefix(prefix, cap);
            (Matched::Nameservers(names), more)
        }
        Search::NameserversByIp(ip) => {
            let mut names = index.hosts_with_address(*ip, cap + 1);
            let more = names.len() > cap;
            names.truncate(cap);
            (Matched::Nameservers(names), more)
        }
        Search::EntitiesByName(pattern) => {
            let (ids, more) = match pattern {
                Pattern::Exact(name) => (index.registrar_named(name).into_iter().collect(), false),
                Pattern::Prefix(prefix) => index.registrars_with_prefix(prefix, cap),
            };
            let mut out = Vec::new();
            for id in ids {
                out.extend(service.registrar(id, wait)?);
            }
            (Matched::Entities(out), more)
        }
        Search::EntitiesByHandle(id) => {
            let out = service.registrar(*id, wait)?.into_iter().collect();
            (Matched::Entities(out), false)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{self, Texts, parse_iso8601};
    use proptest::prelude::*;
    use serde_json::Value;
    use zonefiles::whois::{DelegationSigner, Domain, DomainStatus, Nameserver};

    /// Reads back from an RDAP domain what the port-43 parse reads from its text.
    fn read_back(d: &Value) -> Domain {
        let event = |action: &str| {
            d["events"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["eventAction"] == action)
                .and_then(|e| parse_iso8601(e["eventDate"].as_str()?))
                .unwrap()
        };
        Domain {
            name: d["ldhName"].as_str().unwrap().into(),
            roid: d["handle"].as_str().unwrap().into(),
            registrar: d["entities"][0]["publicIds"][0]["identifier"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap(),
            statuses: d["status"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    *DomainStatus::ALL
                        .iter()
                        .find(|x| response::status(**x) == s.as_str().unwrap())
                        .unwrap()
                })
                .collect(),
            nameservers: d["nameservers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|ns| Nameserver {
                    name: ns["ldhName"].as_str().unwrap().into(),
                    addresses: Vec::new(),
                })
                .collect(),
            ds: Vec::new(),
            created: event("registration"),
            updated: event("last changed"),
            expires: event("expiration"),
        }
    }

    /// The value of a `Key: value` line of a port-43 answer.
    fn line<'a>(text: &'a str, key: &str) -> Option<&'a str> {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(": "))
    }

    proptest! {
        /// RDAP and port 43 say the same of every generated record: name, ROID, registrar and
        /// its abuse contact, statuses (RFC 8056 words for EPP codes), name servers, dates,
        /// and whether the delegation is signed.
        #[test]
        fn rdap_and_port_43_agree_on_every_field(
            mut d in render::tests::domains(),
            signed in any::<bool>(),
            name in "[A-Z][a-z]{2,12}( [A-Z][a-z]{2,8})?",
        ) {
            if signed {
                d.ds.push(DelegationSigner { key_tag: 1, algorithm: 13, digest_type: 2, digest: vec![0xAB; 32] });
            }
            prop_assume!(d.expires > 0 && d.created > 0);
            let registrar = Registrar {
                iana_id: d.registrar,
                name,
                whois_server: "whois.example-registrar.net".into(),
                url: "https://example-registrar.net".into(),
                abuse_email: "abuse@example-registrar.net".into(),
                abuse_phone: "+1.5555550100".into(),
                updated: 0,
            };
            let texts = Texts::default();
            let ctx = response::Context {
                base: "https://rdap.example/",
                url: "https://rdap.example/domain/x",
                texts: &texts,
                port43: None,
                last_update: Some(1),
            };
            let object = response::domain(&ctx, &d, Some(&registrar));
            let json: Value = serde_json::from_slice(&to_bytes(&object)).unwrap();
            let text = render::domain(&d, Some(&registrar));
            let mut from_text = render::parse_domain(&text).unwrap();
            from_text.ds = d.ds.clone();
            let mut from_json = read_back(&json);
            from_json.ds = d.ds.clone();
            prop_assert_eq!(&from_json, &from_text);
            prop_assert_eq!(&from_json, &d);
            let entity = &json["entities"][0];
            prop_assert_eq!(line(&text, "Registrar"), entity["vcardArray"][1][1][3].as_str());
            let abuse = &entity["entities"][0]["vcardArray"][1];
            prop_assert_eq!(
                line(&text, "Registrar Abuse Contact Email"),
                abuse[3][3].as_str()
            );
            prop_assert_eq!(
                line(&text, "Registrar Abuse Contact Phone").map(|p| format!("tel:{p}")),
                abuse[2][3].as_str().map(str::to_owned)
            );
            prop_assert_eq!(
                line(&text, "DNSSEC") == Some("signedDelegation"),
                json["secureDNS"]["delegationSigned"] == true
            );
        }
    }
}
