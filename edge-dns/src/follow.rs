//! What is served, and how it follows the zone directories (`docs/architecture.md`, contract 4).
//!
//! [`State`] is everything the query and transfer paths read: the engine's zone set and, per
//! zone, the journal history that IXFR answers from. It sits behind an `ArcSwap`; a change
//! builds a whole new `State` and swaps the pointer, so a query sees a zone before or after a
//! changeset, never half of it, and no lock is ever taken on the query path.
//!
//! A [`Follower`] owns the sources: for a zone directory, the current image (mmapped), a
//! [`JournalReader`] and the changesets after the image. Each [`Follower::poll`] (every 10 ms)
//! reads `CURRENT` and whatever the journal gained; the changesets after the image become
//! overlays on it ([`crate::view`]), served until the update-agent's next compaction makes a
//! new image current: a poll builds the newer overlay again with what the journal gained, or
//! freezes it and starts a new one. A change that does not apply is logged once and the zone
//! keeps its last good version.
//!
//! At start the images are opened trusted ([`Open::Trusted`]: the header only, so the server
//! answers within milliseconds however large the zone) and their index is checked on a
//! background thread at the lowest priority; queries meanwhile run under `catch_unwind` (see
//! [`crate::udp`]), a query that meets bytes that do not read is answered SERVFAIL and marks
//! the zone ([`View::mark_damaged`]), and an image that fails the check or was so marked is
//! withdrawn and logged. Images that
//! arrive later (compactions, reloads) are checked before they serve, while the previous
//! version keeps answering.
//!
//! An image file changed in place under its mapping (an operator's `cp` over it, a truncation)
//! cannot take the server down — a read past the file's new end is caught
//! ([`zonefiles::image::guard`]) — and is noticed at the next poll
//! ([`Image::changed_in_place`]): the zone is withdrawn and answered SERVFAIL until an operator
//! restores it and sends SIGHUP, and the log says so. Withdrawn zones are in the metrics.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use zonefiles::Name;
use zonefiles::changeset::Changeset;
use zonefiles::image::{Image, ImageError};
use zonefiles::journal::{JournalError, JournalReader, NewEntries};
use zonefiles::zonedir::{ZoneDir, ZoneDirError};

use crate::config::ZoneConfig;
use crate::engine::Zones;
use crate::history::History;
use crate::view::{self, View};

/// How often zone directories are looked at.
pub const POLL: Duration = Duration::from_millis(10);

/// Why a zone could not be loaded, or a change of it not followed.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// A zone is configured with neither an image nor a directory (or both).
    #[error("a zone needs an image or a directory")]
    NoSource,
    /// An image does not open or fails its check.
    #[error("zone image {path}: {source}")]
    Image {
        /// The image file.
        path: PathBuf,
        /// Why.
        source: ImageError,
    },
    /// A zone directory cannot be read.
    #[error("zone directory {path}: {source}")]
    Directory {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: ZoneDirError,
    },
    /// The journal cannot be read.
    #[error("journal: {0}")]
    Journal(#[from] JournalError),
    /// The changesets do not apply to the image.
    #[error("the changes do not apply: {0}")]
    Changes(#[from] view::ViewError),
    /// An earlier change did not apply, so later ones cannot either.
    #[error("an earlier change did not apply")]
    Stuck,
}

/// One zone as served.
#[derive(Debug, Clone)]
pub struct ZoneState {
    /// The zone as answered: its image and the changes since.
    pub view: Arc<View>,
    /// The journal's changesets, oldest first, ending at the serial served (IXFR).
    pub history: History,
    /// The zone's configuration (transfer rules, NOTIFY targets).
    pub config: Arc<ZoneConfig>,
}

/// Everything the query paths read, swapped as one.
#[derive(Debug, Default)]
pub struct State {
    /// The engine's view.
    pub zones: Zones,
    /// Per zone, for transfers.
    pub served: Vec<ZoneState>,
}

impl State {
    /// The state serving these zones.
    pub fn new(served: Vec<ZoneState>) -> State {
        State::with_withdrawn(served, Vec::new())
    }

    /// The state serving these zones, with these withdrawn (answered SERVFAIL).
    pub fn with_withdrawn(served: Vec<ZoneState>, withdrawn: Vec<Name>) -> State {
        State {
            zones: Zones::with_withdrawn(
                served.iter().map(|z| z.view.clone()).collect(),
                withdrawn,
            ),
            served,
        }
    }

    /// The zone whose origin is `origin`.
    pub fn zone(&self, origin: &Name) -> Option<&ZoneState> {
        self.served.iter().find(|z| z.view.origin() == origin)
    }
}

/// A zone directory being followed.
struct Directory {
    dir: ZoneDir,
    /// The image file `CURRENT` named when last read.
    current: PathBuf,
    reader: JournalReader,
    /// Changesets after `base`, applied in the served overlays.
    pending: Vec<Arc<Changeset>>,
    /// A change failed to apply; wait for the next compaction or journal rewrite.
    stuck: bool,
    /// An image `CURRENT` named that could not be opened: not tried again.
    failed: Option<PathBuf>,
}

struct Source {
    state: ZoneState,
    directory: Option<Directory>,
    /// The background check of an image opened trusted: set when it ends.
    check: Arc<Check>,
}

/// The outcome of a background index check; empty while it runs.
type Check = std::sync::OnceLock<Result<(), String>>;

/// How the images are opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    /// Header only, the index checked in the background: at start, when nothing else serves.
    Trusted,
    /// Header and index checked before serving: reloads, while the old zones still answer.
    Checked,
}

/// Loads and follows the configured zones.
pub struct Follower {
    sources: Vec<Source>,
    /// Zones withdrawn since the last load: their images were damaged or changed in place.
    withdrawn: Vec<Name>,
}

/// A zone whose served state changed at a [`Follower::poll`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    /// The zone.
    pub zone: Name,
    /// Its serial now.
    pub serial: u32,
    /// What changed.
    pub how: Change,
}

/// What changed in a zone's served state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A new serial: secondaries are notified.
    Serial,
    /// The same serial from another image: a compaction, or a zone withdrawn.
    Image,
}

impl Follower {
    /// Opens every configured zone.
    pub fn load(zones: &[ZoneConfig], open: Open) -> Result<Follower, FollowError> {
        let mut sources = Vec::new();
        for config in zones {
            let config = Arc::new(config.clone());
            sources.push(match (&config.image, &config.directory) {
                (Some(path), _) => {
                    let started = Instant::now();
                    let image = match open {
                        Open::Trusted => Image::open_trusted(path),
                        Open::Checked => Image::open(path),
                    }
                    .map_err(|source| FollowError::Image {
                        path: path.clone(),
                        source,
                    })?;
                    let image = Arc::new(image);
                    let check = check_image(&image, path, open)?;
                    let view = View::plain(image);
                    log_loaded(&view, path, started, 0);
                    Source {
                        state: ZoneState {
                            view: Arc::new(view),
                            history: History::default(),
                            config,
                        },
                        directory: None,
                        check,
                    }
                }
                (None, Some(path)) => {
                    let (directory, state, check) = open_directory(path, config.clone(), open)?;
                    Source {
                        state,
                        directory: Some(directory),
                        check,
                    }
                }
                (None, None) => return Err(FollowError::NoSource),
            });
        }
        Ok(Follower {
            sources,
            withdrawn: Vec::new(),
        })
    }

    /// The state to serve now.
    pub fn state(&self) -> State {
        State::with_withdrawn(
            self.sources.iter().map(|s| s.state.clone()).collect(),
            self.withdrawn.clone(),
        )
    }

    /// Looks at every zone directory; returns the zones whose state changed.
    pub fn poll(&mut self) -> Vec<Changed> {
        let mut changed = Vec::new();
        let withdrawn = &mut self.withdrawn;
        self.sources.retain(|source| {
            let view = &source.state.view;
            if let Some(Err(error)) = source.check.get() {
                tracing::error!(
                    zone = %view.origin(),
                    serial = view.serial(),
                    error,
                    "zone image damaged: the zone is withdrawn (SERVFAIL); compile it again \
                     (zonefiles compile, or zonefiles dir compact for a directory) and send SIGHUP"
                );
            } else if view.is_damaged() {
                tracing::error!(
                    zone = %view.origin(),
                    serial = view.serial(),
                    "zone image damaged: a query could not read it; the zone is withdrawn \
                     (SERVFAIL); compile it again (zonefiles compile, or zonefiles dir compact \
                     for a directory) and send SIGHUP"
                );
            } else if let Some(how) = view.base().changed_in_place() {
                tracing::error!(
                    zone = %view.origin(),
                    serial = view.serial(),
                    how,
                    "zone image changed in place under the server: the zone is withdrawn \
                     (SERVFAIL); images must be replaced by rename (zonefiles compile -o, \
                     zonefiles dir): put a good image in place that way and send SIGHUP"
                );
            } else {
                return true;
            }
            withdrawn.push(view.origin().clone());
            changed.push(Changed {
                zone: view.origin().clone(),
                serial: view.serial(),
                how: Change::Image,
            });
            false
        });
        for source in &mut self.sources {
            let before = source.state.view.serial();
            match follow(source) {
                Ok(Some(state)) => {
                    source.state = state;
                    let serial = source.state.view.serial();
                    let origin = source.state.view.origin().clone();
                    let how = match serial == before {
                        true => Change::Image,
                        false => Change::Serial,
                    };
                    changed.push(Changed {
                        zone: origin,
                        serial,
                        how,
                    });
                }
                Ok(None) => {}
                Err(error) => {
                    let Some(directory) = &mut source.directory else {
                        continue;
                    };
                    if !directory.stuck {
                        tracing::error!(
                            zone = %source.state.view.origin(),
                            dir = %directory.dir.path().display(),
                            error = format!("{error:#}"),
                            "zone change not applied; still serving serial {before}"
                        );
                    }
                    directory.stuck = true;
                }
            }
        }
        changed
    }
}

fn log_loaded(view: &View, path: &std::path::Path, started: Instant, changesets: usize) {
    tracing::info!(
        zone = %view.origin(),
        serial = view.serial(),
        names = view.base().header().nodes,
        path = %path.display(),
        changesets,
        load_ms = started.elapsed().as_millis() as u64,
        "zone loaded"
    );
}

/// Opens a zone directory: its current image with the journal's changesets applied.
fn open_directory(
    path: &std::path::Path,
    config: Arc<ZoneConfig>,
    open: Open,
) -> Result<(Directory, ZoneState, Arc<Check>), FollowError> {
    let started = Instant::now();
    let directory_error = |source| FollowError::Directory {
        path: path.to_path_buf(),
        source,
    };
    let dir = ZoneDir::open(path).map_err(directory_error)?;
    let snapshot = match open {
        Open::Trusted => dir.load_trusted(),
        Open::Checked => dir.load(),
    }
    .map_err(directory_error)?;
    let base = Arc::new(snapshot.image);
    // Applying changesets reads the image (all of it, for a signed zone): check it first.
    let open = if open == Open::Trusted && !snapshot.changesets.is_empty() {
        check_now(&base, &snapshot.image_path)?;
        Open::Checked
    } else {
        open
    };
    let check = check_image(&base, &snapshot.image_path, open)?;
    let history: Vec<Arc<Changeset>> = snapshot.history.into_iter().map(Arc::new).collect();
    let pending = history[history.len() - snapshot.changesets.len()..].to_vec();
    let view = Arc::new(view::build(base.clone(), &pending)?);
    log_loaded(&view, &snapshot.image_path, started, pending.len());
    let state = ZoneState {
        view,
        history: History::new(history),
        config,
    };
    let directory = Directory {
        dir,
        current: snapshot.image_path,
        reader: snapshot.reader,
        pending,
        stuck: false,
        failed: None,
    };
    Ok((directory, state, check))
}

/// One look at a directory: the new state if anything changed.
fn follow(source: &mut Source) -> Result<Option<ZoneState>, FollowError> {
    let (Some(directory), served) = (&mut source.directory, &source.state) else {
        return Ok(None);
    };
    let current = directory
        .dir
        .current_image()
        .map_err(|source| FollowError::Directory {
            path: directory.dir.path().to_path_buf(),
            source,
        })?;
    let appended = match directory.reader.read_new()? {
        _ if current != directory.current => None,
        NewEntries::Replaced => None,
        NewEntries::Appended(new) => Some(new),
    };
    let Some(new) = appended else {
        // A compaction made a new image current, or the journal was rewritten: checked before
        // it serves.
        if directory.failed.as_ref() == Some(&current) {
            return Ok(None);
        }
        let opened = open_directory(directory.dir.path(), served.config.clone(), Open::Checked);
        let (fresh, state, check) = opened.inspect_err(|_| directory.failed = Some(current))?;
        *directory = fresh;
        source.check = check;
        return Ok(Some(state));
    };
    if new.is_empty() {
        return Ok(None);
    }
    if directory.stuck {
        return Err(FollowError::Stuck);
    }
    let new: Vec<Arc<Changeset>> = new.into_iter().map(Arc::new).collect();
    directory.pending.extend(new.iter().cloned());
    let view = view::extend(&served.view, &directory.pending)?;
    Ok(Some(ZoneState {
        view: Arc::new(view),
        history: served.history.extended(&new),
        config: served.config.clone(),
    }))
}

/// After an image is opened: its index check, unless [`Image::open`] did it. A small image is
/// checked at once (a failed check is an error here); a large one answers at once, its look-ups
/// bounds-checked, while a thread of its own at the lowest priority checks it. The returned
/// slot holds the check's outcome when it ends.
fn check_image(
    image: &Arc<Image>,
    path: &std::path::Path,
    open: Open,
) -> Result<Arc<Check>, FollowError> {
    let check = Arc::new(Check::new());
    if open == Open::Checked {
        let _ = check.set(Ok(()));
        return Ok(check);
    }
    if image.header().nodes < 10_000 {
        check_now(image, path)?;
        let _ = check.set(Ok(()));
        return Ok(check);
    }
    let (shared, slot, file) = (image.clone(), check.clone(), path.to_owned());
    let spawned = std::thread::Builder::new()
        .name("check-index".into())
        .spawn(move || {
            // Lowest priority: on a busy core, answering comes first.
            ops::process::lower_thread_priority(19);
            let started = Instant::now();
            let checked = shared
                .check_index()
                .map_err(|e| format!("{}: {e}", file.display()));
            let passed = checked.is_ok();
            let _ = slot.set(checked);
            if passed {
                tracing::info!(
                    zone = %shared.origin(),
                    ms = started.elapsed().as_millis() as u64,
                    "zone image index checked"
                );
            }
        });
    if let Err(error) = spawned {
        // No thread: check here rather than serve an unchecked index.
        tracing::warn!(%error, "no thread for the background check; checking now");
        check_now(image, path)?;
        let _ = check.set(Ok(()));
    }
    Ok(check)
}

/// The index check of an image opened trusted, done before going on.
fn check_now(image: &Image, path: &std::path::Path) -> Result<(), FollowError> {
    image.check_index().map_err(|source| FollowError::Image {
        path: path.to_path_buf(),
        source,
    })
}

/// Messages to the follower thread.
pub enum Command {
    /// Reopen every zone (SIGHUP).
    Reload,
}

/// Runs the follower until `stop` is set: polls every [`POLL`], swaps in each new state and
/// reports changed zones to `changes` (the NOTIFY sender).
pub fn run(
    zones: Vec<ZoneConfig>,
    mut follower: Follower,
    state: Arc<ArcSwap<State>>,
    commands: mpsc::Receiver<Command>,
    changes: tokio::sync::mpsc::UnboundedSender<(Name, u32)>,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::Relaxed) {
        match commands.recv_timeout(POLL) {
            Ok(Command::Reload) => match Follower::load(&zones, Open::Checked) {
                Ok(new) => {
                    follower = new;
                    state.store(Arc::new(follower.state()));
                    tracing::info!("zones reloaded");
                    for zone in &follower.sources {
                        let view = &zone.state.view;
                        let _ = changes.send((view.origin().clone(), view.serial()));
                    }
                    continue;
                }
                Err(error) => {
                    tracing::error!(
                        error = format!("{error:#}"),
                        "reload failed; still serving the previous zones"
                    );
                }
            },
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
        let started = Instant::now();
        let changed = follower.poll();
        if changed.is_empty() {
            continue;
        }
        state.store(Arc::new(follower.state()));
        for Changed { zone, serial, how } in changed {
            let overlay = follower
                .sources
                .iter()
                .find(|s| *s.state.view.origin() == zone)
                .map_or(0, |s| s.state.view.overlay_labels());
            tracing::info!(
                %zone,
                serial,
                overlay_labels = overlay,
                apply_ms = started.elapsed().as_millis() as u64,
                "{}",
                match how {
                    Change::Serial => "zone updated",
                    Change::Image => "zone image replaced",
                }
            );
            if how == Change::Serial {
                let _ = changes.send((zone, serial));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zonefiles::master::{self, ParseOptions};
    use zonefiles::{Class, Zone};

    fn zone(serial: u32, delegations: u32) -> Zone {
        let mut text = format!(
            "tld. 3600 IN SOA a.nic.tld. h.nic.tld. {serial} 1800 900 604800 300\n\
             tld. 3600 IN NS a.nic.tld.\na.nic.tld. 3600 IN A 192.0.2.1\n"
        );
        for i in 0..delegations {
            text.push_str(&format!("d{i}.tld. 86400 IN NS ns1.d{i}.tld.\n"));
            text.push_str(&format!(
                "ns1.d{i}.tld. 86400 IN A 198.51.100.{}\n",
                i % 250
            ));
        }
        let records = master::parse_bytes("t", text.as_bytes(), ParseOptions::default()).unwrap();
        Zone::from_records(None, Class::IN, records).0
    }

    /// A delegation a change, 200 of them: the newer overlay stays small as overlays are
    /// frozen, and the zone served is the zone written, with every changeset in the history.
    #[test]
    fn changes_followed_through_freezes_serve_the_zone_written() {
        let work = tempfile::tempdir().unwrap();
        let path = work.path().join("zone");
        let dir = ZoneDir::create(&path, &zone(1, 0)).unwrap();
        let config = ZoneConfig {
            image: None,
            directory: Some(path),
            allow_transfer: Vec::new(),
            notify: Vec::new(),
        };
        let mut follower = Follower::load(&[config], Open::Checked).unwrap();
        let mut largest_newer = 0;
        let changes = 200;
        for n in 1..=changes {
            let cs = zonefiles::changeset::diff(&zone(n, n - 1), &zone(n + 1, n)).unwrap();
            dir.append(&cs).unwrap();
            follower.poll();
            let view = &follower.sources[0].state.view;
            assert_eq!(view.serial(), n + 1);
            largest_newer = largest_newer.max(view.newer_labels());
        }
        let state = &follower.sources[0].state;
        // Frozen every 32 changed partitions (the square root of those frozen stays below).
        assert_eq!(state.view.frozen_overlays(), 6);
        assert_eq!(largest_newer, view::FREEZE_MIN);
        let mut served = Vec::new();
        state
            .view
            .for_each_node(|name, node| {
                for rrset in node.rrsets() {
                    let (rtype, set) = rrset?;
                    for rdata in set.records() {
                        served.push((name.clone(), rtype, rdata?.to_vec()));
                    }
                }
                Ok(())
            })
            .unwrap();
        served.sort();
        let written = zone(changes + 1, changes);
        let mut expected: Vec<_> = written
            .records()
            .iter()
            .map(|r| (r.owner.clone(), r.rtype, r.rdata.to_vec()))
            .collect();
        expected.sort();
        assert_eq!(served, expected);
        let history = state.history.changesets();
        assert_eq!(history.len(), changes as usize);
        assert_eq!(history.last().unwrap().to_serial(), changes + 1);
    }
}
