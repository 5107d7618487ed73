//! EPP domain commands as registry [`Command`]s, and the registry's replies and refusals as EPP
//! responses. No I/O; the mapping is documented in `docs/epp.md`.

use std::fmt::Write;

use zonefiles::whois::{DelegationSigner, DomainStatus};

use super::command::{DomainUpdate, Fee, NameServers, Request, TransferOp};
use super::response::{Queue, Response, date_time};
use super::xml::escape;
use super::{CHANGE_POLL, Code, DOMAIN, FEE, HOST, RGP, SECDNS};
use crate::front::auth;
use crate::model::LedgerKind;
use crate::model::{Case, Domain, Nameserver, Notice, Reason, Statuses, Transfer, TransferStatus};
use crate::registry::{Command, CurrentExpiry, NameserverSource, Quote, Refusal, Reply, money};

/// What to do with a domain or host command.
pub type Plan = crate::front::core::Plan<Response>;

/// The plan for a domain or host command (login, logout, poll and hello are the session's).
pub fn plan(request: &Request) -> Plan {
    let run = |command| Plan::Run {
        command,
        verify: None,
    };
    match request {
        Request::Fee {
            fee: Fee::Check { quote, .. },
            request,
        } => match request.as_ref() {
            Request::DomainCheck(names) => run(Command::CheckDomains {
                names: names.clone(),
                quote: quote.clone(),
            }),
            _ => Plan::Answer(Response::with_message(
                Code::ParameterPolicy,
                "<fee:check> extends a domain check",
            )),
        },
        Request::Fee {
            fee: Fee::Acknowledge { amount, .. },
            request,
        } => match plan(request) {
            Plan::Run { command, verify } => Plan::Run {
                command: Command::WithFee {
                    fee: *amount,
                    command: Box::new(command),
                },
                verify,
            },
            answer => answer,
        },
        Request::DomainCheck(names) => run(Command::CheckDomains {
            names: names.clone(),
            quote: Vec::new(),
        }),
        Request::DomainInfo { name } => run(Command::QueryDomain { name: name.clone() }),
        Request::DomainCreate {
            name,
            period,
            nameservers,
            password,
            ds,
        } => run(Command::CreateDomain {
            name: name.clone(),
            expires: None,
            period_months: *period,
            active: None,
            nameservers: match nameservers {
                NameServers::None => NameserverSource::None,
                NameServers::Objects(names) => NameserverSource::Hosts(names.clone()),
                NameServers::Attributes(hosts) => NameserverSource::Entries(hosts.clone()),
            },
            // An empty password is none (RFC 9154 §4.1): the domain cannot be transferred
            // until one is set.
            auth_hash: (!password.is_empty()).then(|| auth::hash_domain(password)),
            ds: ds.clone(),
        }),
        Request::DomainDelete { name } => run(Command::DeleteDomain { name: name.clone() }),
        Request::DomainRenew {
            name,
            current_expiry,
            period,
        } => run(Command::Renew {
            name: name.clone(),
            current_expiry: CurrentExpiry::Day(*current_expiry),
            months: period.unwrap_or(12),
        }),
        Request::DomainTransfer {
            operation: TransferOp::Request,
            name,
            password,
        } => match password {
            Some(password) if !password.is_empty() => Plan::Run {
                command: Command::Transfer {
                    name: name.clone(),
                    verified_hash: None,
                },
                verify: Some(password.clone()),
            },
            _ => Plan::Answer(Response::with_message(
                Code::MissingParameter,
                "a transfer request needs the domain's <domain:authInfo>",
            )),
        },
        Request::DomainTransfer {
            operation: TransferOp::Query,
            name,
            password,
        } => Plan::Run {
            command: Command::QueryTransfer {
                name: name.clone(),
                verified_hash: None,
            },
            verify: password.clone().filter(|p| !p.is_empty()),
        },
        Request::DomainTransfer {
            operation: TransferOp::Decide(action),
            name,
            ..
        } => run(Command::DecideTransfer {
            name: name.clone(),
            action: *action,
        }),
        Request::DomainUpdate(update) if update.restore => {
            let only = DomainUpdate {
                name: update.name.clone(),
                restore: true,
                ..DomainUpdate::default()
            };
            if **update != only {
                return Plan::Answer(Response::with_message(
                    Code::ParameterPolicy,
                    "a restore request changes nothing else; send other changes once it is restored",
                ));
            }
            run(Command::Restore {
                name: update.name.clone(),
            })
        }
        Request::DomainUpdate(update) => {
            // First a read, so that an update naming nothing to change is still refused for
            // a domain that is not the registrar's.
            let mut commands = vec![Command::QueryDomain {
                name: update.name.clone(),
            }];
            // Statuses cleared first and set last, so that an update clearing
            // clientUpdateProhibited (or setting it) also makes its other changes.
            if !update.remove_status.is_empty() {
                commands.push(Command::SetStatus {
                    name: update.name.clone(),
                    add: Statuses::NONE,
                    remove: update.remove_status,
                });
            }
            if update.add_ns != NameServers::None || !update.remove_ns.is_empty() {
                let (add, add_hosts) = match &update.add_ns {
                    NameServers::None => (Vec::new(), Vec::new()),
                    NameServers::Objects(names) => (Vec::new(), names.clone()),
                    NameServers::Attributes(hosts) => (hosts.clone(), Vec::new()),
                };
                commands.push(Command::EditNameservers {
                    name: update.name.clone(),
                    add,
                    add_hosts,
                    remove: update.remove_ns.clone(),
                });
            }
            if let Some(password) = &update.password {
                commands.push(Command::SetPassword {
                    name: update.name.clone(),
                    auth_hash: auth::hash_domain(password),
                });
            }
            if update.remove_all_ds || !update.remove_ds.is_empty() || !update.add_ds.is_empty() {
                commands.push(Command::EditDs {
                    name: update.name.clone(),
                    add: update.add_ds.clone(),
                    remove: update.remove_ds.clone(),
                    remove_all: update.remove_all_ds,
                });
            }
            if !update.add_status.is_empty() {
                commands.push(Command::SetStatus {
                    name: update.name.clone(),
                    add: update.add_status,
                    remove: Statuses::NONE,
                });
            }
            run(Command::All(commands))
        }
        Request::HostCheck(names) => run(Command::CheckHosts {
            names: names.clone(),
        }),
        Request::HostInfo { name } => run(Command::QueryHost { name: name.clone() }),
        Request::HostCreate { name, addresses } => run(Command::CreateHost {
            name: name.clone(),
            addresses: addresses.clone(),
        }),
        Request::HostUpdate {
            name,
            add,
            remove,
            rename,
        } => run(Command::UpdateHost {
            name: name.clone(),
            add: add.clone(),
            remove: remove.clone(),
            rename: rename.clone(),
        }),
        Request::HostDelete { name } => run(Command::DeleteHost { name: name.clone() }),
        Request::Poll { ack: None } => run(Command::Poll),
        Request::Poll { ack: Some(id) } => match id.parse() {
            Ok(id) => run(Command::Acknowledge { id }),
            Err(_) => Plan::Answer(Response::with_message(
                Code::DoesNotExist,
                format!("no message {id} is queued for you"),
            )),
        },
        Request::Login { .. } | Request::Logout => Plan::Answer(Response::with_message(
            Code::UseError,
            "not a domain command",
        )),
    }
}

/// The response to a refusal.
pub fn refusal(refusal: &Refusal) -> Response {
    let code = match refusal {
        Refusal::AlreadyRegistered(_) => Code::Exists,
        Refusal::NotRegistered(_) | Refusal::ClusterNotRegistered(_) => Code::DoesNotExist,
        Refusal::InvalidValue(_)
        | Refusal::InvalidExpiry(_)
        | Refusal::ExpiryMismatch(_)
        | Refusal::NameserverCount(_) => Code::ParameterPolicy,
        Refusal::Missing(_) => Code::MissingParameter,
        Refusal::InUse(_) => Code::AssociationProhibits,
        Refusal::Blocked(_) => Code::DataPolicy,
        Refusal::Credit(_) => Code::Billing,
        Refusal::AccessDenied(_) => Code::Authorization,
        Refusal::AuthorizationFailed(_) => Code::InvalidAuthInfo,
        Refusal::StatusProhibits(_) | Refusal::Prohibited(_) => Code::StatusProhibits,
        Refusal::RegistryOnly(_) => Code::ParameterPolicy,
        Refusal::Fee(_) => Code::ParameterRange,
        Refusal::PendingTransfer(_) => Code::PendingTransfer,
        Refusal::NotPendingTransfer(_) => Code::NotPendingTransfer,
    };
    Response::with_message(code, refusal.to_string())
}

/// The response to a carried-out command; `currency` is the registry's (fees are in it).
pub fn reply(request: &Request, reply: Reply, currency: &str) -> Response {
    if let Request::Fee { request, .. } = request {
        return fee_reply(request, reply, currency);
    }
    let mut response = Response::new(Code::Success);
    let ns = format!(r#"xmlns:domain="{DOMAIN}""#);
    match (request, reply) {
        (Request::DomainCheck(_), Reply::Availability(answers)) => {
            response.data = Some(check_data("domain", DOMAIN, answers));
        }
        (Request::DomainInfo { .. }, domain @ Reply::Domain { .. }) => {
            domain_info(&mut response, domain);
        }
        (Request::DomainDelete { .. }, Reply::Deleted { pending: true }) => {
            return Response::with_message(
                Code::Pending,
                "deleted: out of the DNS; restorable in its redemption period, then purged",
            );
        }
        (
            Request::DomainCreate { name, .. },
            Reply::DomainCreated {
                created, expires, ..
            },
        ) => {
            response.data = Some(format!(
                "<domain:creData {ns}><domain:name>{}</domain:name><domain:crDate>{}</domain:crDate><domain:exDate>{}</domain:exDate></domain:creData>",
                escape(name),
                date_time(created),
                date_time(expires)
            ));
        }
        (Request::DomainRenew { name, .. }, Reply::Expires(expires)) => {
            response.data = Some(format!(
                "<domain:renData {ns}><domain:name>{}</domain:name><domain:exDate>{}</domain:exDate></domain:renData>",
                escape(name),
                date_time(expires)
            ));
        }
        (Request::DomainTransfer { operation, .. }, Reply::Transfer(transfer)) => {
            // A request left waiting for the sponsor is 1001 (RFC 5731 §3.2.4).
            if *operation == TransferOp::Request && transfer.status == TransferStatus::Pending {
                response = Response::new(Code::Pending);
            }
            response.data = Some(transfer_data(&transfer));
        }
        (Request::HostCheck(_), Reply::Availability(answers)) => {
            response.data = Some(check_data("host", HOST, answers));
        }
        (Request::HostCreate { name, .. }, Reply::HostCreated { created }) => {
            response.data = Some(format!(
                r#"<host:creData xmlns:host="{HOST}"><host:name>{}</host:name><host:crDate>{}</host:crDate></host:creData>"#,
                escape(name),
                date_time(created)
            ));
        }
        (Request::HostInfo { .. }, Reply::Host { host, linked }) => {
            let mut data = format!(
                r#"<host:infData xmlns:host="{HOST}"><host:name>{}</host:name><host:roid>{}</host:roid><host:status s="ok"/>"#,
                escape(&host.name),
                host_roid(host.id)
            );
            if linked {
                data.push_str(r#"<host:status s="linked"/>"#);
            }
            for address in &host.addresses {
                let family = if address.is_ipv4() { "v4" } else { "v6" };
                let _ = write!(data, r#"<host:addr ip="{family}">{address}</host:addr>"#);
            }
            let _ = write!(
                data,
                "<host:clID>{}</host:clID><host:crID>{}</host:crID><host:crDate>{}</host:crDate><host:upDate>{}</host:upDate></host:infData>",
                host.registrar,
                host.creator,
                date_time(host.created),
                date_time(host.updated)
            );
            response.data = Some(data);
        }
        (Request::Poll { .. }, Reply::Message(None, _)) => return Response::new(Code::NoMessages),
        (Request::Poll { .. }, Reply::Message(Some((message, count)), object)) => {
            let mut response = Response::new(Code::Ack);
            // A transfer notice carries the transfer's data (RFC 5731 §3.3); a change by the
            // registry's staff the domain as it is now and RFC 8590's change data; the
            // registry's other notices are their text.
            match &message.about {
                Notice::Transfer(transfer) => response.data = Some(transfer_data(transfer)),
                Notice::Changed { who, case, .. } => {
                    if let Some(object) = object {
                        domain_info(&mut response, *object);
                    }
                    response
                        .extension
                        .push((CHANGE_POLL, change_data(message.at, message.id, who, case)));
                }
                _ => {}
            }
            response.queue = Some(Queue {
                count,
                id: message.id,
                message: Some((message.at, message.text.clone())),
            });
            return response;
        }
        (Request::Poll { ack: Some(id) }, Reply::Acknowledged { remaining }) => {
            response.queue = id.parse().ok().map(|id| Queue {
                count: remaining,
                id,
                message: None,
            });
        }
        (Request::DomainTransfer { name, .. }, _) => {
            return Response::with_message(
                Code::NotTransferable,
                format!("{name} is already sponsored by you"),
            );
        }
        _ => {}
    }
    response
}

/// `<domain:infData>` and its extensions (secDNS, rgp) for a [`Reply::Domain`].
fn domain_info(response: &mut Response, reply: Reply) {
    let Reply::Domain {
        domain,
        nameservers,
        roid,
        host_objects,
        grace,
        transfer,
        ..
    } = reply
    else {
        return;
    };
    let ns = format!(r#"xmlns:domain="{DOMAIN}""#);
    let mut data = format!(
        "<domain:infData {ns}><domain:name>{}</domain:name><domain:roid>{}</domain:roid>",
        escape(&domain.name),
        escape(&roid)
    );
    for status in statuses(&domain, &nameservers, transfer.as_deref()) {
        let _ = write!(data, r#"<domain:status s="{status}"/>"#);
    }
    if !nameservers.is_empty() {
        data.push_str("<domain:ns>");
        if host_objects {
            for host in &nameservers {
                let _ = write!(
                    data,
                    "<domain:hostObj>{}</domain:hostObj>",
                    escape(&host.name)
                );
            }
        } else {
            hosts(&mut data, &nameservers);
        }
        data.push_str("</domain:ns>");
    }
    let _ = write!(
        data,
        "<domain:clID>{}</domain:clID><domain:crDate>{}</domain:crDate><domain:upDate>{}</domain:upDate><domain:exDate>{}</domain:exDate></domain:infData>",
        domain.registrar,
        date_time(domain.created),
        date_time(domain.updated),
        date_time(domain.expires)
    );
    response.data = Some(data);
    if !domain.ds.is_empty() {
        let mut ext = format!(r#"<secDNS:infData xmlns:secDNS="{SECDNS}">"#);
        ds_data(&mut ext, &domain.ds);
        ext.push_str("</secDNS:infData>");
        response.extension.push((SECDNS, ext));
    }
    if let Some(status) = grace {
        response.extension.push((
            RGP,
            format!(
                r#"<rgp:infData xmlns:rgp="{RGP}"><rgp:rgpStatus s="{status}"/></rgp:infData>"#
            ),
        ));
    }
}

/// RFC 8590's `<changePoll:changeData>` for a change the registry's staff made: an update,
/// when, by whom, and the case (UDRP and URS cases by their types, the others as custom
/// cases named by their class).
fn change_data(at: i64, id: i64, who: &str, case: &Case) -> String {
    let case_id = match case.reason {
        Reason::Udrp => r#"type="udrp""#.to_string(),
        Reason::Urs => r#"type="urs""#.to_string(),
        other => format!(r#"type="custom" name="{}""#, other.as_str()),
    };
    format!(
        r#"<changePoll:changeData xmlns:changePoll="{CHANGE_POLL}" state="after"><changePoll:operation>update</changePoll:operation><changePoll:date>{}</changePoll:date><changePoll:svTRID>registry-change-{id}</changePoll:svTRID><changePoll:who>{}</changePoll:who><changePoll:caseId {case_id}>{}</changePoll:caseId><changePoll:reason>{}</changePoll:reason></changePoll:changeData>"#,
        date_time(at),
        escape(who),
        escape(&case.reference),
        case.reason.as_str()
    )
}

/// The response to a command with RFC 8748's extension: the command's own, with the prices
/// asked for (`<fee:chkData>`) or what was charged and the balance after it (`<fee:creData>`,
/// `renData`, `trnData`, `updData`).
fn fee_reply(request: &Request, answer: Reply, currency: &str) -> Response {
    let ns = format!(r#"xmlns:fee="{FEE}""#);
    match answer {
        Reply::Priced(answers, quotes) => {
            let mut data = format!(
                "<fee:chkData {ns}><fee:currency>{}</fee:currency>",
                escape(currency)
            );
            for (name, verdict) in &answers {
                let mine: Vec<&Quote> = quotes.iter().filter(|q| &q.name == name).collect();
                let _ = write!(
                    data,
                    r#"<fee:cd avail="{}"><fee:objID>{}</fee:objID>"#,
                    u8::from(!mine.is_empty()),
                    escape(name)
                );
                if mine.is_empty() {
                    let reason = verdict
                        .as_ref()
                        .err()
                        .map_or("not priced here", |r| r.as_str());
                    let _ = write!(data, "<fee:reason>{}</fee:reason></fee:cd>", escape(reason));
                    continue;
                }
                if mine[0].premium {
                    data.push_str("<fee:class>premium</fee:class>");
                }
                for quote in mine {
                    let (command, description) = match quote.kind {
                        LedgerKind::Create => ("create", "Registration"),
                        LedgerKind::Renew => ("renew", "Renewal"),
                        LedgerKind::Transfer => ("transfer", "Transfer"),
                        _ => ("restore", "Restore"),
                    };
                    let _ = write!(
                        data,
                        r#"<fee:command name="{command}"{}><fee:period unit="y">{}</fee:period><fee:fee description="{description}">{}</fee:fee></fee:command>"#,
                        if quote.premium {
                            ""
                        } else {
                            r#" standard="1""#
                        },
                        quote.years,
                        money(quote.price)
                    );
                }
                data.push_str("</fee:cd>");
            }
            data.push_str("</fee:chkData>");
            let mut response = reply(request, Reply::Availability(answers), currency);
            response.extension.push((FEE, data));
            response
        }
        Reply::Charged {
            fee,
            balance,
            reply: inner,
        } => {
            let element = match request {
                Request::DomainCreate { .. } => "creData",
                Request::DomainRenew { .. } => "renData",
                Request::DomainTransfer { .. } => "trnData",
                _ => "updData",
            };
            let mut response = reply(request, *inner, currency);
            response.extension.push((
                FEE,
                format!(
                    "<fee:{element} {ns}><fee:currency>{}</fee:currency><fee:fee>{}</fee:fee><fee:balance>{}</fee:balance></fee:{element}>",
                    escape(currency),
                    money(fee),
                    money(balance)
                ),
            ));
            response
        }
        other => reply(request, other, currency),
    }
}

/// `<domain:chkData>` or `<host:chkData>` (`prefix` and its namespace): each name, whether it
/// is available and, when not, why.
fn check_data(prefix: &str, namespace: &str, answers: Vec<(String, Result<(), String>)>) -> String {
    let mut data = format!(r#"<{prefix}:chkData xmlns:{prefix}="{namespace}">"#);
    for (name, verdict) in answers {
        let _ = write!(
            data,
            r#"<{prefix}:cd><{prefix}:name avail="{}">{}</{prefix}:name>"#,
            u8::from(verdict.is_ok()),
            escape(&name)
        );
        if let Err(reason) = verdict {
            let reason = if reason == "registered" {
                "In use"
            } else {
                &reason
            };
            let _ = write!(
                data,
                "<{prefix}:reason>{}</{prefix}:reason>",
                escape(reason)
            );
        }
        let _ = write!(data, "</{prefix}:cd>");
    }
    let _ = write!(data, "</{prefix}:chkData>");
    data
}

/// A host object's registry object id.
pub fn host_roid(id: i64) -> String {
    format!("H{id}-HOST")
}

/// A transfer's `<domain:trnData>` (RFC 5731 §3.2.4).
fn transfer_data(t: &Transfer) -> String {
    format!(
        r#"<domain:trnData xmlns:domain="{DOMAIN}"><domain:name>{}</domain:name><domain:trStatus>{}</domain:trStatus><domain:reID>{}</domain:reID><domain:reDate>{}</domain:reDate><domain:acID>{}</domain:acID><domain:acDate>{}</domain:acDate><domain:exDate>{}</domain:exDate></domain:trnData>"#,
        escape(&t.domain),
        t.status.as_str(),
        t.gaining,
        date_time(t.requested),
        t.losing,
        date_time(t.acted),
        date_time(t.expires)
    )
}

/// A domain's EPP statuses: `ok` alone, or those set on it (holds and prohibitions; `clientHold`
/// is SRRP's `inactive`), `inactive` (no name servers), `pendingDelete` (deleted, waiting to be
/// purged) and `pendingTransfer` (waiting for its sponsor's answer to a transfer request).
pub fn statuses(
    domain: &Domain,
    nameservers: &[Nameserver],
    transfer: Option<&Transfer>,
) -> Vec<&'static str> {
    let mut out = Vec::new();
    if domain.deletion.is_some() {
        out.push("pendingDelete");
    }
    if transfer.is_some() {
        out.push("pendingTransfer");
    }
    out.extend(domain.statuses.iter().map(DomainStatus::epp));
    if nameservers.is_empty() {
        out.push("inactive");
    }
    if out.is_empty() {
        out.push("ok");
    }
    out
}

/// Name servers as `<domain:hostAttr>` elements (RFC 5731 §1.1), with their addresses.
pub fn hosts(out: &mut String, nameservers: &[Nameserver]) {
    for host in nameservers {
        let _ = write!(
            out,
            "<domain:hostAttr><domain:hostName>{}</domain:hostName>",
            escape(&host.name)
        );
        for address in &host.addresses {
            let family = if address.is_ipv4() { "v4" } else { "v6" };
            let _ = write!(
                out,
                r#"<domain:hostAddr ip="{family}">{address}</domain:hostAddr>"#
            );
        }
        out.push_str("</domain:hostAttr>");
    }
}

/// DS records as `<secDNS:dsData>` elements (RFC 5910 §4).
pub fn ds_data(out: &mut String, ds: &[DelegationSigner]) {
    for record in ds {
        let _ = write!(
            out,
            "<secDNS:dsData><secDNS:keyTag>{}</secDNS:keyTag><secDNS:alg>{}</secDNS:alg><secDNS:digestType>{}</secDNS:digestType><secDNS:digest>{}</secDNS:digest></secDNS:dsData>",
            record.key_tag,
            record.algorithm,
            record.digest_type,
            data_encoding::HEXUPPER.encode(&record.digest)
        );
    }
}
