//! How fast a change reaches the answers: appends changesets to a zone directory (as the
//! update-agent does) and times, for each, the wait until the server answers with its serial.
//!
//! The changesets rewrite the name servers of a growing number of delegations of the
//! generated TLD (see [`zonefiles::generate`]); the server is whatever listens at `server`.

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use zonefiles::zonedir::ZoneDir;
use zonefiles::{ParseOptions, Zone, changeset};

use zonefiles::generate;

/// One change: its size and the time from durable append to the first answer carrying it.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Records removed plus added.
    pub records: usize,
    /// Append (fsync included) until answered.
    pub latency: Duration,
}

/// Appends `rounds` changesets to the zone directory at `dir` (made from a generated zone of
/// `delegations` delegations of `shape`), the n-th changing n × `step` delegations, and times
/// each against `server`.
pub fn run(
    dir: &Path,
    server: SocketAddr,
    delegations: u64,
    shape: generate::Shape,
    rounds: u32,
    step: u64,
) -> anyhow::Result<Vec<Sample>> {
    let work = tempfile_dir(dir)?;
    let zone_dir = ZoneDir::open(dir).context("open the zone directory (zonefiles dir init)")?;
    let snapshot = zone_dir.load()?;
    let mut current = snapshot.image.to_zone()?;
    if let Some(net) = changeset::compose(&snapshot.changesets)? {
        current = changeset::apply(current, &net)?;
    }
    let mut samples = Vec::new();
    for round in 1..=rounds {
        let serial = current.serial().unwrap_or(0).wrapping_add(1);
        let options = generate::Options {
            delegations,
            serial,
            changed: u64::from(round) * step,
            shape,
            ..generate::Options::default()
        };
        let path = work.join("next.zone");
        generate::generate(
            &options,
            std::io::BufWriter::new(std::fs::File::create(&path)?),
        )?;
        let (next, _) = Zone::read(&path, ParseOptions::default())?;
        let cs = changeset::diff(&current, &next)?;
        let records = cs.removed.len() + cs.added.len();
        let started = Instant::now();
        zone_dir.append(&cs)?;
        wait_for_serial(server, serial, Duration::from_secs(60))?;
        samples.push(Sample {
            records,
            latency: started.elapsed(),
        });
        current = next;
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(samples)
}

fn tempfile_dir(dir: &Path) -> anyhow::Result<std::path::PathBuf> {
    let work = dir.with_extension(format!("updates-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    Ok(work)
}

/// Asks `server` for the SOA of its zone every 200 µs until the serial is `serial`.
fn wait_for_serial(server: SocketAddr, serial: u32, limit: Duration) -> anyhow::Result<()> {
    let socket = UdpSocket::bind(crate::loopback_for(server))?;
    socket.set_read_timeout(Some(Duration::from_millis(50)))?;
    let query = b"\x00\x07\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03tld\x00\x00\x06\x00\x01";
    let started = Instant::now();
    let mut buf = [0u8; 1500];
    while started.elapsed() < limit {
        socket.send_to(query, server)?;
        if let Ok((len, _)) = socket.recv_from(&mut buf)
            && answered_serial(&buf[..len]) == Some(serial)
        {
            return Ok(());
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    anyhow::bail!("serial {serial} not answered within {limit:?}")
}

/// The SOA serial in the answer to `tld. SOA` (the record right after the question).
fn answered_serial(response: &[u8]) -> Option<u32> {
    // header 12, question 9, then: pointer 2, type 2, class 2, ttl 4, rdlength 2, rdata.
    let rdata = response.get(12 + 9 + 12..)?;
    // MNAME and RNAME, then the serial.
    let mut at = 0;
    for _ in 0..2 {
        loop {
            let len = usize::from(*rdata.get(at)?);
            if len == 0 {
                at += 1;
                break;
            }
            if len >= 0xC0 {
                at += 2;
                break;
            }
            at += 1 + len;
        }
    }
    Some(u32::from_be_bytes(rdata.get(at..at + 4)?.try_into().ok()?))
}
