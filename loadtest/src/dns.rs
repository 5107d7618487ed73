//! An open-loop DNS load generator over UDP: queries sent at a fixed rate whatever the
//! answers do, each answer matched to its query by id, latencies in an HDR histogram.
//! Linux only (`sendmmsg`/`recvmmsg`).
//!
//! dnsperf measures throughput well but reports only average latency; this gives the
//! percentiles at a chosen load (for example 80% of a server's saturation rate).
//!
//! An answer's arrival is the kernel's receive timestamp (`SO_TIMESTAMPNS`), not the moment
//! this thread reads it: when the generator's own core is held up, the answers waiting in its
//! socket are not counted late. Both ends are read on the real-time clock the kernel stamps
//! with.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use zonefiles::{Name, RecordType};

const WARM_UP_NS: u64 = 1_000_000_000;

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Report {
    /// Queries sent.
    pub sent: u64,
    /// Answers received.
    pub received: u64,
    /// How long sending lasted.
    pub elapsed: Duration,
    /// Latency percentiles in microseconds: p50, p90, p99, p99.9, max.
    pub latency_us: [u64; 5],
}

/// Reads a dnsperf-style query file (`name type` per line) into encoded queries (id 0).
pub fn load_queries(path: &Path, dnssec_ok: bool) -> anyhow::Result<Vec<Vec<u8>>> {
    let text = std::fs::read_to_string(path)?;
    let mut queries = Vec::new();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let (Some(name), Some(rtype)) = (fields.next(), fields.next()) else {
            continue;
        };
        let name: Name = name.parse().map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        let rtype = RecordType::from_text(rtype.as_bytes())
            .ok_or_else(|| anyhow::anyhow!("unknown type {rtype}"))?;
        let mut msg = vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, dnssec_ok as u8];
        msg.extend_from_slice(name.as_wire());
        msg.extend_from_slice(&rtype.0.to_be_bytes());
        msg.extend_from_slice(&1u16.to_be_bytes());
        if dnssec_ok {
            // OPT: root owner, type 41, 1232-byte payload, DO set, no options.
            msg.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0]);
        }
        queries.push(msg);
    }
    anyhow::ensure!(!queries.is_empty(), "{} has no queries", path.display());
    Ok(queries)
}

/// Sends `queries` round-robin to `server` at `rate` per second for `duration`, after one
/// second of warm-up at the same rate that is not counted.
///
/// One thread does everything, without sleeping: it sends the queries that are due with one
/// `sendmmsg`, then takes every answer waiting with one `recvmmsg`, and stamps each on
/// arrival. Batching keeps the generator's cost per query well below a server's, so on a
/// shared machine the percentiles describe the server, not the generator.
pub fn run(
    server: SocketAddr,
    queries: &[Vec<u8>],
    rate: u64,
    duration: Duration,
) -> anyhow::Result<Report> {
    let bind = crate::loopback_for(server);
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(bind),
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    // Room for a burst of answers while the loop is busy sending.
    let _ = socket.set_recv_buffer_size(16 << 20);
    let _ = socket.set_send_buffer_size(16 << 20);
    socket.bind(&bind.into())?;
    socket.connect(&server.into())?;
    socket.set_nonblocking(true)?;
    let fd = socket.as_raw_fd();
    let on: libc::c_int = 1;
    // SAFETY: setsockopt reads an int from a live local.
    let stamped = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    } == 0;
    anyhow::ensure!(
        stamped,
        "SO_TIMESTAMPNS: {}",
        std::io::Error::last_os_error()
    );

    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    // Send times by message id, in nanoseconds since `epoch` (0: no query outstanding).
    let mut sent_at = vec![0u64; 65536];
    let mut out = Batch::new();
    let mut inb = Batch::new();
    let (mut sent, mut counted, mut received) = (0u64, 0u64, 0u64);
    let start = Instant::now();
    let epoch = realtime_ns();
    let since_start = || realtime_ns().saturating_sub(epoch);
    let total = duration + Duration::from_nanos(WARM_UP_NS);
    let mut draining_until = None;
    loop {
        let now = start.elapsed();
        if now >= total && draining_until.is_none() {
            // Stop sending; wait a little for the last answers.
            draining_until = Some(now + Duration::from_millis(300));
        }
        if let Some(until) = draining_until {
            if now >= until {
                break;
            }
        } else {
            let due = (now.as_secs_f64() * rate as f64) as u64;
            let count = (due - sent.min(due)).min(BATCH as u64) as usize;
            for slot in 0..count {
                let query = &queries[((sent + slot as u64) % queries.len() as u64) as usize];
                let id = ((sent + slot as u64) % 65536) as u16;
                let buf = &mut out.bufs[slot];
                buf[..query.len()].copy_from_slice(query);
                buf[..2].copy_from_slice(&id.to_be_bytes());
                out.iov[slot].iov_len = query.len();
            }
            if count > 0 {
                let stamp = since_start().max(1);
                let done = out.send(fd, count);
                for slot in 0..done {
                    let id = ((sent + slot as u64) % 65536) as usize;
                    sent_at[id] = stamp;
                    if stamp >= WARM_UP_NS {
                        counted += 1;
                    }
                }
                sent += done as u64;
            }
        }
        let got = inb.recv(fd);
        if got > 0 {
            let read_at = since_start();
            for slot in 0..got {
                if inb.hdrs[slot].msg_len < 12 {
                    continue;
                }
                let arrived = inb
                    .arrival(slot)
                    .map_or(read_at, |ns| ns.saturating_sub(epoch));
                let buf = &inb.bufs[slot];
                let id = usize::from(u16::from_be_bytes([buf[0], buf[1]]));
                let at = std::mem::take(&mut sent_at[id]);
                if at >= WARM_UP_NS {
                    histogram.saturating_record(arrived.saturating_sub(at) / 1000);
                    received += 1;
                }
            }
        }
    }
    let q = |p: f64| histogram.value_at_quantile(p);
    Ok(Report {
        sent: counted,
        received,
        elapsed: duration,
        latency_us: [q(0.5), q(0.9), q(0.99), q(0.999), histogram.max()],
    })
}

/// Messages moved per system call.
const BATCH: usize = 64;

/// Nanoseconds since 1970 on the real-time clock (the kernel's receive timestamps use it).
fn realtime_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Room for one `SCM_TIMESTAMPNS` control message (a header and a timespec, aligned).
const CONTROL: usize = 64;

/// Buffers and headers for one `sendmmsg` or `recvmmsg`, allocated once.
struct Batch {
    bufs: Vec<[u8; 1500]>,
    control: Vec<[u64; CONTROL / 8]>,
    iov: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
}

impl Batch {
    fn new() -> Box<Batch> {
        let mut batch = Box::new(Batch {
            bufs: vec![[0; 1500]; BATCH],
            control: vec![[0; CONTROL / 8]; BATCH],
            // SAFETY: iovec and mmsghdr are plain C structs; all-zero bytes are valid values.
            iov: (0..BATCH).map(|_| unsafe { std::mem::zeroed() }).collect(),
            hdrs: (0..BATCH).map(|_| unsafe { std::mem::zeroed() }).collect(),
        });
        let b = &mut *batch;
        for i in 0..BATCH {
            b.iov[i] = libc::iovec {
                iov_base: b.bufs[i].as_mut_ptr().cast(),
                iov_len: 1500,
            };
            b.hdrs[i].msg_hdr.msg_iov = &mut b.iov[i];
            b.hdrs[i].msg_hdr.msg_iovlen = 1;
        }
        batch
    }

    /// Sends the first `count` messages; returns how many left.
    fn send(&mut self, fd: i32, count: usize) -> usize {
        // SAFETY: the first `count` headers point at buffers owned by `self`.
        let n = unsafe { libc::sendmmsg(fd, self.hdrs.as_mut_ptr(), count as u32, 0) };
        n.max(0) as usize
    }

    /// Receives what is waiting, without blocking; returns how many messages arrived.
    fn recv(&mut self, fd: i32) -> usize {
        for i in 0..BATCH {
            self.iov[i].iov_len = 1500;
            self.hdrs[i].msg_len = 0;
            self.hdrs[i].msg_hdr.msg_control = self.control[i].as_mut_ptr().cast();
            self.hdrs[i].msg_hdr.msg_controllen = CONTROL as _;
        }
        // SAFETY: every header points at a buffer and a control buffer owned by `self`.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                self.hdrs.as_mut_ptr(),
                BATCH as u32,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        n.max(0) as usize
    }

    /// The kernel's receive time of message `slot` of the last [`Batch::recv`], in
    /// nanoseconds since 1970.
    fn arrival(&self, slot: usize) -> Option<u64> {
        let hdr = &self.hdrs[slot].msg_hdr;
        // SAFETY: the kernel wrote `msg_controllen` bytes of control messages into the
        // buffer `msg_control` points at; the CMSG macros stay within that length.
        unsafe {
            let mut cmsg = libc::CMSG_FIRSTHDR(hdr);
            while !cmsg.is_null() {
                if (*cmsg).cmsg_level == libc::SOL_SOCKET
                    && (*cmsg).cmsg_type == libc::SCM_TIMESTAMPNS
                {
                    let ts =
                        std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::timespec>());
                    return Some(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64);
                }
                cmsg = libc::CMSG_NXTHDR(hdr, cmsg);
            }
        }
        None
    }
}
