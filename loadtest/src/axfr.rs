//! A zone transfer client for benchmarks: one AXFR over TCP, timed from connect to the
//! closing SOA. Records are counted by walking each message, not decoded, so the client costs
//! little next to the server it measures.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use zonefiles::Name;

/// What one transfer moved.
#[derive(Debug, Clone, Copy)]
pub struct Transfer {
    /// Connect to the last byte.
    pub elapsed: Duration,
    /// DNS messages.
    pub messages: u64,
    /// Records, both SOAs included.
    pub records: u64,
    /// Bytes of DNS messages.
    pub bytes: u64,
}

/// Transfers `zone` from `server`.
pub fn run(server: SocketAddr, zone: &Name) -> anyhow::Result<Transfer> {
    let started = Instant::now();
    let mut stream = TcpStream::connect(server)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut query = vec![0x4a, 0x58, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    query.extend_from_slice(zone.as_wire());
    query.extend_from_slice(&[0, 252, 0, 1]);
    let mut framed = (query.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&query);
    stream.write_all(&framed)?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, stream);
    let (mut messages, mut records, mut bytes, mut soas) = (0u64, 0u64, 0u64, 0);
    let mut message = vec![0u8; 65535];
    while soas < 2 {
        let mut len = [0u8; 2];
        reader.read_exact(&mut len)?;
        let len = usize::from(u16::from_be_bytes(len));
        reader.read_exact(&mut message[..len])?;
        let msg = &message[..len];
        anyhow::ensure!(
            len >= 12 && msg[3] & 0x0F == 0,
            "the server refused or failed"
        );
        messages += 1;
        bytes += len as u64;
        let count = |i: usize| u16::from_be_bytes([msg[4 + 2 * i], msg[5 + 2 * i]]);
        let mut at = 12;
        for _ in 0..count(0) {
            at = skip_name(msg, at)? + 4;
        }
        for _ in 0..count(1) {
            at = skip_name(msg, at)?;
            let fixed = msg
                .get(at..at + 10)
                .ok_or_else(|| anyhow::anyhow!("short record"))?;
            if u16::from_be_bytes([fixed[0], fixed[1]]) == 6 {
                soas += 1;
            }
            at += 10 + usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
            records += 1;
        }
    }
    Ok(Transfer {
        elapsed: started.elapsed(),
        messages,
        records,
        bytes,
    })
}

fn skip_name(msg: &[u8], mut at: usize) -> anyhow::Result<usize> {
    loop {
        let len = *msg.get(at).ok_or_else(|| anyhow::anyhow!("short name"))?;
        match len {
            0 => return Ok(at + 1),
            0xC0..=0xFF => return Ok(at + 2),
            _ => at += 1 + usize::from(len),
        }
    }
}
