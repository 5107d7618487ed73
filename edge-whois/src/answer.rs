//! From a query line to the text sent back: the look-up in the tree (one file for one object,
//! found by its name) or in the indexes (searches), and the rendering.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use rustc_hash::FxHashMap;
use zonefiles::ZoneName;
use zonefiles::whois::{Object, ObjectKey};

use crate::query::{self, Malformed, Query};
use crate::render::{self, Texts};
use zonefiles::whois::cached::Wait;
use zonefiles::whois::index::Index;
use zonefiles::whois::tree::{Tree, TreeError};

/// An answer needed a record the page cache did not hold, and was asked not to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotCached;

/// What an answer was, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Something matched.
    Found,
    /// Nothing matched (a free domain).
    NotFound,
    /// A name under a TLD not served here.
    NotServed,
    /// Not a query.
    Malformed,
}

impl Outcome {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Found => "found",
            Outcome::NotFound => "not_found",
            Outcome::NotServed => "not_served",
            Outcome::Malformed => "malformed",
        }
    }
}

/// Everything answering needs.
pub struct Service {
    /// The records.
    pub tree: Tree,
    /// The search indexes as last opened ([`Service::index`] moves them on).
    index: ArcSwap<Index>,
    /// The operator's texts.
    pub texts: Texts,
    /// The TLDs served (lower case, no dots).
    pub tlds: Vec<ZoneName>,
    /// Results shown for a search before "more results omitted".
    pub max_results: usize,
    /// What every answer reads (the last update time, the registrars), kept for a second.
    cache: Mutex<Cache>,
}

/// How long the last update time and registrar records are kept before they are read again.
const CACHE_FOR: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Cache {
    last_update: Option<(Instant, Option<i64>)>,
    registrars: FxHashMap<u32, (Instant, Option<zonefiles::whois::Registrar>)>,
}

impl Service {
    /// The search indexes at their newest generation: one read of the index's manifest, and
    /// the new segments mapped if a writer added any since, so a search finds a change as
    /// soon as the change's record is served.
    pub fn index(&self) -> Arc<Index> {
        let held = self.index.load_full();
        match held.refreshed(self.tree.root()) {
            Some(newer) => {
                let newer = Arc::new(newer);
                self.index.store(newer.clone());
                newer
            }
            None => held,
        }
    }

    /// The generation of the search indexes last opened.
    pub fn index_generation(&self) -> u64 {
        self.index.load().generation()
    }

    /// The answer to one query line (its line end removed), with CRLF line ends. With
    /// [`Wait::No`] it is [`NotCached`] when a record it needs is not in memory; with
    /// [`Wait::Allowed`] it is always there.
    pub fn answer(&self, line: &[u8], wait: Wait) -> Result<(String, Outcome), NotCached> {
        let (body, outcome, form) = match query::parse(line, &self.tlds) {
            Ok(q) => self.look_up(&q, wait)?,
            Err(Malformed::Empty) => (
                "malformed request: empty query\n".into(),
                Outcome::Malformed,
                false,
            ),
            Err(e) => (
                format!("malformed request: {e}\n"),
                Outcome::Malformed,
                false,
            ),
        };
        let footer = render::footer(&self.texts, form, self.last_update(wait)?);
        Ok((render::crlf(&format!("{body}{footer}")), outcome))
    }

    pub(crate) fn get(&self, key: ObjectKey, wait: Wait) -> Result<Option<Object>, NotCached> {
        match self.tree.read(&key, wait) {
            Ok(object) => Ok(object),
            Err(TreeError::NotCached) => Err(NotCached),
            Err(error) => {
                tracing::error!(%error, "reading a WHOIS record");
                Ok(None)
            }
        }
    }

    /// The time of the last change (read at most once a second).
    pub(crate) fn last_update(&self, wait: Wait) -> Result<Option<i64>, NotCached> {
        let now = Instant::now();
        if let Ok(cache) = self.cache.lock()
            && let Some((read, value)) = cache.last_update
            && now.duration_since(read) < CACHE_FOR
        {
            return Ok(value);
        }
        let value = self.tree.last_update(wait).map_err(|_| NotCached)?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.last_update = Some((now, value));
        }
        Ok(value)
    }

    /// A registrar's record (each read at most once a second: every domain shows one).
    pub(crate) fn registrar(
        &self,
        id: u32,
        wait: Wait,
    ) -> Result<Option<zonefiles::whois::Registrar>, NotCached> {
        let now = Instant::now();
        if let Ok(cache) = self.cache.lock()
            && let Some((read, value)) = cache.registrars.get(&id)
            && now.duration_since(*read) < CACHE_FOR
        {
            return Ok(value.clone());
        }
        let value = match self.get(ObjectKey::Registrar(id), wait)? {
            Some(Object::Registrar(r)) => Some(r),
            _ => None,
        };
        if let Ok(mut cache) = self.cache.lock() {
            // Bounded: registrars number in the thousands at most; a stranger id clears it.
            if cache.registrars.len() >= 65_536 {
                cache.registrars.clear();
            }
            cache.registrars.insert(id, (now, value.clone()));
        }
        Ok(value)
    }

    fn not_found(&self, query: &str) -> (String, Outcome, bool) {
        let text = self.texts.not_found.replace("{query}", query);
        (format!("{text}\n"), Outcome::NotFound, false)
    }

    fn look_up(&self, q: &Query, wait: Wait) -> Result<(String, Outcome, bool), NotCached> {
        Ok(match q {
            Query::Domain(name) => match self.get(ObjectKey::Domain(name.clone()), wait)? {
                Some(Object::Domain(d)) => {
                    let registrar = self.registrar(d.registrar, wait)?;
                    (render::domain(&d, registrar.as_ref()), Outcome::Found, true)
                }
                _ => self.not_found(name),
            },
            Query::DomainPrefix(prefix) => {
                let index = self.index();
                let (names, more) = index.domains_with_prefix(prefix, self.max_results);
                if names.is_empty() {
                    return Ok(self.not_found(&format!("{prefix}.")));
                }
                let mut out: String = names
                    .iter()
                    .map(|n| format!("Domain Name: {n}\n"))
                    .collect();
                if more {
                    out.push_str(&format!(
                        "More than {} domains start with \"{prefix}\": more results omitted, \
                         give more of the name.\n",
                        self.max_results
                    ));
                }
                (out, Outcome::Found, false)
            }
            Query::DomainOrNameserver(name) => {
                match self.get(ObjectKey::Domain(name.clone()), wait)? {
                    Some(Object::Domain(d)) => {
                        let registrar = self.registrar(d.registrar, wait)?;
                        (render::domain(&d, registrar.as_ref()), Outcome::Found, true)
                    }
                    _ => self.look_up(&Query::NameserverName(name.clone()), wait)?,
                }
            }
            Query::NameserverName(name) => match self.get(ObjectKey::Host(name.clone()), wait)? {
                Some(Object::Host(h)) => {
                    let registrar = self.registrar(h.registrar, wait)?;
                    (render::host(&h, registrar.as_ref()), Outcome::Found, false)
                }
                // Not a host object here (a name server of another TLD): the domains it serves.
                _ => {
                    let (domains, more) = self.index().domains_using(name, self.max_results);
                    if domains.is_empty() {
                        return Ok(self.not_found(name));
                    }
                    let mut out = format!("Server Name: {name}\n");
                    for d in &domains {
                        out.push_str(&format!("Domain Name: {d}\n"));
                    }
                    if more {
                        out.push_str(&format!(
                            "More than {} domains use \"{name}\": more results omitted.\n",
                            self.max_results
                        ));
                    }
                    (out, Outcome::Found, false)
                }
            },
            Query::NameserverAddress(address) => {
                let index = self.index();
                let mut out = String::new();
                for name in index.hosts_with_address(*address, self.max_results) {
                    if let Some(Object::Host(h)) = self.get(ObjectKey::Host(name), wait)? {
                        let registrar = self.registrar(h.registrar, wait)?;
                        if !out.is_empty() {
                            out.push('\n');
                        }
                        out.push_str(&render::host(&h, registrar.as_ref()));
                    }
                }
                if out.is_empty() {
                    return Ok(self.not_found(&address.to_string()));
                }
                (out, Outcome::Found, false)
            }
            Query::RegistrarId(id) => match self.registrar(*id, wait)? {
                Some(r) => (render::registrar(&r), Outcome::Found, false),
                None => self.not_found(&id.to_string()),
            },
            Query::RegistrarName(name) => {
                let id = self.index().registrar_named(name);
                let registrar = match id {
                    Some(id) => self.registrar(id, wait)?,
                    None => None,
                };
                match registrar {
                    Some(r) => (render::registrar(&r), Outcome::Found, false),
                    None => self.not_found(name),
                }
            }
            Query::NotServed(name) => {
                let text = self.texts.not_served.replace("{query}", name);
                (format!("{text}\n"), Outcome::NotServed, false)
            }
        })
    }
}

/// Opens the service for a tree and starts from its current indexes.
pub fn service(tree: Tree, texts: Texts, tlds: Vec<ZoneName>, max_results: usize) -> Arc<Service> {
    let index = Index::open(tree.root());
    Arc::new(Service {
        tree,
        index: ArcSwap::from_pointee(index),
        texts,
        tlds,
        max_results,
        cache: Mutex::new(Cache::default()),
    })
}
