//! Statuses and locks through every front end: a registrar's own prohibitions refused alike
//! over EPP (instant-epp, 2304), SRRP (411) and RRP (552), the registry's statuses out of a registrar's
//! reach, and the staff's actions (`control-plane domain`) with their cases in the history,
//! the registrar's poll queue and the published WHOIS data.

use std::process::Command;

use instant_epp::domain::update::{DomainAdd, DomainRemove};
use instant_epp::domain::{DomainDelete, DomainInfo, DomainTransfer, DomainUpdate, Status};
use instant_epp::extensions::change_poll::{
    self, CaseIdentifierKind, ChangePoll, OperationKind, State,
};
use instant_epp::login::Login;
use instant_epp::poll::{Ack, Poll};

use crate::fixture::{Registry, free_port, password};

const BIN: &str = env!("CARGO_BIN_EXE_control-plane");

/// A status update: statuses added, statuses removed.
fn update(name: &str, add: &'static [Status], remove: &'static [Status]) -> DomainUpdate<'static> {
    let mut update = DomainUpdate::new(name.to_string().leak());
    if !add.is_empty() {
        update.add(DomainAdd {
            ns: None,
            contacts: None,
            statuses: Some(add),
        });
    }
    if !remove.is_empty() {
        update.remove(DomainRemove {
            ns: None,
            contacts: None,
            statuses: Some(remove),
        });
    }
    update
}

#[test]
fn statuses_refuse_alike_over_epp_and_srrp_and_the_registry_acts_for_a_case() {
    let (epp, rrp_address) = (free_port(), free_port());
    let mut registry = Registry::new(&format!(
        "\n[epp]\nlisten = [\"{epp}\"]\n[rrp]\nlisten = [\"{rrp_address}\"]\n"
    ));
    registry.start();
    registry.register(1001, "locked.tld");
    registry.register(1001, "fresh.tld");
    // SRRP's client runs its own runtime: on a thread of its own, beside the EPP sessions'.
    let srrp = |registrar: u32, command: &str, attributes: &[(&str, &str)]| {
        std::thread::scope(|s| {
            s.spawn(|| {
                let response = registry.as_registrar(registrar, command, attributes);
                (response.code.number(), format!("{response:?}"))
            })
            .join()
            .unwrap()
        })
    };
    // RRP's too, one session per request.
    let rrp = |registrar: u32, lines: &[&str]| {
        std::thread::scope(|s| {
            s.spawn(|| {
                let response = crate::rrp::one(&registry, rrp_address, registrar, lines);
                (response.code.number(), format!("{response:?}"))
            })
            .join()
            .unwrap()
        })
    };
    let tls = registry.client.clone();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut one = crate::epp::client(epp, tls.clone()).await;
        crate::epp::login(&mut one, 1001, false).await;
        let mut two = crate::epp::client(epp, tls.clone()).await;
        crate::epp::login(&mut two, 1002, false).await;
        let locks = &[
            Status::ClientDeleteProhibited,
            Status::ClientTransferProhibited,
            Status::ClientUpdateProhibited,
        ];
        one.transact(&update("locked.tld", locks, &[]), "s-1")
            .await
            .unwrap();
        let info = one
            .transact(&DomainInfo::new("locked.tld", None), "s-2")
            .await
            .unwrap();
        assert_eq!(
            info.res_data().unwrap().statuses.as_deref(),
            Some(&locks[..])
        );

        // The same refusals over both protocols.
        let delete = DomainDelete::new("locked.tld");
        assert_eq!(crate::epp::code(one.transact(&delete, "s-3").await), 2304);
        let (code, text) = srrp(1001, "QUERY DOMAIN", &[("domain-name", "locked.tld")]);
        assert_eq!(code, 200);
        assert!(text.contains("Status: clientTransferProhibited"), "{text}");
        let (code, text) = srrp(1001, "DELETE DOMAIN", &[("domain-name", "locked.tld")]);
        assert_eq!(code, 411, "{text}");
        assert!(text.contains("clientDeleteProhibited"), "{text}");
        let (code, text) = rrp(
            1001,
            &["status", "EntityName:Domain", "DomainName:locked.tld"],
        );
        assert_eq!(code, 200);
        assert!(text.contains("\"REGISTRAR-LOCK\""), "{text}");
        let (code, text) = rrp(1001, &["del", "EntityName:Domain", "DomainName:locked.tld"]);
        assert_eq!(code, 552, "{text}");
        assert!(text.contains("clientDeleteProhibited"), "{text}");
        let hold = update("locked.tld", &[Status::ClientHold], &[]);
        assert_eq!(crate::epp::code(one.transact(&hold, "s-4").await), 2304);
        let (code, text) = srrp(
            1001,
            "SET STATUS",
            &[("domain-name", "locked.tld"), ("status", "inactive")],
        );
        assert_eq!(code, 411, "{text}");
        let (code, text) = rrp(
            1001,
            &[
                "mod",
                "EntityName:Domain",
                "DomainName:locked.tld",
                "Status:REGISTRAR-HOLD",
            ],
        );
        assert_eq!(code, 552, "{text}");
        let transfer = DomainTransfer::new("locked.tld", None, "anything");
        assert_eq!(crate::epp::code(two.transact(&transfer, "s-5").await), 2304);
        let (code, _) = srrp(
            1002,
            "TRANSFER DOMAIN",
            &[("domain-name", "locked.tld"), ("domain-auth", "anything")],
        );
        assert_eq!(code, 411);
        let (code, text) = rrp(
            1002,
            &[
                "transfer",
                "EntityName:Domain",
                "DomainName:locked.tld",
                "AuthInfo:anything",
            ],
        );
        assert_eq!(code, 552, "{text}");
        // The registry's statuses are not a registrar's: a policy error.
        let server = update("locked.tld", &[Status::ServerHold], &[]);
        assert_eq!(crate::epp::code(one.transact(&server, "s-6").await), 2306);
        // A renewal under clientRenewProhibited, both ways.
        let renew = update("locked.tld", &[Status::ClientRenewProhibited], &[]);
        let lift = update("locked.tld", &[], &[Status::ClientUpdateProhibited]);
        one.transact(&lift, "s-6a").await.unwrap();
        one.transact(&renew, "s-6b").await.unwrap();
        let (code, text) = srrp(
            1001,
            "SET EXPIRE",
            &[("domain-name", "locked.tld"), ("expiry-date", "2040-01-01")],
        );
        assert_eq!(code, 411, "{text}");
        assert!(text.contains("clientRenewProhibited"), "{text}");
        let (code, text) = rrp(
            1001,
            &["renew", "EntityName:Domain", "DomainName:locked.tld"],
        );
        assert_eq!(code, 552, "{text}");
        assert!(text.contains("clientRenewProhibited"), "{text}");
        // A zone's transfer lock: a fresh registration is not transferred, either way.
        registry.cli(&["zone", "grace", "tld", "--transfer-lock-days", "60"]);
        srrp(
            1001,
            "SET PASSWORD",
            &[("domain-name", "fresh.tld"), ("domain-auth", "move-it-42")],
        );
        let fresh = DomainTransfer::new("fresh.tld", None, "move-it-42");
        let refused = two.transact(&fresh, "s-6c").await;
        assert_eq!(crate::epp::code(refused), 2304);
        let (code, text) = srrp(
            1002,
            "TRANSFER DOMAIN",
            &[("domain-name", "fresh.tld"), ("domain-auth", "move-it-42")],
        );
        assert_eq!(code, 411, "{text}");
        assert!(text.contains("60-day transfer lock"), "{text}");
        let (code, text) = rrp(
            1002,
            &[
                "transfer",
                "EntityName:Domain",
                "DomainName:fresh.tld",
                "AuthInfo:move-it-42",
            ],
        );
        assert_eq!(code, 552, "{text}");
        assert!(text.contains("60-day transfer lock"), "{text}");
        let relock = update(
            "locked.tld",
            &[Status::ClientUpdateProhibited],
            &[Status::ClientRenewProhibited],
        );
        one.transact(&relock, "s-6d").await.unwrap();

        // The registry locks it at the registrar's request: the registrar cannot lift even its
        // own prohibitions now.
        let out = registry.cli(&[
            "domain",
            "lock",
            "locked.tld",
            "--reason",
            "registry-lock",
            "--reference",
            "T-1",
        ]);
        assert!(out.contains("LOCK (+serverDeleteProhibited"), "{out}");
        let lift = update("locked.tld", &[], &[Status::ClientUpdateProhibited]);
        assert_eq!(crate::epp::code(one.transact(&lift, "s-7").await), 2304);
        let (code, text) = rrp(
            1001,
            &[
                "mod",
                "EntityName:Domain",
                "DomainName:locked.tld",
                "Status:REGISTRAR-LOCK=",
            ],
        );
        assert_eq!(code, 552, "{text}");
        let (_, text) = rrp(
            1001,
            &["status", "EntityName:Domain", "DomainName:locked.tld"],
        );
        assert!(text.contains("\"REGISTRY-LOCK\""), "{text}");
        // Released only with the confirmation made out of band.
        let release = Command::new(BIN)
            .current_dir(registry.path(""))
            .args(["-c", "cp.toml", "--operator", "tester", "domain", "release"])
            .args([
                "locked.tld",
                "--reason",
                "registry-lock",
                "--reference",
                "T-2",
            ])
            .output()
            .unwrap();
        assert!(!release.status.success());
        assert!(
            String::from_utf8_lossy(&release.stderr).contains("confirmation"),
            "{release:?}"
        );
        registry.cli(&[
            "domain",
            "release",
            "locked.tld",
            "--reason",
            "registry-lock",
            "--reference",
            "T-2",
            "--confirmation",
            "CALL-77",
        ]);
        one.transact(&lift, "s-8").await.unwrap();

        // A hold for abuse: out of the DNS, serverHold in EPP and WHOIS, the sponsor told.
        registry.cli(&[
            "domain",
            "hold",
            "locked.tld",
            "--reason",
            "abuse",
            "--reference",
            "AB-9",
        ]);
        let info = one
            .transact(&DomainInfo::new("locked.tld", None), "s-9")
            .await
            .unwrap();
        let statuses = info.res_data().unwrap().statuses.clone().unwrap();
        assert!(statuses.contains(&Status::ServerHold), "{statuses:?}");
        // A session naming RFC 8590 gets each change with the domain and what, when, who, why.
        let mut watcher = crate::epp::client(epp, tls.clone()).await;
        let login = Login::new("1001", password(1001), None, Some(&[change_poll::XMLNS]));
        watcher.transact(&login, "w-1").await.unwrap();
        let polled = watcher
            .transact_xml(&crate::epp::command("<poll op=\"req\"/>"))
            .await
            .unwrap();
        assert!(
            polled.contains("<domain:infData") && polled.contains("serverHold"),
            "{polled}"
        );
        let start = polled.find("<changePoll:changeData").expect("change data");
        let end =
            polled.find("</changePoll:changeData>").unwrap() + "</changePoll:changeData>".len();
        let change: ChangePoll = instant_xml::from_str(&polled[start..end]).unwrap();
        assert_eq!(change.operation.kind().unwrap(), OperationKind::Update);
        assert_eq!(change.state(), State::After);
        assert_eq!(change.who, "operator tester");
        let case = change.case_id.as_ref().unwrap();
        assert_eq!(
            (case.kind().unwrap(), case.id.as_str()),
            (CaseIdentifierKind::Custom("registry-lock"), "T-1")
        );
        let mut told = Vec::new();
        for id in 0..4 {
            let polled = one.transact(&Poll, &format!("p-{id}")).await.unwrap();
            let Some(queue) = polled.message_queue() else {
                break;
            };
            told.push(format!("{queue:?}"));
            let message_id = queue.id.clone();
            one.transact(
                &Ack {
                    message_id: &message_id,
                },
                &format!("a-{id}"),
            )
            .await
            .unwrap();
        }
        assert_eq!(told.len(), 3, "{told:?}");
        assert!(told[2].contains("+serverHold"), "{told:?}");
    });
    let history = registry.cli(&["history", "locked.tld"]);
    for line in [
        "operator tester       HOLD (+serverHold; abuse, AB-9)",
        "confirmed CALL-77)",
        "operator tester       LOCK (+serverDeleteProhibited +serverTransferProhibited +serverUpdateProhibited; registry-lock, T-1)",
        "registrar 1001        SET STATUS (+clientDeleteProhibited +clientTransferProhibited +clientUpdateProhibited)",
    ] {
        assert!(history.contains(line), "{line} in {history}");
    }
    // Published: the delegation is gone from the zone, the WHOIS object says why.
    registry.cli(&["export", "tld", "-o", "exports"]);
    let (mut zone, mut whois) = (String::new(), String::new());
    for entry in std::fs::read_dir(registry.path("exports")).unwrap() {
        let path = entry.unwrap().path();
        match path.extension().and_then(|e| e.to_str()) {
            Some("img") => {
                let image = zonefiles::Image::open(&path).unwrap();
                let mut text = Vec::new();
                zonefiles::master::write_zone(&image.to_zone().unwrap(), &mut text).unwrap();
                zone = String::from_utf8(text).unwrap();
            }
            Some("whois") => whois = std::fs::read_to_string(&path).unwrap(),
            _ => {}
        }
    }
    assert!(
        zone.contains("SOA") && !zone.contains("locked.tld"),
        "{zone}"
    );
    let object = whois.lines().find(|l| l.contains("locked.tld")).unwrap();
    assert!(object.contains("\"ServerHold\""), "{object}");
    let audit = registry.audit();
    assert!(audit.contains("0 problems"), "{audit}");
}
