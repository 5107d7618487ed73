//! SRRP as a front end of the registry: a parsed request becomes a [`Command`], a reply or
//! refusal becomes a response. No I/O.
//!
//! # Attributes per command
//!
//! Every request carries `registrar-id` and `registrar-auth`. Beyond them:
//!
//! | command | required | optional |
//! | --- | --- | --- |
//! | CREATE DOMAIN | domain-name | expiry-date, status, cluster-id or nsN-name/nsN-address, domain-auth, ds |
//! | CREATE CLUSTER | nsN-name | nsN-address |
//! | SET EXPIRE | domain-name, expiry-date | |
//! | SET CLUSTER | domain-name, cluster-id | |
//! | SET STATUS | domain-name, status | |
//! | SET NAMESERVERS | cluster-id, nsN-name | nsN-address |
//! | SET PASSWORD | domain-name, domain-auth | domain-pw-set (then domain-auth is the old password, and is not needed) |
//! | SET DS | domain-name | ds (none: remove every DS record) |
//! | SET LOCK | domain-name | lock (repeatable; none: every lock cleared) |
//! | DELETE DOMAIN | domain-name | |
//! | DELETE CLUSTER | cluster-id | |
//! | QUERY DOMAIN | domain-name | get-specific (repeatable) |
//! | QUERY CLUSTER | cluster-id | |
//! | TRANSFER DOMAIN (or TRANSFER REQUEST, as the grammar spells it) | domain-name, and domain-auth or transfer-response | |
//! | STATUS DEFAULTS, STATUS SERVER | | |
//!
//! Three extensions of this registry, all optional: `SET DS` with `ds=<key tag> <algorithm>
//! <digest type> <hex digest>` attributes (also accepted by CREATE DOMAIN); `SET LOCK`, whose
//! `lock` attributes name the registrar's prohibitions the domain has from then on
//! (`clientDeleteProhibited`, `clientRenewProhibited`, `clientTransferProhibited`,
//! `clientUpdateProhibited`; QUERY DOMAIN lists them as `text=Status: …`); and name server
//! entries without `nsN-address` for hosts outside the registry's zones (an address is
//! required inside them). An entry may list several addresses separated by spaces or commas,
//! and the same `nsN-name` in two entries gives one host both addresses (IPv4 and IPv6).
//!
//! A transfer completes at once, as the .name plan describes, unless the zone has a transfer
//! timeout (STATUS DEFAULTS shows `transfer-timeout` in days and `transfer-default`, the answer
//! the timeout gives). Then the request waits for the sponsoring registrar, which answers with
//! `TRANSFER DOMAIN` and `transfer-response=yes` or `no` instead of `domain-auth`; the registrar
//! that asked may withdraw it with `transfer-response=cancel`. A pending transfer shows in QUERY
//! DOMAIN as a `text` line, and refuses other changes of the domain with `411`.
//!
//! An unknown command or attribute is `403`, a value of the wrong form `404`, a missing
//! attribute `407`, a version other than 1.0 `413`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use zonefiles::calendar;
use zonefiles::whois::{DelegationSigner, DomainStatus};

use crate::front::srrp::grammar::{Code, Request, Response, VERSION};
use crate::model::{Nameserver, Statuses};
use crate::model::{Transfer, TransferStatus};
use crate::registry::{Command, NameserverSource, Refusal, Reply, TransferAction, status_word};

/// A decoded request: who sends it, and the command with any secret still to be handled off
/// the commit path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The `registrar-id`.
    pub registrar: u32,
    /// The `registrar-auth` as sent.
    pub password: String,
    /// The command; its hash fields are filled in once [`Decoded::secret`] is handled.
    pub command: Command,
    /// A password in the request that must be hashed or verified first.
    pub secret: Secret,
}

/// A domain password carried by a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Secret {
    /// None.
    None,
    /// A new password to hash into the command's `auth_hash`.
    Hash(String),
    /// A password to verify against the domain's stored hash (transfers).
    Verify(String),
}

/// The prohibitions a registrar sets with `SET LOCK`.
const CLIENT_LOCKS: [DomainStatus; 4] = [
    DomainStatus::ClientDeleteProhibited,
    DomainStatus::ClientRenewProhibited,
    DomainStatus::ClientTransferProhibited,
    DomainStatus::ClientUpdateProhibited,
];

struct Attributes<'a> {
    request: &'a Request,
}

impl<'a> Attributes<'a> {
    fn one(&self, name: &'a str) -> Result<Option<&'a str>, Response> {
        let mut values = self.request.values(name);
        let first = values.next();
        if values.next().is_some() {
            return Err(Response::error(
                Code::InvalidAttribute,
                format!("{name} given more than once"),
            ));
        }
        Ok(first)
    }

    fn required(&self, name: &'a str) -> Result<&'a str, Response> {
        self.one(name)?
            .ok_or_else(|| Response::error(Code::MissingAttribute, format!("{name} is missing")))
    }
}

fn allowed(request: &Request, names: &[&str], nameservers: bool) -> Result<(), Response> {
    for (name, _) in &request.attributes {
        let known = ["registrar-id", "registrar-auth"].contains(&name.as_str())
            || names.contains(&name.as_str())
            || (nameservers && ns_index(name).is_some());
        if !known {
            return Err(Response::error(
                Code::InvalidAttribute,
                format!(
                    "{name} is not an attribute of {} {}",
                    request.command, request.object
                ),
            ));
        }
    }
    Ok(())
}

/// `nsN-name` or `nsN-address`: N and which.
fn ns_index(name: &str) -> Option<(u32, bool)> {
    let rest = name.strip_prefix("ns")?;
    let (digits, field) = rest.split_once('-')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
        return None;
    }
    let index = digits.parse().ok()?;
    match field {
        "name" => Some((index, true)),
        "address" => Some((index, false)),
        _ => None,
    }
}

fn invalid(text: impl Into<String>) -> Response {
    Response::error(Code::InvalidValue, text)
}

fn domain_name(value: &str) -> Result<String, Response> {
    let name = value.trim().trim_end_matches('.').to_ascii_lowercase();
    if name.is_empty() {
        return Err(invalid("domain-name is empty"));
    }
    Ok(name)
}

fn cluster_id(value: &str) -> Result<u64, Response> {
    value
        .trim()
        .parse()
        .map_err(|_| invalid(format!("cluster-id {value:?} is not a cluster id")))
}

fn status(value: &str) -> Result<bool, Response> {
    match value.trim() {
        "active" => Ok(true),
        "inactive" => Ok(false),
        other => Err(invalid(format!(
            "status {other:?} is neither active nor inactive"
        ))),
    }
}

fn date(value: &str) -> Result<i64, Response> {
    calendar::parse_date(value.trim()).ok_or_else(|| {
        Response::error(
            Code::InvalidExpiry,
            format!("expiry-date {value:?} is not a date YYYY-MM-DD"),
        )
    })
}

fn ds_list(request: &Request) -> Result<Vec<DelegationSigner>, Response> {
    request
        .values("ds")
        .filter(|v| !v.trim().is_empty())
        .map(|v| {
            v.parse::<DelegationSigner>()
                .map_err(|e| invalid(e.to_string()))
        })
        .collect()
}

/// The name server entries of a request, merged by host name in the order first named.
fn nameservers(request: &Request) -> Result<Vec<Nameserver>, Response> {
    let mut entries: BTreeMap<u32, (Option<&str>, Option<&str>)> = BTreeMap::new();
    for (name, value) in &request.attributes {
        if let Some((index, is_name)) = ns_index(name) {
            let entry = entries.entry(index).or_default();
            let slot = if is_name { &mut entry.0 } else { &mut entry.1 };
            if slot.replace(value).is_some() {
                return Err(Response::error(
                    Code::InvalidAttribute,
                    format!("{name} given more than once"),
                ));
            }
        }
    }
    let mut out: Vec<Nameserver> = Vec::new();
    for (position, (index, (name, address))) in entries.into_iter().enumerate() {
        if index as usize != position + 1 {
            return Err(Response::error(
                Code::InvalidAttribute,
                format!(
                    "name server entries must be numbered from 1 without gaps (ns{} is missing)",
                    position + 1
                ),
            ));
        }
        let name = name.ok_or_else(|| {
            Response::error(Code::MissingAttribute, format!("ns{index}-name is missing"))
        })?;
        let name = domain_name(name)?;
        let mut addresses: Vec<IpAddr> = Vec::new();
        for text in address
            .unwrap_or("")
            .split([' ', ',', '\t'])
            .filter(|a| !a.is_empty())
        {
            addresses.push(text.parse().map_err(|_| {
                invalid(format!("ns{index}-address {text:?} is not an IP address"))
            })?);
        }
        match out.iter_mut().find(|ns| ns.name == name) {
            Some(ns) => ns.addresses.extend(addresses),
            None => out.push(Nameserver { name, addresses }),
        }
    }
    for ns in &mut out {
        ns.addresses.sort();
        ns.addresses.dedup();
    }
    Ok(out)
}

/// Decodes a request into a command, or the response that refuses it.
pub fn decode(request: &Request) -> Result<Decoded, Response> {
    if request.protocol != VERSION {
        return Err(Response::error(
            Code::UnsupportedVersion,
            format!("this server speaks {VERSION}"),
        ));
    }
    let a = Attributes { request };
    let registrar_id = a.required("registrar-id")?;
    let password = a.required("registrar-auth")?.to_string();
    let registrar = registrar_id.trim().parse().map_err(|_| {
        Response::error(
            Code::AuthorizationFailed,
            "unknown registrar-id or wrong registrar-auth",
        )
    })?;
    let mut secret = Secret::None;
    let command = match (request.command.as_str(), request.object.as_str()) {
        ("CREATE", "DOMAIN") => {
            allowed(
                request,
                &[
                    "domain-name",
                    "expiry-date",
                    "status",
                    "cluster-id",
                    "domain-auth",
                    "ds",
                ],
                true,
            )?;
            let name = domain_name(a.required("domain-name")?)?;
            let entries = nameservers(request)?;
            // The plan: with both a cluster-id and entries, the cluster-id wins.
            let source = match a.one("cluster-id")? {
                Some(id) => NameserverSource::Cluster(cluster_id(id)?),
                None if entries.is_empty() => NameserverSource::None,
                None => NameserverSource::Entries(entries),
            };
            if let Some(password) = a.one("domain-auth")? {
                secret = Secret::Hash(password.to_string());
            }
            Command::CreateDomain {
                name,
                expires: a.one("expiry-date")?.map(date).transpose()?,
                period_months: None,
                active: a.one("status")?.map(status).transpose()?,
                nameservers: source,
                auth_hash: None,
                ds: ds_list(request)?,
            }
        }
        ("CREATE", "CLUSTER") => {
            allowed(request, &[], true)?;
            Command::CreateCluster {
                nameservers: nameservers(request)?,
            }
        }
        ("SET", "EXPIRE") => {
            allowed(request, &["domain-name", "expiry-date"], false)?;
            Command::SetExpire {
                name: domain_name(a.required("domain-name")?)?,
                expires: date(a.required("expiry-date")?)?,
            }
        }
        ("SET", "CLUSTER") => {
            allowed(request, &["domain-name", "cluster-id"], false)?;
            Command::SetCluster {
                name: domain_name(a.required("domain-name")?)?,
                cluster: cluster_id(a.required("cluster-id")?)?,
            }
        }
        ("SET", "STATUS") => {
            allowed(request, &["domain-name", "status"], false)?;
            // `inactive` is the registrar's hold (EPP's clientHold); `active` clears it.
            let hold = Statuses::of(DomainStatus::ClientHold);
            let active = status(a.required("status")?)?;
            Command::SetStatus {
                name: domain_name(a.required("domain-name")?)?,
                add: if active { Statuses::NONE } else { hold },
                remove: if active { hold } else { Statuses::NONE },
            }
        }
        ("SET", "LOCK") => {
            allowed(request, &["domain-name", "lock"], false)?;
            // The registrar's prohibitions become exactly those listed (none: all cleared).
            let mut locks = Statuses::NONE;
            for value in request.values("lock").filter(|v| !v.trim().is_empty()) {
                let status = DomainStatus::from_epp(value.trim())
                    .filter(|s| CLIENT_LOCKS.contains(s))
                    .ok_or_else(|| {
                        invalid(format!(
                            "lock {value:?} is not one of clientDeleteProhibited, clientRenewProhibited, clientTransferProhibited, clientUpdateProhibited"
                        ))
                    })?;
                locks = locks.with(status, true);
            }
            Command::SetStatus {
                name: domain_name(a.required("domain-name")?)?,
                add: locks,
                remove: CLIENT_LOCKS
                    .iter()
                    .copied()
                    .collect::<Statuses>()
                    .minus(locks),
            }
        }
        ("SET", "NAMESERVERS") => {
            allowed(request, &["cluster-id"], true)?;
            Command::SetNameservers {
                cluster: cluster_id(a.required("cluster-id")?)?,
                nameservers: nameservers(request)?,
            }
        }
        ("SET", "PASSWORD") => {
            allowed(
                request,
                &["domain-name", "domain-auth", "domain-pw-set"],
                false,
            )?;
            let name = domain_name(a.required("domain-name")?)?;
            let new = match a.one("domain-pw-set")? {
                Some(new) => new,
                None => a.required("domain-auth")?,
            };
            if new.is_empty() {
                return Err(invalid("the domain password is empty"));
            }
            secret = Secret::Hash(new.to_string());
            Command::SetPassword {
                name,
                auth_hash: String::new(),
            }
        }
        ("SET", "DS") => {
            allowed(request, &["domain-name", "ds"], false)?;
            Command::SetDs {
                name: domain_name(a.required("domain-name")?)?,
                ds: ds_list(request)?,
            }
        }
        ("DELETE", "DOMAIN") => {
            allowed(request, &["domain-name"], false)?;
            Command::DeleteDomain {
                name: domain_name(a.required("domain-name")?)?,
            }
        }
        ("DELETE", "CLUSTER") => {
            allowed(request, &["cluster-id"], false)?;
            Command::DeleteCluster {
                cluster: cluster_id(a.required("cluster-id")?)?,
            }
        }
        ("QUERY", "DOMAIN") => {
            allowed(request, &["domain-name", "get-specific"], false)?;
            for wanted in request.values("get-specific") {
                if !QUERY_ATTRIBUTES.contains(&wanted.trim()) {
                    return Err(Response::error(
                        Code::InvalidAttribute,
                        format!("get-specific={wanted}: no such attribute"),
                    ));
                }
            }
            Command::QueryDomain {
                name: domain_name(a.required("domain-name")?)?,
            }
        }
        ("QUERY", "CLUSTER") => {
            allowed(request, &["cluster-id"], false)?;
            Command::QueryCluster {
                cluster: cluster_id(a.required("cluster-id")?)?,
            }
        }
        ("TRANSFER", "DOMAIN" | "REQUEST") => {
            allowed(
                request,
                &["domain-name", "domain-auth", "transfer-response"],
                false,
            )?;
            let name = domain_name(a.required("domain-name")?)?;
            match (a.one("domain-auth")?, a.one("transfer-response")?) {
                (Some(_), Some(_)) => {
                    return Err(Response::error(
                        Code::InvalidAttribute,
                        "a transfer request carries domain-auth, an answer transfer-response: not both",
                    ));
                }
                (_, Some(answer)) => Command::DecideTransfer {
                    name,
                    action: match answer {
                        "yes" => TransferAction::Approve,
                        "no" => TransferAction::Reject,
                        "cancel" => TransferAction::Cancel,
                        other => {
                            return Err(Response::error(
                                Code::InvalidValue,
                                format!("transfer-response={other}: yes, no or cancel"),
                            ));
                        }
                    },
                },
                (_, None) => {
                    secret = Secret::Verify(a.required("domain-auth")?.to_string());
                    Command::Transfer {
                        name,
                        verified_hash: None,
                    }
                }
            }
        }
        ("STATUS", "DEFAULTS") => {
            allowed(request, &[], false)?;
            Command::StatusDefaults
        }
        ("STATUS", "SERVER") => {
            allowed(request, &[], false)?;
            Command::StatusServer
        }
        (command, object) => {
            return Err(Response::error(
                Code::InvalidAttribute,
                format!("{command} {object} is not an SRRP command"),
            ));
        }
    };
    Ok(Decoded {
        registrar,
        password,
        command,
        secret,
    })
}

/// The `text` line SRRP shows for a pending transfer.
fn pending_text(t: &Transfer) -> String {
    format!(
        "Transfer: pending to registrar {} until {}",
        t.gaining,
        calendar::date(t.acted)
    )
}

const QUERY_ATTRIBUTES: [&str; 7] = [
    "domain-name",
    "registrar-id",
    "expiry-date",
    "created-date",
    "cluster-id",
    "status",
    "text",
];

/// The response to a refusal.
pub fn refusal(refusal: &Refusal) -> Response {
    let code = match refusal {
        Refusal::AlreadyRegistered(_) => Code::DomainRegistered,
        Refusal::NotRegistered(_) => Code::DomainNotRegistered,
        Refusal::ClusterNotRegistered(_) => Code::ClusterNotRegistered,
        Refusal::InvalidValue(_) => Code::InvalidValue,
        Refusal::InvalidExpiry(_) | Refusal::ExpiryMismatch(_) => Code::InvalidExpiry,
        Refusal::NameserverCount(_) => Code::NameserverCount,
        Refusal::Missing(_) => Code::MissingAttribute,
        Refusal::InUse(_) => Code::RemovalNotPermitted,
        Refusal::Blocked(_) => Code::BlockedDomain,
        Refusal::Credit(_) => Code::CreditFailure,
        Refusal::AccessDenied(_) => Code::AccessDenied,
        Refusal::AuthorizationFailed(_) => Code::AuthorizationFailed,
        Refusal::StatusProhibits(_) => Code::DomainNotRegistered,
        Refusal::RegistryOnly(_) | Refusal::Prohibited(_) => Code::AccessDenied,
        // SRRP cannot acknowledge a fee: a premium name's price is refused as a value.
        Refusal::Fee(_) => Code::InvalidValue,
        Refusal::PendingTransfer(_) | Refusal::NotPendingTransfer(_) => Code::AccessDenied,
    };
    Response::error(code, refusal.to_string())
}

/// The response to a successful command.
pub fn reply(request: &Request, reply: Reply) -> Response {
    let mut response = Response::new(Code::Success);
    match reply {
        Reply::Done => {}
        Reply::DomainCreated {
            created: _,
            cluster,
            expires,
            active,
        } => {
            if let Some(cluster) = cluster {
                response.push("cluster-id", cluster.to_string());
            }
            response.push("expiry-date", calendar::date(expires));
            response.push("status", status_word(active));
        }
        Reply::ClusterCreated { cluster } => response.push("cluster-id", cluster.to_string()),
        Reply::Domain {
            domain,
            history,
            transfer,
            ..
        } => {
            let mut all = vec![
                ("domain-name", domain.name.clone()),
                ("registrar-id", domain.registrar.to_string()),
                ("expiry-date", calendar::date(domain.expires)),
                ("created-date", calendar::date(domain.created)),
            ];
            if let Some(cluster) = domain.cluster {
                all.push(("cluster-id", cluster.to_string()));
            }
            all.push(("status", status_word(!domain.statuses.held()).to_string()));
            // SRRP has one status word; the holds and prohibitions behind it are told as text.
            for status in domain.statuses.iter() {
                all.push(("text", format!("Status: {}", status.epp())));
            }
            if let Some(t) = transfer {
                all.push(("text", pending_text(&t)));
            }
            for entry in &history {
                all.push(("text", format!("Change: {}", entry.change)));
                all.push((
                    "text",
                    format!("Changed-date:{} UTC", calendar::date_time(entry.at)),
                ));
                all.push(("text", format!("Changed-by: {}", entry.actor)));
            }
            let wanted: Vec<&str> = request.values("get-specific").map(str::trim).collect();
            for name in &wanted {
                if !all.iter().any(|(n, _)| n == name) {
                    return Response::error(
                        Code::AttributeUnavailable,
                        format!("{} has no {name}", domain.name),
                    );
                }
            }
            for (name, value) in all {
                if wanted.is_empty() || wanted.contains(&name) {
                    response.push(name, value);
                }
            }
        }
        Reply::Cluster(cluster) => {
            let mut index = 0;
            for ns in &cluster.nameservers {
                let addresses: Vec<Option<&IpAddr>> = if ns.addresses.is_empty() {
                    vec![None]
                } else {
                    ns.addresses.iter().map(Some).collect()
                };
                for address in addresses {
                    index += 1;
                    if let Some(address) = address {
                        response.push(&format!("ns{index}-address"), address.to_string());
                    }
                    response.push(&format!("ns{index}-name"), ns.name.clone());
                }
            }
        }
        Reply::Defaults(d) => {
            response.push("default-status", "active");
            response.push("default-period", d.default_period.to_string());
            response.push("maximum-period", d.maximum_period.to_string());
            response.push(
                "transfer-default",
                match d.transfer_default {
                    None => "unset",
                    Some(crate::model::TransferDefault::Approve) => "yes",
                    Some(crate::model::TransferDefault::Reject) => "no",
                },
            );
            response.push("transfer-timeout", d.transfer_timeout.to_string());
            response.push("minimum-ns", d.minimum_ns.to_string());
            response.push("maximum-ns", d.maximum_ns.to_string());
            for zone in d.zones {
                response.push("text", zone);
            }
        }
        Reply::Server(lines) => {
            for line in lines {
                response.push("text", line);
            }
        }
        // A completed transfer is confirmed by the code alone, as the .name plan has it.
        Reply::Transfer(t) if t.status.completed() => {}
        Reply::Transfer(t) => {
            response.push(
                "text",
                match t.status {
                    TransferStatus::Pending => pending_text(&t),
                    status => format!("Transfer: {}", status.as_str()),
                },
            );
        }
        // Answers to commands SRRP does not send.
        Reply::Availability(_)
        | Reply::Priced(..)
        | Reply::Charged { .. }
        | Reply::Expires(_)
        | Reply::HostCreated { .. }
        | Reply::Host { .. }
        | Reply::Message(..)
        | Reply::Deleted { .. }
        | Reply::Acknowledged { .. } => {}
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::srrp::grammar::{Limits, parse};

    fn request(text: &str) -> Request {
        parse(text.as_bytes(), Limits::default()).unwrap()
    }

    fn code(text: &str) -> Code {
        match decode(&request(text)) {
            Ok(_) => Code::Success,
            Err(response) => response.code,
        }
    }

    #[test]
    fn create_domain_with_entries() {
        let decoded = decode(&request(
            "CREATE DOMAIN SRRP/1.0\nregistrar-id=123456789\nregistrar-auth=pass-phrase\ndomain-name=Example.Name\nns1-address=114.72.91.131\nns1-name=ns1.example.com\nns2-address=114.72.91.132, 2001:db8::1\nns2-name=ns2.example.com\nns3-name=ns1.example.com\nns3-address=2001:db8::53\n",
        ))
        .unwrap();
        assert_eq!(decoded.registrar, 123456789);
        let Command::CreateDomain {
            name, nameservers, ..
        } = decoded.command
        else {
            panic!("not a create");
        };
        assert_eq!(name, "example.name");
        let NameserverSource::Entries(entries) = nameservers else {
            panic!("no entries");
        };
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].addresses.len(), 2);
        assert_eq!(entries[1].addresses.len(), 2);
    }

    #[test]
    fn set_lock_names_the_registrars_prohibitions_from_then_on() {
        let decoded = decode(&request(
            "SET LOCK SRRP/1.0\nregistrar-id=1\nregistrar-auth=x\ndomain-name=a.name\nlock=clientTransferProhibited\nlock=clientDeleteProhibited\n",
        ))
        .unwrap();
        let Command::SetStatus { add, remove, .. } = decoded.command else {
            panic!("not a status change");
        };
        assert_eq!(
            add.to_text(),
            "clientDeleteProhibited clientTransferProhibited"
        );
        assert_eq!(
            remove.to_text(),
            "clientRenewProhibited clientUpdateProhibited"
        );
        let cleared = decode(&request(
            "SET LOCK SRRP/1.0\nregistrar-id=1\nregistrar-auth=x\ndomain-name=a.name\n",
        ))
        .unwrap();
        assert!(
            matches!(cleared.command, Command::SetStatus { add, remove, .. } if add.is_empty() && remove.iter().count() == 4)
        );
        assert_eq!(
            code(
                "SET LOCK SRRP/1.0\nregistrar-id=1\nregistrar-auth=x\ndomain-name=a.name\nlock=serverHold\n"
            ),
            Code::InvalidValue
        );
    }

    #[test]
    fn refusals_before_the_registry() {
        let auth = "registrar-id=1\nregistrar-auth=x\n";
        assert_eq!(
            code(&format!("CREATE DOMAIN SRRP/1.1\n{auth}")),
            Code::UnsupportedVersion
        );
        assert_eq!(
            code("STATUS SERVER SRRP/1.0\nregistrar-id=1\n"),
            Code::MissingAttribute
        );
        assert_eq!(
            code(&format!("FROB DOMAIN SRRP/1.0\n{auth}")),
            Code::InvalidAttribute
        );
        assert_eq!(
            code(&format!("CREATE DOMAIN SRRP/1.0\n{auth}")),
            Code::MissingAttribute
        );
        assert_eq!(
            code(&format!(
                "CREATE DOMAIN SRRP/1.0\n{auth}domain-name=a.tld\ncolour=red\n"
            )),
            Code::InvalidAttribute
        );
        assert_eq!(
            code(&format!(
                "CREATE DOMAIN SRRP/1.0\n{auth}domain-name=a.tld\nstatus=on\n"
            )),
            Code::InvalidValue
        );
        assert_eq!(
            code(&format!(
                "CREATE DOMAIN SRRP/1.0\n{auth}domain-name=a.tld\nexpiry-date=2027-02-30\n"
            )),
            Code::InvalidExpiry
        );
        assert_eq!(
            code(&format!(
                "CREATE CLUSTER SRRP/1.0\n{auth}ns1-name=a.b\nns3-name=c.d\n"
            )),
            Code::InvalidAttribute
        );
        assert_eq!(
            code(&format!(
                "CREATE CLUSTER SRRP/1.0\n{auth}ns1-address=1.2.3.4\n"
            )),
            Code::MissingAttribute
        );
        assert_eq!(
            code(&format!(
                "CREATE CLUSTER SRRP/1.0\n{auth}ns1-name=a.b\nns1-address=1.2.3\n"
            )),
            Code::InvalidValue
        );
        assert_eq!(
            code(&format!(
                "QUERY DOMAIN SRRP/1.0\n{auth}domain-name=a.tld\nget-specific=colour\n"
            )),
            Code::InvalidAttribute
        );
        assert_eq!(
            code("STATUS SERVER SRRP/1.0\nregistrar-id=abc\nregistrar-auth=x\n"),
            Code::AuthorizationFailed
        );
        assert_eq!(
            code(&format!(
                "TRANSFER REQUEST SRRP/1.0\n{auth}domain-name=a.tld\ndomain-auth=p\n"
            )),
            Code::Success
        );
    }
}
