//! What a process does around its sockets and pipes: binding with a hint an operator can act
//! on, dropping root once the privileged sockets are open, and a command's output into a pipe
//! that closes early.

use anyhow::{Context, Result};

/// The user and group ids of `user`.
pub fn user_ids(user: &str) -> Result<(libc::uid_t, libc::gid_t)> {
    let name = std::ffi::CString::new(user).context("user name")?;
    // SAFETY: getpwnam returns a pointer into static storage or null; it is read at once.
    let entry = unsafe { libc::getpwnam(name.as_ptr()) };
    anyhow::ensure!(!entry.is_null(), "no such user: {user}");
    // SAFETY: checked non-null above.
    Ok(unsafe { ((*entry).pw_uid, (*entry).pw_gid) })
}

/// Lets a command whose output goes into a pipe end quietly when the reader goes away early
/// (`control-plane dnssec status | head`), as other Unix commands do: SIGPIPE back to its
/// default action. Rust's runtime ignores it, so that a write to the closed pipe fails, and
/// `println!` panics on that failure. Call it first thing in `main`, before any thread starts,
/// and only in commands: a server keeps SIGPIPE ignored (its sockets' writes do not raise it,
/// but its pipes' would).
pub fn end_quietly_on_closed_pipe() {
    // SAFETY: sets one signal's disposition, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// `cargo` (the one running this process, if any) without the variables cargo sets for a
/// package's run, test or build script (`CARGO_PKG_*`, `CARGO_MANIFEST_DIR`, …). Build
/// scripts watch some of them (ring's does): a cargo started with them from `cargo run` or a
/// test would build those crates, and everything above them, again.
pub fn cargo() -> std::process::Command {
    const SET_BY_CARGO: [&str; 7] = [
        "CARGO_PKG_",
        "CARGO_MANIFEST_",
        "CARGO_BIN_",
        "CARGO_CRATE_",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
    ];
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = std::process::Command::new(program);
    for (name, _) in std::env::vars_os() {
        let text = name.to_string_lossy();
        if SET_BY_CARGO.iter().any(|prefix| text.starts_with(prefix)) {
            command.env_remove(&name);
        }
    }
    command
}

/// Binds a TCP listener, with a hint when the error is a common one.
pub async fn bind_tcp(addr: std::net::SocketAddr) -> Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await.map_err(|error| {
        let hint = match error.kind() {
            std::io::ErrorKind::PermissionDenied => {
                ": ports below 1024 need root or CAP_NET_BIND_SERVICE"
            }
            std::io::ErrorKind::AddrInUse => ": another process listens there",
            _ => "",
        };
        anyhow::anyhow!("binding {addr}{hint}: {error}")
    })
}

/// Switches to `user` (its group first), once the privileged sockets are open.
pub fn drop_privileges(user: &str) -> Result<()> {
    let (uid, gid) = user_ids(user)?;
    // SAFETY: plain system calls; their results are checked.
    unsafe {
        anyhow::ensure!(
            libc::setgroups(0, std::ptr::null()) == 0,
            "setgroups failed"
        );
        anyhow::ensure!(libc::setgid(gid) == 0, "setgid({gid}) failed");
        anyhow::ensure!(libc::setuid(uid) == 0, "setuid({uid}) failed");
    }
    tracing::info!(user, uid, gid, "privileges dropped");
    Ok(())
}

/// This host's name (`/proc/sys/kernel/hostname`), or `fallback` where it cannot be read.
pub fn hostname(fallback: &str) -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| fallback.to_owned())
}

/// This boot's id (`/proc/sys/kernel/random/boot_id`): a process that finds the id it wrote
/// down still current knows the machine has not stopped since, so every write made then is
/// still there (in the page cache or on disk) even without an fsync. `None` where it cannot be
/// read.
pub fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// Gives the memory the allocator holds free back to the system (glibc's `malloc_trim`): after
/// a large transient allocation (a snapshot built in memory), the process's resident size
/// falls back to what it uses.
pub fn release_free_memory() {
    // SAFETY: malloc_trim only returns free pages of glibc's heap to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Lowers the calling thread's CPU priority to `nice` (Linux: a thread's own nice value), so
/// that background work (index checks, an audit's read) yields to answering and applying.
pub fn lower_thread_priority(nice: i32) {
    // SAFETY: setpriority on the calling thread (who 0 is the caller); the result is ignored.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, nice);
    }
}
