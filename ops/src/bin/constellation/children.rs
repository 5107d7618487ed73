//! The processes a constellation runs: started with their output in log files, stopped
//! together (SIGTERM, then SIGKILL after a grace period), and never outliving this process.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

/// The running processes, stopped when dropped.
#[derive(Default)]
pub struct Children(Vec<(String, Child)>);

impl Children {
    /// Starts `command` in `dir` with standard error (its log) in `log`.
    pub fn spawn(
        &mut self,
        name: &str,
        mut command: Command,
        dir: &Path,
        log: &Path,
    ) -> anyhow::Result<()> {
        let log_file =
            std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        command
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file);
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
        let child = command
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        self.0.push((name.to_owned(), child));
        Ok(())
    }

    /// The first process that has exited, if any: its name and status.
    pub fn exited(&mut self) -> Option<(String, std::process::ExitStatus)> {
        self.0.iter_mut().find_map(|(name, child)| {
            child
                .try_wait()
                .ok()
                .flatten()
                .map(|status| (name.clone(), status))
        })
    }

    /// Stops every process: SIGTERM, and SIGKILL for those still running 5 s later.
    pub fn stop(&mut self) {
        for (_, child) in &self.0 {
            // SAFETY: signalling a child this process started and has not reaped.
            unsafe {
                libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        for (_, child) in &mut self.0 {
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
