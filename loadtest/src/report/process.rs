//! Processes under measurement: started pinned to a core, their CPU time and memory read from
//! the kernel's own accounting (`/proc`, `wait4`), so a slow or saturated load generator cannot
//! flatter or hide a result.
//!
//! A server's figures cover its whole process tree: NSD answers from a forked child, and a
//! server that forks helpers pays for them too. Memory is the proportional set size (PSS): pages
//! a parent shares with its forked children are counted once, not once per process.

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// Restricts the calling thread (and whatever it starts later) to one core.
pub fn pin_current(cpu: usize) -> std::io::Result<()> {
    set_affinity(Some(cpu))
}

/// Restricts the calling thread to `cpu`, or lets it run on every core (`None`).
fn set_affinity(cpu: Option<usize>) -> std::io::Result<()> {
    const BITS: usize = 8 * std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: cpu_set_t is plain data; the zeroed set is valid and CPU_SET stays within it
    // (cpus beyond its 1,024 bits are refused or left out before).
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        match cpu {
            Some(cpu) if cpu >= BITS => {
                return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
            }
            Some(cpu) => libc::CPU_SET(cpu, &mut set),
            None => (0..BITS).for_each(|cpu| libc::CPU_SET(cpu, &mut set)),
        }
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Makes `command` start on `cpu` only, or on any core with `None` (not on the core this
/// process is pinned to, which it would otherwise inherit).
pub fn pin(command: &mut Command, cpu: Option<usize>) -> &mut Command {
    // SAFETY: sched_setaffinity is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(move || set_affinity(cpu));
    }
    command
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// The fields of `/proc/PID/stat` after the command name (which may hold spaces and
/// parentheses: the fields start after its last `)`).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// `root` and every process descended from it.
pub fn tree(root: u32) -> Vec<u32> {
    let mut parents = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            // Field 4 of stat is the parent (index 1 after the name).
            if let Some(ppid) = stat_fields(pid).and_then(|f| f.get(1)?.parse::<u32>().ok()) {
                parents.push((pid, ppid));
            }
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|(_, p)| *p == parent)
                .map(|(c, _)| *c),
        );
        i += 1;
    }
    found
}

/// CPU seconds (user + system) the process tree under `root` has used so far.
pub fn cpu_seconds(root: u32) -> f64 {
    tree(root).into_iter().map(process_cpu_seconds).sum()
}

/// CPU seconds this process alone (the load generator: not the servers it started) has used.
pub fn own_cpu_seconds() -> f64 {
    process_cpu_seconds(std::process::id())
}

fn process_cpu_seconds(pid: u32) -> f64 {
    let ticks = stat_fields(pid).map_or(0, |f| {
        // utime and stime: fields 14 and 15 of stat (indexes 11 and 12 after the name).
        let field = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        field(11) + field(12)
    });
    ticks as f64 / clock_ticks()
}

/// The proportional set size of the process tree under `root`, in bytes.
pub fn memory_bytes(root: u32) -> u64 {
    tree(root)
        .into_iter()
        .map(|pid| {
            let field = |file: &str, key: &str| {
                let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok()?;
                let line = text.lines().find(|l| l.starts_with(key))?;
                line.split_whitespace().nth(1)?.parse::<u64>().ok()
            };
            1024 * field("smaps_rollup", "Pss:")
                .or_else(|| field("status", "VmRSS:"))
                .unwrap_or(0)
        })
        .sum()
}

/// What a command cost, from the kernel's accounting of it.
#[derive(Debug, Clone, Copy)]
pub struct Cost {
    /// Wall time from start to exit.
    pub wall: Duration,
    /// User + system CPU time of the command and the children it waited for.
    pub cpu: Duration,
    /// Peak resident memory, bytes.
    pub peak_rss: u64,
    /// Whether it exited with status 0.
    pub success: bool,
}

/// Runs `program` with `args` to its end, its output discarded, through `loadtest measure`
/// (see [`measure`]), and returns what it cost. It may use every core (not only the one this
/// process is pinned to).
pub fn run_measured(program: &Path, args: &[&std::ffi::OsStr]) -> anyhow::Result<Cost> {
    let mut command = Command::new(std::env::current_exe()?);
    let out = pin(&mut command, None)
        .arg("measure")
        .arg("--")
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<f64> = text
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    let [wall, cpu, peak, status] = fields[..] else {
        anyhow::bail!("loadtest measure {} printed {text:?}", program.display());
    };
    Ok(Cost {
        wall: Duration::from_secs_f64(wall),
        cpu: Duration::from_secs_f64(cpu),
        peak_rss: peak as u64,
        success: status == 0.0,
    })
}

/// Runs `command` to its end, its output discarded, and reads what it cost (`wait4`).
///
/// The peak memory is only the command's own when the process that starts it is small: at
/// `exec` the kernel folds the peak of the memory the child was forked with (its parent's)
/// into the child's figure. So a report, which holds its query files, measures through
/// `loadtest measure`, a small process of its own that calls this.
pub fn measure(command: &mut Command) -> std::io::Result<Cost> {
    let started = Instant::now();
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it and the status for our own child, which
    // is reaped here (the Child handle is not waited on again).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if waited != pid {
        return Err(std::io::Error::last_os_error());
    }
    let wall = started.elapsed();
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Ok(Cost {
        wall,
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
        peak_rss: usage.ru_maxrss as u64 * 1024,
        success: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
    })
}

/// A server under measurement: started pinned, its memory sampled twice a second until it
/// stops, killed when dropped.
pub struct Server {
    child: Child,
    started: SystemTime,
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<[f64; 2]>>>,
    sampler: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Starts `command` on `cpu`, its output appended to `log`.
    pub fn start(command: &mut Command, cpu: Option<usize>, log: &Path) -> anyhow::Result<Self> {
        let out = std::fs::File::create(log)?;
        let started = SystemTime::now();
        let child = pin(command, cpu)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .map_err(|e| anyhow::anyhow!("starting {:?}: {e}", command.get_program()))?;
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let pid = child.id();
        let sampler = {
            let (stop, samples) = (stop.clone(), samples.clone());
            std::thread::spawn(move || {
                let begun = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    let bytes = memory_bytes(pid);
                    let point = [
                        begun.elapsed().as_secs_f64(),
                        bytes as f64 / (1 << 20) as f64,
                    ];
                    samples.lock().expect("no panic while held").push(point);
                    // Woken early when the server stops.
                    std::thread::park_timeout(Duration::from_millis(500));
                }
            })
        };
        Ok(Self {
            child,
            started,
            stop,
            samples,
            sampler: Some(sampler),
        })
    }

    /// The server's process id (the root of its tree).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// When it was started.
    pub fn started(&self) -> SystemTime {
        self.started
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Stops it; returns its memory over time (seconds since start, MiB).
    pub fn stop(mut self) -> Vec<[f64; 2]> {
        self.halt();
        std::mem::take(&mut *self.samples.lock().expect("no panic while held"))
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(sampler) = self.sampler.take() {
            sampler.thread().unpark();
            let _ = sampler.join();
        }
        // SIGTERM first, so that a server which forks (NSD) takes its children down.
        // SAFETY: kill has no memory effects; the pid is our own unreaped child.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.sampler.is_some() {
            self.halt();
        }
    }
}

/// A port on 127.0.0.1.
pub fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Waits until something accepts connections on `addr`.
pub fn accepting(addr: SocketAddr, log: &Path) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while std::net::TcpStream::connect(addr).is_err() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "nothing listens on {addr}: see {}",
            log.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Polls `done` every 10 ms until it holds, for up to two minutes.
pub fn wait_until(what: &str, done: &dyn Fn() -> anyhow::Result<bool>) -> anyhow::Result<()> {
    wait_within(what, Duration::from_secs(120), done)
}

/// Polls `done` every 10 ms until it holds, for up to `within`.
pub fn wait_within(
    what: &str,
    within: Duration,
    done: &dyn Fn() -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    while !done()? {
        anyhow::ensure!(
            Instant::now() < deadline,
            "waited {} s for {what}",
            within.as_secs()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}
