//! A zone served as image + overlay answers exactly as the same zone compiled whole: the
//! engine's answers to every name of both versions (and names below, and names that do not
//! exist) are compared byte for byte.

use std::sync::Arc;

use edge_dns::engine::{self, Config, Transport, Zones};
use edge_dns::view::{self, View};
use zonefiles::image::{self, Image};
use zonefiles::master::{self, ParseOptions};
use zonefiles::sign::{Denial, Policy, sign_zone};
use zonefiles::{Class, Zone, changeset};

use crate::support::{ed25519_keys, peer, query, with_opt};

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
    let cs = Arc::new(changeset::diff(&base, &next).unwrap());
    let view = view::build(image(&base), &[cs]).unwrap();
    let partitions = view.overlay_labels();
    assert!(
        view.has_overlay(),
        "a change inside delegations is an overlay"
    );
    assert_eq!(view.serial(), 2);
    answers_alike(&Arc::new(view), &[&base, &next], &next);
    partitions
}

/// Asserts that `view` serves `expected`: a transfer sends its records, and the engine's
/// answers to every name of `zones` (with the names between them and the apex, a name below
/// each, and one that does not exist) equal those of `expected` compiled whole.
fn answers_alike(view: &Arc<View>, zones: &[&Zone], expected: &Zone) {
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
    let mut records: Vec<_> = expected
        .records()
        .iter()
        .map(|r| (r.owner.clone(), r.rtype, r.rdata.to_vec()))
        .collect();
    records.sort();
    assert_eq!(enumerated, records);
    let overlaid = Zones::from_views(vec![view.clone()]);
    let whole = Zones::new(vec![image(expected)]);

    // Every owner, and every name between it and the apex (empty non-terminals included).
    let origin_labels = expected.origin().label_count();
    let mut names: Vec<String> = Vec::new();
    for record in zones.iter().flat_map(|z| z.records()) {
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
            for (qtype, dnssec) in [1u16, 2, 6, 15, 16, 28, 43, 50, 255]
                .into_iter()
                .flat_map(|t| [(t, false), (t, true)])
            {
                let mut msg = query(7, &name, qtype);
                if dnssec {
                    // EDNS with the DO bit: signatures and denial proofs.
                    msg = with_opt(msg, 4096, 0, &[]);
                    let flags = msg.len() - 4;
                    msg[flags] = 0x80;
                }
                let config = Config::default();
                let udp = peer(Transport::Udp);
                let x = engine::answer(&msg, &overlaid, &config, &udp, &mut a).unwrap();
                let y = engine::answer(&msg, &whole, &config, &udp, &mut b).unwrap();
                assert_eq!(
                    crate::support::describe(&a[..x]),
                    crate::support::describe(&b[..y]),
                    "{name} type {qtype}, DO {dnssec}"
                );
                asked += 1;
            }
        }
    }
    assert!(asked > 100, "{asked} queries");
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
    let view = view::build(image(&base), &[Arc::new(cs)]).unwrap();
    assert!(!view.has_overlay());
    assert_eq!(view.serial(), 2);
}

/// A .name-like registry changing one registration at a time, followed as the follower does:
/// the newer overlay built again at each change over the frozen ones, and frozen after a few
/// partitions (one, two or three here, so that many are). After every change the view answers
/// exactly like the zone compiled whole.
#[test]
fn frozen_overlays_answer_like_the_whole_zone_at_every_change() {
    changes_by_overlay(None);
}

/// A signed zone (NSEC3, with or without opt-out) changes by overlays too: its hashed owners
/// are partitions, and the chain as served spans the images.
#[test]
fn a_zone_signed_with_nsec3_changes_by_overlay_and_answers_alike() {
    let keys = ed25519_keys();
    for opt_out in [true, false] {
        let policy = Policy {
            denial: Denial::Nsec3 {
                iterations: 0,
                salt: Vec::new(),
                opt_out,
            },
            ..Policy::default()
        };
        let sign = |z: &Zone| sign_zone(z, &keys, &policy, 1_700_000_000).unwrap();
        let (base, next) = (sign(&zone(BASE3)), sign(&zone(NEXT3)));
        let cs = Arc::new(changeset::diff(&base, &next).unwrap());
        let view = view::build(image(&base), &[cs]).unwrap();
        assert!(view.has_overlay(), "opt-out {opt_out}");
        answers_alike(&Arc::new(view), &[&base, &next], &next);
        changes_by_overlay(Some(&|z: &Zone| sign(z)));
    }
}

/// Thirty changes to a .name-like zone (signed by `sign`, if given), each served by overlay
/// and compared with the whole zone.
fn changes_by_overlay(sign: Option<&dyn Fn(&Zone) -> Zone>) {
    let version = |registry: &Registry| match sign {
        Some(sign) => sign(&registry.zone()),
        None => registry.zone(),
    };
    let mut frozen = 0;
    for seed in 1..=3u64 {
        let mut registry = Registry::new(seed);
        let first = version(&registry);
        let mut previous = first.clone();
        let mut pending = Vec::new();
        let mut served = Arc::new(View::plain(image(&first)));
        for step in 0..30 {
            registry.change();
            let next = version(&registry);
            pending.push(Arc::new(changeset::diff(&previous, &next).unwrap()));
            let view = view::extend_freezing_at(&served, &pending, seed as usize).unwrap();
            assert!(view.has_overlay(), "seed {seed} step {step}");
            assert_eq!(view.covers(), pending.len());
            served = Arc::new(view);
            answers_alike(&served, &[&previous, &next], &next);
            previous = next;
        }
        frozen += served.frozen_overlays();
    }
    assert!(frozen > 15, "{frozen} overlays frozen");
}

/// Registrations of a .name-like zone: second-level ones, and third-level ones under
/// surnames that are empty non-terminals until a change gives one records or a wildcard.
/// Name servers are in-bailiwick (glue), in a sibling registration, or elsewhere.
struct Registry {
    state: u64,
    serial: u32,
    /// Owner → its records' lines.
    names: std::collections::BTreeMap<String, Vec<String>>,
}

const SURNAMES: [&str; 3] = ["smith", "jones", "lee"];

impl Registry {
    fn new(seed: u64) -> Registry {
        let mut registry = Registry {
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            serial: 1,
            names: Default::default(),
        };
        for _ in 0..12 {
            registry.register();
        }
        registry
    }

    fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    fn pick(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn registration_name(&mut self) -> String {
        match self.pick(3) {
            0 => format!("d{}.name.", self.pick(6)),
            _ => {
                let surname = SURNAMES[self.pick(3) as usize];
                format!("g{}.{surname}.name.", self.pick(5))
            }
        }
    }

    fn register(&mut self) {
        let name = self.registration_name();
        let others: Vec<String> = self
            .names
            .keys()
            .filter(|n| n.starts_with("ns1."))
            .cloned()
            .collect();
        let mut lines = Vec::new();
        match self.pick(3) {
            0 => {
                let host = format!("ns1.{name}");
                lines.push(format!("{name} 86400 IN NS {host}"));
                let address = format!("{host} 86400 IN A 198.51.100.{}", self.pick(250));
                self.names.insert(host, vec![address]);
            }
            1 if !others.is_empty() => {
                let host = &others[self.pick(others.len() as u64) as usize];
                lines.push(format!("{name} 86400 IN NS {host}"));
            }
            _ => lines.push(format!("{name} 86400 IN NS ns.host.example.")),
        }
        if self.pick(4) == 0 {
            lines.push(format!("{name} 86400 IN DS 1 13 2 {:064X}", self.next()));
        }
        self.names.insert(name, lines);
    }

    fn change(&mut self) {
        self.serial += 1;
        let keys: Vec<String> = self.names.keys().cloned().collect();
        match self.pick(6) {
            0 | 1 => self.register(),
            2 => {
                // A registration goes, with its own name server.
                let name = &keys[self.pick(keys.len() as u64) as usize];
                let name = name.trim_start_matches("ns1.").to_string();
                self.names.remove(&name);
                self.names.remove(&format!("ns1.{name}"));
            }
            3 => {
                // A name server moves.
                let hosts: Vec<&String> = keys.iter().filter(|n| n.starts_with("ns1.")).collect();
                if let Some(host) = hosts.first().map(|h| h.to_string()) {
                    let address = format!("{host} 86400 IN AAAA 2001:db8::{:x}", self.pick(9999));
                    self.names.insert(host, vec![address]);
                }
            }
            4 => {
                let surname = SURNAMES[self.pick(3) as usize];
                let owner = format!("{surname}.name.");
                if self.names.remove(&owner).is_none() {
                    let text = format!("{owner} 3600 IN TXT \"the {surname} family\"");
                    self.names.insert(owner, vec![text]);
                }
            }
            _ => {
                let surname = SURNAMES[self.pick(3) as usize];
                let owner = format!("*.{surname}.name.");
                if self.names.remove(&owner).is_none() {
                    let text = format!("{owner} 3600 IN TXT \"any {surname}\"");
                    self.names.insert(owner, vec![text]);
                }
            }
        }
    }

    fn zone(&self) -> Zone {
        let mut text = format!(
            "name. 3600 IN SOA a.nic.name. h.nic.name. {} 1800 900 604800 300\n\
             name. 3600 IN NS a.nic.name.\n\
             a.nic.name. 3600 IN A 192.0.2.1\n",
            self.serial
        );
        // Host records whose registration has gone are orphans a registry would not keep.
        for (owner, lines) in &self.names {
            let parent = owner.trim_start_matches("ns1.");
            if owner.starts_with("ns1.") && !self.names.contains_key(parent) {
                continue;
            }
            for line in lines {
                text.push_str(line);
                text.push('\n');
            }
        }
        zone(&text)
    }
}

/// A surname's registrations go one by one, the first in a frozen overlay and the last in
/// the newer one: the surname must then vanish (NXDOMAIN), though the base still holds the
/// registration the older overlay removed.
#[test]
fn a_surname_emptied_across_two_overlays_vanishes() {
    let versions = [
        "g0.smith.name. 86400 IN NS ns.host.example.\ng1.smith.name. 86400 IN NS ns.host.example.\n",
        "g1.smith.name. 86400 IN NS ns.host.example.\n",
        "",
    ];
    let zones: Vec<Zone> = versions
        .iter()
        .enumerate()
        .map(|(serial, names)| {
            zone(&format!(
                "name. 3600 IN SOA a.nic.name. h.nic.name. {} 1800 900 604800 300\n\
                 name. 3600 IN NS a.nic.name.\na.nic.name. 3600 IN A 192.0.2.1\n\
                 only.jones.name. 86400 IN NS ns.host.example.\n{names}",
                serial + 1
            ))
        })
        .collect();
    let pending: Vec<_> = zones
        .windows(2)
        .map(|w| Arc::new(changeset::diff(&w[0], &w[1]).unwrap()))
        .collect();
    let first = view::build(image(&zones[0]), &pending[..1]).unwrap();
    let view = view::extend_freezing_at(&first, &pending, 1).unwrap();
    assert_eq!(view.frozen_overlays(), 1);
    answers_alike(&Arc::new(view), &[&zones[0], &zones[2]], &zones[2]);
}
