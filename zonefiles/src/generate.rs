//! A deterministic generator of TLD-shaped zones for tests and benchmarks, in three shapes
//! ([`Shape`]) that a real registry zone mixes:
//!
//! - [`Shape::Providers`]: most delegations point at the name servers of a hosting provider
//!   (a few large providers serve many domains, as in .com), so many domains share one NS
//!   set; some domains run their own name servers inside the TLD (with A and often AAAA
//!   glue), a few mix both, and 3% are signed (one DS each). Providers whose servers live
//!   inside the TLD are delegated too, with their glue.
//! - [`Shape::Pairs`]: the long tail: each domain's two name servers are drawn at random from
//!   a pool of 5,000 hosts, so almost no two domains share an NS set; one domain in ten runs
//!   its own server inside the TLD (A glue, AAAA for half of them) beside one pool host, and
//!   5% are signed.
//! - [`Shape::Glue`]: in-zone name servers, as in TLDs where most domains use them: each
//!   domain's two name servers are drawn from a pool of 5,000 hosts that all live inside the
//!   TLD under one host-holding delegation (`dnshosts.<tld>`), each with A and AAAA glue, so a
//!   referral carries 2 NS and 4 sibling glue records; 3% are signed.
//!
//! The same seed always gives the same zone, and [`Options::changed`] rewrites the delegations
//! of a fixed set of domains so two zones differ in a known number of delegations.

use std::io::{self, Write};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    /// The TLD, without the trailing dot.
    pub origin: String,
    /// Number of delegated domains.
    pub delegations: u64,
    /// The SOA serial.
    pub serial: u32,
    /// Delegations whose name servers differ from the base zone (for diff benchmarks).
    pub changed: u64,
    /// The random seed.
    pub seed: u64,
    /// How name servers are shared.
    pub shape: Shape,
}

/// How delegations share name servers (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Shape {
    /// A few large hosting providers' NS sets serve most domains.
    #[default]
    Providers,
    /// Two name servers drawn at random from a pool of 5,000 hosts per domain.
    Pairs,
    /// Two name servers per domain drawn from 5,000 hosts inside the TLD, each with A and AAAA
    /// glue.
    Glue,
}

impl std::str::FromStr for Shape {
    type Err = String;
    fn from_str(text: &str) -> Result<Shape, String> {
        match text {
            "providers" => Ok(Shape::Providers),
            "pairs" => Ok(Shape::Pairs),
            "glue" => Ok(Shape::Glue),
            _ => Err(format!(
                "{text:?}: the shapes are `providers`, `pairs` and `glue`"
            )),
        }
    }
}

impl Default for Options {
    fn default() -> Options {
        Options {
            origin: "tld".into(),
            delegations: 1_000,
            serial: 2026112101,
            changed: 0,
            seed: 1,
            shape: Shape::Providers,
        }
    }
}

/// Counts of what was written.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Records written.
    pub records: u64,
    /// Bytes written.
    pub bytes: u64,
}

const PROVIDERS: u64 = 4_000;
/// The name server pool of [`Shape::Pairs`].
const POOL: u64 = 5_000;
const SYLLABLES: [&str; 32] = [
    "ka", "lo", "mi", "ra", "zen", "tor", "vel", "an", "bri", "co", "du", "el", "fa", "gri", "ho",
    "is", "ju", "ke", "lu", "mo", "ne", "ox", "pa", "qui", "ro", "sa", "ti", "ul", "vo", "wy",
    "xa", "yo",
];

struct Out<W: Write> {
    w: W,
    summary: Summary,
    line: String,
}

impl<W: Write> Out<W> {
    fn record(&mut self, owner: &str, rtype: &str, rdata: &str) -> io::Result<()> {
        use std::fmt::Write as _;
        self.line.clear();
        let _ = writeln!(self.line, "{owner}\t86400\tIN\t{rtype}\t{rdata}");
        self.w.write_all(self.line.as_bytes())?;
        self.summary.records += 1;
        self.summary.bytes += self.line.len() as u64;
        Ok(())
    }
}

fn word(rng: &mut SmallRng, out: &mut String) {
    for _ in 0..rng.random_range(2..5) {
        out.push_str(SYLLABLES[rng.random_range(0..SYLLABLES.len())]);
    }
}

/// The provider a domain uses: a heavy-tailed choice, so a few providers serve most domains.
fn provider(rng: &mut SmallRng) -> u64 {
    let u: f64 = rng.random();
    ((u * u * u) * PROVIDERS as f64) as u64
}

fn provider_host(origin: &str, provider: u64, n: u8) -> String {
    // One provider in five runs its servers inside the TLD; the rest use .net and .com.
    match provider % 5 {
        0 => format!("ns{n}.dnsprov{provider}.{origin}."),
        1 | 2 => format!("ns{n}.hosting{provider}.net."),
        _ => format!("dns{n}.provider{provider}.com."),
    }
}

fn ipv4(rng: &mut SmallRng) -> String {
    format!(
        "{}.{}.{}.{}",
        rng.random_range(1..224),
        rng.random::<u8>(),
        rng.random::<u8>(),
        rng.random_range(1..255)
    )
}

fn ipv6(rng: &mut SmallRng) -> String {
    format!(
        "2001:db8:{:x}:{:x}::{:x}",
        rng.random::<u16>(),
        rng.random::<u16>(),
        rng.random::<u16>()
    )
}

/// Writes the zone as a master file.
pub fn generate(options: &Options, w: impl Write) -> io::Result<Summary> {
    let origin = options.origin.trim_end_matches('.');
    let mut out = Out {
        w,
        summary: Summary::default(),
        line: String::with_capacity(128),
    };
    let apex = format!("{origin}.");
    out.record(
        &apex,
        "SOA",
        &format!(
            "a.nic.{origin}. hostmaster.nic.{origin}. {} 1800 900 604800 3600",
            options.serial
        ),
    )?;
    for server in ["a", "b"] {
        out.record(&apex, "NS", &format!("{server}.nic.{origin}."))?;
    }
    out.record(&format!("a.nic.{origin}."), "A", "192.0.2.53")?;
    out.record(&format!("a.nic.{origin}."), "AAAA", "2001:db8::53")?;
    out.record(&format!("b.nic.{origin}."), "A", "198.51.100.53")?;

    // Providers inside the TLD: delegated, with glue.
    let mut rng = SmallRng::seed_from_u64(options.seed);
    let providers = if options.shape == Shape::Providers {
        PROVIDERS
    } else {
        0
    };
    for p in (0..providers).filter(|p| p % 5 == 0) {
        let owner = format!("dnsprov{p}.{origin}.");
        for n in 1..=2 {
            out.record(&owner, "NS", &provider_host(origin, p, n))?;
        }
        for n in 1..=2 {
            let host = provider_host(origin, p, n);
            out.record(&host, "A", &ipv4(&mut rng))?;
            out.record(&host, "AAAA", &ipv6(&mut rng))?;
        }
    }

    if options.shape == Shape::Glue {
        // Every pool host inside the TLD, under one delegation that two of them serve.
        let holder = format!("dnshosts.{origin}.");
        for h in 0..2 {
            out.record(&holder, "NS", &glue_host(origin, h))?;
        }
        for h in 0..POOL {
            out.record(&glue_host(origin, h), "A", &ipv4(&mut rng))?;
            out.record(&glue_host(origin, h), "AAAA", &ipv6(&mut rng))?;
        }
    }
    if options.shape == Shape::Pairs {
        // The pool's hosts inside the TLD (one in five), delegated with their glue.
        for h in (0..POOL).filter(|h| h % 5 == 0) {
            out.record(&format!("nshost{h}.{origin}."), "NS", &pool_host(origin, h))?;
            out.record(&pool_host(origin, h), "A", &ipv4(&mut rng))?;
        }
    }
    let mut name = String::with_capacity(64);
    for i in 0..options.delegations {
        // Each domain has its own stream, so a changed domain changes nothing else.
        let mut rng =
            SmallRng::seed_from_u64(options.seed ^ (i.wrapping_mul(0x9E37_79B9_7F4A_7C15)));
        name.clear();
        word(&mut rng, &mut name);
        name.push_str(&i.to_string());
        let owner = format!("{name}.{origin}.");
        let changed = options.changed > 0
            && i % (options.delegations / options.changed).max(1) == 0
            && i / (options.delegations / options.changed).max(1) < options.changed;
        let own = |n: u8| format!("ns{n}.{name}.{origin}.");
        if options.shape == Shape::Pairs {
            pair(&mut out, &mut rng, origin, &owner, &own(1), changed)?;
            continue;
        }
        if options.shape == Shape::Glue {
            let (a, b) = two_hosts(&mut rng, changed);
            out.record(&owner, "NS", &glue_host(origin, a))?;
            out.record(&owner, "NS", &glue_host(origin, b))?;
            if rng.random_range(0..100) < 3 {
                ds(&mut out, &mut rng, &owner)?;
            }
            continue;
        }
        let mut kind: u32 = rng.random_range(0..100);
        let mut p = provider(&mut rng);
        if changed {
            // Moved to the next provider: the delegation (and any glue) differs.
            p = (p + 1) % PROVIDERS;
            kind = 0;
        }
        match kind {
            0..93 => {
                out.record(&owner, "NS", &provider_host(origin, p, 1))?;
                out.record(&owner, "NS", &provider_host(origin, p, 2))?;
            }
            93..98 => {
                out.record(&owner, "NS", &own(1))?;
                out.record(&owner, "NS", &own(2))?;
            }
            _ => {
                out.record(&owner, "NS", &own(1))?;
                out.record(&owner, "NS", &provider_host(origin, p, 1))?;
            }
        }
        if rng.random_range(0..100) < 3 {
            ds(&mut out, &mut rng, &owner)?;
        }
        if kind >= 93 {
            let hosts = if kind < 98 { 2 } else { 1 };
            for n in 1..=hosts {
                out.record(&own(n), "A", &ipv4(&mut rng))?;
                if rng.random_range(0..2) == 0 {
                    out.record(&own(n), "AAAA", &ipv6(&mut rng))?;
                }
            }
        }
    }
    out.w.flush()?;
    Ok(out.summary)
}

fn ds<W: Write>(out: &mut Out<W>, rng: &mut SmallRng, owner: &str) -> io::Result<()> {
    let digest: String = (0..32)
        .map(|_| format!("{:02X}", rng.random::<u8>()))
        .collect();
    out.record(
        owner,
        "DS",
        &format!("{} 13 2 {digest}", rng.random::<u16>()),
    )
}

fn pool_host(origin: &str, h: u64) -> String {
    // One pool host in five lives inside the TLD; the rest under .net.
    if h.is_multiple_of(5) {
        format!("ns.nshost{h}.{origin}.")
    } else {
        format!("ns{}.dnspool{h}.net.", h % 3 + 1)
    }
}

/// Two different hosts of the pool, drawn at random; a changed domain takes the next two.
fn two_hosts(rng: &mut SmallRng, changed: bool) -> (u64, u64) {
    let (a, mut b) = (rng.random_range(0..POOL), rng.random_range(0..POOL - 1));
    if b >= a {
        b += 1; // two different hosts
    }
    if changed {
        ((a + 1) % POOL, (b + 1) % POOL)
    } else {
        (a, b)
    }
}

/// A pool host of [`Shape::Glue`]: inside the TLD, under the host-holding delegation.
fn glue_host(origin: &str, h: u64) -> String {
    format!("ns{h}.dnshosts.{origin}.")
}

/// One delegation of [`Shape::Pairs`]: two pool hosts drawn at random, or (one domain in ten)
/// its own server with glue beside one pool host; 5% signed. A changed domain draws again.
fn pair<W: Write>(
    out: &mut Out<W>,
    rng: &mut SmallRng,
    origin: &str,
    owner: &str,
    own: &str,
    changed: bool,
) -> io::Result<()> {
    let (a, b) = two_hosts(rng, changed);
    let runs_own = rng.random_range(0..10) == 0;
    if runs_own {
        out.record(owner, "NS", own)?;
    } else {
        out.record(owner, "NS", &pool_host(origin, a))?;
    }
    out.record(owner, "NS", &pool_host(origin, b))?;
    if rng.random_range(0..100) < 5 {
        ds(out, rng, owner)?;
    }
    if runs_own {
        out.record(own, "A", &ipv4(rng))?;
        if rng.random_range(0..2) == 0 {
            out.record(own, "AAAA", &ipv6(rng))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn zone(shape: Shape, changed: u64) -> String {
        let options = Options {
            delegations: 20_000,
            changed,
            shape,
            ..Options::default()
        };
        let mut text = Vec::new();
        generate(&options, &mut text).unwrap();
        String::from_utf8(text).unwrap()
    }

    /// How many domains share their NS set with another domain.
    fn sharing(text: &str) -> usize {
        let mut sets: HashMap<&str, Vec<&str>> = HashMap::new();
        for line in text.lines() {
            let fields: Vec<&str> = line.split('\t').collect();
            if fields[3] == "NS" && fields[0] != "tld." {
                sets.entry(fields[0]).or_default().push(fields[4]);
            }
        }
        let mut count: HashMap<Vec<&str>, usize> = HashMap::new();
        for (_, mut set) in sets {
            set.sort_unstable();
            *count.entry(set).or_default() += 1;
        }
        count.values().filter(|&&n| n > 1).sum()
    }

    #[test]
    fn the_shapes_share_name_servers_as_documented() {
        let providers = zone(Shape::Providers, 0);
        let pairs = zone(Shape::Pairs, 0);
        // Providers: most domains share an NS set; pairs: almost none do.
        assert!(sharing(&providers) > 15_000, "{}", sharing(&providers));
        assert!(sharing(&pairs) < 400, "{}", sharing(&pairs));
        // Pairs: about 2.27 records per delegation (the 1M zone: 2.27M records).
        let records = pairs.lines().count();
        assert!((45_000..48_000).contains(&records), "{records}");
        // The same seed, the same zone; `changed` changes that many delegations.
        assert_eq!(pairs, zone(Shape::Pairs, 0));
        let moved = zone(Shape::Pairs, 100);
        let differ = pairs
            .lines()
            .zip(moved.lines())
            .filter(|(a, b)| a != b)
            .count();
        assert!((100..=300).contains(&differ), "{differ}");
        // Glue: every name server inside the TLD with A and AAAA glue, 2 NS per domain.
        let glue = zone(Shape::Glue, 0);
        let ns: Vec<&str> = glue
            .lines()
            .filter(|l| l.contains("\tNS\t") && !l.starts_with("tld.\t"))
            .collect();
        assert_eq!(ns.len(), 2 * 20_000 + 2);
        assert!(
            ns.iter().all(|l| l.ends_with(".dnshosts.tld.")),
            "{:?}",
            &ns[..3]
        );
        let glued = |kind: &str| {
            glue.lines()
                .filter(|l| l.contains(&format!("\t{kind}\t")) && l.starts_with("ns"))
                .count()
        };
        assert_eq!((glued("A"), glued("AAAA")), (5_000, 5_000));
        assert!(sharing(&glue) < 400, "{}", sharing(&glue));
    }
}
