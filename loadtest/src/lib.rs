//! Load generators, test-data generators and side-by-side benchmark reports.
//!
//! The zones they load come from [`zonefiles::generate`].
//!
//! - [`zonebench`]: the zone-tooling benchmark (compile, open, look-up, diff).
//! - [`queries`]: query files with a TLD's traffic mix, for dnsperf.
//! - [`axfr`]: a zone transfer client that times one AXFR.
//! - [`dns`]: an open-loop UDP load generator with latency percentiles.
//! - [`whoisbench`]: timed query clients; WHOIS's a connection per query, and the bare TCP limit.
//! - [`rdapbench`]: keep-alive RDAP clients and the bare limit of edge-whois's HTTP stack.
//! - [`whoisgen`]: WHOIS records for a generated zone (domains, hosts, registrars).
//! - [`writebench`]: durable creates from many registrars, over SRRP or EPP.
//! - [`propagation`]: from a registrar's confirmation to every satellite's DNS and WHOIS answer.
//! - [`updates`]: the time from a changeset's append to the answers that carry it.
//! - [`report`]: the benchmarks as one instrument: repeated runs, JSON, a Markdown report, plots.
//! - [`ready`]: the time from a server's start to its first answer.
//! - [`stalls`]: how much of a core the machine itself takes away (the floor under tails).

pub mod axfr;
pub mod dns;
pub mod propagation;
pub mod queries;
pub mod rdapbench;
pub mod ready;
pub mod report;
pub mod stalls;
pub mod updates;
pub mod webbench;
pub mod whoisbench;
pub mod whoisgen;
pub mod writebench;
pub mod zonebench;

/// A loopback address with any port, of the family of `server`: where a client binds.
pub fn loopback_for(server: std::net::SocketAddr) -> std::net::SocketAddr {
    let ip: std::net::IpAddr = if server.is_ipv4() {
        std::net::Ipv4Addr::LOCALHOST.into()
    } else {
        std::net::Ipv6Addr::LOCALHOST.into()
    };
    (ip, 0).into()
}
