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
