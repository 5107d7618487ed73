//! The incremental signer against the whole-zone signer: after every change of a random life,
//! the zone signed change by change is byte for byte the zone signed whole (Ed25519 signs
//! deterministically, and both sign at one time).

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;
use crate::sign::keys::{Algorithm, KeyPair, SECURE_ENTRY_POINT, ZONE_KEY};
use crate::sign::sign_zone;
use crate::zone::Zone;

const NOW: u64 = 1_800_000_000;

fn name(text: &str) -> Name {
    Name::from_text(text.as_bytes(), None).unwrap()
}

fn record(owner: &str, rtype: RecordType, rdata: Vec<u8>) -> Record {
    Record {
        owner: name(owner),
        rtype,
        class: Class::IN,
        ttl: 3600,
        rdata: Octets::from(rdata),
    }
}

fn soa(serial: u32) -> Record {
    let mut rdata = name("ns.nic.tld.").as_wire().to_vec();
    rdata.extend_from_slice(name("hostmaster.tld.").as_wire());
    for value in [serial, 3600, 900, 604_800, 300] {
        rdata.extend_from_slice(&value.to_be_bytes());
    }
    record("tld.", RecordType::SOA, rdata)
}

/// A zone kept in memory: its records, and the DNSSEC records the signer made.
#[derive(Default)]
struct Memory {
    unsigned: BTreeMap<Name, Vec<Record>>,
    dnssec: BTreeMap<Name, Vec<Record>>,
    chain: BTreeMap<Name, Link>,
}

impl State for Memory {
    type Error = std::convert::Infallible;
    fn node(&mut self, owner: &Name) -> Result<Vec<Record>, Self::Error> {
        Ok(self.unsigned.get(owner).cloned().unwrap_or_default())
    }
    fn dnssec(&mut self, owner: &Name) -> Result<Vec<Record>, Self::Error> {
        Ok(self.dnssec.get(owner).cloned().unwrap_or_default())
    }
    fn chain_at(&mut self, owner: &Name) -> Result<Option<Link>, Self::Error> {
        Ok(self.chain.get(owner).cloned())
    }
    fn chain_before(&mut self, owner: &Name) -> Result<Option<Link>, Self::Error> {
        Ok(self
            .chain
            .range(..owner.clone())
            .next_back()
            .or_else(|| self.chain.iter().next_back())
            .map(|(_, link)| link.clone()))
    }
    fn expiring(
        &mut self,
        before: u32,
        limit: usize,
    ) -> Result<Vec<(Name, RecordType)>, Self::Error> {
        let mut due: Vec<(u32, Name, RecordType)> = self
            .dnssec
            .values()
            .flatten()
            .filter(|r| r.rtype == RecordType::RRSIG)
            .map(|r| {
                let expires = u32::from_be_bytes(r.rdata[8..12].try_into().unwrap());
                (expires, r.owner.clone(), covered(r))
            })
            .filter(|(expires, _, _)| *expires < before)
            .collect();
        due.sort();
        due.dedup();
        Ok(due
            .into_iter()
            .take(limit)
            .map(|(_, o, t)| (o, t))
            .collect())
    }
    fn chain_below(&mut self, name: &Name, limit: usize) -> Result<Vec<Name>, Self::Error> {
        let mut names: Vec<Name> = self
            .chain
            .values()
            .map(|(_, n)| n.clone())
            .filter(|n| n != name && n.is_subdomain_of(name))
            .collect();
        names.truncate(limit);
        Ok(names)
    }
}

impl Memory {
    fn apply(&mut self, edit: &Edit) {
        for record in &edit.removed {
            if matches!(record.rtype, RecordType::NSEC | RecordType::NSEC3) {
                assert!(self.chain.remove(&record.owner).is_some(), "{record}");
            } else {
                let at = self.dnssec.get_mut(&record.owner).unwrap();
                let i = at
                    .iter()
                    .position(|r| r == record)
                    .expect("removed is there");
                at.remove(i);
            }
        }
        for record in &edit.added {
            if matches!(record.rtype, RecordType::NSEC | RecordType::NSEC3) {
                let name = edit.names[&record.owner].clone();
                assert!(
                    self.chain
                        .insert(record.owner.clone(), (record.clone(), name))
                        .is_none()
                );
            } else {
                self.dnssec
                    .entry(record.owner.clone())
                    .or_default()
                    .push(record.clone());
            }
        }
    }

    fn records(&self, with_dnssec: bool) -> Vec<Record> {
        let mut out: Vec<Record> = self.unsigned.values().flatten().cloned().collect();
        if with_dnssec {
            out.extend(self.dnssec.values().flatten().cloned());
            out.extend(self.chain.values().map(|(r, _)| r.clone()));
        }
        out
    }
}

fn keys() -> Vec<ZoneKey> {
    let key = |flags| {
        ZoneKey::new(
            flags,
            Box::new(KeyPair::generate(Algorithm::Ed25519).unwrap()),
        )
    };
    vec![key(SECURE_ENTRY_POINT), key(ZONE_KEY)]
}

/// What a domain of the test publishes.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Gone,
    Insecure,
    Secure,
    WithGlue,
}

const DOMAINS: &[&str] = &[
    "a.tld.",
    "b.tld.",
    "c.tld.",
    "zz.tld.",
    "x.shared.tld.",
    "y.shared.tld.",
    "deep.x.other.tld.",
    "nic2.tld.",
];

fn domain_records(domain: &str, shape: Shape) -> Vec<Record> {
    let ns = |host: &str| record(domain, RecordType::NS, name(host).as_wire().to_vec());
    let mut ds = vec![0x30, 0x39, 13, 2];
    ds.extend_from_slice(&[domain.len() as u8; 32]);
    match shape {
        Shape::Gone => vec![],
        Shape::Insecure => vec![ns("ns.example.")],
        Shape::Secure => vec![ns("ns.example."), record(domain, RecordType::DS, ds)],
        Shape::WithGlue => {
            let host = format!("ns1.{domain}");
            vec![
                ns(&host),
                record(&host, RecordType::A, vec![192, 0, 2, domain.len() as u8]),
                record(domain, RecordType::DS, ds),
            ]
        }
    }
}

fn apex() -> Vec<Record> {
    vec![
        soa(1),
        record(
            "tld.",
            RecordType::NS,
            name("ns.nic.tld.").as_wire().to_vec(),
        ),
        record("ns.nic.tld.", RecordType::A, vec![192, 0, 2, 53]),
    ]
}

fn check_life(denial: Denial, steps: Vec<Vec<(usize, u8)>>) {
    let policy = Policy {
        denial,
        ..Policy::default()
    };
    let keys = keys();
    let origin = name("tld.");
    let mut memory = Memory::default();
    for r in apex() {
        memory.unsigned.entry(r.owner.clone()).or_default().push(r);
    }
    // Turned on: the whole zone signed once.
    let (zone, _) = Zone::new(origin.clone(), Class::IN, memory.records(false));
    let signed = sign_zone(&zone, &keys, &policy, NOW).unwrap();
    let names: BTreeMap<Name, Name> = denial::chain(
        &Zone::new(origin.clone(), Class::IN, {
            let mut r = memory.records(false);
            r.extend(apex_records(&origin, Class::IN, &keys, &policy, NOW));
            r
        })
        .0,
        &policy.denial,
        300,
    )
    .unwrap()
    .into_iter()
    .map(|(r, n)| (r.owner, n))
    .collect();
    let edit = Edit {
        removed: vec![],
        added: signed
            .records()
            .iter()
            .filter(|r| super::super::is_dnssec(r, &origin))
            .cloned()
            .collect(),
        names,
    };
    memory.apply(&edit);
    let mut shapes: Vec<Shape> = vec![Shape::Gone; DOMAINS.len()];
    for (serial, step) in steps.into_iter().enumerate() {
        let mut changed = BTreeSet::new();
        for (domain, shape) in step {
            let domain = domain % DOMAINS.len();
            let shape = [Shape::Gone, Shape::Insecure, Shape::Secure, Shape::WithGlue]
                [usize::from(shape % 4)];
            let before = domain_records(DOMAINS[domain], shapes[domain]);
            let after = domain_records(DOMAINS[domain], shape);
            for r in before.iter().chain(&after) {
                changed.insert((r.owner.clone(), r.rtype));
            }
            for r in before {
                let at = memory.unsigned.get_mut(&r.owner).unwrap();
                at.retain(|x| *x != r);
                if at.is_empty() {
                    memory.unsigned.remove(&r.owner);
                }
            }
            for r in after {
                memory.unsigned.entry(r.owner.clone()).or_default().push(r);
            }
            shapes[domain] = shape;
        }
        memory.unsigned.get_mut(&origin).unwrap()[0] = soa(serial as u32 + 2);
        let signing = Signing {
            origin: &origin,
            class: Class::IN,
            keys: &keys,
            policy: &policy,
            now: NOW,
        };
        let edit = sign_change(&mut memory, &signing, &changed, 0).unwrap();
        memory.apply(&edit);
        let (incremental, _) = Zone::new(origin.clone(), Class::IN, memory.records(true));
        let (unsigned, _) = Zone::new(origin.clone(), Class::IN, memory.records(false));
        let whole = sign_zone(&unsigned, &keys, &policy, NOW).unwrap();
        assert_eq!(
            incremental.records(),
            whole.records(),
            "after step {serial} ({shapes:?})"
        );
    }
    // Eleven days on, nothing changed but the SOA: renewing every signature due makes the
    // zone signed whole at that time.
    let later = NOW + 11 * 86_400;
    memory.unsigned.get_mut(&origin).unwrap()[0] = soa(1000);
    let signing = Signing {
        origin: &origin,
        class: Class::IN,
        keys: &keys,
        policy: &policy,
        now: later,
    };
    let changed = BTreeSet::new();
    let edit = sign_change(&mut memory, &signing, &changed, usize::MAX).unwrap();
    memory.apply(&edit);
    let (refreshed, _) = Zone::new(origin.clone(), Class::IN, memory.records(true));
    let (unsigned, _) = Zone::new(origin.clone(), Class::IN, memory.records(false));
    let whole = sign_zone(&unsigned, &keys, &policy, later).unwrap();
    assert_eq!(refreshed.records(), whole.records(), "refreshed");
}

fn life() -> impl Strategy<Value = Vec<Vec<(usize, u8)>>> {
    prop::collection::vec(
        prop::collection::vec((0..DOMAINS.len(), 0..4u8), 1..4),
        1..12,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn nsec3_with_opt_out_signed_change_by_change_is_the_zone_signed_whole(steps in life()) {
        check_life(Denial::default(), steps);
    }

    #[test]
    fn nsec3_without_opt_out_signed_change_by_change_is_the_zone_signed_whole(steps in life()) {
        check_life(Denial::Nsec3 { iterations: 0, salt: vec![], opt_out: false }, steps);
    }

    #[test]
    fn nsec_signed_change_by_change_is_the_zone_signed_whole(steps in life()) {
        check_life(Denial::Nsec, steps);
    }
}
