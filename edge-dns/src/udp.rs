//! The UDP path: one thread per worker, each with its own `SO_REUSEPORT` socket, reading up
//! to [`BATCH`] queries with one `recvmmsg` and sending their answers with one `sendmmsg`.
//!
//! Written against libc rather than through an async runtime: this loop is the server's hot
//! path, and a runtime would add a task, a waker and a copy per packet, while the kernel's
//! batch calls cut the system calls per query to two per batch. Everything the loop touches
//! is allocated once when the worker starts; answering allocates nothing.
//!
//! On a large zone most of a query's engine time is cache misses, each read waiting for the
//! one before (the name's slot, its node, its RRsets, its name servers). A batch is therefore
//! looked up ahead before it is answered ([`zonefiles::image::Ahead`]): one level for every
//! query, then the next, so up to 64 queries' misses are in flight together. On a million
//! delegations this takes 12% off the server's CPU per query when NS sets are rarely shared,
//! 4% when they mostly are (docs/benchmarks.md).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use socket2::{Domain, Protocol, Socket, Type};

use zonefiles::image::Ahead;

use crate::engine::{self, Kind, Peer, ResponseKind, Transport, Zones};
use crate::follow::State;
use crate::metrics::Metrics;
use crate::requests::{self, Reply};
use crate::rrl::Limiter;
use crate::tsig::Keyring;

/// Queries read per system call.
pub const BATCH: usize = 64;
/// The largest query read; longer datagrams are cut and answered FORMERR or dropped.
const QUERY_MAX: usize = 4096;

/// Opens a UDP socket on `addr` that other workers can share (`SO_REUSEPORT`), with a receive
/// buffer of `receive_buffer` bytes and a read timeout so the worker can notice when to stop.
pub fn bind(addr: SocketAddr, receive_buffer: usize) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_port(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    // Best effort: the kernel caps these at net.core.[rw]mem_max.
    let _ = socket.set_recv_buffer_size(receive_buffer);
    let _ = socket.set_send_buffer_size(4 << 20);
    // Kernels before 3.15 lack OMIT: never do path MTU discovery there instead.
    if ignore_path_mtu(&socket, addr.is_ipv6(), true).is_err() {
        let _ = ignore_path_mtu(&socket, addr.is_ipv6(), false);
    }
    socket.bind(&addr.into())?;
    socket.set_read_timeout(Some(Duration::from_millis(200)))?;
    Ok(socket.into())
}

/// Sends without the don't-fragment bit and ignores path MTU information
/// (`IP_PMTUDISC_OMIT`; `IP_PMTUDISC_DONT` when `omit` is false), as NSD, BIND and Unbound
/// do: a forged ICMP "fragmentation needed" cannot make the server fragment its answers (an
/// opening for cache poisoning by fragments), and answers no larger than the interface MTU
/// are never fragmented here.
fn ignore_path_mtu(socket: &Socket, ipv6: bool, omit: bool) -> io::Result<()> {
    let (level, option) = if ipv6 {
        (libc::IPPROTO_IPV6, libc::IPV6_MTU_DISCOVER)
    } else {
        (libc::IPPROTO_IP, libc::IP_MTU_DISCOVER)
    };
    let value = match (ipv6, omit) {
        (true, true) => libc::IPV6_PMTUDISC_OMIT,
        (true, false) => libc::IPV6_PMTUDISC_DONT,
        (false, true) => libc::IP_PMTUDISC_OMIT,
        (false, false) => libc::IP_PMTUDISC_DONT,
    };
    // SAFETY: the option value is a live c_int of the size given.
    let done = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            option,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if done == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Pins the calling thread to the `index`-th CPU (modulo their number) of those the process
/// may run on, so each UDP worker keeps its core and its caches. Best effort: false if the
/// kernel refuses.
pub fn pin_to_cpu(index: usize) -> bool {
    // SAFETY: cpu_set_t is a plain bit set; the calls read and write only the set passed.
    unsafe {
        let mut allowed: libc::cpu_set_t = std::mem::zeroed();
        let size = std::mem::size_of::<libc::cpu_set_t>();
        if libc::sched_getaffinity(0, size, &mut allowed) != 0 {
            return false;
        }
        let cpus: Vec<usize> = (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &allowed))
            .collect();
        let Some(&cpu) = cpus.get(index % cpus.len().max(1)) else {
            return false;
        };
        let mut one: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut one);
        libc::sched_setaffinity(0, size, &one) == 0
    }
}

/// Buffers and message headers for one batch, allocated once.
struct Batch {
    queries: Vec<[u8; QUERY_MAX]>,
    answers: Vec<Vec<u8>>,
    addrs: Vec<libc::sockaddr_storage>,
    recv_iov: Vec<libc::iovec>,
    send_iov: Vec<libc::iovec>,
    recv: Vec<libc::mmsghdr>,
    send: Vec<libc::mmsghdr>,
}

impl Batch {
    fn new(answer_size: usize) -> Box<Batch> {
        let mut batch = Box::new(Batch {
            queries: vec![[0; QUERY_MAX]; BATCH],
            answers: (0..BATCH).map(|_| vec![0; answer_size]).collect(),
            // SAFETY: sockaddr_storage, iovec and mmsghdr are plain C structs for which all-zero
            // bytes are a valid value.
            addrs: unsafe { zeroed() },
            recv_iov: unsafe { zeroed() },
            send_iov: unsafe { zeroed() },
            recv: unsafe { zeroed() },
            send: unsafe { zeroed() },
        });
        // The headers point into the vectors above, which never grow after this.
        let b = &mut *batch;
        for i in 0..BATCH {
            b.recv_iov[i] = libc::iovec {
                iov_base: b.queries[i].as_mut_ptr().cast(),
                iov_len: QUERY_MAX,
            };
            b.recv[i].msg_hdr.msg_iov = &mut b.recv_iov[i];
            b.recv[i].msg_hdr.msg_iovlen = 1;
            b.recv[i].msg_hdr.msg_name = (&mut b.addrs[i] as *mut libc::sockaddr_storage).cast();
        }
        batch
    }
}

/// [`BATCH`] all-zero values.
///
/// # Safety
///
/// All-zero bytes must be a valid `T` (true of the plain C structs used here).
unsafe fn zeroed<T>() -> Vec<T> {
    // SAFETY: guaranteed by the caller.
    (0..BATCH).map(|_| unsafe { std::mem::zeroed() }).collect()
}

/// One UDP worker.
#[derive(Debug)]
pub struct Worker {
    /// Its socket (from [`bind`]).
    pub socket: UdpSocket,
    /// Its metrics shard.
    pub shard: usize,
    /// How long it keeps polling its socket once idle before sleeping in the kernel (zero:
    /// it sleeps at once). A sleeping core, above all a virtual one, takes from tens of
    /// microseconds to milliseconds to wake; polling trades CPU for those wake-ups.
    pub busy_poll: Duration,
    /// Response rate limiting, shared by all workers (none when it is off).
    pub limiter: Option<Arc<Limiter>>,
    /// What it answers with.
    pub answering: Answering,
}

/// What every UDP worker shares with the rest of the server.
#[derive(Clone)]
pub struct Shared {
    /// The zones served, swapped by the follower thread.
    pub zones: Arc<ArcSwap<State>>,
    /// The answer engine's settings.
    pub engine: Arc<engine::Config>,
    /// TSIG keys.
    pub keyring: Arc<Keyring>,
    /// The metrics, one shard per worker.
    pub metrics: Arc<Metrics>,
    /// Set when the server stops.
    pub stop: Arc<AtomicBool>,
}

/// Binds `config.worker_count()` sockets on each listening address (`SO_REUSEPORT`) and
/// starts a worker thread on each (pinned to a core when `pin_workers`); they run until
/// `shared.stop` is set.
pub fn start(
    config: &crate::config::Config,
    answering: Answering,
    limiter: Option<Arc<Limiter>>,
    shared: &Shared,
) -> io::Result<Vec<std::thread::JoinHandle<io::Result<()>>>> {
    let mut workers = Vec::new();
    for &addr in &config.listen {
        for index in 0..config.worker_count() {
            let socket = bind(addr, config.udp_receive_buffer).map_err(|error| {
                io::Error::new(error.kind(), format!("binding UDP {addr}: {error}"))
            })?;
            let worker = Worker {
                socket,
                shard: workers.len(),
                busy_poll: Duration::from_micros(config.busy_poll_us),
                limiter: limiter.clone(),
                answering,
            };
            let (pin, shared) = (config.pin_workers, shared.clone());
            workers.push(
                std::thread::Builder::new()
                    .name(format!("udp-{addr}-{index}"))
                    .spawn(move || {
                        if pin && !pin_to_cpu(index) {
                            tracing::warn!(index, "could not pin the UDP worker to a core");
                        }
                        let Shared {
                            zones,
                            engine,
                            keyring,
                            metrics,
                            stop,
                        } = shared;
                        serve(worker, zones, engine, keyring, metrics, stop)
                    })?,
            );
        }
    }
    Ok(workers)
}

/// What the socket loops answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answering {
    /// The zones, through the answer engine.
    Zones,
    /// Benchmark mode (`edge-dns --reflect`): every query with its own bytes, QR set, without
    /// looking at any zone or limiting any rate — what the socket loops and the kernel cost
    /// alone. Never for service.
    Reflect,
}

/// Runs a worker until `stop` is set.
pub fn serve(
    worker: Worker,
    state: Arc<ArcSwap<State>>,
    config: Arc<engine::Config>,
    keyring: Arc<Keyring>,
    metrics: Arc<Metrics>,
    stop: Arc<AtomicBool>,
) -> io::Result<()> {
    let Worker {
        socket,
        shard,
        busy_poll,
        limiter,
        answering,
    } = worker;
    let reflect = answering == Answering::Reflect;
    let mut slip = limiter.as_ref().map(|l| l.slip());
    let mut limited = LimitedLog::default();
    let shard_index = shard;
    let shard = metrics.udp(shard);
    let fd = socket.as_raw_fd();
    let answer_size = usize::from(config.max_udp_payload);
    let mut batch = Batch::new(answer_size);
    let b = &mut *batch;
    while !stop.load(Ordering::Relaxed) {
        for i in 0..BATCH {
            b.recv[i].msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as u32;
            b.recv[i].msg_len = 0;
        }
        let received = if busy_poll.is_zero() {
            receive(fd, b, libc::MSG_WAITFORONE)
        } else {
            poll_then_receive(fd, b, busy_poll)
        };
        if received < 0 {
            let error = io::Error::last_os_error();
            match error.kind() {
                io::ErrorKind::WouldBlock
                | io::ErrorKind::TimedOut
                | io::ErrorKind::Interrupted => continue,
                _ => return Err(error),
            }
        }
        let received = received as usize;
        let state = state.load();
        let now = ops::unix_time();
        let now_ms = limiter.as_ref().map_or(0, |l| l.now_ms());
        if !reflect && received > 1 {
            look_ahead(b, received, &state.zones);
        }
        let mut replies = 0;
        // One clock read per query: a query's time runs from the answer before it.
        let mut started = Instant::now();
        for i in 0..received {
            let len = (b.recv[i].msg_len as usize).min(QUERY_MAX);
            let query = &b.queries[i][..len];
            let peer = Peer {
                transport: Transport::Udp,
                addr: ip_of(&b.addrs[i]),
                now,
            };
            let answer = &mut b.answers[replies];
            // A panic (a zone image damaged on disk, read before its background check ends)
            // costs this query, not the worker: its socket would stop being served.
            let answered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                if reflect {
                    let len = query.len().min(answer.len());
                    answer[..len].copy_from_slice(&query[..len]);
                    if len > 2 {
                        answer[2] |= 0x80;
                    }
                    return Some((len, None));
                }
                let kind = engine::classify(query);
                if kind == Kind::Query {
                    return engine::respond(query, &state.zones, &config, &peer, answer)
                        .map(|(len, source)| (len, Some(source)));
                }
                let ctx = requests::Context {
                    state: &state,
                    engine: &config,
                    keyring: &keyring,
                    metrics: &metrics,
                };
                match requests::respond(kind, query, &peer, &ctx, u64::from(now)) {
                    Reply::Message(m) if m.len() <= answer.len() => {
                        answer[..m.len()].copy_from_slice(&m);
                        Some((m.len(), None))
                    }
                    _ => None,
                }
            }))
            .unwrap_or_else(|_| {
                shard.failed();
                None
            });
            let Some((mut out_len, source)) = answered else {
                shard.dropped();
                continue;
            };
            if source
                .as_ref()
                .is_some_and(|s| s.kind == ResponseKind::Damaged)
            {
                shard.damaged();
            }
            // Answers over their rate slip out truncated or not at all (control messages are
            // signed or small: not limited).
            if let (Some(limiter), Some(slip), Some(source)) = (&limiter, &mut slip, &source)
                && !limiter.allow(peer.addr, source, query, now_ms)
            {
                let truncated = slip.truncates();
                shard.limited(truncated);
                limited.count(limiter.network(peer.addr), source.kind);
                let cut = truncated
                    .then(|| engine::truncate(&mut b.answers[replies], out_len))
                    .flatten();
                match cut {
                    Some(len) => out_len = len,
                    None => continue,
                }
            }
            let done = Instant::now();
            shard.answered(query, &b.answers[replies][..out_len], done - started);
            started = done;
            b.send_iov[replies] = libc::iovec {
                iov_base: b.answers[replies].as_mut_ptr().cast(),
                iov_len: out_len,
            };
            let hdr = &mut b.send[replies].msg_hdr;
            hdr.msg_iov = &mut b.send_iov[replies];
            hdr.msg_iovlen = 1;
            hdr.msg_name = b.recv[i].msg_hdr.msg_name;
            hdr.msg_namelen = b.recv[i].msg_hdr.msg_namelen;
            replies += 1;
        }
        limited.report(shard_index);
        let mut sent = 0;
        while sent < replies {
            // SAFETY: the first `replies` send headers point at answer buffers and the
            // senders' addresses, all alive in `b`.
            let n = unsafe {
                libc::sendmmsg(fd, b.send[sent..].as_mut_ptr(), (replies - sent) as u32, 0)
            };
            if n <= 0 {
                let error = io::Error::last_os_error();
                if error.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                // Skip the datagram that failed (an unreachable sender, a full buffer).
                sent += 1;
                continue;
            }
            sent += n as usize;
        }
    }
    Ok(())
}

/// Starts the look-up of every query of a batch and advances them together, level by level,
/// so that their cache misses overlap instead of following one another
/// ([`zonefiles::image::Ahead`]); the answers then read from the cache.
fn look_ahead(b: &Batch, received: usize, zones: &Zones) {
    // A damaged image opened trusted may panic a read; the answers that follow handle that.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut started: [Option<Ahead<'_>>; BATCH] = std::array::from_fn(|i| {
            let len = (b.recv[i].msg_len as usize).min(QUERY_MAX);
            (i < received)
                .then(|| engine::ahead(&b.queries[i][..len], zones))
                .flatten()
        });
        let mut more = true;
        while more {
            more = false;
            for ahead in started.iter_mut().flatten() {
                more |= ahead.advance();
            }
        }
    }));
}

/// What a worker tells the log of rate limiting: at most a line each [`LimitedLog::EVERY`].
#[derive(Default)]
struct LimitedLog {
    since_report: u64,
    last: Option<((IpAddr, u8), ResponseKind)>,
    reported: Option<Instant>,
}

impl LimitedLog {
    const EVERY: Duration = Duration::from_secs(10);

    fn count(&mut self, network: (IpAddr, u8), class: ResponseKind) {
        self.since_report += 1;
        self.last = Some((network, class));
    }

    fn report(&mut self, worker: usize) {
        let Some(((addr, len), class)) = self.last else {
            return;
        };
        if self.reported.is_some_and(|at| at.elapsed() < Self::EVERY) {
            return;
        }
        tracing::warn!(
            worker,
            limited = self.since_report,
            latest_network = %format_args!("{addr}/{len}"),
            latest_kind = ?class,
            "responses over their rate truncated or dropped (edge_dns_rate_limited_total; \
             [rate_limit] sets the rate)"
        );
        *self = LimitedLog {
            reported: Some(Instant::now()),
            ..LimitedLog::default()
        };
    }
}

/// One `recvmmsg` into the batch: what it returned (-1 with errno set on failure).
fn receive(fd: i32, b: &mut Batch, flags: i32) -> isize {
    // SAFETY: `recv` holds BATCH headers whose buffers and address slots live in `b` for the
    // whole call.
    let n = unsafe {
        libc::recvmmsg(
            fd,
            b.recv.as_mut_ptr(),
            BATCH as u32,
            flags,
            std::ptr::null_mut(),
        )
    };
    n as isize
}

/// [`receive`] without sleeping until `busy_poll` has passed with nothing to read, then
/// sleeping until something comes.
fn poll_then_receive(fd: i32, b: &mut Batch, busy_poll: Duration) -> isize {
    let until = Instant::now() + busy_poll;
    loop {
        let n = receive(fd, b, libc::MSG_DONTWAIT);
        let empty = n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock;
        if !empty {
            return n;
        }
        if Instant::now() >= until {
            return receive(fd, b, libc::MSG_WAITFORONE);
        }
        std::hint::spin_loop();
    }
}

/// The address in a `sockaddr_storage` filled by the kernel (AF_INET or AF_INET6).
fn ip_of(addr: &libc::sockaddr_storage) -> IpAddr {
    let ptr: *const libc::sockaddr_storage = addr;
    match i32::from(addr.ss_family) {
        // SAFETY: the family says which structure the kernel wrote; both fit in the storage.
        libc::AF_INET => {
            let v4 = unsafe { &*ptr.cast::<libc::sockaddr_in>() };
            IpAddr::V4(Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr)))
        }
        libc::AF_INET6 => {
            // SAFETY: as above.
            let v6 = unsafe { &*ptr.cast::<libc::sockaddr_in6>() };
            IpAddr::V6(Ipv6Addr::from(v6.sin6_addr.s6_addr))
        }
        _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn option(socket: &UdpSocket, level: i32, option: i32) -> i32 {
        let mut value: libc::c_int = -1;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: value and len are live and sized for the option.
        let done = unsafe {
            libc::getsockopt(
                socket.as_raw_fd(),
                level,
                option,
                (&mut value as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        assert_eq!(done, 0, "{}", io::Error::last_os_error());
        value
    }

    #[test]
    fn sockets_ignore_path_mtu_information() {
        let v4 = bind("127.0.0.1:0".parse().unwrap(), 1 << 16).unwrap();
        assert_eq!(
            option(&v4, libc::IPPROTO_IP, libc::IP_MTU_DISCOVER),
            libc::IP_PMTUDISC_OMIT
        );
        // Hosts without IPv6 loopback skip the second half.
        if let Ok(v6) = bind("[::1]:0".parse().unwrap(), 1 << 16) {
            assert_eq!(
                option(&v6, libc::IPPROTO_IPV6, libc::IPV6_MTU_DISCOVER),
                libc::IPV6_PMTUDISC_OMIT
            );
        }
    }
}
