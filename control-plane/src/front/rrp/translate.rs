//! RRP as a front end of the registry: a request becomes a registry [`Command`], a reply or
//! refusal becomes a response. No I/O; `docs/rrp.md` documents the mapping.
//!
//! # Commands
//!
//! | command | entity | attributes (options) | registry command |
//! | --- | --- | --- | --- |
//! | add | Domain | DomainName, NameServer ×0–13, AuthInfo (-Period 1–10) | CreateDomain over host objects |
//! | add | NameServer | NameServer, IPAddress ×0–13 | CreateHost |
//! | check | Domain / NameServer | DomainName / NameServer | CheckDomains / CheckHosts |
//! | del | Domain / NameServer | DomainName / NameServer | DeleteDomain / DeleteHost |
//! | mod | Domain | DomainName, NameServer[=], Status[=], AuthInfo | statuses, name servers, password (all or none) |
//! | mod | NameServer | NameServer, NewNameServer, IPAddress[=] | UpdateHost |
//! | renew | Domain | DomainName (-Period, -CurrentExpirationYear) | Renew |
//! | status | Domain / NameServer | DomainName / NameServer | QueryDomain / QueryHost |
//! | transfer | Domain | DomainName, AuthInfo (-Approve) | Transfer, or DecideTransfer |
//!
//! A value ending in `=` in `mod` removes it. Name servers are host objects: one outside the
//! registry's zones is added without an address, one inside them with its glue.
//!
//! # Statuses
//!
//! RRP's statuses are coarser than EPP's (RFC 5731 §2.3):
//!
//! | RRP | EPP |
//! | --- | --- |
//! | REGISTRAR-HOLD | clientHold |
//! | REGISTRAR-LOCK | clientDeleteProhibited, clientTransferProhibited, clientUpdateProhibited (set and cleared together; shown if any is set) |
//! | REGISTRY-HOLD | serverHold |
//! | REGISTRY-LOCK | serverDeleteProhibited, serverTransferProhibited, serverUpdateProhibited (shown if any is set) |
//! | REGISTRY-DELETE-NOTIFY | deleted, waiting to be purged (redemption, pending delete) |
//! | ACTIVE | none of the above |
//!
//! A registrar sets and clears the `REGISTRAR-…` ones with `mod`; the `REGISTRY-…` ones are
//! the registry's (531). `clientRenewProhibited` has no RRP name; it still refuses a renewal.
//!
//! # This registry's additions
//!
//! RFC 2832 has no domain password; transfers here are authorized by one, as over SRRP and
//! EPP. An `AuthInfo` attribute sets it on `add` and `mod`, and a transfer request carries it
//! (504 without it). A transfer waits for the sponsor only in a zone with a transfer timeout;
//! `-Approve:Yes` or `-Approve:No` answers it, and `-Approve:No` from the registrar that asked
//! withdraws it (RFC 3632 §2.2). Premium names need an acknowledged fee, which RRP cannot
//! carry: they are refused (549), to be registered over EPP.

use std::net::IpAddr;

use zonefiles::calendar;
use zonefiles::whois::DomainStatus;

use super::grammar::{Code, Entity, Request, Response, VERSION, Verb};
use crate::front::auth;
use crate::front::core::Plan as CorePlan;
use crate::model::{Domain, Statuses};
use crate::registry::{Command, CurrentExpiry, NameserverSource, Refusal, Reply, TransferAction};

/// What to do with a request.
pub type Plan = CorePlan<Response>;

/// Name servers a domain may list, and addresses a name server may have (RFC 2832 §4.3.1).
const MAX_VALUES: usize = 13;

const REGISTRAR_LOCK: [DomainStatus; 3] = [
    DomainStatus::ClientDeleteProhibited,
    DomainStatus::ClientTransferProhibited,
    DomainStatus::ClientUpdateProhibited,
];
const REGISTRY_LOCK: [DomainStatus; 3] = [
    DomainStatus::ServerDeleteProhibited,
    DomainStatus::ServerTransferProhibited,
    DomainStatus::ServerUpdateProhibited,
];

fn run(command: Command) -> Plan {
    Plan::Run {
        command,
        verify: None,
    }
}

/// The attributes and options a command takes, checked before anything else.
struct Shape {
    entities: &'static [Entity],
    attributes: &'static [&'static str],
    options: &'static [&'static str],
}

fn shape(verb: Verb, entity: Option<Entity>) -> Shape {
    let both = &[Entity::Domain, Entity::NameServer][..];
    let domain = &[Entity::Domain][..];
    let (entities, attributes, options): (_, &[&str], &[&str]) = match (verb, entity) {
        (Verb::Add, Some(Entity::NameServer)) => (both, &["nameserver", "ipaddress"], &[]),
        (Verb::Add, _) => (both, &["domainname", "nameserver", "authinfo"], &["period"]),
        (Verb::Check | Verb::Del | Verb::Status, Some(Entity::NameServer)) => {
            (both, &["nameserver"], &[])
        }
        (Verb::Check | Verb::Del | Verb::Status, _) => (both, &["domainname"], &[]),
        (Verb::Mod, Some(Entity::NameServer)) => {
            (both, &["nameserver", "newnameserver", "ipaddress"], &[])
        }
        (Verb::Mod, _) => (
            both,
            &["domainname", "nameserver", "status", "authinfo"],
            &[],
        ),
        (Verb::Renew, _) => (
            domain,
            &["domainname"],
            &["period", "currentexpirationyear"],
        ),
        (Verb::Transfer, _) => (domain, &["domainname", "authinfo"], &["approve"]),
        (Verb::Describe, _) => (&[], &[], &["target"]),
        (Verb::Session, _) => (&[], &[], &["id", "password", "newpassword"]),
        (Verb::Quit, _) => (&[], &[], &[]),
    };
    Shape {
        entities,
        attributes,
        options,
    }
}

/// Checks a request's entity, attribute names and option names against its command.
pub(super) fn check_shape(request: &Request) -> Result<(), Response> {
    let shape = shape(request.verb, request.entity);
    match request.entity {
        None if !shape.entities.is_empty() => {
            return Err(Response::error(
                Code::MissingEntity,
                format!("{} needs an EntityName", request.verb.word()),
            ));
        }
        Some(entity) if !shape.entities.contains(&entity) => {
            return Err(Response::error(
                Code::InvalidEntityValue,
                format!(
                    "{} does not take EntityName {entity:?}",
                    request.verb.word()
                ),
            ));
        }
        _ => {}
    }
    if let Some((name, _)) = request
        .attributes
        .iter()
        .find(|(n, _)| !shape.attributes.contains(&n.as_str()))
    {
        return Err(Response::error(
            Code::InvalidAttributeName,
            format!("{name} is not an attribute of {}", request.verb.word()),
        ));
    }
    if let Some((name, _)) = request
        .options
        .iter()
        .find(|(n, _)| !shape.options.contains(&n.as_str()))
    {
        return Err(Response::error(
            Code::InvalidCommandOption,
            format!("-{name} is not an option of {}", request.verb.word()),
        ));
    }
    for (name, _) in &request.options {
        if request.options.iter().filter(|(n, _)| n == name).count() > 1 {
            return Err(Response::error(
                Code::InvalidCommandFormat,
                format!("-{name} given more than once"),
            ));
        }
    }
    Ok(())
}

/// The one value of a single-valued attribute.
fn one<'a>(request: &'a Request, name: &'static str, label: &str) -> Result<&'a str, Response> {
    let mut values = request.values(name);
    let first = values
        .next()
        .ok_or_else(|| Response::error(Code::MissingAttribute, format!("{label} is missing")))?;
    if values.next().is_some() {
        return Err(Response::error(
            Code::InvalidCommandFormat,
            format!("{label} given more than once"),
        ));
    }
    Ok(first)
}

fn optional<'a>(
    request: &'a Request,
    name: &'static str,
    label: &str,
) -> Result<Option<&'a str>, Response> {
    match request.values(name).count() {
        0 => Ok(None),
        _ => one(request, name, label).map(Some),
    }
}

/// A domain or host name: lower case, without a final dot, LDH labels.
fn host_name(value: &str, label: &str) -> Result<String, Response> {
    let name = value.trim_end_matches('.').to_ascii_lowercase();
    let ldh = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if name.len() > 253 || !name.contains('.') || !name.split('.').all(ldh) {
        return Err(Response::error(
            Code::InvalidAttributeSyntax,
            format!("{label} {value:?} is not a host name"),
        ));
    }
    Ok(name)
}

fn address(value: &str) -> Result<IpAddr, Response> {
    value.parse().map_err(|_| {
        Response::error(
            Code::InvalidAttributeSyntax,
            format!("IPAddress {value:?} is not an IPv4 or IPv6 address"),
        )
    })
}

fn years(request: &Request) -> Result<Option<u32>, Response> {
    match request.option("period") {
        None => Ok(None),
        Some(text) => match text.parse::<u32>() {
            Ok(n @ 1..=10) => Ok(Some(n)),
            _ => Err(Response::error(
                Code::InvalidOptionValue,
                format!("-Period {text:?} is not a number of years from 1 to 10"),
            )),
        },
    }
}

/// Values of a repeatable attribute, split into those to add and those to remove (`value=`).
fn additions<'a>(request: &'a Request, name: &'static str) -> (Vec<&'a str>, Vec<&'a str>) {
    let (mut add, mut remove) = (Vec::new(), Vec::new());
    for value in request.values(name) {
        match value.strip_suffix('=') {
            Some(gone) => remove.push(gone.trim()),
            None => add.push(value),
        }
    }
    (add, remove)
}

fn at_most(values: usize, label: &str) -> Result<(), Response> {
    if values > MAX_VALUES {
        return Err(Response::error(
            Code::InvalidCommandFormat,
            format!("at most {MAX_VALUES} {label} values"),
        ));
    }
    Ok(())
}

fn password(value: &str) -> Result<String, Response> {
    if value.is_empty() {
        return Err(Response::error(
            Code::InvalidAttributeValue,
            "AuthInfo is empty",
        ));
    }
    Ok(value.to_string())
}

/// The plan for a request in a session (`session`, `quit` and `describe` are the session's).
pub fn plan(request: &Request) -> Plan {
    match build(request) {
        Ok(plan) => plan,
        Err(response) => Plan::Answer(response),
    }
}

fn build(request: &Request) -> Result<Plan, Response> {
    check_shape(request)?;
    let entity = request.entity;
    let domain =
        || one(request, "domainname", "DomainName").and_then(|v| host_name(v, "DomainName"));
    let server =
        || one(request, "nameserver", "NameServer").and_then(|v| host_name(v, "NameServer"));
    Ok(match (request.verb, entity) {
        (Verb::Add, Some(Entity::Domain)) => {
            let name = domain()?;
            let servers = request
                .values("nameserver")
                .map(|v| host_name(v, "NameServer"))
                .collect::<Result<Vec<_>, _>>()?;
            at_most(servers.len(), "NameServer")?;
            let auth_hash = optional(request, "authinfo", "AuthInfo")?
                .map(password)
                .transpose()?
                .map(|p| auth::hash_domain(&p));
            run(Command::CreateDomain {
                name,
                expires: None,
                period_months: years(request)?.map(|n| n * 12),
                active: None,
                nameservers: if servers.is_empty() {
                    NameserverSource::None
                } else {
                    NameserverSource::Hosts(servers)
                },
                auth_hash,
                ds: Vec::new(),
            })
        }
        (Verb::Add, _) => {
            let name = server()?;
            let addresses = request
                .values("ipaddress")
                .map(address)
                .collect::<Result<Vec<_>, _>>()?;
            at_most(addresses.len(), "IPAddress")?;
            run(Command::CreateHost { name, addresses })
        }
        (Verb::Check, Some(Entity::Domain)) => run(Command::CheckDomains {
            names: vec![domain()?],
            quote: Vec::new(),
        }),
        (Verb::Check, _) => run(Command::CheckHosts {
            names: vec![server()?],
        }),
        (Verb::Del, Some(Entity::Domain)) => run(Command::DeleteDomain { name: domain()? }),
        (Verb::Del, _) => run(Command::DeleteHost { name: server()? }),
        (Verb::Status, Some(Entity::Domain)) => run(Command::QueryDomain { name: domain()? }),
        (Verb::Status, _) => run(Command::QueryHost { name: server()? }),
        (Verb::Mod, Some(Entity::Domain)) => modify_domain(request, domain()?)?,
        (Verb::Mod, _) => {
            let name = server()?;
            let (add, remove) = additions(request, "ipaddress");
            at_most(add.len() + remove.len(), "IPAddress")?;
            let rename = optional(request, "newnameserver", "NewNameServer")?
                .map(|v| host_name(v, "NewNameServer"))
                .transpose()?;
            run(Command::UpdateHost {
                name,
                add: add.into_iter().map(address).collect::<Result<_, _>>()?,
                remove: remove.into_iter().map(address).collect::<Result<_, _>>()?,
                rename,
            })
        }
        (Verb::Renew, _) => {
            let name = domain()?;
            let year = request.option("currentexpirationyear");
            let period = years(request)?;
            let current_expiry = match (period, year) {
                (None, None) => CurrentExpiry::Unstated,
                (Some(_), Some(year)) => match year.parse::<i64>() {
                    Ok(y) if year.len() == 4 => CurrentExpiry::Year(y),
                    _ => {
                        return Err(Response::error(
                            Code::InvalidOptionValue,
                            format!("-CurrentExpirationYear {year:?} is not a year"),
                        ));
                    }
                },
                _ => {
                    return Err(Response::error(
                        Code::MissingOption,
                        "-Period and -CurrentExpirationYear go together",
                    ));
                }
            };
            run(Command::Renew {
                name,
                current_expiry,
                months: period.unwrap_or(1) * 12,
            })
        }
        (Verb::Transfer, _) => {
            let name = domain()?;
            match request
                .option("approve")
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("yes") => run(Command::DecideTransfer {
                    name,
                    action: TransferAction::Approve,
                }),
                Some("no") => run(Command::DecideTransfer {
                    name,
                    action: TransferAction::Decline,
                }),
                Some(other) => {
                    return Err(Response::error(
                        Code::InvalidOptionValue,
                        format!("-Approve {other:?} is neither Yes nor No"),
                    ));
                }
                None => Plan::Run {
                    command: Command::Transfer {
                        name,
                        verified_hash: None,
                    },
                    verify: Some(password(one(request, "authinfo", "AuthInfo")?)?),
                },
            }
        }
        (Verb::Session | Verb::Quit | Verb::Describe, _) => {
            return Err(Response::error(
                Code::InvalidSequence,
                "a session command, handled by the session",
            ));
        }
    })
}

/// `mod` of a domain: statuses cleared first and set last (so that lifting REGISTRAR-LOCK
/// lets the other changes through), all or none carried out.
fn modify_domain(request: &Request, name: String) -> Result<Plan, Response> {
    let (add_ns, remove_ns) = additions(request, "nameserver");
    at_most(add_ns.len() + remove_ns.len(), "NameServer")?;
    let (add_status, remove_status) = additions(request, "status");
    let statuses = |words: Vec<&str>| -> Result<Statuses, Response> {
        let mut set = Statuses::NONE;
        for word in words {
            let statuses: &[DomainStatus] = match word.to_ascii_uppercase().as_str() {
                "REGISTRAR-HOLD" => &[DomainStatus::ClientHold],
                "REGISTRAR-LOCK" => &REGISTRAR_LOCK,
                "REGISTRY-HOLD" | "REGISTRY-LOCK" | "REGISTRY-DELETE-NOTIFY" => {
                    return Err(Response::error(
                        Code::AuthorizationFailed,
                        format!("{word} is set and cleared by the registry only"),
                    ));
                }
                _ => {
                    return Err(Response::error(
                        Code::InvalidAttributeValue,
                        format!("{word:?} is not REGISTRAR-HOLD or REGISTRAR-LOCK"),
                    ));
                }
            };
            set = set.union(statuses.iter().copied().collect());
        }
        Ok(set)
    };
    let (add_status, remove_status) = (statuses(add_status)?, statuses(remove_status)?);
    // First a read, so that a `mod` changing nothing is still refused for a domain that is
    // not the registrar's.
    let mut commands = vec![Command::QueryDomain { name: name.clone() }];
    if !remove_status.is_empty() {
        commands.push(Command::SetStatus {
            name: name.clone(),
            add: Statuses::NONE,
            remove: remove_status,
        });
    }
    if !add_ns.is_empty() || !remove_ns.is_empty() {
        commands.push(Command::EditNameservers {
            name: name.clone(),
            add: Vec::new(),
            add_hosts: add_ns
                .into_iter()
                .map(|v| host_name(v, "NameServer"))
                .collect::<Result<_, _>>()?,
            remove: remove_ns
                .into_iter()
                .map(|v| host_name(v, "NameServer"))
                .collect::<Result<_, _>>()?,
        });
    }
    if let Some(value) = optional(request, "authinfo", "AuthInfo")? {
        commands.push(Command::SetPassword {
            name: name.clone(),
            auth_hash: auth::hash_domain(&password(value)?),
        });
    }
    if !add_status.is_empty() {
        commands.push(Command::SetStatus {
            name,
            add: add_status,
            remove: Statuses::NONE,
        });
    }
    Ok(run(Command::All(commands)))
}

/// RRP's time form, `2026-12-07 10:27:00.0`.
fn time(t: i64) -> String {
    format!("{}.0", calendar::date_time(t))
}

/// A domain's statuses in RRP's words.
pub fn statuses(domain: &Domain) -> Vec<&'static str> {
    let set = domain.statuses;
    let any = |list: &[DomainStatus]| list.iter().any(|&s| set.contains(s));
    let mut out = Vec::new();
    if any(&REGISTRY_LOCK) {
        out.push("REGISTRY-LOCK");
    }
    if set.contains(DomainStatus::ServerHold) {
        out.push("REGISTRY-HOLD");
    }
    if any(&REGISTRAR_LOCK) {
        out.push("REGISTRAR-LOCK");
    }
    if set.contains(DomainStatus::ClientHold) {
        out.push("REGISTRAR-HOLD");
    }
    if domain.deletion.is_some() {
        out.push("REGISTRY-DELETE-NOTIFY");
    }
    if out.is_empty() {
        out.push("ACTIVE");
    }
    out
}

/// The response to a carried-out command.
pub fn reply(request: &Request, reply: Reply) -> Response {
    let mut response = Response::new(Code::Success);
    match reply {
        Reply::Availability(answers) => {
            let available = answers.first().is_some_and(|(_, verdict)| verdict.is_ok());
            let why = answers.into_iter().find_map(|(_, verdict)| verdict.err());
            response = match (request.entity, available) {
                (Some(Entity::NameServer), true) => Response::new(Code::NameServerAvailable),
                (Some(Entity::NameServer), false) => Response::new(Code::NameServerNotAvailable),
                (_, true) => Response::new(Code::DomainAvailable),
                (_, false) => Response::new(Code::DomainNotAvailable),
            };
            response.reason = why;
        }
        Reply::DomainCreated {
            expires, active, ..
        } => {
            response.push("registration expiration date", time(expires));
            response.push("status", if active { "ACTIVE" } else { "REGISTRAR-HOLD" });
        }
        Reply::Expires(expires) => {
            response.push("registration expiration date", time(expires));
        }
        Reply::Domain {
            domain,
            history,
            nameservers,
            ..
        } => {
            for ns in &nameservers {
                response.push("nameserver", ns.name.to_ascii_uppercase());
            }
            response.push("registration expiration date", time(domain.expires));
            response.push("registrar", domain.registrar.to_string());
            for status in statuses(&domain) {
                response.push("status", status);
            }
            response.push("created date", time(domain.created));
            if let Some(created) = history.last() {
                response.push("created by", created.actor.clone());
            }
            response.push("updated date", time(domain.updated));
            if let Some(updated) = history.first() {
                response.push("updated by", updated.actor.clone());
            }
        }
        Reply::Host { host, .. } => {
            for address in &host.addresses {
                response.push("ipaddress", address.to_string());
            }
            response.push("registrar", host.registrar.to_string());
            response.push("created date", time(host.created));
            response.push("created by", host.creator.to_string());
            response.push("updated date", time(host.updated));
        }
        Reply::Transfer(transfer) => {
            response.push("transfer status", transfer.status.as_str());
        }
        _ => {}
    }
    response
}

/// The `describe` response.
pub fn describe() -> Response {
    let mut response = Response::new(Code::Success);
    response.push("Protocol", format!("RRP {VERSION}"));
    response
}

/// The response to a refusal: RRP's code for it, which for some depends on the command.
pub fn refusal(request: &Request, refusal: &Refusal) -> Response {
    let name_server = request.entity == Some(Entity::NameServer);
    let code = match refusal {
        Refusal::AlreadyRegistered(_) if request.verb == Verb::Add && !name_server => {
            Code::AlreadyRegistered
        }
        Refusal::AlreadyRegistered(_) => Code::NotUnique,
        Refusal::NotRegistered(_) | Refusal::ClusterNotRegistered(_) => Code::NotFound,
        Refusal::InvalidValue(_) | Refusal::NameserverCount(_) | Refusal::Blocked(_) => {
            Code::InvalidAttributeValue
        }
        Refusal::InvalidExpiry(_) => Code::MaximumPeriod,
        Refusal::ExpiryMismatch(_) => Code::InvalidOldValue,
        Refusal::Missing(_) => Code::MissingAttribute,
        Refusal::InUse(_) if name_server => Code::LinkedWithNameServer,
        Refusal::InUse(_) => Code::HasActiveNameServers,
        Refusal::Credit(_) => Code::CreditLimit,
        Refusal::AccessDenied(_) | Refusal::AuthorizationFailed(_) | Refusal::RegistryOnly(_) => {
            Code::AuthorizationFailed
        }
        Refusal::Prohibited(_) | Refusal::StatusProhibits(_) => Code::StatusProhibits,
        Refusal::Fee(_) => Code::CommandFailed,
        Refusal::PendingTransfer(_) if request.verb == Verb::Transfer => {
            Code::AlreadyFlaggedForTransfer
        }
        Refusal::PendingTransfer(_) => Code::PendingTransfer,
        Refusal::NotPendingTransfer(_) => Code::NotFlaggedForTransfer,
    };
    Response::error(code, refusal.to_string())
}

#[cfg(test)]
mod tests {
    use super::super::grammar::parse;
    use super::*;

    fn planned(text: &str) -> Plan {
        plan(&parse(text.replace('\n', "\r\n").as_bytes()).unwrap())
    }

    fn refused(text: &str) -> u16 {
        match planned(text) {
            Plan::Answer(response) => response.code.number(),
            Plan::Run { command, .. } => panic!("ran {command:?}"),
        }
    }

    #[test]
    fn requests_become_registry_commands() {
        let Plan::Run { command, .. } = planned(
            "add\nEntityName:Domain\nDomainName:EXAMPLE.TLD\nNameServer:NS1.EXAMPLE.NET\n-Period:2\n.\n",
        ) else {
            panic!()
        };
        let Command::CreateDomain {
            name,
            period_months,
            nameservers,
            ..
        } = command
        else {
            panic!("{command:?}")
        };
        assert_eq!(name, "example.tld");
        assert_eq!(period_months, Some(24));
        assert_eq!(
            nameservers,
            NameserverSource::Hosts(vec!["ns1.example.net".into()])
        );
        assert_eq!(
            planned(
                "renew\nEntityName:Domain\nDomainName:example.tld\n-Period:1\n-CurrentExpirationYear:2027\n.\n"
            ),
            run(Command::Renew {
                name: "example.tld".into(),
                current_expiry: CurrentExpiry::Year(2027),
                months: 12,
            })
        );
        assert_eq!(
            planned("transfer\nEntityName:Domain\nDomainName:example.tld\nAuthInfo:s3cret\n.\n"),
            Plan::Run {
                command: Command::Transfer {
                    name: "example.tld".into(),
                    verified_hash: None
                },
                verify: Some("s3cret".into())
            }
        );
        let Plan::Run {
            command: Command::All(commands),
            ..
        } = planned(
            "mod\nEntityName:Domain\nDomainName:example.tld\nStatus:REGISTRAR-LOCK=\nNameServer:ns2.example.net\nNameServer:ns1.example.net=\nStatus:REGISTRAR-HOLD\n.\n",
        )
        else {
            panic!()
        };
        assert_eq!(commands.len(), 4);
        assert!(
            matches!(&commands[1], Command::SetStatus { remove, .. } if remove.iter().count() == 3)
        );
        assert!(
            matches!(&commands[2], Command::EditNameservers { add_hosts, remove, .. } if add_hosts == &["ns2.example.net"] && remove == &["ns1.example.net"])
        );
        assert!(
            matches!(&commands[3], Command::SetStatus { add, .. } if *add == Statuses::of(DomainStatus::ClientHold))
        );
    }

    #[test]
    fn malformed_requests_get_rrps_codes() {
        assert_eq!(refused("add\nDomainName:example.tld\n.\n"), 508);
        assert_eq!(refused("add\nEntityName:Domain\n.\n"), 504);
        assert_eq!(
            refused("add\nEntityName:Domain\nDomainName:example.tld\nIPAddress:192.0.2.1\n.\n"),
            503
        );
        assert_eq!(
            refused("add\nEntityName:Domain\nDomainName:example.tld\n-Years:2\n.\n"),
            501
        );
        assert_eq!(
            refused("add\nEntityName:Domain\nDomainName:example.tld\n-Period:11\n.\n"),
            506
        );
        assert_eq!(
            refused("add\nEntityName:Domain\nDomainName:exa mple.tld\n.\n"),
            505
        );
        assert_eq!(
            refused(
                "add\nEntityName:NameServer\nNameServer:ns.example.net\nIPAddress:300.1.1.1\n.\n"
            ),
            505
        );
        assert_eq!(
            refused("renew\nEntityName:Domain\nDomainName:example.tld\n-Period:1\n.\n"),
            509
        );
        assert_eq!(
            refused("renew\nEntityName:NameServer\nDomainName:example.tld\n.\n"),
            502
        );
        assert_eq!(
            refused("transfer\nEntityName:Domain\nDomainName:example.tld\n.\n"),
            504
        );
        assert_eq!(
            refused("transfer\nEntityName:Domain\nDomainName:example.tld\n-Approve:maybe\n.\n"),
            506
        );
        assert_eq!(
            refused("mod\nEntityName:Domain\nDomainName:example.tld\nStatus:REGISTRY-LOCK\n.\n"),
            531
        );
        assert_eq!(
            refused("mod\nEntityName:Domain\nDomainName:example.tld\nStatus:ACTIVE\n.\n"),
            541
        );
        let many = (0..14)
            .map(|i| format!("NameServer:ns{i}.example.net\n"))
            .collect::<String>();
        assert_eq!(
            refused(&format!(
                "add\nEntityName:Domain\nDomainName:example.tld\n{many}.\n"
            )),
            507
        );
    }

    #[test]
    fn statuses_map_onto_rrps_words() {
        let mut domain = Domain {
            name: "a.tld".into(),
            zone: 1,
            id: 1,
            registrar: 1001,
            statuses: Statuses::NONE,
            case: None,
            created: 0,
            expires: 0,
            updated: 0,
            cluster: None,
            auth_hash: None,
            ds: Vec::new(),
            deletion: None,
            billed: None,
        };
        assert_eq!(statuses(&domain), ["ACTIVE"]);
        domain.statuses = Statuses::of(DomainStatus::ClientTransferProhibited)
            .with(DomainStatus::ServerHold, true)
            .with(DomainStatus::ClientHold, true);
        assert_eq!(
            statuses(&domain),
            ["REGISTRY-HOLD", "REGISTRAR-LOCK", "REGISTRAR-HOLD"]
        );
        domain.statuses = Statuses::of(DomainStatus::ClientRenewProhibited);
        assert_eq!(statuses(&domain), ["ACTIVE"]);
    }
}
