//! The commit thread: the only writer of the registry database.
//!
//! Connection tasks push [`Job`]s into the fair queue ([`Commits::submit`]); one thread takes
//! whatever is waiting (up to `max_batch`, round robin across registrars), runs every command
//! in its own savepoint inside one `BEGIN IMMEDIATE` transaction, appends the batch's signed
//! changesets to the journal in that same transaction, commits — one fsync for the whole batch
//! — and only then answers each job. A command is therefore confirmed only once it is durable,
//! and a crash before the commit loses only unconfirmed commands.
//!
//! Between batches, every `sweep_interval` the thread also moves deleted domains on (the end
//! of a redemption period, a purge: [`registry::sweep`]) in a transaction of its own, and
//! renews the signatures of signed zones that are about to expire and that no batch renewed
//! (`refresh`: up to [`REFRESH_PER_RUN`] RRsets a run, each run a changeset), and publishes
//! what the keys' timing changes (a key published, signing, retired or removed) when no
//! registrar's batch did.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::publish::Publication;
use crate::publish::publication::REFRESH_PER_RUN;
use crate::publish::queue::{FairQueue, Full};
use crate::publish::signing::Signer;
use crate::registry::{self, Command, Context, Failure, Refusal, Reply};
use crate::store::Store;
use crate::store::sqlite::{Step, transaction};

/// A registrar's command waiting to be committed.
pub struct Job {
    /// The registrar.
    pub registrar: u32,
    /// The stored password hash its `registrar-auth` was verified against.
    pub verified_hash: String,
    /// The command.
    pub command: Command,
    /// Where the outcome goes.
    pub reply: oneshot::Sender<Outcome>,
}

/// How a job ended.
#[derive(Debug)]
pub enum Outcome {
    /// Carried out and committed.
    Done(Reply),
    /// Refused by the rules (or the credentials went stale); nothing changed.
    Refused(Refusal),
    /// The database failed; nothing of it was committed.
    Failed(String),
}

/// Counters the metrics endpoint reads.
#[derive(Debug, Default)]
pub struct Stats {
    /// Transactions committed (each one fsync of the WAL).
    pub commits: AtomicU64,
    /// Commands carried out in them.
    pub commands: AtomicU64,
    /// Changesets appended to the journal.
    pub changesets: AtomicU64,
    /// Total commit time in microseconds (begin to fsync returned).
    pub commit_micros: AtomicU64,
    /// Transactions that failed because a signed zone could not be signed (its keys are
    /// missing, or its HSM is gone): writes to that zone are refused meanwhile.
    pub signing_failures: AtomicU64,
    /// Woken after every commit that journaled changesets (the push service waits on it).
    pub published: Arc<tokio::sync::Notify>,
}

struct Shared {
    queue: Mutex<Inner>,
    ready: Condvar,
}

struct Inner {
    queue: FairQueue<Job>,
    closed: bool,
}

/// The handle connection tasks submit jobs through.
#[derive(Clone)]
pub struct Commits {
    shared: Arc<Shared>,
    /// Commit counters.
    pub stats: Arc<Stats>,
}

/// Settings of the commit thread.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Most commands per transaction.
    pub max_batch: usize,
    /// Most commands waiting per registrar.
    pub queue_per_registrar: usize,
    /// Lines for STATUS SERVER.
    pub server_info: Vec<String>,
    /// How often deleted domains are moved on ([`registry::sweep`]).
    pub sweep_interval: Duration,
    /// Days a service message waits to be read before the sweep removes it (0: until it is
    /// acknowledged).
    pub message_days: u32,
}

impl Commits {
    /// Queues a job; refused at once when the registrar's queue is full.
    pub fn submit(&self, job: Job) -> Result<(), Full> {
        let mut inner = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
        inner.queue.push(job.registrar, job)?;
        drop(inner);
        self.shared.ready.notify_one();
        Ok(())
    }

    /// Commands waiting per registrar (for metrics).
    pub fn depths(&self) -> Vec<(u32, usize)> {
        let inner = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
        let mut depths: Vec<_> = inner.queue.depths().collect();
        depths.sort_unstable();
        depths
    }

    /// Stops the thread once the queue is empty.
    pub fn close(&self) {
        self.shared
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .closed = true;
        self.shared.ready.notify_all();
    }
}

/// Starts the commit thread over an open database.
pub fn start(
    conn: Connection,
    signer: Signer,
    settings: Settings,
) -> (Commits, std::thread::JoinHandle<()>) {
    let shared = Arc::new(Shared {
        queue: Mutex::new(Inner {
            queue: FairQueue::new(settings.queue_per_registrar),
            closed: false,
        }),
        ready: Condvar::new(),
    });
    let stats = Arc::new(Stats::default());
    let commits = Commits {
        shared: shared.clone(),
        stats: stats.clone(),
    };
    let handle = std::thread::Builder::new()
        .name("commit".into())
        .spawn(move || run(conn, signer, settings, shared, stats))
        .expect("spawning the commit thread");
    (commits, handle)
}

fn run(
    mut conn: Connection,
    signer: Signer,
    settings: Settings,
    shared: Arc<Shared>,
    stats: Arc<Stats>,
) {
    let mut last_sweep = Instant::now();
    loop {
        let batch: Vec<Job> = {
            let mut inner = shared.queue.lock().unwrap_or_else(|e| e.into_inner());
            while inner.queue.is_empty() && !inner.closed {
                let wait = settings.sweep_interval.saturating_sub(last_sweep.elapsed());
                if wait.is_zero() {
                    break;
                }
                inner = shared
                    .ready
                    .wait_timeout(inner, wait)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            if inner.queue.is_empty() && inner.closed {
                return;
            }
            std::iter::from_fn(|| inner.queue.pop().map(|(_, job)| job))
                .take(settings.max_batch)
                .collect()
        };
        if last_sweep.elapsed() >= settings.sweep_interval {
            last_sweep = Instant::now();
            let swept = sweep(&mut conn, &signer, &stats, settings.message_days);
            let renewed = refresh(&mut conn, &signer, &stats);
            if swept == registry::SWEEP_LIMIT || renewed == REFRESH_PER_RUN {
                // More are due: sweep again at the next turn.
                last_sweep -= settings.sweep_interval;
            }
        }
        if batch.is_empty() {
            continue;
        }
        let started = Instant::now();
        let count = batch.len() as u64;
        let (outcomes, changesets) = commit_batch(&mut conn, &signer, &settings, &stats, &batch);
        stats.commits.fetch_add(1, Ordering::Relaxed);
        stats.commands.fetch_add(count, Ordering::Relaxed);
        stats.changesets.fetch_add(changesets, Ordering::Relaxed);
        if changesets > 0 {
            stats.published.notify_waiters();
        }
        stats
            .commit_micros
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        for (job, outcome) in batch.into_iter().zip(outcomes) {
            let _ = job.reply.send(outcome);
        }
    }
}

/// Moves deleted domains on ([`registry::sweep`]) in a transaction of its own, journaled and
/// published like any change; returns how many it moved.
fn sweep(conn: &mut Connection, signer: &Signer, stats: &Stats, message_days: u32) -> usize {
    let now = ops::now();
    let messages_before =
        (message_days > 0).then(|| now - i64::from(message_days) * zonefiles::calendar::DAY);
    let run = |conn: &mut Connection| -> Result<(usize, usize), String> {
        transaction(conn, Step::Begin).map_err(|e| e.to_string())?;
        let mut publication = Publication::new();
        let moved = match registry::sweep(conn, &mut publication, now, messages_before) {
            Ok(moved) => moved,
            Err(e) => return Err(e.to_string()),
        };
        if moved == 0 {
            transaction(conn, Step::Rollback).map_err(|e| e.to_string())?;
            return Ok((0, 0));
        }
        let entries = publication
            .finish(conn, now, signer)
            .map_err(|e| e.to_string())?;
        transaction(conn, Step::Commit).map_err(|e| e.to_string())?;
        Ok((moved, entries.len()))
    };
    match run(conn) {
        Ok((moved, changesets)) => {
            if changesets > 0 {
                stats.commits.fetch_add(1, Ordering::Relaxed);
                stats
                    .changesets
                    .fetch_add(changesets as u64, Ordering::Relaxed);
                stats.published.notify_waiters();
                tracing::info!(
                    moved,
                    "deleted domains moved on (redemption over, or purged)"
                );
            }
            moved
        }
        Err(e) => {
            let _ = transaction(conn, Step::Rollback);
            tracing::error!(error = %e, "sweeping deleted domains failed; retrying later");
            0
        }
    }
}

/// Renews the signatures of signed zones that expire within the policy's refresh time, up to
/// [`REFRESH_PER_RUN`] RRsets per zone, one transaction and changeset per zone; returns the
/// most renewed in one zone.
fn refresh(conn: &mut Connection, signer: &Signer, stats: &Stats) -> usize {
    let Some(keys) = signer.zone_keys() else {
        return 0;
    };
    let now = ops::now();
    let before = keys.refresh_before(now);
    let mut most = 0;
    let zones = match conn.zones() {
        Ok(zones) => zones,
        Err(e) => {
            tracing::error!(error = %e, "reading the zones to renew signatures failed");
            return 0;
        }
    };
    for zone in zones {
        let run = |conn: &mut Connection| -> Result<usize, String> {
            if conn
                .zone_denial(zone.id)
                .map_err(|e| e.to_string())?
                .is_none()
            {
                return Ok(0);
            }
            let due = conn
                .dnssec_expiring(zone.id, before, REFRESH_PER_RUN)
                .map_err(|e| e.to_string())?
                .len();
            let keys_due = crate::publish::dnssec::keys_due(conn, keys, &zone, now)
                .map_err(|e| e.to_string())?;
            if due == 0 && !keys_due {
                return Ok(0);
            }
            transaction(conn, Step::Begin).map_err(|e| e.to_string())?;
            let mut publication = Publication::new();
            publication.refresh_signatures(zone.id);
            let finished = publication.finish(conn, now, signer);
            if let Err(crate::publish::PublishError::Dnssec { .. }) = &finished {
                stats.signing_failures.fetch_add(1, Ordering::Relaxed);
            }
            finished.map_err(|e| e.to_string())?;
            transaction(conn, Step::Commit).map_err(|e| e.to_string())?;
            Ok(due.max(1))
        };
        match run(conn) {
            Ok(0) => {}
            Ok(renewed) => {
                stats.commits.fetch_add(1, Ordering::Relaxed);
                stats.changesets.fetch_add(1, Ordering::Relaxed);
                stats.published.notify_waiters();
                tracing::info!(zone = %zone.origin, renewed, "signatures about to expire renewed");
                most = most.max(renewed);
            }
            Err(e) => {
                let _ = transaction(conn, Step::Rollback);
                tracing::error!(zone = %zone.origin, error = %e, "renewing signatures failed; retrying later");
            }
        }
    }
    most
}

/// Runs a batch in one transaction; returns each job's outcome and the changesets written.
fn commit_batch(
    conn: &mut Connection,
    signer: &Signer,
    settings: &Settings,
    stats: &Stats,
    batch: &[Job],
) -> (Vec<Outcome>, u64) {
    let failed = |e: &dyn std::fmt::Display| {
        tracing::error!(error = %e, "the registry database failed; the batch was rolled back");
        (0..batch.len())
            .map(|_| Outcome::Failed(e.to_string()))
            .collect()
    };
    let now = ops::now();
    if let Err(e) = transaction(conn, Step::Begin) {
        return (failed(&e), 0);
    }
    let mut publication = Publication::new();
    let mut outcomes = Vec::with_capacity(batch.len());
    for job in batch {
        outcomes.push(run_job(conn, &mut publication, settings, job, now));
    }
    let result = publication
        .finish(conn, now, signer)
        .map_err(|e| {
            if let crate::publish::PublishError::Dnssec { .. } = e {
                stats.signing_failures.fetch_add(1, Ordering::Relaxed);
            }
            e.to_string()
        })
        .and_then(|entries| {
            transaction(conn, Step::Commit)
                .map(|()| entries.len() as u64)
                .map_err(|e| e.to_string())
        });
    match result {
        Ok(changesets) => (outcomes, changesets),
        Err(e) => {
            let _ = transaction(conn, Step::Rollback);
            (failed(&e), 0)
        }
    }
}

fn run_job(
    conn: &mut Connection,
    publication: &mut Publication,
    settings: &Settings,
    job: &Job,
    now: i64,
) -> Outcome {
    let registrar = match conn.registrar(job.registrar) {
        Ok(Some(r)) if r.active && r.password_hash == job.verified_hash => r,
        Ok(_) => {
            return Outcome::Refused(Refusal::AuthorizationFailed(
                "unknown registrar-id or wrong registrar-auth".into(),
            ));
        }
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let context = Context {
        now,
        registrar: &registrar,
        server_info: &settings.server_info,
        fee: None,
    };
    carry_out(conn, publication, &context, &job.command)
}

/// Carries out one command inside the open transaction: a query as it is, a change in its own
/// savepoint, rolled back if the rules refuse it. Also used by `control-plane import`.
pub fn carry_out(
    conn: &mut Connection,
    publication: &mut Publication,
    context: &Context<'_>,
    command: &Command,
) -> Outcome {
    if command.is_query() {
        return match registry::execute(conn, publication, context, command) {
            Ok(reply) => Outcome::Done(reply),
            Err(Failure::Refused(r)) => Outcome::Refused(r),
            Err(Failure::Store(e)) => Outcome::Failed(e.to_string()),
        };
    }
    if let Err(e) = transaction(conn, Step::Savepoint) {
        return Outcome::Failed(e.to_string());
    }
    let result = registry::execute(conn, publication, context, command);
    let end = if result.is_ok() {
        Ok(())
    } else {
        transaction(conn, Step::RollbackToSavepoint)
    };
    if let Err(e) = end.and_then(|()| transaction(conn, Step::ReleaseSavepoint)) {
        return Outcome::Failed(e.to_string());
    }
    // A refused registration still counts as attempted (noted outside the savepoint its
    // refusal rolled back; a registration carried out is counted by the rules).
    if let Command::CreateDomain { name, .. } = command
        && matches!(result, Err(Failure::Refused(_)))
        && let Err(e) = note_refused_add(conn, publication, context, name)
    {
        return Outcome::Failed(e.to_string());
    }
    match result {
        Ok(reply) => Outcome::Done(reply),
        Err(Failure::Refused(r)) => Outcome::Refused(r),
        Err(Failure::Store(e)) => {
            tracing::error!(error = %e, command = command.kind(), "command failed in the database");
            Outcome::Failed(e.to_string())
        }
    }
}

/// Counts a refused registration in the zone the name would be in (none: no count).
fn note_refused_add(
    conn: &Connection,
    publication: &mut Publication,
    context: &Context<'_>,
    name: &str,
) -> Result<(), crate::store::StoreError> {
    let zones = publication.zones(conn)?;
    let zone = zones.iter().find(|z| {
        name.len() > z.origin.len()
            && name.ends_with(z.origin.as_str())
            && name.as_bytes()[name.len() - z.origin.len() - 1] == b'.'
    });
    match zone {
        Some(zone) => conn.note(
            zone.id,
            context.registrar.id,
            crate::model::Transaction::RefusedAdd,
            0,
            context.now,
        ),
        None => Ok(()),
    }
}
