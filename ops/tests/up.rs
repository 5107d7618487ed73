//! `constellation up` as a newcomer runs it: the whole constellation on loopback, answered by
//! `dig`, the `whois` client and curl (RDAP), with a registration over SRRP reaching both satellites,
//! the control plane started again after a kill -9 while the satellites keep answering, and
//! nothing left running once `up` is gone — even after a kill -9.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `up`, killed when the test ends however it ends (its servers go with it): a failing
/// assertion leaves nothing running.
struct Up(std::process::Child);

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn up_runs_a_constellation_that_answers_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("constellation");
    // Every port (offset + 1700 … offset + 9182) below the kernel's ephemeral range (32768 on),
    // where outgoing connections of other tests could hold one.
    let offset = 10_000 + (std::process::id() % 13_000) as u16;
    // The servers as `cargo test --workspace` builds them: under `./test.sh` they are there
    // already, where `up`'s own `cargo build -p` would resolve other features and build them
    // again.
    let built = ops::process::cargo()
        .args(["test", "--workspace", "--no-run", "--locked", "-q"])
        .status()
        .unwrap();
    assert!(built.success());
    let mut up = Up(Command::new(env!("CARGO_BIN_EXE_constellation"))
        .args(["up", "--no-build", "--domains", "500", "--dir"])
        .arg(&home)
        .args(["--port-offset", &offset.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap());
    let mut printed = String::new();
    let mut lines = BufReader::new(up.0.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(600);
    for line in lines.by_ref() {
        let line = line.unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if line.contains("Ctrl-C stops everything") {
            break;
        }
        assert!(Instant::now() < deadline, "up is not up:\n{printed}");
    }
    assert!(printed.contains("Try:"), "{printed}");
    // Every command printed is one that works: run the ones for satellite 1 and the SRRP ones.
    let commands: Vec<&str> = printed
        .lines()
        .filter_map(|l| l.trim().split(" # ").next())
        .filter(|c| {
            ["dig ", "whois ", "curl ", "echo "]
                .iter()
                .any(|p| c.starts_with(p))
                || c.contains(" srrp ")
        })
        .collect();
    let dig = |command: &str| run("sh", &["-c", command]);
    let referral = commands
        .iter()
        .find(|c| c.contains("referral"))
        .unwrap_or(&commands[0]);
    assert!(
        dig(referral).contains("AUTHORITY: 2"),
        "{referral}: {}",
        dig(referral)
    );
    let whois = commands.iter().find(|c| c.starts_with("whois ")).unwrap();
    assert!(
        dig(whois).contains("Domain Name:"),
        "{whois}: {}",
        dig(whois)
    );
    let rdap = commands.iter().find(|c| c.starts_with("curl ")).unwrap();
    assert!(
        dig(rdap).contains("\"objectClassName\":\"domain\""),
        "{rdap}: {}",
        dig(rdap)
    );
    let create = commands
        .iter()
        .find(|c| c.contains("CREATE DOMAIN"))
        .unwrap();
    assert!(dig(create).starts_with("200"), "{create}: {}", dig(create));
    let epp = commands.iter().find(|c| c.contains(" epp ")).unwrap();
    assert!(
        dig(epp).contains("<domain:name>john.smith.name</domain:name>"),
        "{epp}: {}",
        dig(epp)
    );
    for answered in commands
        .iter()
        .filter(|c| c.contains("www.john.smith.name"))
    {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !dig(answered).contains("192.0.2.80") {
            assert!(Instant::now() < deadline, "{answered}: {}", dig(answered));
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    // The zone is signed: its DNSKEY set comes with its signature, and the status shows the
    // keys and the DS for the parent.
    let signed = commands
        .iter()
        .find(|c| c.contains(" DNSKEY +dnssec"))
        .expect("a DNSKEY query is printed");
    let answer = dig(signed);
    assert!(
        answer.contains("\tDNSKEY\t257 3 13") && answer.contains("\tRRSIG\tDNSKEY 13"),
        "{signed}: {answer}"
    );
    let status = printed
        .lines()
        .filter_map(|l| l.trim().split(" # ").next())
        .find(|c| c.contains(" dnssec status "))
        .expect("the DNSSEC status is printed");
    let status = run("sh", &["-c", status]);
    assert!(
        status.contains("KSK ECDSAP256SHA256") && status.contains("DS for the parent"),
        "{status}"
    );
    // The escrow deposit made at start is listed, and the next one is differential.
    let escrow = |what: &str| {
        let command = printed
            .lines()
            .filter_map(|l| l.trim().split(" # ").next())
            .find(|c| c.contains(what))
            .unwrap_or_else(|| panic!("{what} is printed"))
            .to_owned();
        run("sh", &["-c", &command])
    };
    let listed = escrow(" escrow list");
    assert!(listed.contains("\tFULL\t"), "{listed}");
    let next = escrow(" escrow deposit ");
    assert!(next.starts_with("DIFF deposit"), "{next}");
    // The activity report counts the commands above and the satellites' queries (agents read
    // their servers every 5 s; the registry writes its counts every 10 s).
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let csv = escrow(" report activity ");
        let lines: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
        assert_eq!(lines.len(), 2, "{csv}");
        let field = |name: &str| -> u64 {
            let i = lines[0].iter().position(|f| *f == name).unwrap();
            lines[1][i].parse().unwrap()
        };
        if field("srs-dom-create") >= 1
            && field("dns-udp-queries-responded") >= 3
            && field("whois-43-queries") >= 1
            && field("rdap-queries") >= 1
        {
            break;
        }
        assert!(Instant::now() < deadline, "{csv}");
        std::thread::sleep(Duration::from_millis(500));
    }
    // The registrars' web page answers its log-in form over HTTPS.
    let web = printed
        .lines()
        .find_map(|l| l.trim().strip_prefix("https://"))
        .and_then(|rest| rest.split('/').next())
        .expect("the web page's address is printed");
    let login = run(
        "curl",
        &[
            "-s",
            "-k",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("https://{web}/login"),
        ],
    );
    assert_eq!(login, "200", "the web page at {web}");
    let status = run(
        env!("CARGO_BIN_EXE_constellation"),
        &[
            "status",
            "--manifest",
            home.join("constellation.toml").to_str().unwrap(),
            "--json",
            "--interval",
            "0.5",
        ],
    );
    assert_eq!(status.lines().count(), 2, "{status}");
    assert!(
        status.lines().all(|l| l.contains("\"health\":\"ok\"")),
        "{status}"
    );

    let manifest = home.join("constellation.toml");
    let verified = Command::new(env!("CARGO_BIN_EXE_constellation"))
        .args(["verify", "--manifest", manifest.to_str().unwrap()])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&verified.stdout);
    assert!(
        verified.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    assert!(
        report.contains("every satellite holds exactly the registry's data"),
        "{report}"
    );
    assert!(
        report.contains("missing 0, extra 0, different 0"),
        "{report}"
    );

    // kill -9 of the control plane: the satellites keep answering, up starts it again, and a
    // registration made after it reaches the satellites.
    let control_plane: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|p| {
            std::fs::read_link(p.path().join("cwd")).is_ok_and(|cwd| cwd == home.join("registry"))
                && std::fs::read_to_string(p.path().join("comm"))
                    .is_ok_and(|c| c.trim() == "control-plane")
        })
        .filter_map(|p| p.file_name().to_str()?.parse().ok())
        .collect();
    assert_eq!(control_plane.len(), 1, "{control_plane:?}");
    run("kill", &["-9", &control_plane[0].to_string()]);
    assert!(
        dig(referral).contains("AUTHORITY: 2"),
        "a satellite stopped with the control plane"
    );
    let again = create.replace("john", "jane");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !dig(&again).starts_with("200") {
        assert!(
            Instant::now() < deadline,
            "the control plane was not started again: {}",
            dig(&again)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let answered = commands
        .iter()
        .find(|c| c.contains("www.john.smith.name"))
        .unwrap()
        .replace("john", "jane");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !dig(&answered).contains("192.0.2.80") {
        assert!(Instant::now() < deadline, "{answered}: {}", dig(&answered));
        std::thread::sleep(Duration::from_millis(200));
    }

    // kill -9 of up: its servers go with it.
    up.0.kill().unwrap();
    up.0.wait().unwrap();
    let dns = std::net::SocketAddr::from(([127, 0, 0, 1], 5301 + offset));
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(dns).is_ok() {
        assert!(Instant::now() < deadline, "edge-dns outlived up");
        std::thread::sleep(Duration::from_millis(100));
    }
    // No process works in the constellation's folders any more.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left: Vec<_> = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter(|p| {
                std::fs::read_link(p.path().join("cwd")).is_ok_and(|cwd| cwd.starts_with(&home))
            })
            .map(|p| p.file_name())
            .collect();
        if left.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "still running: {left:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
