//! kill -9 of the control plane under load, in a loop: after every restart, every confirmed
//! command is present exactly once, balances add up to the ledger, and the journal is gapless
//! and replays to exactly the database (`control-plane audit`).
//!
//! `KILL_LOOP_ITERATIONS` sets the number of kills (default 5; the crash script runs 50).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use control_plane::front::srrp::grammar::Code;

use crate::fixture::{Registry, password};

#[test]
fn kill_9_under_load_loses_no_confirmed_command() {
    let iterations: usize = std::env::var("KILL_LOOP_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let mut registry = Registry::new("");
    registry.cli(&["registrar", "credit", "1001", "100000000"]);
    registry.cli(&["registrar", "credit", "1002", "100000000"]);
    let confirmed: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut next = 0usize;
    for iteration in 0..iterations {
        registry.start();
        // Eight clients create domains as fast as the server confirms them.
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut tasks = Vec::new();
        for client in 0..8 {
            let (address, config) = (registry.address, registry.client.clone());
            let (confirmed, stop) = (confirmed.clone(), stop.clone());
            let registrar = if client % 2 == 0 { 1001 } else { 1002 };
            let first = next + client * 100_000;
            tasks.push(runtime.spawn(async move {
                let mut n = first;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let name = format!("k{n}.tld");
                    n += 1;
                    let id = registrar.to_string();
                    let sent = crate::fixture::send(
                        address,
                        config.clone(),
                        "CREATE DOMAIN",
                        &[
                            ("registrar-id", &id),
                            ("registrar-auth", password(registrar)),
                            ("domain-name", &name),
                            ("ns1-name", "ns1.example.com"),
                            ("ns2-name", "ns2.example.com"),
                        ],
                    )
                    .await;
                    match sent {
                        Ok(response) if response.code == Code::Success => {
                            confirmed.lock().unwrap().insert(name);
                        }
                        Ok(response) => panic!("{name}: unexpected {response:?}"),
                        Err(_) => {} // the server died mid-request: unconfirmed.
                    }
                }
            }));
        }
        next += 1_000_000;
        // Let some commits through, then kill at a point that varies per iteration.
        std::thread::sleep(Duration::from_millis(150 + (iteration as u64 * 37) % 250));
        registry.kill();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for task in tasks {
            runtime.block_on(task).unwrap();
        }
        // Every confirmed domain is there exactly once, created exactly once.
        let db = registry.database();
        let present: BTreeSet<String> = db
            .prepare("SELECT name FROM domains")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let confirmed = confirmed.lock().unwrap().clone();
        let missing: Vec<_> = confirmed.difference(&present).take(5).collect();
        assert!(
            missing.is_empty(),
            "iteration {iteration}: confirmed but lost: {missing:?}"
        );
        let count = |sql: &str| -> usize {
            db.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap() as usize
        };
        let creates = count("SELECT COUNT(*) FROM history WHERE change = 'CREATE DOMAIN'");
        assert_eq!(
            creates,
            present.len(),
            "iteration {iteration}: one create each"
        );
        let charged = count("SELECT COUNT(*) FROM ledger WHERE kind = 'create'");
        assert_eq!(
            charged,
            present.len(),
            "iteration {iteration}: one charge each"
        );
        let audit = registry.audit();
        assert!(
            audit.contains(", 0 problems"),
            "iteration {iteration}: {audit}"
        );
        eprintln!(
            "kill {}: {} confirmed, {} registered, {audit}",
            iteration + 1,
            confirmed.len(),
            present.len(),
        );
    }
    assert!(
        confirmed.lock().unwrap().len() > iterations,
        "the load made progress"
    );
}
