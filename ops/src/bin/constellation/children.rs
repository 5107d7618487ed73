//! The processes a constellation runs: started with their output in log files, kept running
//! (a process that dies is started again, with back-off, and the restart is logged), stopped
//! together (SIGTERM, then SIGKILL after a grace period), and never outliving this process.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

/// The first wait before starting a process again; it doubles at each death in a row, up to
/// [`MAX_BACKOFF`], and starts over once the process has run for [`STEADY`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
const STEADY: Duration = Duration::from_secs(60);

/// How to start a process (again).
struct Recipe {
    program: OsString,
    args: Vec<OsString>,
    envs: Vec<(OsString, Option<OsString>)>,
    dir: PathBuf,
    log: PathBuf,
}

impl Recipe {
    fn start(&self, name: &str, append: bool) -> anyhow::Result<Child> {
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(&self.log)
            .with_context(|| format!("opening {}", self.log.display()))?;
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file);
        for (key, value) in &self.envs {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        // SAFETY: prctl is async-signal-safe; it asks the kernel to send SIGTERM to the child
        // when this process dies, however it dies.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        command.spawn().with_context(|| format!("starting {name}"))
    }
}

struct Process {
    name: String,
    recipe: Recipe,
    /// Running, or dead and to be started again at `due`.
    child: Option<Child>,
    started: Instant,
    backoff: Duration,
    due: Instant,
}

/// The running processes, stopped when dropped.
#[derive(Default)]
pub struct Children(Vec<Process>);

impl Children {
    /// Starts `command` in `dir` with standard error (its log) in `log`.
    pub fn spawn(
        &mut self,
        name: &str,
        command: Command,
        dir: &Path,
        log: &Path,
    ) -> anyhow::Result<()> {
        let recipe = Recipe {
            program: command.get_program().to_owned(),
            args: command.get_args().map(|a| a.to_owned()).collect(),
            envs: command
                .get_envs()
                .map(|(k, v)| (k.to_owned(), v.map(|v| v.to_owned())))
                .collect(),
            dir: dir.to_owned(),
            log: log.to_owned(),
        };
        let child = recipe.start(name, false)?;
        let now = Instant::now();
        self.0.push(Process {
            name: name.to_owned(),
            recipe,
            child: Some(child),
            started: now,
            backoff: FIRST_BACKOFF,
            due: now,
        });
        Ok(())
    }

    /// The first process that has exited, if any: its name and status (while the
    /// constellation is being set up, when a death is a failure).
    pub fn exited(&mut self) -> Option<(String, std::process::ExitStatus)> {
        self.0.iter_mut().find_map(|p| {
            let status = p.child.as_mut()?.try_wait().ok().flatten()?;
            Some((p.name.clone(), status))
        })
    }

    /// Keeps every process running: one that died is started again after its back-off (1 s,
    /// doubling at each death in a row up to 30 s; back to 1 s once it has run a minute).
    /// Each death and restart is logged to standard error.
    pub fn supervise(&mut self) {
        let now = Instant::now();
        for p in &mut self.0 {
            match &mut p.child {
                Some(child) => {
                    let Ok(Some(status)) = child.try_wait() else {
                        continue;
                    };
                    if now.duration_since(p.started) >= STEADY {
                        p.backoff = FIRST_BACKOFF;
                    }
                    p.child = None;
                    p.due = now + p.backoff;
                    eprintln!(
                        "== {} stopped ({status}); starting it again in {} s (its log: {})",
                        p.name,
                        p.backoff.as_secs(),
                        p.recipe.log.display()
                    );
                    p.backoff = (p.backoff * 2).min(MAX_BACKOFF);
                }
                None if now >= p.due => match p.recipe.start(&p.name, true) {
                    Ok(child) => {
                        eprintln!("== {} started again (pid {})", p.name, child.id());
                        p.child = Some(child);
                        p.started = now;
                    }
                    Err(error) => {
                        eprintln!(
                            "== {}: {error:#}; trying again in {} s",
                            p.name,
                            p.backoff.as_secs()
                        );
                        p.due = now + p.backoff;
                        p.backoff = (p.backoff * 2).min(MAX_BACKOFF);
                    }
                },
                None => {}
            }
        }
    }

    /// Stops every process: SIGTERM, and SIGKILL for those still running 5 s later.
    pub fn stop(&mut self) {
        for child in self.0.iter().filter_map(|p| p.child.as_ref()) {
            // SAFETY: signalling a child this process started and has not reaped.
            unsafe {
                libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        for child in self.0.iter_mut().filter_map(|p| p.child.as_mut()) {
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        self.0.clear();
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        self.stop();
    }
}
