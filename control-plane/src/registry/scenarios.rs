//! The rules on an in-memory registry, with the clock in the test's hands: host objects,
//! partial edits, renewals, the life of a deleted domain, transfers, and the statuses set by
//! registrars and by the registry's staff.
//!
//! One file on purpose: the scenarios share one fixture (`Registry`) and read as the rules'
//! specification.

use std::net::IpAddr;

use rusqlite::Connection;
use zonefiles::calendar::{self, DAY};

use super::*;
use crate::model::{
    Case, Deletion, HistoryKey, LedgerKind, Lifecycle, Notice, Reason, Registrar, TransferStatus,
};
use crate::store::sqlite::{self, Step};

const START: i64 = 1_800_000_000;

struct Registry {
    conn: Connection,
}

impl Registry {
    /// Zone `tld` with the given grace periods (days: add, redemption, pending delete,
    /// auto-renew), registrars 1 and 2 with credit.
    fn new([add, redemption, pending_delete, auto_renew]: [u32; 4]) -> Registry {
        Registry::with(Lifecycle {
            add_grace_days: add,
            redemption_days: redemption,
            pending_delete_days: pending_delete,
            auto_renew_grace_days: auto_renew,
            ..Lifecycle::default()
        })
    }

    /// Zone `tld` with this life-cycle policy, registrars 1, 2 and 3 with credit.
    fn with(lifecycle: Lifecycle) -> Registry {
        let conn = sqlite::open(std::path::Path::new(":memory:")).unwrap();
        let mut zone = ZoneSettings::new("tld".parse().unwrap());
        zone.lifecycle = lifecycle;
        sqlite::insert_zone(&conn, &zone).unwrap();
        for id in [1, 2, 3] {
            sqlite::put_registrar(
                &conn,
                &Registrar {
                    id,
                    iana_id: 9000 + id,
                    name: format!("R{id}"),
                    whois_server: String::new(),
                    url: String::new(),
                    abuse_email: String::new(),
                    abuse_phone: String::new(),
                    password_hash: "x".into(),
                    active: true,
                    balance: 0,
                    credit_limit: 0,
                    updated: START,
                    certificate: None,
                },
            )
            .unwrap();
            conn.charge(id, 100_000, LedgerKind::TopUp, None, START)
                .unwrap();
        }
        Registry { conn }
    }

    /// Runs a command as `registrar` at `now`, in a savepoint as the commit thread does.
    fn run(&self, registrar: u32, now: i64, command: Command) -> Result<Reply, Refusal> {
        let registrar = self.conn.registrar(registrar).unwrap().unwrap();
        let context = Context {
            now,
            registrar: &registrar,
            server_info: &[],
            fee: None,
        };
        let mut publication = Publication::new();
        sqlite::transaction(&self.conn, Step::Savepoint).unwrap();
        let result = execute(&self.conn, &mut publication, &context, &command);
        if result.is_err() {
            sqlite::transaction(&self.conn, Step::RollbackToSavepoint).unwrap();
        }
        sqlite::transaction(&self.conn, Step::ReleaseSavepoint).unwrap();
        result.map_err(|e| match e {
            Failure::Refused(r) => r,
            Failure::Store(e) => panic!("store: {e}"),
        })
    }

    fn create(&self, registrar: u32, now: i64, name: &str, ns: NameserverSource) -> Reply {
        self.run(registrar, now, create(name, ns)).unwrap()
    }

    fn domain(&self, name: &str) -> Option<Domain> {
        self.conn.domain(name).unwrap()
    }

    fn balance(&self, id: u32) -> i64 {
        self.conn.registrar(id).unwrap().unwrap().balance
    }
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn ns(name: &str, addresses: &[&str]) -> Nameserver {
    Nameserver {
        name: name.into(),
        addresses: addresses.iter().map(|a| ip(a)).collect(),
    }
}

/// A registration of `name` for the zone's default period, active, with these name servers.
fn create(name: &str, nameservers: NameserverSource) -> Command {
    Command::CreateDomain {
        name: name.into(),
        expires: None,
        period_months: None,
        active: None,
        nameservers,
        auth_hash: None,
        ds: vec![],
    }
}

fn external() -> NameserverSource {
    NameserverSource::Entries(vec![ns("a.example.net", &[]), ns("b.example.net", &[])])
}

#[test]
fn host_objects_follow_their_rules_and_carry_their_addresses_everywhere() {
    let r = Registry::new([0, 0, 5, 0]);
    r.create(1, START, "one.tld", external());
    let host = |name: &str, addresses: &[&str]| Command::CreateHost {
        name: name.into(),
        addresses: addresses.iter().map(|a| ip(a)).collect(),
    };
    // Inside the zone: the domain's sponsor only, with an address; outside: no address.
    assert!(matches!(
        r.run(2, START, host("ns.one.tld", &["192.0.2.1"])),
        Err(Refusal::AccessDenied(_))
    ));
    assert!(matches!(
        r.run(1, START, host("ns.one.tld", &[])),
        Err(Refusal::Missing(_))
    ));
    assert!(matches!(
        r.run(1, START, host("ns.two.tld", &["192.0.2.1"])),
        Err(Refusal::NotRegistered(_))
    ));
    assert!(matches!(
        r.run(1, START, host("ns.example.com", &["192.0.2.1"])),
        Err(Refusal::InvalidValue(_))
    ));
    r.run(1, START, host("ns.one.tld", &["192.0.2.1"])).unwrap();
    r.run(2, START, host("ns.example.com", &[])).unwrap();
    assert!(matches!(
        r.run(1, START, host("ns.example.com", &[])),
        Err(Refusal::AlreadyRegistered(_))
    ));

    // Another registrar's domain names both hosts; the in-zone one brings its address.
    let hosts = NameserverSource::Hosts(vec!["ns.one.tld".into(), "ns.example.com".into()]);
    r.create(2, START, "two.tld", hosts);
    let cluster = r
        .conn
        .cluster(r.domain("two.tld").unwrap().cluster.unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(cluster.nameservers[0], ns("ns.one.tld", &["192.0.2.1"]));
    // A cluster entry may not contradict a host object.
    let wrong = NameserverSource::Entries(vec![
        ns("ns.one.tld", &["192.0.2.9"]),
        ns("x.example.net", &[]),
    ]);
    let refused = r.run(1, START, create("three.tld", wrong));
    assert!(
        matches!(refused, Err(Refusal::InvalidValue(_))),
        "{refused:?}"
    );

    // A new address reaches the other registrar's cluster; linked hosts and their domains stay.
    r.run(
        1,
        START,
        Command::UpdateHost {
            name: "ns.one.tld".into(),
            add: vec![ip("2001:db8::1")],
            remove: vec![ip("192.0.2.1")],
            rename: None,
        },
    )
    .unwrap();
    let cluster = r.conn.cluster(cluster.id).unwrap().unwrap();
    assert_eq!(cluster.nameservers[0], ns("ns.one.tld", &["2001:db8::1"]));
    let Reply::Host { linked, .. } = r
        .run(
            2,
            START,
            Command::QueryHost {
                name: "ns.one.tld".into(),
            },
        )
        .unwrap()
    else {
        panic!("a host");
    };
    assert!(linked);
    assert!(matches!(
        r.run(
            1,
            START,
            Command::DeleteHost {
                name: "ns.one.tld".into()
            }
        ),
        Err(Refusal::InUse(_))
    ));
    assert!(matches!(
        r.run(
            1,
            START,
            Command::DeleteDomain {
                name: "one.tld".into()
            }
        ),
        Err(Refusal::InUse(_))
    ));

    // A transfer takes the subordinate host along.
    r.set_password("one.tld");
    r.run(
        2,
        START,
        Command::Transfer {
            name: "one.tld".into(),
            verified_hash: Some("h".into()),
        },
    )
    .unwrap();
    assert_eq!(r.conn.host("ns.one.tld").unwrap().unwrap().registrar, 2);
    let Reply::Message(Some((message, 1)), _) = r.run(1, START, Command::Poll).unwrap() else {
        panic!("a transfer notice for the losing registrar");
    };
    assert!(message.text.contains("one.tld"));
}

#[test]
fn partial_edits_and_renewals() {
    let r = Registry::new([0, 0, 5, 0]);
    r.create(1, START, "one.tld", external());
    let edit = |add: Vec<Nameserver>, remove: Vec<&str>| Command::EditNameservers {
        name: "one.tld".into(),
        add,
        add_hosts: vec![],
        remove: remove.into_iter().map(String::from).collect(),
    };
    assert!(matches!(
        r.run(1, START, edit(vec![], vec!["c.example.net"])),
        Err(Refusal::InvalidValue(_))
    ));
    assert!(matches!(
        r.run(1, START, edit(vec![ns("a.example.net", &[])], vec![])),
        Err(Refusal::AlreadyRegistered(_))
    ));
    r.run(
        1,
        START,
        edit(
            vec![ns("ns.one.tld", &["192.0.2.7"])],
            vec!["b.example.net"],
        ),
    )
    .unwrap();
    let cluster = r.domain("one.tld").unwrap().cluster.unwrap();
    let names: Vec<String> = r
        .conn
        .cluster(cluster)
        .unwrap()
        .unwrap()
        .nameservers
        .into_iter()
        .map(|n| n.name)
        .collect();
    assert_eq!(names, ["a.example.net", "ns.one.tld"]);
    // Removing every name server leaves the domain undelegated.
    r.run(1, START, edit(vec![], vec!["a.example.net", "ns.one.tld"]))
        .unwrap();
    assert_eq!(r.domain("one.tld").unwrap().cluster, None);

    let expires = r.domain("one.tld").unwrap().expires;
    let day = expires - expires.rem_euclid(DAY);
    let renew = |current| Command::Renew {
        name: "one.tld".into(),
        current_expiry: CurrentExpiry::Day(current),
        months: 24,
    };
    assert!(matches!(
        r.run(1, START, renew(day - DAY)),
        Err(Refusal::ExpiryMismatch(_))
    ));
    let before = r.balance(1);
    let Reply::Expires(new) = r.run(1, START, renew(day)).unwrap() else {
        panic!("an expiry")
    };
    assert_eq!(new, calendar::add_months(expires, 24));
    assert_eq!(before - r.balance(1), 1200, "two years charged");
    assert!(
        matches!(r.run(1, START, renew(day)), Err(Refusal::ExpiryMismatch(_))),
        "a replay is refused"
    );
}

#[test]
fn a_deleted_domain_is_refunded_restored_or_purged_as_its_zone_says() {
    let r = Registry::new([5, 30, 5, 0]);
    // In the add grace period: refunded, and the name is free at once.
    let before = r.balance(1);
    r.create(1, START, "early.tld", external());
    let Reply::Deleted { pending: false } = r
        .run(
            1,
            START + DAY,
            Command::DeleteDomain {
                name: "early.tld".into(),
            },
        )
        .unwrap()
    else {
        panic!("deleted at once");
    };
    assert_eq!(r.balance(1), before);
    assert!(r.domain("early.tld").is_none());

    // Later: pending, out of the DNS, restorable for 30 days (charged), then pending delete,
    // then purged.
    r.create(1, START, "late.tld", external());
    let deleted = START + 10 * DAY;
    let Reply::Deleted { pending: true } = r
        .run(
            1,
            deleted,
            Command::DeleteDomain {
                name: "late.tld".into(),
            },
        )
        .unwrap()
    else {
        panic!("pending");
    };
    assert_eq!(
        r.domain("late.tld").unwrap().deletion,
        Some(Deletion {
            at: deleted,
            redeemable: true
        })
    );
    assert!(matches!(
        r.run(1, deleted, hold("late.tld")),
        Err(Refusal::StatusProhibits(_))
    ));
    assert!(matches!(
        r.create_refused("late.tld"),
        Err(Refusal::AlreadyRegistered(_))
    ));
    let charged = r.balance(1);
    r.run(
        1,
        deleted + DAY,
        Command::Restore {
            name: "late.tld".into(),
        },
    )
    .unwrap();
    assert_eq!(charged - r.balance(1), 600, "a restore costs a year");
    assert_eq!(r.domain("late.tld").unwrap().deletion, None);
    r.run(
        1,
        deleted + 2 * DAY,
        Command::DeleteDomain {
            name: "late.tld".into(),
        },
    )
    .unwrap();

    let sweep_at = |now: i64| {
        let mut publication = Publication::new();
        let moved = sweep(&r.conn, &mut publication, now, None).unwrap();
        (moved, !publication.is_empty())
    };
    let deleted = deleted + 2 * DAY;
    assert_eq!(
        sweep_at(deleted + 29 * DAY),
        (0, false),
        "still in redemption"
    );
    assert_eq!(
        sweep_at(deleted + 31 * DAY),
        (1, true),
        "redemption over: published again"
    );
    assert_eq!(
        r.domain("late.tld").unwrap().deletion,
        Some(Deletion {
            at: deleted,
            redeemable: false
        })
    );
    assert!(matches!(
        r.run(
            1,
            deleted + 31 * DAY,
            Command::Restore {
                name: "late.tld".into()
            }
        ),
        Err(Refusal::StatusProhibits(_))
    ));
    assert_eq!(sweep_at(deleted + 34 * DAY), (0, false), "pending delete");
    assert_eq!(sweep_at(deleted + 36 * DAY), (1, true), "purged");
    assert!(r.domain("late.tld").is_none());
}

impl Registry {
    fn create_refused(&self, name: &str) -> Result<Reply, Refusal> {
        self.run(2, START, create(name, external()))
    }
}

#[test]
fn expired_domains_are_renewed_refunded_or_deleted_when_the_zone_auto_renews() {
    let r = Registry::new([0, 30, 5, 45]);
    r.create(1, START, "kept.tld", external());
    r.create(2, START, "broke.tld", external());
    let expires = r.domain("kept.tld").unwrap().expires;
    let sweep_at = |now: i64| {
        let mut publication = Publication::new();
        sweep(&r.conn, &mut publication, now, None).unwrap()
    };
    assert_eq!(sweep_at(expires - DAY), 0, "not expired yet");
    // Registrar 2 cannot pay for another year.
    let balance = r.balance(2);
    r.conn
        .charge(2, -balance, LedgerKind::TopUp, None, START)
        .unwrap();
    let before = r.balance(1);
    assert_eq!(sweep_at(expires + 60), 2);
    let kept = r.domain("kept.tld").unwrap();
    assert_eq!(kept.expires, calendar::add_months(expires, 12));
    assert_eq!(before - r.balance(1), 600, "a year charged");
    assert!(
        r.domain("broke.tld").unwrap().deletion.is_some(),
        "deleted, restorable"
    );
    assert_eq!(sweep_at(expires + 120), 0, "renewed once");
    for registrar in [1, 2] {
        let Reply::Message(Some((message, 1)), _) =
            r.run(registrar, expires + 120, Command::Poll).unwrap()
        else {
            panic!("a notice for registrar {registrar}");
        };
        assert!(message.text.contains("expir"), "{}", message.text);
    }
    // Deleted within the auto-renew grace period: the renewal is refunded and undone.
    let Reply::Domain { grace, .. } = r
        .run(
            1,
            expires + DAY,
            Command::QueryDomain {
                name: "kept.tld".into(),
            },
        )
        .unwrap()
    else {
        panic!("a domain");
    };
    assert_eq!(grace, Some("autoRenewPeriod"));
    r.run(
        1,
        expires + DAY,
        Command::DeleteDomain {
            name: "kept.tld".into(),
        },
    )
    .unwrap();
    assert_eq!(r.balance(1), before);
    assert_eq!(r.domain("kept.tld").unwrap().expires, expires);
}

impl Registry {
    /// Gives `name` the domain password whose hash is `h`.
    fn set_password(&self, name: &str) {
        let mut domain = self.conn.domain(name).unwrap().unwrap();
        domain.auth_hash = Some("h".into());
        self.conn.update_domain(&domain).unwrap();
    }

    /// Registrar `to` asks for `name` with the right password (set here).
    fn request_transfer(&self, to: u32, now: i64, name: &str) -> Result<Reply, Refusal> {
        self.set_password(name);
        self.run(
            to,
            now,
            Command::Transfer {
                name: name.into(),
                verified_hash: Some("h".into()),
            },
        )
    }

    fn decide(
        &self,
        registrar: u32,
        now: i64,
        name: &str,
        action: TransferAction,
    ) -> Result<Transfer, Refusal> {
        match self.run(
            registrar,
            now,
            Command::DecideTransfer {
                name: name.into(),
                action,
            },
        )? {
            Reply::Transfer(t) => Ok(*t),
            other => panic!("a transfer, not {other:?}"),
        }
    }

    /// The registrar's queued notices, read and acknowledged.
    fn notices(&self, registrar: u32, now: i64) -> Vec<Notice> {
        let mut out = Vec::new();
        while let Reply::Message(Some((message, _)), _) =
            self.run(registrar, now, Command::Poll).unwrap()
        {
            self.run(registrar, now, Command::Acknowledge { id: message.id })
                .unwrap();
            out.push(message.about);
        }
        out
    }

    fn sweep(&self, now: i64) -> usize {
        sweep(&self.conn, &mut Publication::new(), now, None).unwrap()
    }
}

/// The statuses of the transfer notices among `notices`.
fn transfer_statuses(notices: &[Notice]) -> Vec<(String, TransferStatus)> {
    notices
        .iter()
        .filter_map(|n| match n {
            Notice::Transfer(t) => Some((t.domain.clone(), t.status)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_transfer_waits_for_its_sponsor_or_the_timeout_in_a_zone_with_one() {
    let r = Registry::with(Lifecycle {
        transfer_timeout_days: 5,
        transfer_grace_days: 5,
        ..Lifecycle::default()
    });
    for name in ["a.tld", "b.tld", "c.tld", "d.tld"] {
        r.create(1, START, name, external());
    }
    let before = (r.balance(1), r.balance(2));
    let expires = r.domain("a.tld").unwrap().expires;

    // Asked for: pending, charged at once, the sponsor told.
    let Reply::Transfer(t) = r.request_transfer(2, START, "a.tld").unwrap() else {
        panic!("a transfer");
    };
    assert_eq!(
        (t.status, t.gaining, t.losing, t.acted),
        (TransferStatus::Pending, 2, 1, START + 5 * DAY)
    );
    assert_eq!(r.balance(2), before.1 - 600);
    assert_eq!(
        transfer_statuses(&r.notices(1, START)),
        [("a.tld".to_string(), TransferStatus::Pending)]
    );
    // Meanwhile nobody changes the domain, and nobody else asks for it.
    assert!(matches!(
        r.run(1, START, hold("a.tld")),
        Err(Refusal::PendingTransfer(_))
    ));
    assert!(matches!(
        r.request_transfer(3, START, "a.tld"),
        Err(Refusal::PendingTransfer(_))
    ));
    let Reply::Domain { transfer, .. } = r
        .run(
            1,
            START,
            Command::QueryDomain {
                name: "a.tld".into(),
            },
        )
        .unwrap()
    else {
        panic!("a domain");
    };
    assert_eq!(transfer.map(|t| t.gaining), Some(2));
    // Only the sponsor answers; it approves.
    assert!(matches!(
        r.decide(2, START, "a.tld", TransferAction::Approve),
        Err(Refusal::AccessDenied(_))
    ));
    let t = r
        .decide(1, START + DAY, "a.tld", TransferAction::Approve)
        .unwrap();
    assert_eq!(t.status, TransferStatus::ClientApproved);
    let a = r.domain("a.tld").unwrap();
    assert_eq!(
        (a.registrar, a.expires),
        (2, calendar::add_months(expires, 12))
    );
    assert_eq!(
        transfer_statuses(&r.notices(2, START + DAY)),
        [("a.tld".to_string(), TransferStatus::ClientApproved)]
    );
    assert!(matches!(
        r.decide(1, START + DAY, "a.tld", TransferAction::Reject),
        Err(Refusal::NotPendingTransfer(_))
    ));
    // How it ended: for its two registrars, or one holding the password.
    let query = |registrar, verified_hash: Option<&str>| {
        r.run(
            registrar,
            START + DAY,
            Command::QueryTransfer {
                name: "a.tld".into(),
                verified_hash: verified_hash.map(String::from),
            },
        )
    };
    assert!(
        matches!(query(1, None), Ok(Reply::Transfer(t)) if t.status == TransferStatus::ClientApproved)
    );
    assert!(matches!(
        query(3, None),
        Err(Refusal::AuthorizationFailed(_))
    ));

    // Rejected by the sponsor, or withdrawn: refunded, the other registrar told.
    r.request_transfer(2, START, "b.tld").unwrap();
    r.request_transfer(2, START, "c.tld").unwrap();
    r.notices(1, START);
    let t = r.decide(1, START, "b.tld", TransferAction::Reject).unwrap();
    assert_eq!(t.status, TransferStatus::ClientRejected);
    let t = r.decide(2, START, "c.tld", TransferAction::Cancel).unwrap();
    assert_eq!(t.status, TransferStatus::ClientCancelled);
    assert_eq!(r.balance(2), before.1 - 600, "only a.tld is paid for");
    assert_eq!(r.domain("b.tld").unwrap().registrar, 1);
    assert_eq!(
        transfer_statuses(&r.notices(2, START)),
        [("b.tld".to_string(), TransferStatus::ClientRejected)]
    );
    assert_eq!(
        transfer_statuses(&r.notices(1, START)),
        [("c.tld".to_string(), TransferStatus::ClientCancelled)]
    );

    // Left unanswered: the zone's default (approve) at the timeout, both registrars told.
    r.request_transfer(2, START, "d.tld").unwrap();
    r.notices(1, START);
    assert_eq!(r.sweep(START + 5 * DAY - 1), 0);
    assert_eq!(r.sweep(START + 5 * DAY), 1);
    assert_eq!(r.domain("d.tld").unwrap().registrar, 2);
    for registrar in [1, 2] {
        assert_eq!(
            transfer_statuses(&r.notices(registrar, START + 5 * DAY)),
            [("d.tld".to_string(), TransferStatus::ServerApproved)]
        );
    }

    // Deleted in the transfer grace period: the transfer is refunded, the expiry put back.
    let paid = r.balance(2);
    r.run(
        2,
        START + 3 * DAY,
        Command::DeleteDomain {
            name: "a.tld".into(),
        },
    )
    .unwrap();
    assert_eq!(r.balance(2), paid + 600);
    assert!(r.domain("a.tld").is_none());
    // After it, a deletion refunds nothing.
    r.run(
        2,
        START + 11 * DAY,
        Command::DeleteDomain {
            name: "d.tld".into(),
        },
    )
    .unwrap();
    assert_eq!(r.balance(2), paid + 600);
    assert_eq!(r.balance(1), before.0, "the losing registrar paid nothing");
}

#[test]
fn an_unanswered_transfer_lapses_where_the_zone_rejects_by_default() {
    let r = Registry::with(Lifecycle {
        transfer_timeout_days: 5,
        transfer_default: crate::model::TransferDefault::Reject,
        ..Lifecycle::default()
    });
    r.create(1, START, "a.tld", external());
    let before = r.balance(2);
    r.request_transfer(2, START, "a.tld").unwrap();
    assert_eq!(r.sweep(START + 5 * DAY), 1);
    assert_eq!(r.domain("a.tld").unwrap().registrar, 1);
    assert_eq!(r.balance(2), before, "refunded");
    assert_eq!(
        transfer_statuses(&r.notices(2, START + 5 * DAY)),
        [("a.tld".to_string(), TransferStatus::ServerCancelled)]
    );
    // Then the domain is its sponsor's to change again, and transferable anew.
    r.run(1, START + 5 * DAY, hold("a.tld")).unwrap();
    assert!(r.request_transfer(2, START + 5 * DAY, "a.tld").is_ok());
}

#[test]
fn renewals_are_refunded_in_their_grace_and_a_transfer_replaces_an_auto_renewal() {
    let r = Registry::with(Lifecycle {
        renew_grace_days: 5,
        auto_renew_grace_days: 45,
        ..Lifecycle::default()
    });
    r.create(1, START, "renewed.tld", external());
    r.create(1, START, "moved.tld", external());
    let expires = r.domain("renewed.tld").unwrap().expires;
    let before = r.balance(1);
    let day = expires - expires.rem_euclid(DAY);
    r.run(
        1,
        START + DAY,
        Command::Renew {
            name: "renewed.tld".into(),
            current_expiry: CurrentExpiry::Day(day),
            months: 24,
        },
    )
    .unwrap();
    assert_eq!(before - r.balance(1), 1200);
    let Reply::Domain { grace, .. } = r
        .run(
            1,
            START + 2 * DAY,
            Command::QueryDomain {
                name: "renewed.tld".into(),
            },
        )
        .unwrap()
    else {
        panic!("a domain");
    };
    assert_eq!(grace, Some("renewPeriod"));
    r.run(
        1,
        START + 2 * DAY,
        Command::DeleteDomain {
            name: "renewed.tld".into(),
        },
    )
    .unwrap();
    assert_eq!(r.balance(1), before, "the renewal refunded");

    // Renewed by the registry at expiry, then transferred within the grace: the losing
    // registrar gets the renewal back, and the transfer's year replaces it.
    assert_eq!(r.sweep(expires + 60), 1);
    assert_eq!(before - r.balance(1), 600);
    r.request_transfer(2, expires + DAY, "moved.tld").unwrap();
    assert_eq!(r.balance(1), before);
    let moved = r.domain("moved.tld").unwrap();
    assert_eq!(
        (moved.registrar, moved.expires),
        (2, calendar::add_months(expires, 12))
    );
}

#[test]
fn a_renamed_host_takes_every_cluster_entry_with_it() {
    let r = Registry::new([0, 0, 5, 0]);
    r.create(1, START, "one.tld", external());
    r.create(1, START, "two.tld", external());
    r.create(2, START, "other.tld", external());
    for (name, addresses) in [
        ("ns.one.tld", vec![ip("192.0.2.1")]),
        ("ns.example.com", vec![]),
    ] {
        r.run(
            1,
            START,
            Command::CreateHost {
                name: name.into(),
                addresses,
            },
        )
        .unwrap();
    }
    r.run(
        2,
        START,
        Command::CreateHost {
            name: "ns.example.org".into(),
            addresses: vec![],
        },
    )
    .unwrap();
    // Registrar 2's domain names registrar 1's in-zone host.
    let hosts = NameserverSource::Hosts(vec!["ns.one.tld".into(), "ns.example.org".into()]);
    r.create(2, START, "user.tld", hosts);
    let rename = |to: &str, remove: &[&str]| Command::UpdateHost {
        name: "ns.one.tld".into(),
        add: vec![],
        remove: remove.iter().map(|a| ip(a)).collect(),
        rename: Some(to.into()),
    };
    let cases = [
        // Beneath another registrar's domain, an existing host, a name clusters list, beneath
        // no registered domain, outside the registry with an address.
        ("ns.other.tld", Refusal::AccessDenied(String::new())),
        ("ns.example.com", Refusal::AlreadyRegistered(String::new())),
        ("a.example.net", Refusal::InUse(String::new())),
        ("ns.none.tld", Refusal::NotRegistered(String::new())),
        ("ns.example.info", Refusal::InvalidValue(String::new())),
    ];
    for (to, expected) in cases {
        let refused = r.run(1, START, rename(to, &[])).unwrap_err();
        assert_eq!(
            std::mem::discriminant(&refused),
            std::mem::discriminant(&expected),
            "{to}: {refused:?}"
        );
    }
    let entries = |domain: &str| {
        let cluster = r.domain(domain).unwrap().cluster.unwrap();
        r.conn.cluster(cluster).unwrap().unwrap().nameservers
    };
    // Beneath another of its domains: the cluster entry follows, with the address.
    r.run(1, START, rename("ns.two.tld", &[])).unwrap();
    assert!(r.conn.host("ns.one.tld").unwrap().is_none());
    let host = r.conn.host("ns.two.tld").unwrap().unwrap();
    assert_eq!(host.parent.as_deref(), Some("two.tld"));
    assert_eq!(entries("user.tld")[0], ns("ns.two.tld", &["192.0.2.1"]));
    // one.tld has no host beneath it any more: it may go; two.tld may not.
    r.run(
        1,
        START,
        Command::DeleteDomain {
            name: "one.tld".into(),
        },
    )
    .unwrap();
    assert!(matches!(
        r.run(
            1,
            START,
            Command::DeleteDomain {
                name: "two.tld".into()
            }
        ),
        Err(Refusal::InUse(_))
    ));
    // Outside the registry, without its address.
    r.run(
        1,
        START,
        Command::UpdateHost {
            name: "ns.two.tld".into(),
            add: vec![],
            remove: vec![ip("192.0.2.1")],
            rename: Some("ns.example.info".into()),
        },
    )
    .unwrap();
    assert_eq!(entries("user.tld")[0], ns("ns.example.info", &[]));
    assert!(
        r.conn
            .host("ns.example.info")
            .unwrap()
            .unwrap()
            .parent
            .is_none()
    );
    let history = r.conn.history(HistoryKey::Host("ns.example.info")).unwrap();
    assert!(
        history
            .iter()
            .any(|h| h.change == "RENAME HOST (from ns.two.tld)"),
        "{history:?}"
    );
}

/// Sets the registrar's hold on `name` (SRRP's `SET STATUS inactive`).
fn hold(name: &str) -> Command {
    Command::SetStatus {
        name: name.into(),
        add: Statuses::of(DomainStatus::ClientHold),
        remove: Statuses::NONE,
    }
}

/// A registrar's status change: `+` sets, `-` clears (`"+clientHold -clientDeleteProhibited"`).
fn statuses(name: &str, change: &str) -> Command {
    let (mut add, mut remove) = (Statuses::NONE, Statuses::NONE);
    for word in change.split_whitespace() {
        let status = DomainStatus::from_epp(&word[1..]).unwrap();
        match &word[..1] {
            "+" => add = add.with(status, true),
            _ => remove = remove.with(status, true),
        }
    }
    Command::SetStatus {
        name: name.into(),
        add,
        remove,
    }
}

impl Registry {
    /// The registry's staff act on `name` for a case of `reason`.
    fn staff(
        &self,
        now: i64,
        name: &str,
        action: StaffAction,
        reason: Reason,
    ) -> Result<String, Refusal> {
        sqlite::transaction(&self.conn, Step::Savepoint).unwrap();
        let case = Case {
            reason,
            reference: "CASE-1".into(),
        };
        let result = act(
            &self.conn,
            &mut Publication::new(),
            now,
            "ops",
            name,
            &action,
            &case,
        );
        if result.is_err() {
            sqlite::transaction(&self.conn, Step::RollbackToSavepoint).unwrap();
        }
        sqlite::transaction(&self.conn, Step::ReleaseSavepoint).unwrap();
        result.map_err(|e| match e {
            Failure::Refused(r) => r,
            Failure::Store(e) => panic!("store: {e}"),
        })
    }

    fn history(&self, name: &str) -> Vec<String> {
        self.conn
            .history(HistoryKey::Domain(name))
            .unwrap()
            .into_iter()
            .map(|h| format!("{}: {}", h.actor, h.change))
            .collect()
    }
}

#[test]
fn a_registrars_statuses_refuse_what_they_prohibit() {
    let r = Registry::new([0, 0, 5, 0]);
    r.create(1, START, "a.tld", external());
    let expires = r.domain("a.tld").unwrap().expires;
    r.run(
        1,
        START,
        statuses(
            "a.tld",
            "+clientTransferProhibited +clientDeleteProhibited +clientRenewProhibited",
        ),
    )
    .unwrap();
    let prohibited = |result: Result<Reply, Refusal>| matches!(result, Err(Refusal::Prohibited(ref text)) if text.contains("clear it first"));
    assert!(prohibited(r.request_transfer(2, START, "a.tld")));
    assert!(prohibited(r.run(
        1,
        START,
        Command::DeleteDomain {
            name: "a.tld".into()
        }
    )));
    let day = expires - expires.rem_euclid(DAY);
    let renew = Command::Renew {
        name: "a.tld".into(),
        current_expiry: CurrentExpiry::Day(day),
        months: 12,
    };
    assert!(prohibited(r.run(1, START, renew)));
    // A change is not a renewal: an earlier expiry is an update, which nothing prohibits.
    r.run(
        1,
        START,
        Command::SetExpire {
            name: "a.tld".into(),
            expires: day - DAY,
        },
    )
    .unwrap();
    // The registry's statuses are not the registrar's to set, nor to clear.
    assert!(matches!(
        r.run(1, START, statuses("a.tld", "+serverHold")),
        Err(Refusal::RegistryOnly(_))
    ));
    assert!(matches!(
        r.run(1, START, statuses("a.tld", "-serverTransferProhibited")),
        Err(Refusal::RegistryOnly(_))
    ));
    // Under clientUpdateProhibited nothing changes, statuses included, but a command clearing
    // it is accepted, with what else it changes.
    r.run(1, START, statuses("a.tld", "+clientUpdateProhibited"))
        .unwrap();
    let ds = Command::SetDs {
        name: "a.tld".into(),
        ds: vec![],
    };
    assert!(prohibited(r.run(1, START, hold("a.tld"))));
    assert!(prohibited(r.run(
        1,
        START,
        Command::SetPassword {
            name: "a.tld".into(),
            auth_hash: "x".into()
        }
    )));
    assert!(prohibited(r.run(1, START, ds.clone())));
    r.run(
        1,
        START,
        statuses(
            "a.tld",
            "-clientUpdateProhibited +clientHold -clientRenewProhibited",
        ),
    )
    .unwrap();
    let domain = r.domain("a.tld").unwrap();
    assert_eq!(
        domain.statuses.to_text(),
        "clientDeleteProhibited clientHold clientTransferProhibited"
    );
    assert!(domain.statuses.held());
    // Setting what is set changes nothing and records nothing.
    let recorded = r.history("a.tld").len();
    r.run(1, START, hold("a.tld")).unwrap();
    assert_eq!(r.history("a.tld").len(), recorded);
    r.run(
        1,
        START,
        Command::Renew {
            name: "a.tld".into(),
            current_expiry: CurrentExpiry::Day(day - DAY),
            months: 12,
        },
    )
    .unwrap();
    assert_eq!(
        r.history("a.tld")[..3],
        [
            "registrar 1: SET EXPIRE (from 2028-01-14 to 2029-01-14)".to_string(),
            "registrar 1: SET STATUS (+clientHold -clientRenewProhibited -clientUpdateProhibited)"
                .into(),
            "registrar 1: SET STATUS (+clientUpdateProhibited)".into(),
        ][..]
    );
    // Another registrar sees none of it.
    assert!(matches!(
        r.run(2, START, statuses("a.tld", "-clientHold")),
        Err(Refusal::AccessDenied(_))
    ));
}

#[test]
fn the_registry_holds_locks_releases_and_transfers_for_a_case() {
    let r = Registry::with(Lifecycle {
        transfer_timeout_days: 5,
        ..Lifecycle::default()
    });
    r.create(1, START, "a.tld", external());
    let expires = r.domain("a.tld").unwrap().expires;

    // A registry lock, at the registrar's request.
    r.staff(START, "a.tld", StaffAction::Lock, Reason::RegistryLock)
        .unwrap();
    let domain = r.domain("a.tld").unwrap();
    assert_eq!(
        domain.statuses.to_text(),
        "serverDeleteProhibited serverTransferProhibited serverUpdateProhibited"
    );
    assert_eq!(domain.case.unwrap().reason, Reason::RegistryLock);
    let refused = |result: Result<Reply, Refusal>| matches!(result, Err(Refusal::Prohibited(ref text)) if text.contains("only the registry can lift it"));
    assert!(refused(r.run(1, START, hold("a.tld"))));
    assert!(refused(r.run(
        1,
        START,
        Command::DeleteDomain {
            name: "a.tld".into()
        }
    )));
    assert!(refused(r.request_transfer(2, START, "a.tld")));
    // A hold for abuse adds its status; the domain stays registry-locked.
    r.staff(START, "a.tld", StaffAction::Hold, Reason::Abuse)
        .unwrap();
    let domain = r.domain("a.tld").unwrap();
    assert!(domain.statuses.held());
    assert_eq!(domain.case.unwrap().reason, Reason::RegistryLock);
    // Released only with the confirmation made out of band.
    let release = |confirmation: Option<&str>| StaffAction::Release {
        confirmation: confirmation.map(str::to_string),
    };
    assert!(matches!(
        r.staff(START, "a.tld", release(None), Reason::RegistryLock),
        Err(Refusal::Missing(_))
    ));
    r.staff(
        START + 60,
        "a.tld",
        release(Some("CALL-7")),
        Reason::RegistryLock,
    )
    .unwrap();
    let domain = r.domain("a.tld").unwrap();
    assert_eq!((domain.statuses, domain.case), (Statuses::NONE, None));
    assert_eq!(
        r.history("a.tld")[..3],
        [
            "operator ops: RELEASE (-serverDeleteProhibited -serverHold -serverTransferProhibited -serverUpdateProhibited; registry-lock, CASE-1; confirmed CALL-7)".to_string(),
            "operator ops: HOLD (+serverHold; abuse, CASE-1)".into(),
            "operator ops: LOCK (+serverDeleteProhibited +serverTransferProhibited +serverUpdateProhibited; registry-lock, CASE-1)".into(),
        ][..]
    );
    // The sponsor was told of each.
    let told = r.notices(1, START + 60);
    assert_eq!(told.len(), 3);
    assert!(
        told.iter()
            .all(|n| matches!(n, Notice::Changed { domain, who, case }
                if domain == "a.tld" && who == "operator ops" && case.reference == "CASE-1"))
    );

    // A dispute's decision: the pending transfer to registrar 2 is cancelled (and refunded),
    // the domain goes to registrar 3 without charge, its expiry unchanged.
    r.run(1, START + DAY, hold("a.tld")).unwrap();
    r.request_transfer(2, START + DAY, "a.tld").unwrap();
    let balances = (r.balance(2), r.balance(3));
    r.staff(
        START + DAY,
        "a.tld",
        StaffAction::Transfer { to: 3 },
        Reason::Udrp,
    )
    .unwrap();
    let domain = r.domain("a.tld").unwrap();
    assert_eq!(
        (
            domain.registrar,
            domain.expires,
            domain.auth_hash,
            domain.statuses
        ),
        (3, expires, None, Statuses::NONE),
        "the old sponsor's hold is not the new one's"
    );
    assert_eq!((r.balance(2), r.balance(3)), (balances.0 + 600, balances.1));
    // Not charged, but on both registrars' statements.
    let lines: Vec<(u32, i64)> = r
        .conn
        .ledger(START + DAY, START + 2 * DAY)
        .unwrap()
        .iter()
        .filter(|l| l.kind == LedgerKind::RegistryTransfer)
        .map(|l| (l.registrar, l.amount))
        .collect();
    assert_eq!(lines, [(1, 0), (3, 0)]);
    assert_eq!(
        transfer_statuses(&r.notices(3, START + DAY)),
        [("a.tld".to_string(), TransferStatus::ServerApproved)]
    );
    assert_eq!(
        transfer_statuses(&r.notices(1, START + DAY)),
        [
            ("a.tld".to_string(), TransferStatus::Pending),
            ("a.tld".to_string(), TransferStatus::ServerCancelled),
            ("a.tld".to_string(), TransferStatus::ServerApproved)
        ]
    );
    assert!(r.history("a.tld")[0].starts_with(
        "operator ops: TRANSFER BY THE REGISTRY (from registrar 1 to registrar 3; udrp, CASE-1)"
    ));
    // A suspension is a hold and a lock; a release clears the registry's statuses only.
    r.run(3, START + DAY, hold("a.tld")).unwrap();
    r.staff(START + DAY, "a.tld", StaffAction::Suspend, Reason::Abuse)
        .unwrap();
    assert_eq!(
        r.domain("a.tld").unwrap().statuses.to_text(),
        "clientHold serverDeleteProhibited serverHold serverTransferProhibited serverUpdateProhibited"
    );
    r.staff(START + DAY, "a.tld", release(None), Reason::Abuse)
        .unwrap();
    assert_eq!(r.domain("a.tld").unwrap().statuses.to_text(), "clientHold");
    // Every action names its case; an unknown domain or registrar is refused.
    assert!(matches!(
        r.staff(START, "b.tld", StaffAction::Hold, Reason::Abuse),
        Err(Refusal::NotRegistered(_))
    ));
    assert!(matches!(
        r.staff(
            START,
            "a.tld",
            StaffAction::Transfer { to: 9 },
            Reason::Udrp
        ),
        Err(Refusal::NotRegistered(_))
    ));
}

#[test]
fn a_domain_is_not_transferred_within_the_zones_lock_after_its_registration_or_a_transfer() {
    let r = Registry::with(Lifecycle {
        transfer_lock_days: 60,
        ..Lifecycle::default()
    });
    r.create(1, START, "a.tld", external());
    let locked = |result: Result<Reply, Refusal>, what: &str| matches!(result, Err(Refusal::Prohibited(ref text)) if text.contains(what) && text.contains("60-day transfer lock"));
    assert!(locked(
        r.request_transfer(2, START + 59 * DAY, "a.tld"),
        "was registered on 2027-01-15; it can be transferred from 2027-03-16"
    ));
    r.run(1, START, hold("a.tld")).unwrap();
    r.request_transfer(2, START + 60 * DAY, "a.tld").unwrap();
    let domain = r.domain("a.tld").unwrap();
    assert_eq!((domain.registrar, domain.statuses), (2, Statuses::NONE));
    assert!(locked(
        r.request_transfer(3, START + 119 * DAY, "a.tld"),
        "was transferred on"
    ));
    // A transfer by the registry starts the lock again too.
    r.staff(
        START + 120 * DAY,
        "a.tld",
        StaffAction::Transfer { to: 1 },
        Reason::Udrp,
    )
    .unwrap();
    assert!(locked(
        r.request_transfer(3, START + 150 * DAY, "a.tld"),
        "was transferred on"
    ));
    r.request_transfer(3, START + 180 * DAY, "a.tld").unwrap();
    assert_eq!(r.domain("a.tld").unwrap().registrar, 3);
}

#[test]
fn unread_messages_expire_when_the_registry_says_so() {
    let r = Registry::with(Lifecycle {
        transfer_timeout_days: 5,
        ..Lifecycle::default()
    });
    r.create(1, START, "a.tld", external());
    r.create(1, START, "b.tld", external());
    r.request_transfer(2, START, "a.tld").unwrap();
    r.request_transfer(2, START + 2 * DAY, "b.tld").unwrap();
    // Kept until acknowledged, unless the registry removes those older than a date.
    let swept = |before: Option<i64>| {
        sweep(&r.conn, &mut Publication::new(), START + 4 * DAY, before).unwrap()
    };
    assert_eq!(swept(None), 0);
    assert_eq!(swept(Some(START + DAY)), 1);
    assert_eq!(
        transfer_statuses(&r.notices(1, START + 4 * DAY)),
        [("b.tld".to_string(), TransferStatus::Pending)]
    );
}

#[test]
fn each_operation_is_charged_at_its_zones_price() {
    let r = Registry::new([0, 30, 5, 45]);
    let prices = crate::model::Prices {
        create: 1000,
        renew: 800,
        transfer: 500,
        restore: 4000,
    };
    assert!(sqlite::journal::set_prices(&r.conn, "tld", &prices).unwrap());
    let paid = |registrar: u32, before: i64| before - r.balance(registrar);
    let (one, two) = (r.balance(1), r.balance(2));
    r.create(1, START, "a.tld", external());
    assert_eq!(paid(1, one), 1000);
    let expires = r.domain("a.tld").unwrap().expires;
    r.run(
        1,
        START,
        Command::Renew {
            name: "a.tld".into(),
            current_expiry: CurrentExpiry::Day(expires - expires.rem_euclid(DAY)),
            months: 24,
        },
    )
    .unwrap();
    assert_eq!(paid(1, one), 1000 + 2 * 800);
    r.request_transfer(2, START + DAY, "a.tld").unwrap();
    assert_eq!(paid(2, two), 500);
    r.run(
        2,
        START + DAY,
        Command::DeleteDomain {
            name: "a.tld".into(),
        },
    )
    .unwrap();
    r.run(
        2,
        START + DAY,
        Command::Restore {
            name: "a.tld".into(),
        },
    )
    .unwrap();
    assert_eq!(paid(2, two), 500 + 4000);
    // At expiry, the registry renews at the renewal price.
    let expires = r.domain("a.tld").unwrap().expires;
    r.sweep(expires + DAY);
    assert_eq!(paid(2, two), 500 + 4000 + 800);
}

#[test]
fn the_sweep_publishes_listed_domains_whois_objects_again_as_they_are() {
    let r = Registry::new([0, 0, 5, 0]);
    r.create(1, START, "a.tld", external());
    r.create(1, START, "b.tld", external());
    // As migration 12 lists them after an upgrade.
    r.conn
        .execute("INSERT INTO republish VALUES ('a.tld')", [])
        .unwrap();
    let mut publication = Publication::new();
    assert_eq!(sweep(&r.conn, &mut publication, START, None).unwrap(), 1);
    let (signer, _) = crate::publish::signing::Signer::generate().unwrap();
    let entries = publication.finish(&r.conn, START, &signer).unwrap();
    let changeset = zonefiles::changeset::Changeset::decode(&entries[0].changeset).unwrap();
    // The same delegation, its WHOIS object once more; nothing else.
    assert!(changeset.removed.is_empty() && changeset.added.is_empty());
    let set: Vec<String> = changeset
        .whois
        .iter()
        .map(|op| match op {
            zonefiles::whois::WhoisOp::Set(object) => format!("{:?}", object.key()),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(set, [r#"Domain("a.tld")"#]);
    // Listed once: the next sweep has nothing to do.
    assert_eq!(
        sweep(&r.conn, &mut Publication::new(), START, None).unwrap(),
        0
    );
}

#[test]
fn a_premium_name_is_charged_its_price_only_when_the_registrar_acknowledges_it() {
    let r = Registry::new([0, 30, 5, 0]);
    let premium = crate::model::Prices {
        create: 50_000,
        renew: 20_000,
        transfer: 20_000,
        restore: 60_000,
    };
    sqlite::journal::set_premium(&r.conn, "gold.tld", &premium).unwrap();
    let register = |name: &str| create(name, external());
    let with_fee = |fee: i64, command: Command| Command::WithFee {
        fee,
        command: Box::new(command),
    };
    // Quoted: the premium name at its price, another at the zone's.
    let quote = r
        .run(
            1,
            START,
            Command::CheckDomains {
                names: vec!["gold.tld".into(), "tin.tld".into()],
                quote: vec![(LedgerKind::Create, 2), (LedgerKind::Restore, 1)],
            },
        )
        .unwrap();
    let Reply::Priced(answers, quotes) = quote else {
        panic!("{quote:?}")
    };
    assert!(answers.iter().all(|(_, verdict)| verdict.is_ok()));
    let prices: Vec<(&str, i64, bool)> = quotes
        .iter()
        .map(|q| (q.name.as_str(), q.price, q.premium))
        .collect();
    assert_eq!(
        prices,
        [
            ("gold.tld", 100_000, true),
            ("gold.tld", 60_000, true),
            ("tin.tld", 1_200, false),
            ("tin.tld", 600, false)
        ]
    );
    // Not acknowledged, or acknowledged below the price: refused, nothing charged.
    let balance = r.balance(1);
    assert!(
        matches!(r.run(1, START, register("gold.tld")), Err(Refusal::Fee(text)) if text.contains("premium"))
    );
    assert!(matches!(
        r.run(1, START, with_fee(49_999, register("gold.tld"))),
        Err(Refusal::Fee(text)) if text.contains("costs 500.00, more than the 499.99 acknowledged")
    ));
    assert_eq!(r.balance(1), balance);
    // Acknowledged: charged the premium price (not what was acknowledged above it).
    let Reply::Charged {
        fee,
        balance: after,
        reply,
    } = r
        .run(1, START, with_fee(60_000, register("gold.tld")))
        .unwrap()
    else {
        panic!("a charge")
    };
    assert_eq!((fee, after), (50_000, balance - 50_000));
    assert!(matches!(*reply, Reply::DomainCreated { .. }));
    // A name at the zone's price takes an acknowledgement too, and needs none.
    assert!(matches!(
        r.run(1, START, with_fee(599, register("tin.tld"))),
        Err(Refusal::Fee(_))
    ));
    r.run(1, START, register("tin.tld")).unwrap();
    // Renewing the premium name needs its acknowledgement as well.
    let expires = r.domain("gold.tld").unwrap().expires;
    let renew = Command::Renew {
        name: "gold.tld".into(),
        current_expiry: CurrentExpiry::Day(expires - expires.rem_euclid(DAY)),
        months: 12,
    };
    assert!(matches!(
        r.run(1, START, renew.clone()),
        Err(Refusal::Fee(_))
    ));
    let Reply::Charged { fee, .. } = r.run(1, START, with_fee(20_000, renew)).unwrap() else {
        panic!("a charge")
    };
    assert_eq!(fee, 20_000);
}

#[test]
fn a_premium_name_renews_at_its_own_price_at_expiry() {
    let r = Registry::new([0, 30, 5, 45]);
    let premium = crate::model::Prices {
        create: 50_000,
        renew: 30_000,
        transfer: 30_000,
        restore: 60_000,
    };
    sqlite::journal::set_premium(&r.conn, "gold.tld", &premium).unwrap();
    r.run(
        1,
        START,
        Command::WithFee {
            fee: 50_000,
            command: Box::new(create("gold.tld", external())),
        },
    )
    .unwrap();
    let before = r.balance(1);
    let expires = r.domain("gold.tld").unwrap().expires;
    assert_eq!(r.sweep(expires + DAY), 1);
    assert_eq!(before - r.balance(1), 30_000);
}

#[test]
fn ds_records_the_registry_does_not_take_are_refused_with_the_reason() {
    let r = Registry::new([0, 0, 5, 0]);
    r.create(1, START, "one.tld", external());
    let record = |key_tag: u16, algorithm: u8, digest_type: u8, len: usize| DelegationSigner {
        key_tag,
        algorithm,
        digest_type,
        digest: vec![7; len],
    };
    let set = |ds: Vec<DelegationSigner>| Command::SetDs {
        name: "one.tld".into(),
        ds,
    };
    let refused = |command: Command, why: &str| match r.run(1, START, command) {
        Err(Refusal::InvalidValue(text)) => assert!(text.contains(why), "{text}"),
        other => panic!("{why}: {other:?}"),
    };
    // Deprecated and unassigned algorithms (RFC 8624): RSAMD5, DSA, RSASHA1, GOST, 99.
    for algorithm in [1, 3, 5, 7, 12, 99] {
        refused(set(vec![record(1, algorithm, 2, 32)]), "is not accepted");
    }
    refused(set(vec![record(1, 13, 3, 32)]), "digest type 3");
    refused(set(vec![record(1, 13, 2, 20)]), "32 octets");
    let nine: Vec<DelegationSigner> = (0..9).map(|t| record(t, 13, 2, 32)).collect();
    refused(set(nine.clone()), "at most 8");
    // Eight pass; one more added by an edit is refused, and nothing changed.
    r.run(1, START, set(nine[..8].to_vec())).unwrap();
    refused(
        Command::EditDs {
            name: "one.tld".into(),
            add: vec![nine[8].clone()],
            remove: vec![],
            remove_all: false,
        },
        "at most 8",
    );
    assert_eq!(r.domain("one.tld").unwrap().ds.len(), 8);
    for algorithm in DS_ALGORITHMS {
        r.run(1, START, set(vec![record(2, algorithm, 4, 48)]))
            .unwrap();
    }
}
