//! Search indexes beside the WHOIS tree, as fst files replaced atomically:
//!
//! ```text
//! <root>/index/domains.fst      every domain name                       (prefix search)
//! <root>/index/addresses.fst    "<address>\0<host name>"                (name servers by address)
//! <root>/index/registrars.fst   lower-case registrar name → IANA id     (registrar by name)
//! <root>/index/nameservers.fst  "<name server>\0<domain>"               (domains by name server)
//! <root>/index/GENERATION       bumped (by rename) after the files above are in place
//! ```
//!
//! [`rebuild`] reads the tree (domain names from paths alone, hosts and registrars from their
//! records) and writes each file through a temporary and a rename; a reader that mapped the
//! previous files keeps them until it opens the new generation. Lookups of one object never
//! need an index: its path comes from its name.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use fst::{IntoStreamer, Map, MapBuilder, Set, SetBuilder, Streamer};
use memmap2::Mmap;
use zonefiles::whois::Object;

use crate::tree::{Tree, TreeError, write_atomically};

/// The opened indexes of one generation.
pub struct Index {
    generation: u64,
    domains: Option<Set<Mmap>>,
    addresses: Option<Set<Mmap>>,
    nameservers: Option<Set<Mmap>>,
    registrars: Option<Map<Mmap>>,
}

fn dir(root: &Path) -> PathBuf {
    root.join("index")
}

/// The generation written last, 0 if none.
pub fn generation(root: &Path) -> u64 {
    std::fs::read_to_string(dir(root).join("GENERATION"))
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0)
}

/// Rebuilds every index from the tree; returns the new generation.
pub fn rebuild(tree: &Tree) -> Result<u64, TreeError> {
    let root = tree.root();
    let index = dir(root);
    let mut domains = tree.domain_names()?;
    domains.sort_unstable();
    domains.dedup();
    let mut set = SetBuilder::memory();
    for name in &domains {
        set.insert(name).expect("sorted, unique");
    }
    write_atomically(
        &index.join("domains.fst"),
        &set.into_inner().expect("in memory"),
    )?;

    let mut addresses = Vec::new();
    let mut registrars = Vec::new();
    let mut nameservers = Vec::new();
    let kinds = [
        ("domain", root.join("domain")),
        ("host", root.join("host")),
        ("registrar", root.join("registrar")),
    ];
    for (kind, path) in kinds {
        for file in json_files(&path) {
            let Ok(bytes) = std::fs::read(&file) else {
                continue;
            };
            match (kind, serde_json::from_slice::<Object>(&bytes)) {
                ("domain", Ok(Object::Domain(d))) => {
                    for ns in &d.nameservers {
                        nameservers.push(format!("{}\0{}", ns.name, d.name));
                    }
                }
                ("host", Ok(Object::Host(h))) => {
                    for address in &h.addresses {
                        addresses.push(format!("{address}\0{}", h.name));
                    }
                }
                ("registrar", Ok(Object::Registrar(r))) => {
                    registrars.push((registrar_key(&r.name), u64::from(r.iana_id)));
                }
                _ => {
                    tracing::warn!(file = %file.display(), "not a record of its kind; not indexed")
                }
            }
        }
    }
    for (file, mut keys) in [
        ("addresses.fst", addresses),
        ("nameservers.fst", nameservers),
    ] {
        keys.sort_unstable();
        keys.dedup();
        let mut set = SetBuilder::memory();
        for key in &keys {
            set.insert(key).expect("sorted, unique");
        }
        write_atomically(&index.join(file), &set.into_inner().expect("in memory"))?;
    }
    registrars.sort_unstable();
    registrars.dedup_by(|a, b| a.0 == b.0);
    let mut map = MapBuilder::memory();
    for (name, id) in &registrars {
        map.insert(name, *id).expect("sorted, unique");
    }
    write_atomically(
        &index.join("registrars.fst"),
        &map.into_inner().expect("in memory"),
    )?;

    let next = generation(root) + 1;
    write_atomically(&index.join("GENERATION"), format!("{next}\n").as_bytes())?;
    Ok(next)
}

/// How registrar names are compared: case, spacing and final dots do not count ("Example
/// Registrar, Inc." is "example registrar, inc").
fn registrar_key(name: &str) -> String {
    let words: Vec<String> = name.split_whitespace().map(str::to_lowercase).collect();
    words.join(" ").trim_end_matches('.').to_owned()
}

/// The rest of the keys that start with `prefix` (at most `limit`), and whether there are more.
fn tails(set: Option<&Set<Mmap>>, prefix: &str, limit: usize) -> (Vec<String>, bool) {
    let Some(set) = set else {
        return (Vec::new(), false);
    };
    let mut upper = prefix.as_bytes().to_vec();
    upper.push(0xFF);
    let mut stream = set.range().ge(prefix).lt(&upper).into_stream();
    let mut out = Vec::new();
    while let Some(key) = stream.next() {
        if out.len() == limit {
            return (out, true);
        }
        out.push(String::from_utf8_lossy(&key[prefix.len()..]).into_owned());
    }
    (out, false)
}

/// Every `*.json` file below `dir`, depth first.
fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json")
                && !entry.file_name().to_string_lossy().starts_with('.')
            {
                out.push(path);
            }
        }
    }
    out
}

fn map_file(path: &Path) -> Option<Mmap> {
    let file = std::fs::File::open(path).ok()?;
    // SAFETY: index files are only ever replaced by rename, never written in place, so the
    // mapped bytes cannot change underneath.
    unsafe { Mmap::map(&file) }.ok()
}

impl Index {
    /// Opens the current generation (indexes that are missing or damaged are left out, and
    /// the searches they serve find nothing).
    pub fn open(root: &Path) -> Index {
        let index = dir(root);
        let generation = generation(root);
        let set = |name: &str| {
            map_file(&index.join(name)).and_then(|m| {
                let set = Set::new(m).ok()?;
                set.as_fst().verify().ok()?;
                Some(set)
            })
        };
        let registrars = map_file(&index.join("registrars.fst")).and_then(|m| {
            let map = Map::new(m).ok()?;
            map.as_fst().verify().ok()?;
            Some(map)
        });
        Index {
            generation,
            domains: set("domains.fst"),
            addresses: set("addresses.fst"),
            nameservers: set("nameservers.fst"),
            registrars,
        }
    }

    /// The generation these indexes are.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Up to `limit` domain names starting with `prefix`, and whether there were more.
    pub fn domains_with_prefix(&self, prefix: &str, limit: usize) -> (Vec<String>, bool) {
        let Some(set) = &self.domains else {
            return (Vec::new(), false);
        };
        let mut upper = prefix.as_bytes().to_vec();
        upper.push(0xFF);
        let mut stream = set.range().ge(prefix).lt(&upper).into_stream();
        let mut names = Vec::new();
        while let Some(key) = stream.next() {
            if names.len() == limit {
                return (names, true);
            }
            names.push(String::from_utf8_lossy(key).into_owned());
        }
        (names, false)
    }

    /// Host names with this address (at most `limit`).
    pub fn hosts_with_address(&self, address: IpAddr, limit: usize) -> Vec<String> {
        tails(self.addresses.as_ref(), &format!("{address}\0"), limit).0
    }

    /// Domains delegated to this name server (at most `limit`), and whether there are more.
    pub fn domains_using(&self, nameserver: &str, limit: usize) -> (Vec<String>, bool) {
        tails(self.nameservers.as_ref(), &format!("{nameserver}\0"), limit)
    }

    /// The IANA id of the registrar with this name (case-insensitive).
    pub fn registrar_named(&self, name: &str) -> Option<u32> {
        let id = self.registrars.as_ref()?.get(registrar_key(name))?;
        u32::try_from(id).ok()
    }
}
