//! Fan-out: what feeding many satellites costs the control plane. A fresh registry takes SRRP
//! creates at a fixed rate ([`RATE`]) for `seconds`, first with no satellite, then with
//! `--agents` update-agents (50 by default) (each with its own zone directory and WHOIS tree, no servers)
//! acknowledging every changeset; then the same on a second fresh registry whose only
//! satellite is a relay feeding the other agents. Nothing is pinned: fifty agents need both
//! cores, and the load runs on the client core.
//!
//! Reported for each layout, from `/proc`: the control plane's CPU per changeset and per create
//! offered, with and without the satellites (group commit packs more creates into a changeset
//! on a busier machine, so the runs are compared on the creates, the same in both); the push's
//! cost — what the run with satellites cost more, per changeset pushed and per satellite the
//! control plane feeds; the relay's CPU per changeset per agent it feeds; and commit →
//! acknowledged over the control plane's satellites from its own histogram
//! (`control_plane_push_ack_seconds`, upper bounds of its buckets).

use std::process::Command;

use ops::scrape::Samples;

use super::process::{self, Server, local, wait_until};
use super::registrar::{self, Ports, Registry};
use super::{Better, Context, Run};

/// Creates offered per second.
pub const RATE: u64 = 100;

/// The two layouts' names, for `agents` agents.
fn layout_names(agents: u16) -> [String; 2] {
    [
        format!("{agents} satellites, directly"),
        format!("1 relay + {} satellites behind it", agents - 1),
    ]
}

/// Estimated seconds for one repetition.
pub fn estimate(ctx: &Context) -> f64 {
    2.0 * (30.0 + 2.0 * (ctx.seconds as f64 + 3.0))
}

/// Runs both layouts for one repetition, in an order that turns each time.
pub fn run(ctx: &Context, repetition: u32) -> anyhow::Result<Run> {
    let layouts = if repetition % 2 == 1 {
        [false, true]
    } else {
        [true, false]
    };
    let names = layout_names(ctx.agents);
    let order = layouts
        .iter()
        .map(|&relay| names[usize::from(relay)].clone())
        .collect();
    let mut run = Run::new("fanout", "registry", repetition, order);
    for relay in layouts {
        layout(ctx, repetition, relay, &mut run)?;
    }
    Ok(run)
}

/// One layout on a fresh registry: the load without satellites, then with them.
fn layout(ctx: &Context, repetition: u32, relay: bool, run: &mut Run) -> anyhow::Result<()> {
    let name = &layout_names(ctx.agents)[usize::from(relay)];
    let agents_n = ctx.agents;
    let step = |what: &str| {
        ctx.progress
            .step(&format!("rep {repetition} · fan-out · {name} · {what}"))
    };
    step("a fresh registry");
    let registry = Registry::create(&ctx.bin, &ctx.work.join("fanout"), Ports::from(4955, true))?;
    let mut control = registry.serve(None)?;
    registry.warm()?;
    ctx.progress.advance(10.0);

    step("no satellite");
    let Window {
        cpu: base_cpu,
        changesets: base_changesets,
        ..
    } = load(ctx, &registry, &control, "none-", &|| Ok(true))?;

    step(&format!("starting {agents_n} agents"));
    let agents = start_agents(ctx, &registry, relay)?;
    // Every agent at the newest serial: those the control plane feeds by its metrics, those
    // behind the relay by the relay's.
    let synced = || -> anyhow::Result<bool> {
        let newest = registry.newest()?;
        let direct = registry
            .metrics()?
            .count("control_plane_satellite_serial", newest);
        Ok(if relay {
            let behind = Samples::fetch(local(RELAY_METRICS))
                .map_or(0, |p| p.count("update_agent_downstream_serial", newest));
            direct >= 1 && behind >= usize::from(agents_n - 1)
        } else {
            direct >= usize::from(agents_n)
        })
    };
    wait_until("every agent to hold the newest serial", &synced)?;
    ctx.progress.advance(20.0);

    step("with the satellites");
    let relay_cpu = process::cpu_seconds(agents[0].pid());
    let Window {
        cpu,
        changesets,
        acks,
    } = load(ctx, &registry, &control, "fan-", &synced)?;
    let relay_cpu = process::cpu_seconds(agents[0].pid()) - relay_cpu;

    let per_changeset = |cpu: f64, n: f64| cpu * 1e6 / n.max(1.0);
    let offered = (RATE * ctx.seconds) as f64;
    // The same creates cost the same to take and commit with or without satellites: what the
    // run with them cost more is the push, spread over the changesets it pushed.
    let fed = if relay { 1.0 } else { f64::from(agents_n) };
    let push = per_changeset(cpu - base_cpu, changesets) / fed;
    run.add(
        name,
        "control plane CPU per changeset, no satellite",
        "µs",
        per_changeset(base_cpu, base_changesets),
        Better::Lower,
    );
    run.add(
        name,
        "control plane CPU per changeset, with the satellites",
        "µs",
        per_changeset(cpu, changesets),
        Better::Lower,
    );
    // Through a relay the control plane feeds one satellite: its push cost is within the
    // noise of the two runs, and the per-create lines tell the story.
    if !relay {
        run.add(
            name,
            "push cost per changeset per satellite",
            "µs",
            push,
            Better::Lower,
        );
    }
    run.add(
        name,
        "control plane CPU per create offered, no satellite",
        "µs",
        base_cpu * 1e6 / offered,
        Better::Lower,
    );
    run.add(
        name,
        "control plane CPU per create offered, with the satellites",
        "µs",
        cpu * 1e6 / offered,
        Better::Lower,
    );
    if relay {
        run.add(
            name,
            "relay CPU per changeset per agent it feeds",
            "µs",
            per_changeset(relay_cpu, changesets) / f64::from(agents_n - 1),
            Better::Lower,
        );
    }
    for (label, q) in [("p50", 0.5), ("p99", 0.99)] {
        if let Some(bound) = quantile(&acks, q) {
            run.add(
                name,
                &format!(
                    "commit → acknowledged by the control plane's satellites: {label} (at most)"
                ),
                "s",
                bound,
                Better::Lower,
            );
        }
    }
    anyhow::ensure!(
        control.running(),
        "the control plane stopped: see {}",
        registry.dir.join("serve.log").display()
    );
    drop(agents);
    control.stop();
    Ok(())
}

/// The relay's metrics port.
const RELAY_METRICS: u16 = 4959;

/// Makes, lists and starts the agents; with `relay` the first serves the others.
fn start_agents(ctx: &Context, registry: &Registry, relay: bool) -> anyhow::Result<Vec<Server>> {
    let agents = ctx.agents;
    let keys: Vec<String> = (1..=agents)
        .map(|i| registrar::agent_keys(&ctx.bin, &registry.dir.join(format!("a{i}"))))
        .collect::<anyhow::Result<_>>()?;
    let (tunnel, signing) = (registry.key("tunnel.pub")?, registry.key("signing.pub")?);
    let push = local(registry.ports.push.expect("push is on"));
    let relay_listen = local(RELAY_METRICS + 1);
    for i in 1..=agents {
        let dir = registry.dir.join(format!("a{i}"));
        let behind_relay = relay && i > 1;
        let (upstream, upstream_key) = if behind_relay {
            (relay_listen, keys[0].as_str())
        } else {
            registry.add_satellite(&format!("a{i}"), &dir)?;
            (push, tunnel.as_str())
        };
        let mut config = format!(
            "id = \"a{i}\"\nupstream = \"{upstream}\"\nupstream_key = \"{upstream_key}\"\n\
             signing_keys = [\"{signing}\"]\n"
        );
        if relay && i == 1 {
            config += &format!("metrics_listen = \"{}\"\n", local(RELAY_METRICS));
        }
        config += &format!(
            "[[zone]]\norigin = \"{}\"\ndirectory = \"zones/tld\"\n",
            registrar::ZONE
        );
        if relay && i == 1 {
            config += &format!("[relay]\nlisten = \"{relay_listen}\"\n");
            for (j, key) in (2..=agents).zip(&keys[1..]) {
                config += &format!("[[relay.downstream]]\nid = \"a{j}\"\nkey = \"{key}\"\n");
            }
        }
        std::fs::write(dir.join("agent.toml"), config)?;
    }
    (1..=agents)
        .map(|i| {
            let dir = registry.dir.join(format!("a{i}"));
            let mut command = Command::new(ctx.bin.join("update-agent"));
            command.current_dir(&dir).args(["-c", "agent.toml"]);
            Server::start(&mut command, None, &dir.join("agent.log"))
        })
        .collect()
}

/// What the control plane did over one load.
struct Window {
    /// CPU seconds.
    cpu: f64,
    /// Changesets committed.
    changesets: f64,
    /// The acknowledgement histogram's buckets (upper bound, cumulative count).
    acks: Vec<(f64, f64)>,
}

/// The load at [`RATE`] for `seconds`, then until `synced`: what the control plane did.
fn load(
    ctx: &Context,
    registry: &Registry,
    control: &Server,
    prefix: &str,
    synced: &dyn Fn() -> anyhow::Result<bool>,
) -> anyhow::Result<Window> {
    let before = registry.metrics()?;
    let cpu = process::cpu_seconds(control.pid());
    let load = crate::propagation::Load {
        server: registry.srrp(),
        rate: RATE,
        seconds: ctx.seconds,
        connections: registrar::CONNECTIONS,
        first_registrar: registrar::FIRST_REGISTRAR,
        registrars: registrar::REGISTRARS,
        zone: registrar::ZONE.into(),
        prefix: prefix.into(),
        sample: u64::MAX,
    };
    crate::propagation::run(&load, &registry.certificate(), &[])?;
    wait_until("every agent to hold the newest serial", synced)?;
    let cpu = process::cpu_seconds(control.pid()) - cpu;
    let after = registry.metrics()?;
    ctx.progress.advance(ctx.seconds as f64 + 3.0);
    let changesets =
        after.sum("control_plane_changesets_total") - before.sum("control_plane_changesets_total");
    let histogram = "control_plane_push_ack_seconds";
    let acks = after
        .histogram(histogram)
        .into_iter()
        .zip(before.histogram(histogram))
        .map(|((bound, n), (_, m))| (bound, n - m))
        .collect();
    Ok(Window {
        cpu,
        changesets,
        acks,
    })
}

/// The upper bound of the bucket holding quantile `q` of a cumulative histogram.
fn quantile(buckets: &[(f64, f64)], q: f64) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    buckets
        .iter()
        .find(|(_, n)| *n >= q * total)
        .map(|(bound, _)| *bound)
}

#[cfg(test)]
mod tests {
    use super::quantile;

    #[test]
    fn quantile_is_the_bound_of_the_bucket_reaching_it() {
        let buckets = [
            (0.01, 10.0),
            (0.1, 90.0),
            (1.0, 99.0),
            (f64::INFINITY, 100.0),
        ];
        assert_eq!(quantile(&buckets, 0.5), Some(0.1));
        assert_eq!(quantile(&buckets, 0.99), Some(1.0));
        assert_eq!(quantile(&buckets, 1.0), Some(f64::INFINITY));
        assert_eq!(quantile(&[(1.0, 0.0)], 0.5), None);
    }
}
