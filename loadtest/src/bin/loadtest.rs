//! `loadtest`: test-data generators and benchmarks.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use loadtest::zonebench;
use zonefiles::generate;

/// Test-data generators and benchmarks for Constellation.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a TLD-shaped zone as a master file (deterministic for a given seed).
    GenZone {
        /// Where to write the zone.
        #[arg(short, long)]
        output: PathBuf,
        /// The TLD.
        #[arg(long, default_value = "tld")]
        origin: String,
        /// Number of delegations.
        #[arg(long, default_value_t = 1_000)]
        delegations: u64,
        /// The SOA serial.
        #[arg(long, default_value_t = 2026112101)]
        serial: u32,
        /// Number of delegations to change against the base zone of the same seed.
        #[arg(long, default_value_t = 0)]
        changed: u64,
        /// Random seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// How delegations share name servers: `providers` (a few hosting providers' NS sets
        /// serve most domains), `pairs` (two of 5,000 hosts drawn per domain: almost no two
        /// domains share an NS set) or `glue` (two of 5,000 hosts inside the TLD, each with A
        /// and AAAA glue: a referral carries 2 NS and 4 glue records).
        #[arg(long, default_value = "providers")]
        shape: generate::Shape,
    },
    /// Write a query file (dnsperf format) with a TLD's traffic mix drawn from a zone.
    GenQueries {
        /// The zone (master file).
        zone: PathBuf,
        /// Where to write the queries.
        #[arg(short, long)]
        output: PathBuf,
        /// Number of queries.
        #[arg(long, default_value_t = 1_000_000)]
        count: usize,
        /// Random seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Durable CREATE DOMAIN (SRRP) or `<domain:create>` (EPP, `--epp`) from many registrar
    /// connections; reports confirmed creates/s and latency percentiles.
    Srrp {
        /// The control plane's SRRP address.
        #[arg(long, default_value = "127.0.0.1:1700")]
        server: std::net::SocketAddr,
        /// The certificate to trust (PEM).
        #[arg(long)]
        ca: PathBuf,
        /// The zone to register in.
        #[arg(long, default_value = "tld")]
        zone: String,
        /// A prefix making this run's names new.
        #[arg(long, default_value = "b")]
        prefix: String,
        /// Concurrent connections.
        #[arg(long, default_value_t = 50)]
        connections: usize,
        /// The first registrar-id (passwords are `pw-<id>`).
        #[arg(long, default_value_t = 1000)]
        first_registrar: u32,
        /// How many registrars the connections are spread over.
        #[arg(long, default_value_t = 50)]
        registrars: u32,
        /// Seconds to measure (after one of warm-up).
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Offer only TLS 1.2.
        #[arg(long)]
        tls12: bool,
        /// Speak EPP (one session per connection) to this address instead of SRRP.
        #[arg(long)]
        epp: bool,
    },
    /// Propagation: SRRP creates at a fixed rate, and the time from each confirmation until
    /// every satellite's DNS and WHOIS answer the new name (p50/p99/max).
    Propagation {
        /// The control plane's SRRP address.
        #[arg(long, default_value = "127.0.0.1:1700")]
        server: std::net::SocketAddr,
        /// The certificate to trust (PEM).
        #[arg(long)]
        ca: PathBuf,
        /// A satellite as `DNS-ADDRESS,WHOIS-ADDRESS` (repeatable; none: only the load).
        #[arg(long = "satellite")]
        satellites: Vec<String>,
        /// The zone to register in.
        #[arg(long, default_value = "tld")]
        zone: String,
        /// A prefix making this run's names new.
        #[arg(long, default_value = "p")]
        prefix: String,
        /// Changes per second offered.
        #[arg(long, default_value_t = 100)]
        rate: u64,
        /// Seconds of load.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Concurrent registrar connections.
        #[arg(long, default_value_t = 50)]
        connections: usize,
        /// The first registrar-id (passwords are `pw-<id>`).
        #[arg(long, default_value_t = 1000)]
        first_registrar: u32,
        /// How many registrars the connections are spread over.
        #[arg(long, default_value_t = 50)]
        registrars: u32,
        /// Probe every N-th confirmed change.
        #[arg(long, default_value_t = 1)]
        sample: u64,
    },
    /// Send DNS queries over UDP at a fixed rate and report latency percentiles.
    Dns {
        /// The server.
        #[arg(long)]
        server: std::net::SocketAddr,
        /// The query file (`name type` per line, as for dnsperf).
        #[arg(long)]
        queries: PathBuf,
        /// Queries per second.
        #[arg(long)]
        rate: u64,
        /// How long to send, in seconds.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Append changesets to a zone directory and time each until the server answers with it.
    UpdateLatency {
        /// The zone directory the server follows (`zonefiles dir init` of a generated zone).
        #[arg(long)]
        dir: PathBuf,
        /// The server.
        #[arg(long)]
        server: std::net::SocketAddr,
        /// Delegations of the generated zone in the directory.
        #[arg(long)]
        delegations: u64,
        /// The shape the zone in the directory was generated with (`gen-zone --shape`).
        #[arg(long, default_value = "providers")]
        shape: generate::Shape,
        /// Changesets to append.
        #[arg(long, default_value_t = 5)]
        rounds: u32,
        /// Delegations changed by the first changeset; the n-th changes n times as many.
        #[arg(long, default_value_t = 100)]
        step: u64,
    },
    /// Transfer a zone once (AXFR over TCP) and report the time, messages and records.
    Axfr {
        /// The server.
        #[arg(long)]
        server: std::net::SocketAddr,
        /// The zone.
        #[arg(long, default_value = "tld.")]
        zone: zonefiles::Name,
    },
    /// Write a WHOIS tree for a zone: a domain per delegation, hosts for in-zone name servers.
    GenWhois {
        /// The zone (master file).
        zone: PathBuf,
        /// The WHOIS tree to fill.
        #[arg(long)]
        tree: PathBuf,
    },
    /// WHOIS load: a connection per query, latency percentiles.
    Whois {
        /// The server.
        #[arg(long)]
        server: std::net::SocketAddr,
        /// A file of query lines (e.g. domain names).
        #[arg(long)]
        queries: PathBuf,
        /// Concurrent clients.
        #[arg(long, default_value_t = 32)]
        clients: usize,
        /// How long to run, in seconds (after one second of warm-up).
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Queries per second in all (default: as fast as answers come).
        #[arg(long)]
        rate: Option<u64>,
        /// Count answers that do not contain this text.
        #[arg(long)]
        expect: Option<String>,
    },
    /// RDAP load: keep-alive HTTP/1.1 connections, one per client, asking paths in turn.
    Rdap {
        /// The server.
        #[arg(long)]
        server: std::net::SocketAddr,
        /// A file of request paths (e.g. `/domain/example.tld`).
        #[arg(long)]
        paths: PathBuf,
        /// Concurrent connections.
        #[arg(long, default_value_t = 32)]
        clients: usize,
        /// How long to run, in seconds (after one second of warm-up).
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Requests per second in all (default: as fast as answers come).
        #[arg(long)]
        rate: Option<u64>,
    },
    /// The registrars' web page: log in over HTTPS, then ask each page `count` times in turn
    /// over one keep-alive connection; prints each page's latency percentiles.
    Web {
        /// The control plane's web listener.
        #[arg(long)]
        server: std::net::SocketAddr,
        /// The certificate to trust for `localhost` (PEM).
        #[arg(long)]
        ca: PathBuf,
        /// The registrar to log in as.
        #[arg(long)]
        registrar: u32,
        /// Its password.
        #[arg(long)]
        password: String,
        /// Pages to ask (default: the account, the first and a deep page of domains, a
        /// search, the statement, the messages).
        #[arg(long)]
        path: Vec<String>,
        /// Rounds over the pages.
        #[arg(long, default_value_t = 200)]
        count: usize,
    },
    /// edge-whois's HTTP stack answering every request with a fixed body: the limit RDAP is
    /// compared with.
    HttpLimit {
        /// Where to listen.
        #[arg(long)]
        listen: std::net::SocketAddr,
        /// Bytes in each answer.
        #[arg(long, default_value_t = 2000)]
        answer: usize,
        /// Read the record of each `/domain/<name>` request from this WHOIS tree first.
        #[arg(long)]
        read_tree: Option<PathBuf>,
    },
    /// The cheapest TCP server (accept, read a line, answer, close): the limit to compare with.
    TcpLimit {
        /// Where to listen.
        #[arg(long)]
        listen: std::net::SocketAddr,
        /// Bytes in each answer.
        #[arg(long, default_value_t = 1200)]
        answer: usize,
    },
    /// Wait until a server answers its zone's SOA; print the milliseconds since it started.
    Ready {
        /// The server.
        #[arg(long)]
        server: std::net::SocketAddr,
        /// The zone.
        #[arg(long, default_value = "tld.")]
        zone: zonefiles::Name,
        /// When the server was started, in nanoseconds since 1970 (`date +%s%N`).
        #[arg(long)]
        since_ns: u64,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 60)]
        limit: u64,
    },
    /// Spin on this core and report the gaps the machine takes (scheduling, hypervisor).
    Stalls {
        /// How long to spin, in seconds.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// Gaps longer than this many microseconds are counted.
        #[arg(long, default_value_t = 300)]
        threshold_us: u64,
    },
    /// Run the benchmarks side by side with NSD and Knot, repeated, and write one report:
    /// a JSON file per run, a Markdown report (medians and ranges, machine, versions) and SVG
    /// plots. Needs dnsperf, nsd and knot (Debian packages) and our release binaries
    /// (cargo build --release --workspace).
    Report {
        /// Where the report goes: report.json, runs/*.json, report.md, plots/*.svg.
        #[arg(short, long, default_value = "target/report")]
        out: PathBuf,
        /// Where the zones, query files, WHOIS tree and servers' files go (about 0.3 GB per shape
        /// at 1M, and 5 GB for the WHOIS tree, written once per size in about three minutes).
        #[arg(long, default_value = "/tmp/loadtest-report")]
        work: PathBuf,
        /// Delegations in each generated zone.
        #[arg(long, default_value_t = 1_000_000)]
        delegations: u64,
        /// Zone shapes (`providers`, `pairs`, `glue`), comma-separated; `-signed` after one
        /// (`providers-signed`) signs its zone (NSEC3 with opt-out) and asks with DO=1.
        #[arg(long, value_delimiter = ',', default_value = "providers,pairs,glue")]
        shapes: Vec<String>,
        /// Suites, comma-separated: `zone` (compile beside the zone checkers), `dns` (UDP, TCP,
        /// latency against load, memory), `xfr` (AXFR), `whois` (port 43 and RDAP, on the first
        /// shape, beside the bare limits of the same machine), `writes` (SRRP and EPP creates
        /// on a fresh registry), `propagation` (registrar to two full satellites, and a cut-off
        /// satellite's catch-up), `fanout` (the control plane feeding 50 agents, directly and
        /// through a relay).
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "zone,dns,xfr,whois,writes,propagation,fanout"
        )]
        suites: Vec<loadtest::report::Suite>,
        /// Servers to compare (`edge-dns`, `nsd`, `knot`), comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "edge-dns,nsd,knot")]
        servers: Vec<String>,
        /// Repetitions of everything (the servers' order turns each time).
        #[arg(long, default_value_t = 3)]
        repetitions: u32,
        /// Seconds of each saturation run (dnsperf).
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Seconds at each offered load of the latency curve.
        #[arg(long, default_value_t = 5)]
        latency_seconds: u64,
        /// Offered loads of the latency curve, queries per second, comma-separated.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "25000,50000,100000,150000,200000"
        )]
        rates: Vec<u64>,
        /// Offered registrar changes per second of the propagation suite, comma-separated
        /// (the highest is also the catch-up's load, for 3 × --seconds).
        #[arg(long, value_delimiter = ',', default_value = "100,1000")]
        change_rates: Vec<u64>,
        /// Domains registered (`control-plane import`) before the propagation suite measures,
        /// comma-separated: one registry, with its two satellites in sync, per size.
        #[arg(long, value_delimiter = ',', default_value = "2000,1000000")]
        registry_sizes: Vec<u64>,
        /// The propagation suite's registries unsigned (`off`), DNSSEC-signed after the
        /// import (`on`: a KSK and a ZSK, NSEC3 with opt-out), or both, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "off")]
        dnssec: Vec<String>,
        /// Update-agents of the fan-out suite (at least 2: a relay and one behind it).
        #[arg(long, default_value_t = 50)]
        agents: u16,
        /// Where our binaries are (default: beside this loadtest).
        #[arg(long)]
        bin: Option<PathBuf>,
        /// Only render the report already in --out again from its JSON; run nothing.
        #[arg(long)]
        render_only: bool,
        /// Also put the report into this Markdown file, between the lines
        /// `<!-- report:begin -->` and `<!-- report:end -->`, its plots in `benchmarks/` beside it.
        #[arg(long)]
        docs: Option<PathBuf>,
    },
    /// Run a command and print what it cost, from the kernel's accounting (wait4): wall
    /// seconds, CPU seconds (user + system), peak resident bytes and exit status, on one line.
    /// Its output is discarded.
    Measure {
        /// The command and its arguments.
        #[arg(required = true, trailing_var_arg = true)]
        command: Vec<std::ffi::OsString>,
    },
    /// Benchmark opening a zone image, look-ups, and a diff against a changed image.
    ZoneBench {
        /// The zone image.
        image: PathBuf,
        /// A second image of the same zone to diff against.
        #[arg(long)]
        changed: Option<PathBuf>,
        /// Rounds of look-ups (the median is reported).
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::GenZone {
            output,
            origin,
            delegations,
            serial,
            changed,
            seed,
            shape,
        } => {
            let options = generate::Options {
                origin,
                delegations,
                serial,
                changed,
                seed,
                shape,
            };
            let file =
                File::create(&output).with_context(|| format!("creating {}", output.display()))?;
            let summary = generate::generate(&options, BufWriter::with_capacity(1 << 20, file))?;
            println!(
                "{}: {} records, {} bytes",
                output.display(),
                summary.records,
                summary.bytes
            );
        }
        Command::Dns {
            server,
            queries,
            rate,
            seconds,
        } => {
            let queries = loadtest::dns::load_queries(&queries, false)?;
            let r = loadtest::dns::run(
                server,
                &queries,
                rate,
                std::time::Duration::from_secs(seconds),
            )?;
            let [p50, p90, p99, p999, max] = r.latency_us;
            println!(
                "sent {} received {} ({:.3}% lost) at {:.0} qps; latency µs p50 {p50} p90 {p90} p99 {p99} p99.9 {p999} max {max}",
                r.sent,
                r.received,
                (r.sent - r.received.min(r.sent)) as f64 * 100.0 / r.sent.max(1) as f64,
                r.sent as f64 / r.elapsed.as_secs_f64()
            );
        }
        Command::UpdateLatency {
            dir,
            server,
            delegations,
            shape,
            rounds,
            step,
        } => {
            let samples = loadtest::updates::run(&dir, server, delegations, shape, rounds, step)?;
            for s in &samples {
                println!(
                    "{} records changed: answered {:.1?} after the append",
                    s.records, s.latency
                );
            }
            let mut times: Vec<_> = samples.iter().map(|s| s.latency).collect();
            times.sort();
            if let Some(median) = times.get(times.len() / 2) {
                println!("median {median:.1?}");
            }
        }
        Command::Axfr { server, zone } => {
            let t = loadtest::axfr::run(server, &zone)?;
            println!(
                "AXFR of {zone} from {server}: {:.3} s, {} messages, {} records, {} bytes",
                t.elapsed.as_secs_f64(),
                t.messages,
                t.records,
                t.bytes
            );
        }
        Command::GenWhois { zone, tree } => {
            let s = loadtest::whoisgen::generate(&zone, &tree)?;
            println!(
                "{}: {} domains, {} hosts",
                tree.display(),
                s.domains,
                s.hosts
            );
        }
        Command::Whois {
            server,
            queries,
            clients,
            seconds,
            rate,
            expect,
        } => {
            let lines = loadtest::queries::read_lines(&queries)?;
            let r = loadtest::whoisbench::run(
                || loadtest::whoisbench::ConnectionPerQuery::new(server),
                std::sync::Arc::new(lines),
                clients,
                seconds,
                rate,
                expect,
            )?;
            println!("{}", r.summary("queries"));
        }
        Command::Srrp {
            server,
            ca,
            zone,
            prefix,
            connections,
            first_registrar,
            registrars,
            seconds,
            tls12,
            epp,
        } => {
            let r = loadtest::writebench::run(
                server,
                &ca,
                &zone,
                &prefix,
                connections,
                first_registrar,
                registrars,
                seconds,
                if epp {
                    loadtest::writebench::Protocol::Epp
                } else {
                    loadtest::writebench::Protocol::Srrp { tls12 }
                },
            )?;
            let [p50, p99, p999, max] = r.latency_us;
            println!(
                "{:.0} confirmed creates/s ({} confirmed, {} failed); latency µs p50 {p50} p99 {p99} p99.9 {p999} max {max}",
                r.confirmed as f64 / r.elapsed.as_secs_f64(),
                r.confirmed,
                r.failed
            );
        }
        Command::Propagation {
            server,
            ca,
            satellites,
            zone,
            prefix,
            rate,
            seconds,
            connections,
            first_registrar,
            registrars,
            sample,
        } => {
            let satellites = satellites
                .iter()
                .map(|s| {
                    let (dns, whois) = s
                        .split_once(',')
                        .context("--satellite takes DNS-ADDRESS,WHOIS-ADDRESS")?;
                    Ok(loadtest::propagation::Satellite {
                        dns: dns.parse()?,
                        whois: whois.parse()?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let load = loadtest::propagation::Load {
                server,
                rate,
                seconds,
                connections,
                first_registrar,
                registrars,
                zone,
                prefix,
                sample,
            };
            let r = loadtest::propagation::run(&load, &ca, &satellites)?;
            let ms = |h: &hdrhistogram::Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1e3;
            println!(
                "offered {rate}/s, confirmed {:.0}/s ({} confirmed, {} failed), {} probed, {} lost",
                r.confirmed as f64 / r.elapsed.as_secs_f64(),
                r.confirmed,
                r.failed,
                r.both.len(),
                r.lost
            );
            for (what, h) in [("DNS", &r.dns), ("WHOIS", &r.whois), ("both", &r.both)] {
                println!(
                    "{what:>5} on every satellite: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                    ms(h, 0.5),
                    ms(h, 0.99),
                    h.max() as f64 / 1e3
                );
            }
            for slow in &r.slowest {
                println!("slowest: {slow}");
            }
        }
        Command::TcpLimit { listen, answer } => loadtest::whoisbench::serve_limit(listen, answer)?,
        Command::HttpLimit {
            listen,
            answer,
            read_tree,
        } => loadtest::rdapbench::serve_limit(listen, answer, read_tree.as_deref())?,
        Command::Rdap {
            server,
            paths,
            clients,
            seconds,
            rate,
        } => {
            let lines = loadtest::queries::read_lines(&paths)?;
            let r = loadtest::whoisbench::run(
                || loadtest::rdapbench::KeepAlive::new(server),
                std::sync::Arc::new(lines),
                clients,
                seconds,
                rate,
                None,
            )?;
            println!("{}", r.summary("requests"));
        }
        Command::Web {
            server,
            ca,
            registrar,
            password,
            path,
            count,
        } => {
            let paths = if path.is_empty() {
                [
                    "/",
                    "/domains",
                    "/domains?after=m",
                    "/domains?q=smith",
                    "/statement",
                    "/messages",
                ]
                .map(String::from)
                .to_vec()
            } else {
                path
            };
            let stats = loadtest::webbench::run(server, &ca, registrar, &password, &paths, count)?;
            println!("| page | p50 ms | p99 ms | max ms |\n|---|---|---|---|");
            for page in stats {
                let ms = |q: f64| page.latency.value_at_quantile(q) as f64 / 1000.0;
                println!(
                    "| `{}` | {:.2} | {:.2} | {:.2} |",
                    page.path,
                    ms(0.5),
                    ms(0.99),
                    page.latency.max() as f64 / 1000.0
                );
            }
        }
        Command::Ready {
            server,
            zone,
            since_ns,
            limit,
        } => {
            let since = std::time::UNIX_EPOCH + std::time::Duration::from_nanos(since_ns);
            let took =
                loadtest::ready::wait(server, &zone, since, std::time::Duration::from_secs(limit))?;
            println!("{:.1}", took.as_secs_f64() * 1e3);
        }
        Command::Stalls {
            seconds,
            threshold_us,
        } => {
            let s = loadtest::stalls::probe(
                std::time::Duration::from_secs(seconds),
                std::time::Duration::from_micros(threshold_us),
            );
            println!(
                "{} gaps over {threshold_us} µs in {seconds} s: {:.1} ms in all ({:.2}% of the time), longest {:.2} ms",
                s.count,
                s.total.as_secs_f64() * 1e3,
                s.total.as_secs_f64() * 100.0 / seconds as f64,
                s.longest.as_secs_f64() * 1e3
            );
        }
        Command::GenQueries {
            zone,
            output,
            count,
            seed,
        } => {
            let file =
                File::create(&output).with_context(|| format!("creating {}", output.display()))?;
            loadtest::queries::generate(&zone, count, seed, BufWriter::new(file))?;
            println!("{}: {count} queries", output.display());
        }
        Command::Report {
            out,
            work,
            delegations,
            shapes,
            suites,
            servers,
            repetitions,
            seconds,
            latency_seconds,
            rates,
            change_rates,
            registry_sizes,
            dnssec,
            agents,
            bin,
            render_only,
            docs,
        } => {
            if !render_only {
                let options = loadtest::report::Options {
                    delegations,
                    shapes,
                    suites,
                    servers,
                    repetitions: repetitions.max(1),
                    seconds,
                    latency_seconds,
                    rates,
                    change_rates,
                    registry_sizes,
                    dnssec: dnssec
                        .iter()
                        .map(|d| match d.as_str() {
                            "on" => Ok(true),
                            "off" => Ok(false),
                            other => Err(anyhow::anyhow!("--dnssec {other}: use on, off or both")),
                        })
                        .collect::<anyhow::Result<_>>()?,
                    agents,
                };
                let command = std::env::args()
                    .map(|a| {
                        if a.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "-_=,./:".contains(c))
                        {
                            a
                        } else {
                            format!("'{a}'")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
                // Absolute: the servers run in their own working directories.
                let bin = match bin {
                    Some(bin) => std::path::absolute(&bin)
                        .with_context(|| format!("--bin {}", bin.display()))?,
                    None => {
                        let exe = std::env::current_exe().context("finding our own binary")?;
                        exe.parent()
                            .context("our binary has a directory")?
                            .to_owned()
                    }
                };
                loadtest::report::run(&options, command, &bin, &work, &out)?;
            }
            loadtest::report::render(&out, docs.as_deref())?;
            println!("{}", out.join("report.md").display());
        }
        Command::Measure { command } => {
            let cost = loadtest::report::process::measure(
                std::process::Command::new(&command[0]).args(&command[1..]),
            )
            .with_context(|| format!("running {:?}", command[0]))?;
            println!(
                "{:.6} {:.6} {} {}",
                cost.wall.as_secs_f64(),
                cost.cpu.as_secs_f64(),
                cost.peak_rss,
                if cost.success { 0 } else { 1 }
            );
        }
        Command::ZoneBench {
            image,
            changed,
            rounds,
        } => {
            let report = zonebench::run(&image, changed.as_deref(), rounds)?;
            println!("open + first lookup: {:.2?}", report.open_and_first_lookup);
            println!(
                "open with index checksum + first lookup: {:.2?}",
                report.open_checked_and_first_lookup
            );
            println!(
                "warm lookup (median of rounds, {} random delegations): {:.0?}",
                report.lookups, report.lookup_median
            );
            if let (Some(diff), Some((removed, added))) = (report.diff, report.diff_size) {
                println!(
                    "diff of two images: {diff:.2?} ({removed} records removed, {added} added)"
                );
            }
        }
    }
    Ok(())
}
