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
//! [`rebuild`] reads the whole tree and writes each file through a temporary and a rename; a
//! [`Delta`] merges the keys a batch of writes adds and removes into the files it touches, with
//! no record read. A reader that mapped the previous files keeps them until it opens the new
//! generation. Lookups of one object never
//! need an index: its path comes from its name.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::Object;
use fst::{IntoStreamer, Map, MapBuilder, Set, Streamer};
use memmap2::Mmap;

use super::tree::{Tree, TreeError, write_atomically};

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

/// The index files, each mapping its keys to a value (0 for the sets).
const FILES: [&str; 4] = [
    "domains.fst",
    "addresses.fst",
    "nameservers.fst",
    "registrars.fst",
];

/// Rebuilds every index from the records of the tree; returns the new generation.
pub fn rebuild(tree: &Tree) -> Result<u64, TreeError> {
    let root = tree.root();
    let started = std::time::Instant::now();
    let mut keys: Vec<(&'static str, String, u64)> = Vec::new();
    let mut read = 0u64;
    for kind in ["domain", "host", "registrar"] {
        for file in json_files(&root.join(kind)) {
            let Ok(bytes) = std::fs::read(&file) else {
                continue;
            };
            read += 1;
            if read.is_multiple_of(100_000) {
                tracing::info!(
                    records = read,
                    seconds = started.elapsed().as_secs(),
                    "indexing the WHOIS tree"
                );
            }
            match serde_json::from_slice::<Object>(&bytes) {
                Ok(object) => keys.extend(keys_of(&object)),
                Err(_) => tracing::warn!(file = %file.display(), "not a WHOIS record; not indexed"),
            }
        }
    }
    keys.sort_unstable();
    for file in FILES {
        let mut entries: Vec<(Vec<u8>, u64)> = keys
            .iter()
            .filter(|(f, _, _)| *f == file)
            .map(|(_, k, v)| (k.clone().into_bytes(), *v))
            .collect();
        entries.dedup_by(|a, b| a.0 == b.0);
        write_map(&dir(root).join(file), &entries)?;
    }
    let generation = bump_generation(root)?;
    tracing::info!(
        records = read,
        generation,
        ms = started.elapsed().as_millis() as u64,
        "search indexes written"
    );
    Ok(generation)
}

/// Writes an index file (through a temporary file and a rename) from keys in order.
fn write_map(path: &Path, entries: &[(Vec<u8>, u64)]) -> Result<(), TreeError> {
    let mut map = MapBuilder::memory();
    for (key, value) in entries {
        map.insert(key, *value).expect("sorted, unique");
    }
    write_atomically(path, &map.into_inner().expect("in memory"))
}

/// Marks the files written so far as the next generation; returns it.
fn bump_generation(root: &Path) -> Result<u64, TreeError> {
    let next = generation(root) + 1;
    write_atomically(
        &dir(root).join("GENERATION"),
        format!("{next}\n").as_bytes(),
    )?;
    Ok(next)
}

/// How registrar names are compared: case, spacing and final dots do not count ("Example
/// Registrar, Inc." is "example registrar, inc").
fn registrar_key(name: &str) -> String {
    let words: Vec<String> = name.split_whitespace().map(str::to_lowercase).collect();
    words.join(" ").trim_end_matches('.').to_owned()
}

/// The keys that start with `prefix` (at most `limit`), each with the first `skip` bytes left
/// out, and whether there are more.
fn with_prefix(
    set: Option<&Set<Mmap>>,
    prefix: &str,
    skip: usize,
    limit: usize,
) -> (Vec<String>, bool) {
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
        out.push(String::from_utf8_lossy(&key[skip..]).into_owned());
    }
    (out, false)
}

/// The rest of the keys that start with `prefix` (at most `limit`), and whether there are more.
fn tails(set: Option<&Set<Mmap>>, prefix: &str, limit: usize) -> (Vec<String>, bool) {
    with_prefix(set, prefix, prefix.len(), limit)
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
        with_prefix(self.domains.as_ref(), prefix, 0, limit)
    }

    /// Host names with this address (at most `limit`).
    pub fn hosts_with_address(&self, address: IpAddr, limit: usize) -> Vec<String> {
        tails(self.addresses.as_ref(), &format!("{address}\0"), limit).0
    }

    /// Domains delegated to this name server (at most `limit`), and whether there are more.
    pub fn domains_using(&self, nameserver: &str, limit: usize) -> (Vec<String>, bool) {
        tails(self.nameservers.as_ref(), &format!("{nameserver}\0"), limit)
    }

    /// Up to `limit` distinct name servers (used by some domain) whose names start with
    /// `prefix`, and whether there were more. Each name costs one range of the index, however
    /// many domains use it.
    pub fn nameservers_with_prefix(&self, prefix: &str, limit: usize) -> (Vec<String>, bool) {
        let Some(set) = self.nameservers.as_ref() else {
            return (Vec::new(), false);
        };
        let mut upper = prefix.as_bytes().to_vec();
        upper.push(0xFF);
        let mut from = prefix.as_bytes().to_vec();
        let mut out = Vec::new();
        loop {
            let mut stream = set.range().ge(&from).lt(&upper).into_stream();
            let Some(key) = stream.next() else {
                return (out, false);
            };
            let name = key.split(|&b| b == 0).next().unwrap_or(key);
            if out.len() == limit {
                return (out, true);
            }
            out.push(String::from_utf8_lossy(name).into_owned());
            // The next name server: past every "<name>\0…" key.
            from = name.to_vec();
            from.push(1);
        }
    }

    /// Up to `limit` IANA ids of registrars whose names start with `prefix`
    /// (case-insensitive), and whether there were more.
    pub fn registrars_with_prefix(&self, prefix: &str, limit: usize) -> (Vec<u32>, bool) {
        let Some(map) = self.registrars.as_ref() else {
            return (Vec::new(), false);
        };
        let prefix = registrar_key(prefix);
        let mut upper = prefix.as_bytes().to_vec();
        upper.push(0xFF);
        let mut stream = map.range().ge(&prefix).lt(&upper).into_stream();
        let mut out = Vec::new();
        while let Some((_, id)) = stream.next() {
            if out.len() == limit {
                return (out, true);
            }
            out.extend(u32::try_from(id).ok());
        }
        (out, false)
    }

    /// The IANA id of the registrar with this name (case-insensitive).
    pub fn registrar_named(&self, name: &str) -> Option<u32> {
        let id = self.registrars.as_ref()?.get(registrar_key(name))?;
        u32::try_from(id).ok()
    }
}

/// The index keys an object contributes: (index file, key, value for maps).
fn keys_of(object: &Object) -> Vec<(&'static str, String, u64)> {
    match object {
        Object::Domain(d) => {
            let mut keys = vec![("domains.fst", d.name.clone(), 0)];
            for ns in &d.nameservers {
                keys.push(("nameservers.fst", format!("{}\0{}", ns.name, d.name), 0));
            }
            keys
        }
        Object::Host(h) => h
            .addresses
            .iter()
            .map(|a| ("addresses.fst", format!("{a}\0{}", h.name), 0))
            .collect(),
        Object::Registrar(r) => vec![(
            "registrars.fst",
            registrar_key(&r.name),
            u64::from(r.iana_id),
        )],
    }
}

/// Changes to apply to the indexes: what records were before and are after a batch of
/// writes. Applying merges them into each index file that changes (a pass over its keys, no
/// record is read) and bumps the generation: the way to keep the indexes current as the
/// update-agent writes, where [`rebuild`] reads the whole tree.
///
/// Each key's last change wins, whatever came before it in the batch: a key added and then
/// removed again (a domain created and deleted, a name server set and dropped) is removed. Keys
/// name their object, so changes of different objects never touch the same key and may be
/// recorded in any order; one object's changes are recorded in the order they happened.
#[derive(Debug, Default)]
pub struct Delta {
    /// (index file, key) → its value, or `None` if removed.
    changes: BTreeMap<(&'static str, String), Option<u64>>,
}

impl Delta {
    /// Notes one object's change (`None`: absent before, or deleted).
    pub fn record(&mut self, before: Option<&Object>, after: Option<&Object>) {
        let new = after.map(keys_of).unwrap_or_default();
        for (file, key, _) in before.map(keys_of).unwrap_or_default() {
            if !new.iter().any(|(f, k, _)| *f == file && *k == key) {
                self.changes.insert((file, key), None);
            }
        }
        for (file, key, value) in new {
            self.changes.insert((file, key), Some(value));
        }
    }

    /// Takes in the changes of `later`, recorded after this delta's.
    pub fn extend(&mut self, later: Delta) {
        self.changes.extend(later.changes);
    }

    /// True if nothing changes.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Writes the changed index files and bumps the generation; returns it.
    pub fn apply(self, root: &Path) -> Result<u64, TreeError> {
        let index = dir(root);
        for file in FILES {
            let mut removed: Vec<&str> = Vec::new();
            let mut added: Vec<(&str, u64)> = Vec::new();
            // Sorted by file, then key: this file's keys, in the order the merge needs.
            let keys = self.changes.range((file, String::new())..);
            for ((_, key), value) in keys.take_while(|((f, _), _)| *f == file) {
                match value {
                    Some(value) => added.push((key, *value)),
                    None => removed.push(key),
                }
            }
            if removed.is_empty() && added.is_empty() {
                continue;
            }
            write_map(
                &index.join(file),
                &merge(&index.join(file), &removed, &added),
            )?;
        }
        bump_generation(root)
    }
}

/// The keys of an index file (a set or a map: an fst set is a map of zeros) without
/// `removed`, with `added` (both sorted), in order: one merge pass.
fn merge(path: &Path, removed: &[&str], added: &[(&str, u64)]) -> Vec<(Vec<u8>, u64)> {
    let mut out: Vec<(Vec<u8>, u64)> = Vec::new();
    let mut added = added.iter().peekable();
    let mut push_added_before = |out: &mut Vec<(Vec<u8>, u64)>, key: Option<&[u8]>| {
        while let Some((k, v)) = added.next_if(|(k, _)| key.is_none_or(|key| k.as_bytes() <= key)) {
            match out.last_mut() {
                Some(last) if last.0 == k.as_bytes() => last.1 = *v,
                _ => out.push((k.as_bytes().to_vec(), *v)),
            }
        }
    };
    if let Some(map) = map_file(path).and_then(|m| Map::new(m).ok()) {
        let mut stream = map.stream();
        while let Some((key, value)) = stream.next() {
            push_added_before(&mut out, Some(key));
            if out.last().is_some_and(|(k, _)| k == key) {
                continue; // replaced by an added key
            }
            let text = std::str::from_utf8(key).unwrap_or("");
            if removed.binary_search(&text).is_err() {
                out.push((key.to_vec(), value));
            }
        }
    }
    push_added_before(&mut out, None);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::whois::{Domain, Host, Nameserver, Registrar};

    /// Each index file's name and its keys with their values.
    type Contents = Vec<(String, Vec<(Vec<u8>, u64)>)>;

    fn contents(root: &Path) -> Contents {
        FILES
            .iter()
            .map(|file| {
                let mut keys = Vec::new();
                if let Some(map) = map_file(&dir(root).join(file)).and_then(|m| Map::new(m).ok()) {
                    let mut stream = map.stream();
                    while let Some((k, v)) = stream.next() {
                        keys.push((k.to_vec(), v));
                    }
                }
                (file.to_string(), keys)
            })
            .collect()
    }

    fn domain(name: &str, ns: &[&str]) -> Object {
        Object::Domain(Domain {
            name: name.into(),
            roid: "D-TLD".into(),
            registrar: 7,
            statuses: vec![],
            nameservers: ns
                .iter()
                .map(|n| Nameserver {
                    name: (*n).into(),
                    addresses: vec![],
                })
                .collect(),
            ds: vec![],
            created: 0,
            updated: 0,
            expires: 0,
        })
    }

    /// Changes merged into the indexes leave them exactly as a rebuild from the tree would.
    #[test]
    fn deltas_match_a_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        let tree = Tree::open(dir.path()).unwrap();
        tree.put(&domain("alpha.tld", &["ns1.x.net", "ns2.x.net"]))
            .unwrap();
        tree.put(&domain("beta.tld", &["ns1.x.net"])).unwrap();
        rebuild(&tree).unwrap();
        let ops: Vec<(Option<Object>, Option<Object>)> = vec![
            (None, Some(domain("gamma.tld", &["ns9.y.net"]))),
            (
                Some(domain("alpha.tld", &["ns1.x.net", "ns2.x.net"])),
                Some(domain("alpha.tld", &["ns3.x.net"])),
            ),
            (Some(domain("beta.tld", &["ns1.x.net"])), None),
            (
                None,
                Some(Object::Host(Host {
                    name: "ns1.gamma.tld".into(),
                    roid: "H-TLD".into(),
                    registrar: 7,
                    addresses: vec!["192.0.2.1".parse().unwrap()],
                    created: 0,
                    updated: 0,
                })),
            ),
            (
                None,
                Some(Object::Registrar(Registrar {
                    iana_id: 7,
                    name: "Seven Names, Inc.".into(),
                    whois_server: String::new(),
                    url: String::new(),
                    abuse_email: String::new(),
                    abuse_phone: String::new(),
                    updated: 0,
                })),
            ),
        ];
        let mut delta = Delta::default();
        for (before, after) in &ops {
            match after {
                Some(object) => tree.put(object).unwrap(),
                None => tree.delete(&before.as_ref().unwrap().key()).unwrap(),
            }
            delta.record(before.as_ref(), after.as_ref());
        }
        let generation = delta.apply(dir.path()).unwrap();
        let merged = contents(dir.path());
        assert!(rebuild(&tree).unwrap() > generation);
        assert_eq!(merged, contents(dir.path()));
        let index = Index::open(dir.path());
        assert_eq!(index.domains_using("ns3.x.net", 10).0, ["alpha.tld"]);
        assert!(index.domains_using("ns1.x.net", 10).0.is_empty());
        assert_eq!(index.registrar_named("seven names, inc"), Some(7));
    }

    /// A change undone later in the same delta leaves no trace: the last change of each key
    /// wins, and a delta recorded in two halves merges into the same indexes.
    #[test]
    fn the_last_change_of_a_key_wins() {
        let dir = tempfile::tempdir().unwrap();
        let tree = Tree::open(dir.path()).unwrap();
        tree.put(&domain("alpha.tld", &["ns1.x.net"])).unwrap();
        rebuild(&tree).unwrap();
        let steps = [
            // Created, then deleted.
            (None, Some(domain("brief.tld", &["ns1.y.net"]))),
            (Some(domain("brief.tld", &["ns1.y.net"])), None),
            // A name server set and dropped again, then the first one back.
            (
                Some(domain("alpha.tld", &["ns1.x.net"])),
                Some(domain("alpha.tld", &["ns2.x.net"])),
            ),
            (
                Some(domain("alpha.tld", &["ns2.x.net"])),
                Some(domain("alpha.tld", &["ns3.x.net"])),
            ),
            (
                Some(domain("alpha.tld", &["ns3.x.net"])),
                Some(domain("alpha.tld", &["ns1.x.net"])),
            ),
        ];
        let mut first = Delta::default();
        let mut second = Delta::default();
        for (n, (before, after)) in steps.iter().enumerate() {
            let delta = if n < 3 { &mut first } else { &mut second };
            delta.record(before.as_ref(), after.as_ref());
        }
        first.extend(second);
        first.apply(dir.path()).unwrap();
        let merged = contents(dir.path());
        rebuild(&tree).unwrap();
        assert_eq!(merged, contents(dir.path()));
        let index = Index::open(dir.path());
        assert!(index.domains_using("ns2.x.net", 10).0.is_empty());
        assert!(index.domains_using("ns3.x.net", 10).0.is_empty());
        assert!(index.domains_using("ns1.y.net", 10).0.is_empty());
        assert_eq!(index.domains_using("ns1.x.net", 10).0, ["alpha.tld"]);
    }
}
