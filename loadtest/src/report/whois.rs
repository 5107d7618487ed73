//! The registry's public answers: WHOIS on port 43 (a connection per query, as WHOIS clients
//! ask) and RDAP (keep-alive HTTP/1.1), edge-whois over the WHOIS tree of the generated zone,
//! each beside the bare limit of the same machine: for WHOIS the cheapest server possible
//! (accept, read a line, write a fixed answer of the same size, close: `loadtest tcp-limit`),
//! for RDAP edge-whois's own HTTP stack answering a fixed body of a domain answer's size
//! (`loadtest http-limit`), and that stack reading each domain's record from the tree first.
//! Servers on the server core, 32 client threads on the other; CPU per answer from `/proc`.
//! Each server gets a first pass, not counted, that brings its pages into the cache.
//!
//! WHOIS and RDAP do not depend on how name servers are shared, so this suite runs on the
//! first shape only.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use super::process::{self, Server, accepting, local};
use super::{Better, Context, Run};
use crate::rdapbench::KeepAlive;
use crate::whoisbench::{Ask, ConnectionPerQuery};

const CLIENTS: usize = 32;

/// Estimated seconds for one repetition.
pub fn estimate(ctx: &Context) -> f64 {
    3.0 + 7.0 * (ctx.seconds as f64 + 1.0)
}

/// Writes the WHOIS tree (unless it is there for this zone) and the query files.
pub fn prepare(ctx: &Context, dir: &Path, fresh_zone: bool) -> anyhow::Result<()> {
    let tree = dir.join("tree");
    let marker = dir.join("tree.made");
    if fresh_zone || !marker.exists() {
        if tree.exists() {
            std::fs::remove_dir_all(&tree)?;
        }
        ctx.progress
            .step("writing the WHOIS tree of the zone (once per size)");
        crate::whoisgen::generate(&dir.join("tld.zone"), &tree)?;
        std::fs::write(&marker, "")?;
    }
    let (whois, rdap) = crate::queries::registry_mix(&dir.join("tld.zone"), 100_000, 1)?;
    std::fs::write(dir.join("whois-queries.txt"), whois.join("\n") + "\n")?;
    std::fs::write(dir.join("rdap-paths.txt"), rdap.join("\n") + "\n")?;
    Ok(())
}

/// Runs WHOIS and RDAP for one repetition; returns the `whois` and `rdap` runs.
pub fn run(ctx: &Context, shape: &str, repetition: u32) -> anyhow::Result<Vec<Run>> {
    let dir = ctx.work.join(shape);
    let tree = dir.join("tree");
    let whois_queries = Arc::new(crate::queries::read_lines(&dir.join("whois-queries.txt"))?);
    let rdap_paths = Arc::new(crate::queries::read_lines(&dir.join("rdap-paths.txt"))?);
    let (whois_addr, rdap_addr) = (local(4643), local(4680));

    let log = dir.join("edge-whois.log");
    let mut command = Command::new(ctx.bin.join("edge-whois"));
    command.arg("--tree").arg(&tree).args([
        "--tld",
        "tld",
        "--listen",
        &whois_addr.to_string(),
        "--rdap-listen",
        &rdap_addr.to_string(),
    ]);
    let step = |what: &str| {
        ctx.progress
            .step(&format!("{shape} · rep {repetition} · {what}"))
    };
    step("edge-whois · start");
    let mut ours = Server::start(&mut command, ctx.server_core, &log)?;
    accepting(whois_addr, &log)?;
    accepting(rdap_addr, &log)?;
    ctx.progress.advance(3.0);
    // The limits answer with as many bytes as a real answer.
    let whois_size = ConnectionPerQuery::new(whois_addr)
        .ask(&whois_queries[0])?
        .len();
    let rdap_size = KeepAlive::new(rdap_addr).ask(&rdap_paths[0])?.len();

    // The limits, one at a time on the server core: `loadtest tcp-limit` or `http-limit`.
    let exe = std::env::current_exe()?;
    let limit = |what: &str, port: u16, extra: &[&str]| -> anyhow::Result<Server> {
        let log = dir.join(format!("{what}.log"));
        let mut command = Command::new(&exe);
        command
            .arg(what)
            .args(["--listen", &local(port).to_string()])
            .args(extra);
        let server = Server::start(&mut command, ctx.server_core, &log)?;
        accepting(local(port), &log)?;
        Ok(server)
    };
    let whois_pass = |server: &Server, name: &str, addr, run: Option<&mut Run>| {
        step(&format!("WHOIS · {name}"));
        let client = || ConnectionPerQuery::new(addr);
        measure(ctx, server, name, "WHOIS", client, &whois_queries, run)
    };
    let rdap_pass = |server: &Server, name: &str, addr, run: Option<&mut Run>| {
        step(&format!("RDAP · {name}"));
        let client = || KeepAlive::new(addr);
        measure(ctx, server, name, "RDAP", client, &rdap_paths, run)
    };
    let (bare, reading) = ("bare limit", "bare limit, reading the tree");

    let mut whois = Run::new(
        "whois",
        shape,
        repetition,
        vec!["edge-whois".into(), bare.into()],
    );
    whois_pass(&ours, "edge-whois", whois_addr, None)?;
    let size = whois_size.to_string();
    let server = limit("tcp-limit", 4645, &["--answer", &size])?;
    whois_pass(&server, bare, local(4645), Some(&mut whois))?;
    server.stop();
    whois_pass(&ours, "edge-whois", whois_addr, Some(&mut whois))?;

    let order = vec!["edge-whois".into(), bare.into(), reading.into()];
    let mut rdap = Run::new("rdap", shape, repetition, order);
    rdap_pass(&ours, "edge-whois", rdap_addr, None)?;
    let size = rdap_size.to_string();
    let server = limit("http-limit", 4681, &["--answer", &size])?;
    rdap_pass(&server, bare, local(4681), Some(&mut rdap))?;
    server.stop();
    let tree_arg = tree.to_string_lossy().into_owned();
    let server = limit(
        "http-limit",
        4682,
        &["--answer", &size, "--read-tree", &tree_arg],
    )?;
    rdap_pass(&server, reading, local(4682), Some(&mut rdap))?;
    server.stop();
    rdap_pass(&ours, "edge-whois", rdap_addr, Some(&mut rdap))?;

    anyhow::ensure!(
        ours.running(),
        "edge-whois stopped during the run: see {}",
        log.display()
    );
    let memory = process::memory_bytes(ours.pid()) as f64 / (1 << 20) as f64;
    whois.add(
        "edge-whois",
        "memory after the runs (PSS)",
        "MiB",
        memory,
        Better::Lower,
    );
    whois.add(
        "edge-whois",
        "answer size",
        "bytes",
        whois_size as f64,
        Better::Neither,
    );
    rdap.add(
        "edge-whois",
        "answer size (a domain)",
        "bytes",
        rdap_size as f64,
        Better::Neither,
    );
    ours.stop();
    Ok(vec![whois, rdap])
}

/// One run of `CLIENTS` clients for `ctx.seconds` against `server`; its figures go into `run`
/// (none for a warming pass).
fn measure<A: Ask>(
    ctx: &Context,
    server: &Server,
    name: &str,
    protocol: &str,
    client: impl Fn() -> A,
    queries: &Arc<Vec<String>>,
    run: Option<&mut Run>,
) -> anyhow::Result<()> {
    let before = process::cpu_seconds(server.pid());
    let report = crate::whoisbench::run(client, queries.clone(), CLIENTS, ctx.seconds, None, None)?;
    // The server's CPU over the warm-up second too: counted against the answers of the
    // measured seconds only, it would overstate the cost by (seconds + 1) / seconds.
    let cpu = process::cpu_seconds(server.pid()) - before;
    ctx.progress.advance(ctx.seconds as f64 + 1.0);
    let Some(run) = run else {
        return Ok(());
    };
    let secs = report.elapsed.as_secs_f64();
    let rate = report.answered as f64 / secs;
    let [p50, p99, ..] = report.latency_us;
    let unit = if protocol == "WHOIS" {
        "queries"
    } else {
        "requests"
    };
    let per = if protocol == "WHOIS" {
        "query"
    } else {
        "request"
    };
    run.add(
        name,
        &format!("{protocol} {unit} per second"),
        "",
        rate,
        Better::Higher,
    );
    let answers_in_cpu_window = rate * (secs + 1.0);
    run.add(
        name,
        &format!("{protocol} server CPU per {per}"),
        "µs",
        cpu * 1e6 / answers_in_cpu_window.max(1.0),
        Better::Lower,
    );
    run.add(
        name,
        &format!("{protocol} latency p50"),
        "ms",
        p50 as f64 / 1e3,
        Better::Lower,
    );
    run.add(
        name,
        &format!("{protocol} latency p99"),
        "ms",
        p99 as f64 / 1e3,
        Better::Lower,
    );
    run.add(
        name,
        &format!("{protocol} failed"),
        "",
        report.failed as f64,
        Better::Lower,
    );
    Ok(())
}
