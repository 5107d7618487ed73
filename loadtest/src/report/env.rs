//! What a report was measured on: the machine and the version of every program measured.

use std::collections::BTreeMap;
use std::process::Command;

use serde::{Deserialize, Serialize};

/// The machine.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Machine {
    /// The CPU model (`/proc/cpuinfo`).
    pub cpu: String,
    /// Cores this process may use.
    pub cores: usize,
    /// Memory, GiB.
    pub memory_gib: f64,
    /// The kernel release.
    pub kernel: String,
    /// The hypervisor (`systemd-detect-virt`), or `none`, or `unknown`.
    pub virtualization: String,
    /// The host name.
    pub host: String,
}

impl Machine {
    /// Reads the running machine's description.
    pub fn detect() -> Self {
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        let cpuinfo = read("/proc/cpuinfo");
        let cpu = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or("unknown".to_owned(), |(_, v)| v.trim().to_owned());
        let memory_kib: f64 = read("/proc/meminfo")
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0.0);
        let virtualization = match output("systemd-detect-virt", &[]) {
            Some(v) => v,
            // It prints `none` and exits 1 on bare metal.
            None if cpuinfo.contains(" hypervisor") => "unknown hypervisor".to_owned(),
            None => "none".to_owned(),
        };
        Self {
            cpu,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_gib: (memory_kib / (1024.0 * 1024.0) * 10.0).round() / 10.0,
            kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
            virtualization,
            host: read("/proc/sys/kernel/hostname").trim().to_owned(),
        }
    }
}

/// The first line of a command's output (stdout, else stderr) that is not empty, when it ran.
fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())?
        .to_owned();
    (out.status.success() || !line.is_empty()).then_some(line)
}

/// The version of each program a report may run, by name; those not installed are left out.
pub fn versions(ours: &std::path::Path) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let mut add = |name: &str, program: &str, args: &[&str], pick: &dyn Fn(&str) -> bool| {
        let Ok(out) = Command::new(program).args(args).output() else {
            return;
        };
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        if let Some(line) = text.lines().map(str::trim).find(|l| pick(l)) {
            found.insert(name.to_owned(), line.to_owned());
        }
    };
    let any = |l: &str| !l.is_empty();
    add("NSD", "nsd", &["-v"], &|l| l.starts_with("NSD version"));
    add("Knot", "knotd", &["--version"], &any);
    add("BIND", "named", &["-v"], &any);
    add("dnsperf", "dnsperf", &["-h"], &|l| l.starts_with("Version"));
    add("rustc", "rustc", &["--version"], &any);
    let edge = ours.join("edge-dns");
    add("edge-dns", &edge.to_string_lossy(), &["--version"], &any);
    if let Some(commit) = output("git", &["rev-parse", "--short=12", "HEAD"]) {
        let dirty = Command::new("git")
            .args(["status", "--porcelain", "--untracked-files=no"])
            .output()
            .is_ok_and(|o| !o.stdout.is_empty());
        let commit = if dirty {
            commit + " (with uncommitted changes)"
        } else {
            commit
        };
        found.insert("commit".to_owned(), commit);
    }
    found
}
