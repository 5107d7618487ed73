use super::*;
use satellite_protocol::digest;

/// A zone of `delegations` delegations at `serial` (the applier's tests use it too).
pub(crate) fn zone(serial: u32, delegations: u32) -> zonefiles::Zone {
    let mut text = format!(
        "tld. 300 IN SOA a.nic.tld. h.tld. {serial} 2 3 4 5\ntld. 300 IN NS a.nic.tld.\n\
         a.nic.tld. 300 IN A 192.0.2.1\n"
    );
    for d in 0..delegations {
        text += &format!("d{d}.tld. 300 IN NS ns.example.\n");
    }
    let options = zonefiles::master::ParseOptions::default();
    let records = zonefiles::master::parse_bytes("t", text.as_bytes(), options).unwrap();
    zonefiles::Zone::from_records(None, zonefiles::Class::IN, records).0
}

/// The layout of a satellite in `dir` serving zone `tld` from `dir/zones/tld`.
fn layout(dir: &Path, compact_after: usize) -> Layout {
    Layout {
        state: dir.join("state"),
        whois_tree: dir.join("whois"),
        zones: vec![(ZoneName::parse("tld").unwrap(), dir.join("zones/tld"))],
        compact_after,
        journal_keep: compact_after,
    }
}

/// A large zone folds after a share of its names, not after `compact_after` changesets.
#[test]
fn a_large_zone_folds_after_a_share_of_its_names() {
    let dir = tempfile::tempdir().unwrap();
    let directory = dir.path().join("zones/tld");
    let base = 1_300;
    ZoneDir::create(&directory, &zone(1, base)).unwrap();
    let (mut satellite, _) = Satellite::open(layout(dir.path(), 10)).unwrap();
    // 1,300 delegations and the apex's 2 names: a fold every 20 changesets.
    let share = (base as u64 + 2) / FOLD_SHARE;
    assert_eq!(share, 20);
    for serial in 1..=share as u32 {
        let changeset = zonefiles::changeset::diff(
            &zone(serial, base + serial - 1),
            &zone(serial + 1, base + serial),
        );
        satellite
            .apply("tld", &[&changeset.unwrap().encode()])
            .unwrap();
        assert_eq!(
            satellite.compact_if_due("tld", Upstream::Live).unwrap(),
            None
        );
        let folded = satellite.finish_fold("tld", Fold::Wait).unwrap();
        match u64::from(serial) < share {
            true => assert_eq!(folded, None, "after {serial} changesets"),
            false => assert_eq!(folded, Some(serial + 1)),
        }
    }
}

#[test]
fn a_backlog_defers_the_fold_within_a_bound() {
    let dir = tempfile::tempdir().unwrap();
    let directory = dir.path().join("zones/tld");
    ZoneDir::create(&directory, &zone(1, 0)).unwrap();
    let layout = layout(dir.path(), 10);
    let (mut satellite, _) = Satellite::open(layout).unwrap();
    let append = |satellite: &mut Satellite, serials: std::ops::Range<u32>| {
        for serial in serials {
            let changeset =
                zonefiles::changeset::diff(&zone(serial, serial - 1), &zone(serial + 1, serial));
            satellite
                .apply("tld", &[&changeset.unwrap().encode()])
                .unwrap();
        }
    };
    let current = || ZoneDir::open(&directory).unwrap().current_image().unwrap();
    let first = current();
    // Due, but a backlog is streaming in: no fold starts.
    append(&mut satellite, 1..16);
    assert_eq!(
        satellite.compact_if_due("tld", Upstream::Backlog).unwrap(),
        None
    );
    assert_eq!(satellite.finish_fold("tld", Fold::Wait).unwrap(), None);
    assert_eq!(current(), first);
    // The backlog is through: a fold starts, and appending goes on beside it.
    assert_eq!(
        satellite.compact_if_due("tld", Upstream::Live).unwrap(),
        None
    );
    append(&mut satellite, 16..18);
    // It folds what was whole when it read the journal: at least up to 16.
    let folded = satellite.finish_fold("tld", Fold::Wait).unwrap().unwrap();
    assert!((16..=18).contains(&folded), "{folded}");
    assert_ne!(current(), first);
    assert_eq!(satellite.serial("tld"), Some(18));
    // A backlog that goes on folds every BACKLOG_FOLD times as many changesets.
    let end = folded + 10 * BACKLOG_FOLD as u32;
    append(&mut satellite, 18..end - 1);
    assert_eq!(
        satellite.compact_if_due("tld", Upstream::Backlog).unwrap(),
        None
    );
    assert_eq!(satellite.finish_fold("tld", Fold::Wait).unwrap(), None);
    append(&mut satellite, end - 1..end);
    assert_eq!(
        satellite.compact_if_due("tld", Upstream::Backlog).unwrap(),
        None
    );
    assert_eq!(satellite.finish_fold("tld", Fold::Wait).unwrap(), Some(end));
    assert_eq!(satellite.serial("tld"), Some(end));
    let snapshot = ZoneDir::open(&directory).unwrap().load().unwrap();
    assert_eq!(snapshot.image.serial(), end);
    assert!(snapshot.changesets.is_empty());
}

/// A changeset whose WHOIS part sets `d1.tld` with name server `ns`.
fn with_record(serial: u32, ns: &str) -> Changeset {
    let mut changeset =
        zonefiles::changeset::diff(&zone(serial, serial - 1), &zone(serial + 1, serial)).unwrap();
    changeset.whois = vec![WhoisOp::Set(Object::Domain(zonefiles::whois::Domain {
        name: "d1.tld".into(),
        roid: "D1-TLD".into(),
        registrar: 7,
        statuses: vec![zonefiles::whois::DomainStatus::Ok],
        nameservers: vec![zonefiles::whois::Nameserver {
            name: ns.into(),
            addresses: vec![],
        }],
        ds: vec![],
        created: 1,
        updated: 1,
        expires: 2,
    }))];
    changeset
}

/// What a search for the domains using `ns` finds on the satellite's tree.
fn using(layout: &Layout, ns: &str) -> Vec<String> {
    index::Index::open(&layout.whois_tree)
        .domains_using(ns, 10)
        .0
}

/// A satellite in `dir` whose zone `tld` holds serial 2, with `d1.tld` on `ns-a.example`.
fn holding_d1(dir: &Path) -> (Layout, Satellite) {
    ZoneDir::create(&dir.join("zones/tld"), &zone(1, 0)).unwrap();
    let layout = layout(dir, 100);
    let (mut satellite, _) = Satellite::open(layout.clone()).unwrap();
    satellite
        .apply("tld", &[&with_record(1, "ns-a.example").encode()])
        .unwrap();
    (layout, satellite)
}

/// A crash after the journal append and before the index and the records (step 1 of a
/// batch): on the same boot, recovery adds only the missing changes to the index (the
/// records still hold the state before them); after a reboot, when writes since the last
/// `syncfs` may be lost in any order, it rebuilds the index from the tree.
#[test]
fn recovery_adds_what_the_index_lacks_or_rebuilds_after_a_reboot() {
    let dir = tempfile::tempdir().unwrap();
    let (layout, mut satellite) = holding_d1(dir.path());
    let directory = layout.zones[0].1.clone();
    satellite.checkpoint().unwrap();
    drop(satellite);
    assert_eq!(using(&layout, "ns-a.example"), ["d1.tld"]);
    let crash_after_append = |changeset: Changeset| {
        let dir = ZoneDir::open(&directory).unwrap();
        let (mut journal, _) = Journal::open(&dir.journal_path()).unwrap();
        journal.append_all(&[changeset]).unwrap();
    };

    crash_after_append(with_record(2, "ns-b.example"));
    let (satellite, notes) = Satellite::open(layout.clone()).unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("search index changes of 1 changesets")),
        "{notes:?}"
    );
    assert!(!notes.iter().any(|n| n.contains("rebuilt")), "{notes:?}");
    assert!(
        using(&layout, "ns-a.example").is_empty(),
        "the old name server is gone"
    );
    assert_eq!(using(&layout, "ns-b.example"), ["d1.tld"]);
    drop(satellite);

    crash_after_append(with_record(3, "ns-c.example"));
    std::fs::write(layout.state.join("boot"), "another boot\n").unwrap();
    let (satellite, notes) = Satellite::open(layout.clone()).unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n == "rebuilt the WHOIS search indexes"),
        "{notes:?}"
    );
    assert!(using(&layout, "ns-b.example").is_empty());
    assert_eq!(using(&layout, "ns-c.example"), ["d1.tld"]);
    drop(satellite);

    // No index at all (an earlier version's, or lost): rebuilt once, from the tree.
    std::fs::remove_dir_all(layout.whois_tree.join("index")).unwrap();
    let (_satellite, notes) = Satellite::open(layout.clone()).unwrap();
    let rebuilt = notes.iter().filter(|n| n.contains("rebuil")).count();
    assert_eq!(rebuilt, 2, "said once, done once: {notes:?}");
    assert_eq!(using(&layout, "ns-c.example"), ["d1.tld"]);
}

/// The objects of a snapshot of `tld` at `serial`: domains `d<n>.tld` for each `n` in
/// `domains`, each on the name server `ns<ns(n)>.example`, and host `ns1.d0.tld` at `address`.
fn objects(domains: std::ops::Range<u32>, ns: impl Fn(u32) -> u32, address: &str) -> Vec<Object> {
    let mut objects: Vec<Object> = domains
        .map(|n| {
            let WhoisOp::Set(Object::Domain(mut domain)) =
                with_record(1, &format!("ns{}.example", ns(n))).whois[0].clone()
            else {
                unreachable!()
            };
            domain.name = format!("d{n}.tld");
            Object::Domain(domain)
        })
        .collect();
    objects.push(Object::Host(zonefiles::whois::Host {
        name: "ns1.d0.tld".into(),
        roid: "H1-TLD".into(),
        registrar: 7,
        addresses: vec![address.parse().unwrap()],
        created: 1,
        updated: 1,
    }));
    objects
}

/// Receives and installs a snapshot of `tld` at `serial` holding `objects`.
fn install(satellite: &mut Satellite, serial: u32, objects: &[Object]) {
    let (image, _) = zonefiles::image::compile(&zone(serial, 3), |_| {}).unwrap();
    let mut whois = Vec::new();
    for object in objects {
        whois.extend(serde_json::to_vec(object).unwrap());
        whois.push(b'\n');
    }
    let header = SnapshotHeader {
        zone: "tld".into(),
        serial,
        image_len: image.len() as u64,
        whois_len: whois.len() as u64,
        digest: [0; 32],
        key_id: String::new(),
        signature: vec![],
        offset: 0,
    };
    satellite.snapshot_start(&header).unwrap();
    let bytes = [image, whois].concat();
    let installed = satellite.snapshot_bytes("tld", 0, &bytes, Some(&header));
    assert_eq!(installed.unwrap(), Some(serial));
}

/// A snapshot installed over a tree holding other data leaves the tree holding exactly its
/// objects and an index equal to one rebuilt from the tree, built from layers of what
/// differed (never from reading the tree back), and recorded as holding the snapshot's serial.
#[test]
fn a_snapshot_installed_leaves_the_index_a_rebuild_would_make() {
    let dir = tempfile::tempdir().unwrap();
    let (layout, mut satellite) = holding_d1(dir.path());
    install(&mut satellite, 10, &objects(0..40, |n| n % 3, "192.0.2.1"));
    // Then: ten gone, ten changed, twenty the same, twenty new, the host's address changed.
    let second = objects(10..60, |n| if n < 20 { 9 } else { n % 3 }, "192.0.2.2");
    install(&mut satellite, 20, &second);
    let mut held = satellite.tree.zone_objects("tld").unwrap();
    held.retain(|o| !matches!(o, Object::Registrar(_)));
    let sorted = |mut objects: Vec<Object>| {
        objects.sort_by_key(Object::key);
        objects
    };
    assert_eq!(sorted(held), sorted(second));
    assert_eq!(satellite.index.covered("tld"), Some(20));
    assert_eq!(using(&layout, "ns9.example").len(), 10);
    let by_address = |address: &str| {
        index::Index::open(&layout.whois_tree).hosts_with_address(address.parse().unwrap(), 10)
    };
    assert!(by_address("192.0.2.1").is_empty());
    assert_eq!(by_address("192.0.2.2"), ["ns1.d0.tld"]);
    satellite.index.wait();
    let installed = index::Index::open(&layout.whois_tree).entries();
    drop(satellite);
    index::rebuild(&Tree::open(&layout.whois_tree).unwrap()).unwrap();
    assert_eq!(installed, index::Index::open(&layout.whois_tree).entries());
}

/// An audit reads the data while changes go on being applied, and still gives the digest
/// of the data at the serial it started at.
#[test]
fn an_audit_is_of_its_serial_whatever_is_applied_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let (layout, mut satellite) = holding_d1(dir.path());
    let directory = layout.zones[0].1.clone();
    let expected = digest::of(
        "tld",
        &crate::verify::served(&directory).unwrap(),
        &satellite.tree.zone_objects("tld").unwrap(),
    );
    let read = satellite.audit_start("tld").unwrap();
    // Meanwhile: d1 changes, d2 arrives.
    let mut next = with_record(2, "ns-b.example");
    let WhoisOp::Set(Object::Domain(mut other)) = next.whois[0].clone() else {
        unreachable!()
    };
    other.name = "d2.tld".into();
    next.whois.push(WhoisOp::Set(Object::Domain(other)));
    satellite.apply("tld", &[&next.encode()]).unwrap();
    let result = read.run().unwrap();
    assert_eq!(satellite.audit_finish(result), Some(expected));
    // And an audit started now sees the new data.
    let read = satellite.audit_start("tld").unwrap();
    let now = satellite.audit_finish(read.run().unwrap()).unwrap();
    assert_ne!(now, expected);
}

#[test]
fn one_writer_per_satellite() {
    let dir = tempfile::tempdir().unwrap();
    let layout = layout(dir.path(), 10);
    let (first, _) = Satellite::open(layout.clone()).unwrap();
    assert_eq!(first.serials(), [("tld".to_string(), None)]);
    let second = Satellite::open(layout.clone());
    assert!(second.is_err_and(|e| e.to_string().contains("another update-agent")));
    drop(first);
    assert!(
        Satellite::open(layout).is_ok(),
        "the lock goes with its writer"
    );
}
