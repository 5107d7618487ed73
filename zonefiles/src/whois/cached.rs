//! Reading a file only when the kernel holds it in memory.
//!
//! Most queries read a record the page cache already holds. Handing every read to a blocking
//! thread costs two context switches per query, a third of the core at full load, so the
//! server first answers on the connection's own thread with reads that may not wait
//! ([`Wait::No`]): the path is resolved from the dentry cache alone (`openat2` with
//! `RESOLVE_CACHED`, Linux 5.12) and the bytes are read with `preadv2`'s `RWF_NOWAIT`. When
//! either would need the disk the read fails with [`std::io::ErrorKind::WouldBlock`] and the
//! query is answered again on a thread that may wait ([`Wait::Allowed`]). Elsewhere than Linux
//! every `Wait::No` read says `WouldBlock`.

use std::io;
use std::path::Path;

/// Whether a read may wait for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Read whatever it takes.
    Allowed,
    /// Only from memory; [`std::io::ErrorKind::WouldBlock`] otherwise.
    No,
}

/// The whole file at `path`.
pub fn read(path: &Path, wait: Wait) -> io::Result<Vec<u8>> {
    match wait {
        Wait::Allowed => std::fs::read(path),
        Wait::No => read_cached(path),
    }
}

#[cfg(target_os = "linux")]
fn read_cached(path: &Path) -> io::Result<Vec<u8>> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;

    let would_block = || io::Error::from(io::ErrorKind::WouldBlock);
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: open_how is plain integers, for which zero is valid.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (libc::O_RDONLY | libc::O_CLOEXEC) as u64;
    how.resolve = libc::RESOLVE_CACHED;
    // SAFETY: the path is NUL-terminated and `how` is an open_how of the size passed.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            libc::AT_FDCWD,
            c_path.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd < 0 {
        let error = io::Error::last_os_error();
        // A missing file is known from a cached negative entry; anything else (EAGAIN: not
        // cached, EINVAL/ENOSYS: an older kernel) is for the read that may wait to settle.
        return Err(match error.raw_os_error() {
            Some(libc::ENOENT | libc::ENOTDIR) => error,
            _ => would_block(),
        });
    }
    // SAFETY: openat2 returned a new descriptor, owned from here on.
    let file = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    let mut bytes: Vec<u8> = Vec::with_capacity(4096);
    loop {
        if bytes.len() == bytes.capacity() {
            bytes.reserve(bytes.len());
        }
        let spare = bytes.spare_capacity_mut();
        let iov = libc::iovec {
            iov_base: spare.as_mut_ptr().cast(),
            iov_len: spare.len(),
        };
        // SAFETY: the iovec covers the vector's spare capacity, which outlives the call.
        let n = unsafe {
            libc::preadv2(
                file.as_raw_fd(),
                &iov,
                1,
                bytes.len() as libc::off_t,
                libc::RWF_NOWAIT,
            )
        };
        match n {
            0 => return Ok(bytes),
            // SAFETY: preadv2 initialised the first n bytes of the spare capacity.
            n if n > 0 => unsafe { bytes.set_len(bytes.len() + n as usize) },
            _ => {
                let error = io::Error::last_os_error();
                return Err(match error.raw_os_error() {
                    Some(libc::EINTR) => continue,
                    Some(libc::EAGAIN | libc::EOPNOTSUPP | libc::EINVAL) => would_block(),
                    _ => error,
                });
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn read_cached(_: &Path) -> io::Result<Vec<u8>> {
    Err(io::Error::from(io::ErrorKind::WouldBlock))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_cache_holds_and_says_what_it_lacks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("record.json");
        let body: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &body).unwrap();
        // Just written: in the page cache, read whole across several calls.
        assert_eq!(read(&path, Wait::No).unwrap(), body);
        assert_eq!(read(&path, Wait::Allowed).unwrap(), body);
        let missing = dir.path().join("free.json");
        assert!(std::fs::read(&missing).is_err());
        // The failed look-up left a negative entry: "no such file" without waiting.
        assert_eq!(
            read(&missing, Wait::No).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        std::fs::write(dir.path().join("empty"), b"").unwrap();
        assert!(
            read(&dir.path().join("empty"), Wait::No)
                .unwrap()
                .is_empty()
        );

        // Written to disk and dropped from the page cache: only the read that waits has it.
        let file = std::fs::File::open(&path).unwrap();
        // SAFETY: plain system calls on a descriptor owned here.
        let drop_cached = || unsafe {
            file.sync_all().unwrap();
            let mut fs: libc::statfs = std::mem::zeroed();
            libc::fstatfs(std::os::fd::AsRawFd::as_raw_fd(&file), &mut fs);
            let advised = libc::posix_fadvise(
                std::os::fd::AsRawFd::as_raw_fd(&file),
                0,
                0,
                libc::POSIX_FADV_DONTNEED,
            );
            (advised, fs.f_type == libc::TMPFS_MAGIC)
        };
        let (advised, on_tmpfs) = drop_cached();
        assert_eq!(advised, 0);
        if !on_tmpfs {
            // (tmpfs keeps files nowhere but in the page cache.) The advice is only advice: a
            // page still under writeback on a busy machine stays, so it is given again.
            let mut outcome = read(&path, Wait::No);
            for _ in 0..50 {
                if outcome.is_err() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
                drop_cached();
                outcome = read(&path, Wait::No);
            }
            assert_eq!(outcome.unwrap_err().kind(), io::ErrorKind::WouldBlock);
        }
        assert_eq!(read(&path, Wait::Allowed).unwrap(), body);
        assert_eq!(read(&path, Wait::No).unwrap(), body);
    }
}
