//! Host objects (EPP's RFC 5732): name servers known to the registry by name.
//!
//! - A host inside a registry zone is *subordinate* to the registered domain it is beneath: that
//!   domain must exist and be sponsored by the registrar creating it, the host needs at least
//!   one address (its glue), and it moves with the domain on a transfer. A domain with
//!   subordinate hosts cannot be deleted until they are.
//! - A host outside the registry's zones takes no address.
//! - Domains name hosts among their name servers (any registrar may name any host). A domain's
//!   name servers are still its cluster's entries: a host's addresses are copied into every
//!   cluster that lists it, and a change of them reaches every such cluster and republishes
//!   every domain using one, in the same command. So a name with a host object has one set of
//!   addresses everywhere: a cluster entry with other addresses for it is refused.
//! - A host is *linked* while a cluster some domain uses lists it; a linked host cannot be
//!   deleted.
//! - A host may be renamed (RFC 5732 §3.2.5) to a name that is no host and that no cluster
//!   lists; inside a registry zone only beneath a domain of its registrar, and keeping an
//!   address; outside them, without addresses. Every cluster entry follows, and every domain
//!   using one of those clusters is republished in the same changeset.

use std::net::IpAddr;

use super::{Failure, Refusal, Reply, Rules, check_name, usable_address};
use crate::model::{HistoryKey, Host, Nameserver};

impl Rules<'_> {
    /// The registered domain a name inside a registry zone is beneath (`None` outside them).
    fn superordinate(&self, name: &str) -> Result<Option<String>, Refusal> {
        let Some(zone) = self
            .zones
            .iter()
            .filter(|z| name.ends_with(&format!(".{}", z.origin)))
            .max_by_key(|z| z.origin.len())
        else {
            return Ok(None);
        };
        let wanted = zone.origin.split('.').count() + usize::from(zone.level) - 1;
        let labels: Vec<&str> = name.split('.').collect();
        if labels.len() <= wanted {
            return Err(Refusal::InvalidValue(format!(
                "{name} is not beneath a domain registered in {}",
                zone.origin
            )));
        }
        Ok(Some(labels[labels.len() - wanted..].join(".")))
    }

    pub(super) fn check_hosts(&mut self, names: &[String]) -> Result<Reply, Failure> {
        let mut answers = Vec::with_capacity(names.len());
        for name in names {
            let verdict = match check_name(name) {
                Err(e) => Err(e),
                Ok(()) if self.store.host(name)?.is_some() => Err("registered".to_string()),
                Ok(()) => Ok(()),
            };
            answers.push((name.clone(), verdict));
        }
        Ok(Reply::Availability(answers))
    }

    pub(super) fn create_host(
        &mut self,
        name: &str,
        addresses: &[IpAddr],
    ) -> Result<Reply, Failure> {
        check_name(name).map_err(Refusal::InvalidValue)?;
        if self.store.host(name)?.is_some() {
            return Err(
                Refusal::AlreadyRegistered(format!("the host {name} exists already")).into(),
            );
        }
        let parent = self.superordinate(name)?;
        match &parent {
            Some(domain) => {
                self.own_domain(domain)?;
                if addresses.is_empty() {
                    return Err(Refusal::Missing(format!(
                        "{name} is inside a registry zone and needs an address"
                    ))
                    .into());
                }
            }
            None if !addresses.is_empty() => {
                return Err(Refusal::InvalidValue(format!(
                    "{name} is outside the registry's zones and takes no address"
                ))
                .into());
            }
            None => {}
        }
        check_addresses(addresses)?;
        let mut host = Host {
            name: name.to_string(),
            id: 0,
            registrar: self.registrar.id,
            creator: self.registrar.id,
            parent,
            created: self.now,
            updated: self.now,
            addresses: sorted(addresses),
        };
        self.agree_with_clusters(&host)?;
        host.id = self.store.insert_host(&host)?;
        self.record(HistoryKey::Host(name), "CREATE HOST".into())?;
        Ok(Reply::HostCreated { created: self.now })
    }

    pub(super) fn query_host(&mut self, name: &str) -> Result<Reply, Failure> {
        let host = self.existing_host(name)?;
        let linked = self.linked(name)?;
        Ok(Reply::Host {
            host: Box::new(host),
            linked,
        })
    }

    pub(super) fn update_host(
        &mut self,
        name: &str,
        add: &[IpAddr],
        remove: &[IpAddr],
        rename: Option<&str>,
    ) -> Result<Reply, Failure> {
        let mut host = self.own_host(name)?;
        let mut addresses = host.addresses.clone();
        for gone in remove {
            let before = addresses.len();
            addresses.retain(|a| a != gone);
            if addresses.len() == before {
                return Err(Refusal::InvalidValue(format!("{name} has no address {gone}")).into());
            }
        }
        check_addresses(add)?;
        for new in add {
            if addresses.contains(new) {
                return Err(Refusal::AlreadyRegistered(format!(
                    "{name} has the address {new} already"
                ))
                .into());
            }
            addresses.push(*new);
        }
        let new_name = rename
            .map(str::to_ascii_lowercase)
            .filter(|new| new != name);
        let parent = match &new_name {
            Some(new) => self.rename_target(new)?,
            None => host.parent.clone(),
        };
        let shown = new_name.as_deref().unwrap_or(name);
        match (&parent, addresses.is_empty()) {
            (Some(_), true) => {
                return Err(Refusal::Missing(format!(
                    "{shown} is inside a registry zone and keeps at least one address"
                ))
                .into());
            }
            (None, false) => {
                return Err(Refusal::InvalidValue(format!(
                    "{shown} is outside the registry's zones and takes no address; remove its addresses in the same update"
                ))
                .into());
            }
            _ => {}
        }
        let addresses = sorted(&addresses);
        if addresses == host.addresses && new_name.is_none() {
            return Ok(Reply::Done);
        }
        host.addresses = addresses;
        host.parent = parent;
        host.updated = self.now;
        match &new_name {
            Some(new) => {
                host.name = new.clone();
                self.store.rename_host(name, &host)?;
                self.record(HistoryKey::Host(name), format!("RENAME HOST (to {new})"))?;
                self.record(HistoryKey::Host(new), format!("RENAME HOST (from {name})"))?;
            }
            None => {
                self.store.update_host(&host)?;
                self.record(
                    HistoryKey::Host(name),
                    format!("UPDATE HOST ({} addresses)", host.addresses.len()),
                )?;
            }
        }
        // Every cluster listing the host gets its new name and addresses; every domain using
        // one is published again.
        for id in self.store.clusters_with(name)? {
            let Some(mut cluster) = self.store.cluster(id)? else {
                continue;
            };
            for entry in cluster.nameservers.iter_mut().filter(|ns| ns.name == name) {
                entry.name = host.name.clone();
                entry.addresses = host.addresses.clone();
            }
            for domain in self.store.domains_using(id)? {
                self.publication.touch(self.store, &domain)?;
            }
            self.store.set_nameservers(id, &cluster.nameservers)?;
            self.record(
                HistoryKey::Cluster(id),
                format!("SET NAMESERVERS (host {name} changed)"),
            )?;
        }
        Ok(Reply::Done)
    }

    /// The superordinate domain of a host's new name, after checking the name is free: not a
    /// host object, not named by any cluster (so no cluster ends up listing it twice or with
    /// two sets of addresses), and inside the registry only beneath the registrar's own domain.
    fn rename_target(&self, new: &str) -> Result<Option<String>, Failure> {
        check_name(new).map_err(Refusal::InvalidValue)?;
        if self.store.host(new)?.is_some() {
            return Err(
                Refusal::AlreadyRegistered(format!("the host {new} exists already")).into(),
            );
        }
        if let Some(id) = self.store.clusters_with(new)?.first() {
            return Err(Refusal::InUse(format!(
                "{new} is a name server of cluster {id} already; rename to a name no cluster lists"
            ))
            .into());
        }
        let parent = self.superordinate(new)?;
        if let Some(domain) = &parent {
            self.own_domain(domain)?;
        }
        Ok(parent)
    }

    pub(super) fn delete_host(&mut self, name: &str) -> Result<Reply, Failure> {
        self.own_host(name)?;
        if self.linked(name)? {
            return Err(Refusal::InUse(format!(
                "{name} is a name server of registered domains; remove it from them first"
            ))
            .into());
        }
        self.store.delete_host(name)?;
        self.record(HistoryKey::Host(name), "DELETE HOST".into())?;
        Ok(Reply::Done)
    }

    fn existing_host(&self, name: &str) -> Result<Host, Failure> {
        Ok(self
            .store
            .host(name)?
            .ok_or_else(|| Refusal::NotRegistered(format!("the host {name} does not exist")))?)
    }

    fn own_host(&self, name: &str) -> Result<Host, Failure> {
        let host = self.existing_host(name)?;
        if host.registrar != self.registrar.id {
            return Err(Refusal::AccessDenied(format!(
                "the host {name} is sponsored by another registrar"
            ))
            .into());
        }
        Ok(host)
    }

    /// True if a cluster some domain uses lists the host.
    pub(super) fn linked(&self, name: &str) -> Result<bool, Failure> {
        for id in self.store.clusters_with(name)? {
            if !self.store.domains_using(id)?.is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The name servers for these host objects, each with its addresses.
    pub(super) fn resolve_hosts(&self, names: &[String]) -> Result<Vec<Nameserver>, Failure> {
        names
            .iter()
            .map(|name| {
                let host = self.store.host(name)?.ok_or_else(|| {
                    Refusal::NotRegistered(format!(
                        "the host {name} does not exist; create it first"
                    ))
                })?;
                Ok(Nameserver {
                    name: host.name,
                    addresses: host.addresses,
                })
            })
            .collect()
    }

    /// Refuses cluster entries whose name is a host object with other addresses.
    pub(super) fn check_host_addresses(&self, nameservers: &[Nameserver]) -> Result<(), Failure> {
        for ns in nameservers {
            if let Some(host) = self.store.host(&ns.name)?
                && host.addresses != ns.addresses
            {
                return Err(Refusal::InvalidValue(format!(
                    "{} is a host object with other addresses; change them with a host update",
                    ns.name
                ))
                .into());
            }
        }
        Ok(())
    }

    /// Refuses a new host whose name clusters already list with other addresses.
    fn agree_with_clusters(&self, host: &Host) -> Result<(), Failure> {
        for id in self.store.clusters_with(&host.name)? {
            let Some(cluster) = self.store.cluster(id)? else {
                continue;
            };
            if cluster
                .nameservers
                .iter()
                .any(|ns| ns.name == host.name && ns.addresses != host.addresses)
            {
                return Err(Refusal::InvalidValue(format!(
                    "{} is a name server of cluster {id} with other addresses",
                    host.name
                ))
                .into());
            }
        }
        Ok(())
    }

    /// Moves a domain's subordinate hosts to its new sponsor.
    pub(super) fn move_hosts(&mut self, domain: &str, to: u32) -> Result<(), Failure> {
        for mut host in self.store.hosts_beneath(domain)? {
            host.registrar = to;
            host.updated = self.now;
            self.store.update_host(&host)?;
            self.record(
                HistoryKey::Host(&host.name),
                format!("TRANSFER HOST (with {domain})"),
            )?;
        }
        Ok(())
    }
}

fn sorted(addresses: &[IpAddr]) -> Vec<IpAddr> {
    let mut out = addresses.to_vec();
    out.sort();
    out.dedup();
    out
}

fn check_addresses(addresses: &[IpAddr]) -> Result<(), Refusal> {
    match addresses.iter().find(|a| !usable_address(a)) {
        Some(bad) => Err(Refusal::InvalidValue(format!(
            "{bad} is not a usable name server address"
        ))),
        None => Ok(()),
    }
}
