//! Time to first answer: a server was started at a known moment; a SOA query for its zone is
//! sent every millisecond until a response carries the SOA. Polling with `dig` instead adds
//! the start of a process per try (tens of milliseconds), more than is being measured.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, SystemTime};

use zonefiles::Name;

/// Waits until `server` answers `zone`'s SOA; returns the time since `since`, or an error
/// after `limit`.
pub fn wait(
    server: SocketAddr,
    zone: &Name,
    since: SystemTime,
    limit: Duration,
) -> anyhow::Result<Duration> {
    let socket = UdpSocket::bind(crate::loopback_for(server))?;
    socket.set_read_timeout(Some(Duration::from_millis(1)))?;
    let mut query = vec![0x52, 0x44, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    query.extend_from_slice(zone.as_wire());
    query.extend_from_slice(&[0, 6, 0, 1]);
    let mut buf = [0u8; 4096];
    loop {
        let waited = since.elapsed().unwrap_or_default();
        anyhow::ensure!(waited < limit, "{server} did not answer within {limit:?}");
        // Refused while the port is not bound yet: try again.
        let _ = socket.send_to(&query, server);
        while let Ok(len) = socket.recv(&mut buf) {
            let answers = len >= 12 && u16::from_be_bytes([buf[6], buf[7]]) > 0;
            if buf[..2] == query[..2] && buf[3] & 0x0F == 0 && answers {
                return Ok(since.elapsed().unwrap_or_default());
            }
        }
    }
}
