//! The rules on an in-memory registry, with the clock in the test's hands: host objects,
//! partial edits, renewals and the life of a deleted domain.

use std::net::IpAddr;

use rusqlite::Connection;
use zonefiles::calendar::{self, DAY};

use super::*;
use crate::model::{Deletion, Registrar};
use crate::sqlite;

const START: i64 = 1_800_000_000;

struct Registry {
    conn: Connection,
}

impl Registry {
    /// Zone `tld` with the given grace periods (days: add, redemption, pending delete,
    /// auto-renew), registrars 1 and 2 with credit.
    fn new(grace: [u32; 4]) -> Registry {
        let conn = sqlite::open(std::path::Path::new(":memory:")).unwrap();
        let mut zone = ZoneSettings::new("tld");
        [
            zone.add_grace_days,
            zone.redemption_days,
            zone.pending_delete_days,
            zone.auto_renew_grace_days,
        ] = grace;
        sqlite::insert_zone(&conn, &zone).unwrap();
        for id in [1, 2] {
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
            conn.charge(id, 100_000, "top-up", None, START).unwrap();
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
        };
        let mut publication = Publication::new();
        self.conn.execute_batch("SAVEPOINT t").unwrap();
        let result = execute(&self.conn, &mut publication, &context, &command);
        if result.is_err() {
            self.conn.execute_batch("ROLLBACK TO t").unwrap();
        }
        self.conn.execute_batch("RELEASE t").unwrap();
        result.map_err(|e| match e {
            Failure::Refused(r) => r,
            Failure::Store(e) => panic!("store: {e}"),
        })
    }

    fn create(&self, registrar: u32, now: i64, name: &str, ns: NameserverSource) -> Reply {
        self.run(
            registrar,
            now,
            Command::CreateDomain {
                name: name.into(),
                expires: None,
                period_months: None,
                active: None,
                nameservers: ns,
                auth_hash: None,
                ds: vec![],
            },
        )
        .unwrap()
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
    let refused = r.run(
        1,
        START,
        Command::CreateDomain {
            name: "three.tld".into(),
            expires: None,
            period_months: None,
            active: None,
            nameservers: wrong,
            auth_hash: None,
            ds: vec![],
        },
    );
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
    r.conn
        .execute(
            "UPDATE domains SET auth_hash = 'h' WHERE name = 'one.tld'",
            [],
        )
        .unwrap();
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
    let Reply::Message(Some((message, 1))) = r.run(1, START, Command::Poll).unwrap() else {
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
        current_expiry: current,
        months: 24,
    };
    assert!(matches!(
        r.run(1, START, renew(day - DAY)),
        Err(Refusal::InvalidExpiry(_))
    ));
    let before = r.balance(1);
    let Reply::Expires(new) = r.run(1, START, renew(day)).unwrap() else {
        panic!("an expiry")
    };
    assert_eq!(new, calendar::add_months(expires, 24));
    assert_eq!(before - r.balance(1), 1200, "two years charged");
    assert!(
        matches!(r.run(1, START, renew(day)), Err(Refusal::InvalidExpiry(_))),
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
        r.run(
            1,
            deleted,
            Command::SetStatus {
                name: "late.tld".into(),
                active: false
            }
        ),
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
        let moved = sweep(&r.conn, &mut publication, now).unwrap();
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
        self.run(
            2,
            START,
            Command::CreateDomain {
                name: name.into(),
                expires: None,
                period_months: None,
                active: None,
                nameservers: external(),
                auth_hash: None,
                ds: vec![],
            },
        )
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
        sweep(&r.conn, &mut publication, now).unwrap()
    };
    assert_eq!(sweep_at(expires - DAY), 0, "not expired yet");
    // Registrar 2 cannot pay for another year.
    let balance = r.balance(2);
    r.conn.charge(2, -balance, "top-up", None, START).unwrap();
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
        let Reply::Message(Some((message, 1))) =
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
