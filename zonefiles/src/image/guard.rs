//! Survival of an image file changed in place under its mapping.
//!
//! Images are replaced by rename, never rewritten; but an operator's `cp` over a served image, a
//! truncation or a disk error can still shrink the file under a live mapping, and reading a
//! mapped page past the file's new end raises SIGBUS, which kills the process. This module keeps
//! a table of the address ranges of mapped images and a SIGBUS handler: a fault inside a
//! registered range has its page replaced by a page of zeros (reads then fail the image's
//! structure checks, as a damaged image's do), the range is marked damaged, and the faulting
//! read continues; a fault anywhere else is handed back to the default action.
//!
//! The handler only reads atomics and makes one `mmap` system call; it allocates nothing and
//! takes no lock. The table holds [`SLOTS`] images at once; more are mapped unguarded.

use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Images that can be guarded at once.
pub const SLOTS: usize = 1024;

struct Range {
    start: AtomicUsize,
    end: AtomicUsize,
    damaged: AtomicBool,
}

#[allow(clippy::declare_interior_mutable_const)]
const FREE: Range = Range {
    start: AtomicUsize::new(0),
    end: AtomicUsize::new(0),
    damaged: AtomicBool::new(false),
};

static RANGES: [Range; SLOTS] = [FREE; SLOTS];
static PAGE: AtomicUsize = AtomicUsize::new(4096);
static INSTALL: Once = Once::new();

/// A registered mapping; dropping it (before the mapping goes) unregisters it.
#[derive(Debug)]
pub struct Guard {
    slot: usize,
}

impl Guard {
    /// Registers the mapping `[start, start + len)`; `None` when the table is full or the
    /// range is empty.
    pub fn new(start: *const u8, len: usize) -> Option<Guard> {
        if len == 0 {
            return None;
        }
        INSTALL.call_once(install);
        let start = start as usize;
        for (slot, range) in RANGES.iter().enumerate() {
            if range
                .start
                .compare_exchange(0, usize::MAX, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                range.damaged.store(false, Ordering::Relaxed);
                range.end.store(start + len, Ordering::Release);
                range.start.store(start, Ordering::Release);
                return Some(Guard { slot });
            }
        }
        None
    }

    /// True once a read of the mapping hit a page the file no longer has.
    pub fn damaged(&self) -> bool {
        RANGES[self.slot].damaged.load(Ordering::Acquire)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let range = &RANGES[self.slot];
        range.start.store(usize::MAX, Ordering::Release);
        range.end.store(0, Ordering::Release);
        range.start.store(0, Ordering::Release);
    }
}

fn install() {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if page > 0 {
        PAGE.store(page as usize, Ordering::Relaxed);
    }
    // SAFETY: a zeroed sigaction is a valid value to fill in; the handler has the signature
    // SA_SIGINFO asks for, and is async-signal-safe (see the module docs).
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigbus as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_NODEFER;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
    }
}

extern "C" fn on_sigbus(
    _signal: libc::c_int,
    info: *mut libc::siginfo_t,
    _context: *mut libc::c_void,
) {
    // SAFETY: the kernel passes a valid siginfo for SIGBUS with SA_SIGINFO.
    let address = unsafe { (*info).si_addr() } as usize;
    for range in &RANGES {
        let start = range.start.load(Ordering::Acquire);
        if start == 0 || start == usize::MAX {
            continue;
        }
        if address >= start && address < range.end.load(Ordering::Acquire) {
            let page = address & !(PAGE.load(Ordering::Relaxed) - 1);
            // SAFETY: replaces one page of a live read-only mapping with zeros; nothing else
            // maps that address.
            let mapped = unsafe {
                libc::mmap(
                    page as *mut libc::c_void,
                    PAGE.load(Ordering::Relaxed),
                    libc::PROT_READ,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                    -1,
                    0,
                )
            };
            if mapped != libc::MAP_FAILED {
                range.damaged.store(true, Ordering::Release);
                return;
            }
        }
    }
    // Not an image: the default action (the fault happens again on return and ends the
    // process, as it would have without this handler).
    // SAFETY: resetting a signal's disposition is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGBUS, libc::SIG_DFL);
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn a_truncated_mapping_reads_zeros_and_is_marked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("image");
        let page = PAGE.load(Ordering::Relaxed).max(4096);
        std::fs::write(&path, vec![7u8; page * 4]).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        // SAFETY: the test changes the file on purpose; the guard is what is tested.
        let map = unsafe { memmap2::Mmap::map(&file).unwrap() };
        let guard = Guard::new(map.as_ptr(), map.len()).unwrap();
        assert_eq!(map[page * 3], 7);
        assert!(!guard.damaged());
        // Truncate as `cp` does, then write less than before.
        let mut rewrite = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        rewrite.write_all(&vec![9u8; page]).unwrap();
        rewrite.sync_all().unwrap();
        let past_the_end = std::hint::black_box(&map[..])[page * 3];
        assert_eq!(past_the_end, 0, "a page past the new end reads as zeros");
        assert!(guard.damaged());
        assert_eq!(
            map[0], 9,
            "the page still in the file shows its new content"
        );
        drop(guard);
    }
}
