//! A zone served as image + overlay answers exactly as the same zone compiled whole: the
//! engine's answers to every name of both versions (and names below, and names that do not
//! exist) are compared byte for byte.

use std::sync::Arc;

use edge_dns::engine::{self, Config, Transport, Zones};
use edge_dns::view;
use zonefiles::image::{self, Image};
use zonefiles::master::{self, ParseOptions};
use zonefiles::{Class, Zone, changeset};

use crate::support::{peer, query};

fn zone(text: &str) -> Zone {
    let records = master::parse_bytes("t", text.as_bytes(), ParseOptions::default()).unwrap();
    Zone::from_records(None, Class::IN, records).0
}

fn image(zone: &Zone) -> Arc<Image> {
    Arc::new(Image::from_bytes(image::compile(zone, |_| {}).unwrap().0).unwrap())
}

const BASE: &str = "\
tld. 3600 IN SOA a.nic.tld. h.nic.tld. 1 1800 900 604800 300
tld. 3600 IN NS a.nic.tld.
tld. 3600 IN NS ns.shared.tld.
a.nic.tld. 3600 IN A 192.0.2.1
shared.tld. 86400 IN NS ns.shared.tld.
ns.shared.tld. 86400 IN A 198.51.100.1
alpha.tld. 86400 IN NS ns.shared.tld.
beta.tld. 86400 IN NS ns.shared.tld.
beta.tld. 86400 IN NS ns1.beta.tld.
ns1.beta.tld. 86400 IN A 198.51.100.2
gamma.tld. 86400 IN NS ns.elsewhere.net.
gone.tld. 86400 IN NS ns1.gone.tld.
ns1.gone.tld. 86400 IN A 198.51.100.3
mx.tld. 3600 IN MX 10 mail.nic.tld.
mail.nic.tld. 3600 IN A 192.0.2.25
*.wild.tld. 3600 IN TXT \"w\"
";

/// Serial 2: the shared name server moves (sibling glue of unchanged delegations), a
/// delegation goes, one arrives, one changes, the mail host moves, the apex gains an NS.
const NEXT: &str = "\
tld. 3600 IN SOA a.nic.tld. h.nic.tld. 2 1800 900 604800 300
tld. 3600 IN NS a.nic.tld.
tld. 3600 IN NS ns.shared.tld.
tld. 3600 IN NS b.nic.tld.
a.nic.tld. 3600 IN A 192.0.2.1
b.nic.tld. 3600 IN AAAA 2001:db8::b
shared.tld. 86400 IN NS ns.shared.tld.
ns.shared.tld. 86400 IN A 198.51.100.99
ns.shared.tld. 86400 IN AAAA 2001:db8::99
alpha.tld. 86400 IN NS ns.shared.tld.
beta.tld. 86400 IN NS ns.shared.tld.
beta.tld. 86400 IN NS ns2.beta.tld.
ns2.beta.tld. 86400 IN A 198.51.100.4
gamma.tld. 86400 IN NS ns.elsewhere.net.
fresh.tld. 86400 IN NS ns.shared.tld.
fresh.tld. 86400 IN NS ns1.fresh.tld.
ns1.fresh.tld. 86400 IN A 198.51.100.5
mx.tld. 3600 IN MX 10 mail.nic.tld.
mail.nic.tld. 3600 IN A 192.0.2.26
*.wild.tld. 3600 IN TXT \"w\"
";

#[test]
fn overlay_answers_like_the_whole_zone() {
    assert_eq!(compare(BASE, NEXT), 6);
    // With a wildcard at the apex, which the overlay carries unchanged.
    let wildcard = "*.tld. 3600 IN TXT \"apex wildcard\"\n";
    compare(&format!("{BASE}{wildcard}"), &format!("{NEXT}{wildcard}"));
}

/// Compares the overlay with the whole zone; returns the number of changed partitions.
fn compare(base: &str, next: &str) -> usize {
    let (base, next) = (zone(base), zone(next));
    let cs = changeset::diff(&base, &next).unwrap();
    let view = view::build(image(&base), &[cs]).unwrap();
    let partitions = view.overlay_labels();
    assert!(
        view.has_overlay(),
        "a change inside delegations is an overlay"
    );
    assert_eq!(view.serial(), 2);
    // What a transfer sends: every record of the new version, once.
    let mut enumerated = Vec::new();
    view.for_each_node(|name, node| {
        for rrset in node.rrsets() {
            let (rtype, set) = rrset?;
            for rdata in set.records() {
                enumerated.push((name.clone(), rtype, rdata?.to_vec()));
            }
        }
        Ok(())
    })
    .unwrap();
    enumerated.sort();
    let mut expected: Vec<_> = next
        .records()
        .iter()
        .map(|r| (r.owner.clone(), r.rtype, r.rdata.to_vec()))
        .collect();
    expected.sort();
    assert_eq!(enumerated, expected);
    let overlaid = Zones::from_views(vec![Arc::new(view)]);
    let whole = Zones::new(vec![image(&next)]);

    // Every owner, and every name between it and the apex (empty non-terminals included).
    let origin_labels = base.origin().label_count();
    let mut names: Vec<String> = Vec::new();
    for record in base.records().iter().chain(next.records()) {
        let mut owner = record.owner.clone();
        while owner.label_count() >= origin_labels {
            names.push(owner.to_string());
            owner = owner.parent().unwrap();
        }
    }
    names.sort();
    names.dedup();
    let mut asked = 0;
    let (mut a, mut b) = (vec![0u8; 65535], vec![0u8; 65535]);
    for owner in &names {
        for name in [owner.clone(), format!("www.{owner}"), format!("nx-{owner}")] {
            for qtype in [1u16, 2, 6, 15, 16, 28, 43, 255] {
                let msg = query(7, &name, qtype);
                let config = Config::default();
                let udp = peer(Transport::Udp);
                let x = engine::answer(&msg, &overlaid, &config, &udp, &mut a).unwrap();
                let y = engine::answer(&msg, &whole, &config, &udp, &mut b).unwrap();
                assert_eq!(
                    crate::support::describe(&a[..x]),
                    crate::support::describe(&b[..y]),
                    "{name} type {qtype}"
                );
                asked += 1;
            }
        }
    }
    assert!(asked > 300, "{asked} queries");
    partitions
}

/// A zone registering at the third level, as .name does: under a surname that stays an
/// empty non-terminal, each registration is a partition of its own; a surname that appears,
/// disappears, holds records or whose wildcard changes is one partition whole.
const BASE3: &str = "\
name. 3600 IN SOA a.nic.name. h.nic.name. 1 1800 900 604800 300
name. 3600 IN NS a.nic.name.
a.nic.name. 3600 IN A 192.0.2.1
john.smith.name. 86400 IN NS ns1.john.smith.name.
ns1.john.smith.name. 86400 IN A 198.51.100.1
jane.smith.name. 86400 IN NS ns.host.example.
ann.smith.name. 86400 IN NS ns1.john.smith.name.
only.jones.name. 86400 IN NS ns.host.example.
*.wild.name. 3600 IN TXT \"w\"
bob.wild.name. 86400 IN NS ns.host.example.
both.name. 86400 IN NS x.both.name.
x.both.name. 86400 IN A 192.0.2.9
mx.lee.name. 3600 IN MX 10 mail.kim.name.
mail.kim.name. 3600 IN A 192.0.2.25
";

const NEXT3: &str = "\
name. 3600 IN SOA a.nic.name. h.nic.name. 2 1800 900 604800 300
name. 3600 IN NS a.nic.name.
a.nic.name. 3600 IN A 192.0.2.1
john.smith.name. 86400 IN NS ns1.john.smith.name.
ns1.john.smith.name. 86400 IN A 198.51.100.2
kate.smith.name. 86400 IN NS ns1.kate.smith.name.
ns1.kate.smith.name. 86400 IN A 198.51.100.3
ann.smith.name. 86400 IN NS ns1.john.smith.name.
new.brown.name. 86400 IN NS ns.host.example.
*.wild.name. 3600 IN TXT \"w\"
both.name. 86400 IN NS x.both.name.
x.both.name. 86400 IN A 192.0.2.10
mx.lee.name. 3600 IN MX 10 mail.kim.name.
mail.kim.name. 3600 IN A 192.0.2.26
";

#[test]
fn third_level_registrations_are_partitions_of_their_own() {
    // john, kate and jane under smith, bob under wild, mail under kim; jones (its last child
    // goes), brown (new) and both (records of its own) whole.
    assert_eq!(compare(BASE3, NEXT3), 8);
}

#[test]
fn a_change_at_the_apex_wildcard_compiles_the_whole_zone() {
    let base = zone(&format!("{BASE}*.tld. 3600 IN TXT \"apex wildcard\"\n"));
    let next = zone(&format!(
        "{}*.tld. 3600 IN TXT \"changed\"\n",
        BASE.replace(" 1 1800", " 2 1800")
    ));
    let cs = changeset::diff(&base, &next).unwrap();
    let view = view::build(image(&base), &[cs]).unwrap();
    assert!(!view.has_overlay());
    assert_eq!(view.serial(), 2);
}
