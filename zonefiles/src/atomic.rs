//! Replacing a file atomically: readers see the old file or the new one, never a mix, and a
//! crash leaves one of the two (`docs/architecture.md`, contracts 1 and 5).

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

static TEMP: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to a temporary file beside `path` (creating the folder if needed), fsyncs it,
/// renames it over `path`, and fsyncs the folder so the rename is durable. The temporary name
/// is unique per process and call, so several threads may write into one folder at once.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomically_with(path, |file| file.write_all(bytes))
}

/// As [`write_atomically`], with the file's contents written by `write` (through a buffer).
pub fn write_atomically_with(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<&std::fs::File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    replace(path, Durability::Synced, write)
}

/// As [`write_atomically_with`] without any fsync: readers still see the old file or the new
/// one (the rename is atomic), and so does the file system after the process dies, but after
/// the machine stops the new file may be missing or empty until something syncs the file
/// system (`syncfs`). For files a checkpoint makes durable.
pub fn replace_unsynced_with(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<&std::fs::File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    replace(path, Durability::Unsynced, write)
}

#[derive(PartialEq)]
enum Durability {
    Synced,
    Unsynced,
}

fn replace(
    path: &Path,
    durability: Durability,
    write: impl FnOnce(&mut std::io::BufWriter<&std::fs::File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(temporary_name(path));
    let written = (|| {
        let file = std::fs::File::create(&tmp)?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, &file);
        write(&mut out)?;
        out.flush()?;
        drop(out);
        if durability == Durability::Synced {
            file.sync_all()?;
        }
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    if durability == Durability::Synced {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// A name for a temporary file beside `path`: hidden, ending in `.tmp`, unique per process and
/// call.
fn temporary_name(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        TEMP.fetch_add(1, Ordering::Relaxed)
    )
}
