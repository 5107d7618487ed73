use super::*;
use crate::whois::{Domain, Host, Nameserver, Object, Registrar};
use proptest::prelude::*;

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

fn host(name: &str, address: &str) -> Object {
    Object::Host(Host {
        name: name.into(),
        roid: "H-TLD".into(),
        registrar: 7,
        addresses: vec![address.parse().unwrap()],
        created: 0,
        updated: 0,
    })
}

fn registrar(id: u32, name: &str) -> Object {
    Object::Registrar(Registrar {
        iana_id: id,
        name: name.into(),
        whois_server: String::new(),
        url: String::new(),
        abuse_email: String::new(),
        abuse_phone: String::new(),
        updated: 0,
    })
}

/// What a rebuild from the tree holds now (the tree is left as it was).
fn rebuilt(tree: &Tree) -> Vec<(Vec<u8>, u64)> {
    let copy = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("cp")
        .args(["-a"])
        .arg(tree.root().join("."))
        .arg(copy.path())
        .status()
        .unwrap();
    assert!(status.success());
    let _ = std::fs::remove_dir_all(copy.path().join("index"));
    let tree = Tree::open(copy.path()).unwrap();
    rebuild(&tree).unwrap();
    Index::open(copy.path()).entries()
}

/// Writes `after` (or deletes `before`'s object) into the tree, and returns the change.
fn write(tree: &Tree, before: Option<&Object>, after: Option<&Object>) -> Delta {
    let mut delta = Delta::default();
    delta.record(before, after);
    match (before, after) {
        (_, Some(object)) => tree.put(object).unwrap(),
        (Some(object), None) => tree.delete(&object.key()).unwrap(),
        (None, None) => {}
    }
    delta
}

/// Changes added as layers leave the indexes exactly as a rebuild from the tree would.
#[test]
fn layers_match_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let tree = Tree::open(dir.path()).unwrap();
    tree.put(&domain("alpha.tld", &["ns1.x.net", "ns2.x.net"]))
        .unwrap();
    tree.put(&domain("beta.tld", &["ns1.x.net"])).unwrap();
    let mut writer = Writer::rebuild(&tree, BTreeMap::new()).unwrap();
    let steps: Vec<(Option<Object>, Option<Object>)> = vec![
        (None, Some(domain("gamma.tld", &["ns9.y.net"]))),
        (
            Some(domain("alpha.tld", &["ns1.x.net", "ns2.x.net"])),
            Some(domain("alpha.tld", &["ns3.x.net"])),
        ),
        (Some(domain("beta.tld", &["ns1.x.net"])), None),
        (None, Some(host("ns1.gamma.tld", "192.0.2.1"))),
        (None, Some(registrar(7, "Seven Names, Inc."))),
    ];
    for (n, (before, after)) in steps.iter().enumerate() {
        let delta = write(&tree, before.as_ref(), after.as_ref());
        writer.add(delta, Some(("tld", n as u32 + 1))).unwrap();
    }
    writer.wait();
    assert_eq!(writer.covered("tld"), Some(5));
    let index = Index::open(dir.path());
    assert_eq!(index.generation(), writer.generation());
    assert_eq!(index.entries(), rebuilt(&tree));
    assert_eq!(index.domains_using("ns3.x.net", 10).0, ["alpha.tld"]);
    assert!(index.domains_using("ns1.x.net", 10).0.is_empty());
    assert_eq!(index.registrar_named("seven names, inc"), Some(7));
    assert_eq!(index.registrars_with_prefix("SEVEN", 5), (vec![7], false));
    assert_eq!(
        index.hosts_with_address("192.0.2.1".parse().unwrap(), 5),
        ["ns1.gamma.tld"]
    );
    assert_eq!(
        index.domains_with_prefix("", 10),
        (vec!["alpha.tld".into(), "gamma.tld".into()], false)
    );
    assert_eq!(
        index.nameservers_with_prefix("ns", 10),
        (vec!["ns3.x.net".into(), "ns9.y.net".into()], false)
    );
}

/// A change undone later in the same delta leaves no trace: the last change of each key
/// wins, and a delta recorded in two halves is the same delta.
#[test]
fn the_last_change_of_a_key_wins() {
    let dir = tempfile::tempdir().unwrap();
    let tree = Tree::open(dir.path()).unwrap();
    tree.put(&domain("alpha.tld", &["ns1.x.net"])).unwrap();
    let mut writer = Writer::rebuild(&tree, BTreeMap::new()).unwrap();
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
        let delta = write(&tree, before.as_ref(), after.as_ref());
        if n < 3 { &mut first } else { &mut second }.extend(delta);
    }
    first.extend(second);
    writer.add(first, None).unwrap();
    let index = Index::open(dir.path());
    assert_eq!(index.entries(), rebuilt(&tree));
    assert!(index.domains_using("ns2.x.net", 10).0.is_empty());
    assert!(index.domains_using("ns3.x.net", 10).0.is_empty());
    assert!(index.domains_using("ns1.y.net", 10).0.is_empty());
    assert_eq!(index.domains_using("ns1.x.net", 10).0, ["alpha.tld"]);
}

/// A reader that opened a generation keeps answering from it while merges remove its
/// files, and moves to the new generation mapping only the new segments.
#[test]
fn readers_survive_merges_and_share_segments() {
    let dir = tempfile::tempdir().unwrap();
    let tree = Tree::open(dir.path()).unwrap();
    let mut writer = Writer::rebuild(&tree, BTreeMap::new()).unwrap();
    let delta = |name: &str| {
        let object = domain(name, &["ns1.x.net"]);
        write(&tree, None, Some(&object))
    };
    writer.add(delta("a0.tld"), None).unwrap();
    let early = Index::open(dir.path());
    assert_eq!(early.domains_with_prefix("a", 10).0, ["a0.tld"]);
    for n in 1..40 {
        writer.add(delta(&format!("a{n:02}.tld")), None).unwrap();
        writer.wait();
    }
    assert!(writer.segments() < 10, "{} segments", writer.segments());
    // The early reader's files are gone from the folder, but it still reads them.
    assert_eq!(early.domains_with_prefix("a", 10).0, ["a0.tld"]);
    let now = early.refreshed(dir.path()).unwrap();
    assert_eq!(now.domains_with_prefix("a", 100).0.len(), 40);
    assert!(now.refreshed(dir.path()).is_none(), "nothing changed");
    writer.add(delta("b.tld"), None).unwrap();
    let next = now.refreshed(dir.path()).unwrap();
    let shared = next
        .segments
        .iter()
        .filter(|s| now.segments.iter().any(|held| Arc::ptr_eq(held, s)))
        .count();
    assert_eq!(shared, now.segments(), "only the new layer was mapped");
    // No file is left that the manifest does not list.
    let files = std::fs::read_dir(dir.path().join("index")).unwrap().count();
    assert_eq!(files, writer.segments() + 1);
}

/// Opening a writer finds damage a stopped machine may leave, and asks for a rebuild.
#[test]
fn a_damaged_segment_asks_for_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let tree = Tree::open(dir.path()).unwrap();
    assert!(matches!(
        Writer::open(dir.path()),
        Err(IndexError::Missing(_))
    ));
    tree.put(&domain("alpha.tld", &["ns1.x.net"])).unwrap();
    let mut writer = Writer::rebuild(&tree, BTreeMap::new()).unwrap();
    let delta = write(&tree, None, Some(&domain("beta.tld", &["ns1.x.net"])));
    writer.add(delta, None).unwrap();
    drop(writer);
    let manifest = Manifest::read(&dir.path().join("index")).unwrap().unwrap();
    let layer = segment::path(&dir.path().join("index"), manifest.segments[1].id);
    let mut bytes = std::fs::read(&layer).unwrap();
    let last = bytes.len() - 5;
    bytes[last] ^= 0xFF;
    std::fs::write(&layer, bytes).unwrap();
    assert!(matches!(
        Writer::open(dir.path()),
        Err(IndexError::Damaged(_))
    ));
    std::fs::remove_file(&layer).unwrap();
    assert!(matches!(
        Writer::open(dir.path()),
        Err(IndexError::Damaged(_))
    ));
    let writer = Writer::rebuild(&tree, BTreeMap::new()).unwrap();
    assert_eq!(writer.segments(), 1);
    assert_eq!(Index::open(dir.path()).entries(), rebuilt(&tree));
}

/// One change to the registry, as the property test draws them.
#[derive(Debug, Clone)]
enum Change {
    /// Set domain `d<n>.tld` with these name servers (`ns<k>.x.net`).
    Domain(u8, Vec<u8>),
    DeleteDomain(u8),
    /// Set host `ns<n>.d0.tld` with address 192.0.2.<a>.
    Host(u8, u8),
    DeleteHost(u8),
    /// Rename registrar `n`.
    Registrar(u8, u8),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        4 => (0u8..40, proptest::collection::vec(0u8..6, 0..3)).prop_map(|(d, ns)| Change::Domain(d, ns)),
        2 => (0u8..40).prop_map(Change::DeleteDomain),
        1 => (0u8..8, 0u8..4).prop_map(|(h, a)| Change::Host(h, a)),
        1 => (0u8..8).prop_map(Change::DeleteHost),
        1 => (1u8..4, 0u8..4).prop_map(|(r, n)| Change::Registrar(r, n)),
    ]
}

impl Change {
    fn after(&self) -> (crate::whois::ObjectKey, Option<Object>) {
        let (object, key) = match self {
            Change::Domain(d, ns) => {
                let names: Vec<String> = ns.iter().map(|k| format!("ns{k}.x.net")).collect();
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                let mut names = names;
                names.dedup();
                (Some(domain(&format!("d{d}.tld"), &names)), None)
            }
            Change::DeleteDomain(d) => (
                None,
                Some(crate::whois::ObjectKey::Domain(format!("d{d}.tld"))),
            ),
            Change::Host(h, a) => (
                Some(host(&format!("ns{h}.d0.tld"), &format!("192.0.2.{a}"))),
                None,
            ),
            Change::DeleteHost(h) => (
                None,
                Some(crate::whois::ObjectKey::Host(format!("ns{h}.d0.tld"))),
            ),
            Change::Registrar(r, n) => (
                Some(registrar(u32::from(*r), &format!("Registrar {n} of {r}"))),
                None,
            ),
        };
        match (object, key) {
            (Some(object), _) => (object.key(), Some(object)),
            (None, Some(key)) => (key, None),
            (None, None) => unreachable!(),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any changes, in batches of any size, with merges running beside them or waited for:
    /// the layered index always answers as a rebuild from the tree would, and so does a
    /// writer opened again (as after a kill) over what the first one left.
    #[test]
    fn layers_and_merges_answer_as_a_rebuild(
        batches in proptest::collection::vec(proptest::collection::vec(change(), 1..6), 1..60),
        wait_every in 1usize..8,
        reopen_at in 0usize..60,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let tree = Tree::open(dir.path()).unwrap();
        tree.put(&domain("base.tld", &["ns1.x.net"])).unwrap();
        let mut writer = Writer::rebuild(&tree, BTreeMap::new()).unwrap();
        for (n, batch) in batches.iter().enumerate() {
            let mut delta = Delta::default();
            for change in batch {
                let (key, after) = change.after();
                let before = tree.get(&key).unwrap();
                delta.extend(write(&tree, before.as_ref(), after.as_ref()));
            }
            writer.add(delta, Some(("tld", n as u32))).unwrap();
            if n % wait_every == 0 {
                writer.wait();
            }
            if n == reopen_at {
                // Merges may still run, as when the process is killed: their files are
                // left behind for the next writer to clean.
                drop(writer);
                writer = Writer::open(dir.path()).unwrap();
            }
        }
        writer.wait();
        prop_assert_eq!(writer.covered("tld"), Some(batches.len() as u32 - 1));
        let index = Index::open(dir.path());
        prop_assert_eq!(index.entries(), rebuilt(&tree));
        drop(writer);
        let again = Writer::open(dir.path()).unwrap();
        drop(again);
        prop_assert_eq!(Index::open(dir.path()).entries(), rebuilt(&tree));
    }
}
