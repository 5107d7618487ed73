//! Several hosts on one machine: the control plane and two satellites each in a network
//! namespace of their own, joined to the test's namespace by veth pairs. One satellite's
//! tunnel crosses a link with 80 ms of latency each way and 1% loss; then that link is cut
//! (`ip link set down`) while the registry takes changes: the satellite keeps answering its
//! last data, and once the link is back it catches up by itself, from the journal.
//!
//! The latency and loss come from a UDP relay in the test's namespace rather than `tc netem`,
//! which needs a kernel module that not every kernel (this CI's included) has.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::satellite::{Satellite, Upstream, newest};
use crate::fixture::{Registry, free_port};

fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("ip (Debian iproute2; test.sh installs it)");
    assert!(
        out.status.success(),
        "ip {args:?}: {} (network namespaces need root: run ./test.sh as root)",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Network namespaces, each joined to the test's by a veth pair `10.199.<n>.1` (here) —
/// `10.199.<n>.2` (there); removed when dropped.
struct Hosts {
    prefix: String,
    count: u8,
}

impl Hosts {
    fn new(count: u8) -> Hosts {
        let prefix = format!("cst{}", std::process::id() % 100_000);
        let hosts = Hosts { prefix, count: 0 };
        let mut hosts = hosts;
        for n in 0..count {
            let (netns, outside, inside) = hosts.names(n);
            ip(&["netns", "add", &netns]);
            hosts.count = n + 1;
            ip(&[
                "link", "add", &outside, "type", "veth", "peer", "name", &inside,
            ]);
            ip(&["link", "set", &inside, "netns", &netns]);
            ip(&["addr", "add", &format!("10.199.{n}.1/24"), "dev", &outside]);
            ip(&["link", "set", &outside, "up"]);
            ip(&[
                "netns",
                "exec",
                &netns,
                "ip",
                "addr",
                "add",
                &format!("10.199.{n}.2/24"),
                "dev",
                &inside,
            ]);
            ip(&["netns", "exec", &netns, "ip", "link", "set", &inside, "up"]);
            ip(&["netns", "exec", &netns, "ip", "link", "set", "lo", "up"]);
        }
        hosts
    }

    /// Host `n`'s namespace and the two ends of its link.
    fn names(&self, n: u8) -> (String, String, String) {
        (
            format!("{}h{n}", self.prefix),
            format!("{}o{n}", self.prefix),
            format!("{}i{n}", self.prefix),
        )
    }

    fn netns(&self, n: u8) -> String {
        self.names(n).0
    }

    fn inside(n: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 199, n, 2))
    }

    fn outside(n: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 199, n, 1))
    }

    /// Cuts or restores host `n`'s link.
    fn link(&self, n: u8, up: bool) {
        ip(&[
            "link",
            "set",
            &self.names(n).1,
            if up { "up" } else { "down" },
        ]);
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for n in 0..self.count {
            let (netns, outside, _) = self.names(n);
            let _ = Command::new("ip").args(["link", "del", &outside]).status();
            let _ = Command::new("ip").args(["netns", "del", &netns]).status();
        }
    }
}

/// A UDP relay from `listen` to `upstream` (sending from `source`, an address `upstream` can
/// answer) that delays every datagram by `delay` and drops a share `loss` of them, both ways.
/// Runs until `stop`.
fn impaired_link(
    listen: SocketAddr,
    source: IpAddr,
    upstream: SocketAddr,
    delay: Duration,
    loss: f64,
    stop: Arc<AtomicBool>,
) {
    let front = Arc::new(UdpSocket::bind(listen).unwrap());
    let back = Arc::new(UdpSocket::bind(SocketAddr::new(source, 0)).unwrap());
    back.connect(upstream).unwrap();
    for socket in [&front, &back] {
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
    }
    let client = Arc::new(std::sync::Mutex::new(None::<SocketAddr>));
    // One direction: receive, maybe drop, deliver `delay` later, in order.
    let direction = |from: Arc<UdpSocket>, to: Arc<UdpSocket>, towards_client: bool, seed: u64| {
        let (stop, client) = (stop.clone(), client.clone());
        let (queue, delayed) = std::sync::mpsc::channel::<(Instant, Vec<u8>)>();
        let sender_stop = stop.clone();
        let sender_client = client.clone();
        std::thread::spawn(move || {
            while let Ok((due, bytes)) = delayed.recv() {
                if sender_stop.load(Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
                if towards_client {
                    if let Some(client) = *sender_client.lock().unwrap() {
                        let _ = to.send_to(&bytes, client);
                    }
                } else {
                    let _ = to.send(&bytes);
                }
            }
        });
        std::thread::spawn(move || {
            let mut random = seed;
            let mut buffer = vec![0u8; 65536];
            while !stop.load(Ordering::Relaxed) {
                let Ok((n, peer)) = from.recv_from(&mut buffer) else {
                    continue;
                };
                if !towards_client {
                    *client.lock().unwrap() = Some(peer);
                }
                random ^= random << 13;
                random ^= random >> 7;
                random ^= random << 17;
                if (random % 10_000) as f64 / 10_000.0 < loss {
                    continue;
                }
                let _ = queue.send((Instant::now() + delay, buffer[..n].to_vec()));
            }
        });
    };
    direction(front.clone(), back.clone(), false, 0x9E37_79B9_7F4A_7C15);
    direction(back, front, true, 0xD1B5_4A32_D192_ED03);
}

#[test]
fn satellites_on_other_hosts_ride_out_latency_loss_and_a_cut_link() {
    let hosts = Hosts::new(3);
    let (control, far, near) = (0, 1, 2);
    let push = SocketAddr::new(Hosts::inside(control), free_port().port());
    let mut registry = Registry::new(&format!(
        "\n[push]\nlisten = \"127.0.0.1:{}\"\nkey = \"keys/tunnel.key\"\n",
        push.port()
    ));
    registry.place(&hosts.netns(control), Hosts::inside(control));
    registry.start();
    // Each satellite dials the control plane through a relay on its own link: 80 ms and 1%
    // loss each way for the far one, none for the near one.
    let stop = Arc::new(AtomicBool::new(false));
    let mut satellites = Vec::new();
    for (n, name, delay, loss) in [
        (far, "far", Duration::from_millis(80), 0.01),
        (near, "near", Duration::ZERO, 0.0),
    ] {
        let via = SocketAddr::new(Hosts::outside(n), free_port().port());
        impaired_link(
            via,
            Hosts::outside(control),
            push,
            delay,
            loss,
            stop.clone(),
        );
        let mut upstream = Upstream::registry(&registry, push);
        upstream.address = via;
        let satellite = Satellite::start_in(
            name,
            upstream,
            false,
            |key| {
                registry.cli(&["satellite", "add", name, key.to_str().unwrap()]);
            },
            Some((&hosts.netns(n), Hosts::inside(n))),
        );
        satellites.push(satellite);
    }
    let [far_sat, near_sat] = [&satellites[0], &satellites[1]];
    let answers = |satellite: &Satellite, name: &str| {
        satellite
            .dig(&format!("www.{name}."), "A")
            .contains("ns.example.net.")
    };
    registry.register(1001, "across.smith.name");
    for satellite in [far_sat, near_sat] {
        satellite.wait_registered("across.smith.name");
    }

    // Cut the far satellite's link; the registry goes on.
    hosts.link(far, false);
    for i in 0..100 {
        registry.register(1001, &format!("cut{i}.smith.name"));
    }
    let target = newest(&registry);
    near_sat.wait_for(
        |s| s.serial() == Some(target),
        "the near satellite's serial",
    );
    // The far one answers from inside its host: its last data, nothing newer.
    assert!(answers(far_sat, "across.smith.name"));
    assert!(!answers(far_sat, "cut99.smith.name"));
    assert!(far_sat.whois("across.smith.name").contains("Domain Name:"));

    // The link returns: the far satellite catches up by itself, from the journal.
    let restored = Instant::now();
    hosts.link(far, true);
    far_sat.wait_for(
        |s| s.serial() == Some(target),
        "catch-up after the link returned",
    );
    eprintln!("caught up {:?} after the link returned", restored.elapsed());
    assert!(answers(far_sat, "cut99.smith.name"));
    assert_eq!(far_sat.log().matches("snapshot installed").count(), 1);
    assert!(
        far_sat.data() == near_sat.data(),
        "the two satellites differ"
    );
    stop.store(true, Ordering::Relaxed);
}
