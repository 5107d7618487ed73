//! WHOIS records for a generated TLD zone: a domain for each delegation (its name servers
//! from the NS RRset, DS data from the DS RRset), a host for each in-zone name server with its
//! glue, and a handful of registrars the domains are spread over. Deterministic: the same
//! zone gives the same tree. Written with the bulk path of the tree (one sync at the end).

use std::path::Path;

use zonefiles::whois::tree::Tree;
use zonefiles::whois::{
    DelegationSigner, Domain, DomainStatus, Host, Nameserver, Object, Registrar,
};
use zonefiles::{Name, ParseOptions, RecordType, Zone, rdata};

/// What was written.
#[derive(Debug, Default, Clone, Copy)]
pub struct Summary {
    /// Domains.
    pub domains: usize,
    /// Hosts.
    pub hosts: usize,
}

const REGISTRARS: u32 = 10;

/// Writes the records for the zone at `zone_path` into the tree at `tree_root`.
pub fn generate(zone_path: &Path, tree_root: &Path) -> anyhow::Result<Summary> {
    let (zone, _) = Zone::read(zone_path, ParseOptions::default())?;
    let tree = Tree::open(tree_root)?;
    let origin = zone.origin().clone();
    for id in 1..=REGISTRARS {
        tree.put_unsynced(&Object::Registrar(Registrar {
            iana_id: 1000 + id,
            name: format!("Registrar {id}, Inc."),
            whois_server: format!("whois.registrar{id}.example"),
            url: format!("https://registrar{id}.example"),
            abuse_email: format!("abuse@registrar{id}.example"),
            abuse_phone: format!("+1.55555501{id:02}"),
            updated: 1_700_000_000,
        }))?;
    }
    let mut summary = Summary::default();
    let records = zone.records();
    let mut i = 0;
    while i < records.len() {
        let owner = &records[i].owner;
        let end = records[i..]
            .iter()
            .take_while(|r| r.owner == *owner)
            .count()
            + i;
        let node = &records[i..end];
        i = end;
        if *owner == origin || owner.label_count() != origin.label_count() + 1 {
            continue;
        }
        let ns: Vec<Name> = node
            .iter()
            .filter(|r| r.rtype == RecordType::NS)
            .filter_map(|r| rdata::name_field(RecordType::NS, &r.rdata, 0))
            .collect();
        if ns.is_empty() {
            continue;
        }
        let name = text(owner);
        let seed = fnv(&name);
        let ds = node
            .iter()
            .filter(|r| r.rtype == RecordType::DS && r.rdata.len() > 4)
            .map(|r| DelegationSigner {
                key_tag: u16::from_be_bytes([r.rdata[0], r.rdata[1]]),
                algorithm: r.rdata[2],
                digest_type: r.rdata[3],
                digest: r.rdata[4..].to_vec(),
            })
            .collect();
        let mut nameservers = Vec::new();
        for host in &ns {
            let addresses: Vec<std::net::IpAddr> = zone
                .get(host, RecordType::A)
                .iter()
                .chain(zone.get(host, RecordType::AAAA).iter())
                .filter_map(|r| {
                    rdata::ipv4(&r.rdata)
                        .map(Into::into)
                        .or_else(|| rdata::ipv6(&r.rdata).map(Into::into))
                })
                .collect();
            if !addresses.is_empty() && host.is_subdomain_of(owner) {
                tree.put_unsynced(&Object::Host(Host {
                    name: text(host),
                    roid: format!("H{seed:x}-{}", origin_label(&origin)),
                    registrar: 1001 + seed % REGISTRARS,
                    addresses: addresses.clone(),
                    created: 1_500_000_000 + i64::from(seed % 100_000_000),
                    updated: 1_700_000_000,
                }))?;
                summary.hosts += 1;
            }
            nameservers.push(Nameserver {
                name: text(host),
                addresses,
            });
        }
        let created = 1_500_000_000 + i64::from(seed % 200_000_000);
        tree.put_unsynced(&Object::Domain(Domain {
            name,
            roid: format!("D{seed:x}-{}", origin_label(&origin)),
            registrar: 1001 + seed % REGISTRARS,
            statuses: if seed.is_multiple_of(3) {
                vec![DomainStatus::ClientTransferProhibited]
            } else {
                vec![DomainStatus::Ok]
            },
            nameservers,
            ds,
            created,
            updated: created + 10_000_000,
            expires: 1_800_000_000 + i64::from(seed % 31_536_000),
        }))?;
        summary.domains += 1;
    }
    tree.touch(1_795_000_000)?;
    tree.sync()?;
    zonefiles::whois::index::rebuild(&tree)?;
    Ok(summary)
}

/// A name as WHOIS shows it: lower case, no final dot.
fn text(name: &Name) -> String {
    name.to_string().trim_end_matches('.').to_owned()
}

fn origin_label(origin: &Name) -> String {
    text(origin).to_uppercase()
}

fn fnv(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}
