//! The core every registrar front end shares: credentials checked once (Argon2 on tokio's
//! blocking pool, two at a time, remembered after the first success), reads on pooled
//! read-only database connections, and the queue to the commit thread. A front end parses
//! and translates its protocol, asks the core, and renders the outcome; it counts its
//! responses in a [`Counters`] of its own.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use rusqlite::Connection;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, oneshot};

use crate::front::activity::Activity;
use crate::front::auth::{self, Verified};
use crate::front::slots::{Slot, Slots};
use crate::publish::writer::{Commits, Job, Outcome};
use crate::registry::Command;
use crate::store::Store;

/// Response counts by command kind and code, and connections dropped (for metrics).
#[derive(Debug, Default)]
pub struct Counters {
    by_kind: Mutex<HashMap<(&'static str, u16), u64>>,
    /// Connections refused or dropped: malformed, too long, too slow, or over a limit.
    pub dropped: AtomicU64,
}

impl Counters {
    /// Counts one response of `kind` with protocol code `code`.
    pub fn count(&self, kind: &'static str, code: u16) {
        let mut map = self.by_kind.lock().unwrap_or_else(|e| e.into_inner());
        *map.entry((kind, code)).or_default() += 1;
    }

    /// Every (kind, code, count), sorted.
    pub fn snapshot(&self) -> Vec<(&'static str, u16, u64)> {
        let map = self.by_kind.lock().unwrap_or_else(|e| e.into_inner());
        let mut rows: Vec<_> = map.iter().map(|(&(k, c), &n)| (k, c, n)).collect();
        rows.sort_unstable();
        rows
    }
}

/// Accepts connections on `listener` until the task is dropped, each served by `connection` on
/// a task of its own; a failed accept (out of descriptors, say) is logged and retried 50 ms
/// later.
pub async fn accept<F, Served>(listener: TcpListener, protocol: &'static str, connection: F)
where
    F: Fn(TcpStream, SocketAddr) -> Served,
    Served: Future<Output = ()> + Send + 'static,
{
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                tokio::spawn(connection(stream, peer));
            }
            Err(error) => {
                tracing::warn!(%error, protocol, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// What every front end's connections share.
pub struct Core {
    /// The commands answered, for the monthly activity report.
    pub activity: Activity,
    commits: Commits,
    readers: Mutex<Vec<Connection>>,
    database: PathBuf,
    verified: Verified,
    argon: Semaphore,
}

impl Core {
    /// The core over the commit thread and the database path (for read-only connections).
    pub fn new(commits: Commits, database: PathBuf) -> Core {
        Core {
            activity: Activity::default(),
            commits,
            readers: Mutex::new(Vec::new()),
            database,
            verified: Verified::new(),
            argon: Semaphore::new(2),
        }
    }

    /// Runs a read on a pooled read-only connection.
    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, crate::store::StoreError>,
    ) -> Result<T, String> {
        let pooled = self.readers.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match pooled {
            Some(c) => c,
            None => {
                crate::store::sqlite::open_read_only(&self.database).map_err(|e| e.to_string())?
            }
        };
        let result = f(&conn).map_err(|e| e.to_string());
        let mut pool = self.readers.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < 16 {
            pool.push(conn);
        }
        result
    }

    async fn argon<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let _permit = self.argon.acquire().await.ok()?;
        tokio::task::spawn_blocking(f).await.ok()
    }

    /// Checks a registrar's credentials (and its pinned certificate, if it has one) against the
    /// database; returns the stored hash they were verified against. Argon2 runs on the
    /// blocking pool, and only the first time a password is presented.
    pub async fn authenticate(
        &self,
        registrar: u32,
        password: &str,
        pin: Option<&str>,
    ) -> Result<String, Denied> {
        let stored = match self.read(|c| c.registrar(registrar)) {
            Ok(Some(r))
                if r.active && r.certificate.is_some() && r.certificate.as_deref() != pin =>
            {
                return Err(Denied::Certificate);
            }
            Ok(Some(r)) if r.active => r.password_hash,
            Ok(_) => return Err(Denied::Credentials),
            Err(e) => return Err(Denied::Internal(e)),
        };
        if !self.verified.contains(registrar, password, &stored) {
            let (presented, hash) = (password.to_string(), stored.clone());
            if self.argon(move || auth::verify(&presented, &hash)).await != Some(true) {
                return Err(Denied::Credentials);
            }
            self.verified.insert(registrar, password, &stored);
        }
        Ok(stored)
    }

    /// A session front end's log-in (EPP, RRP): `client` (the registrar id as sent) with its
    /// password and certificate pin, holding one of the registrar's slots in `sessions`.
    pub async fn open_session<'a>(
        &self,
        sessions: &'a Slots<u32>,
        client: &str,
        password: &str,
        pin: Option<&str>,
    ) -> Result<Opened<'a>, Unopened> {
        let registrar = client
            .trim()
            .parse::<u32>()
            .map_err(|_| Unopened::Denied(Denied::Credentials))?;
        let verified_hash = self
            .authenticate(registrar, password, pin)
            .await
            .map_err(Unopened::Denied)?;
        let slot = sessions.take(registrar).ok_or(Unopened::Busy(registrar))?;
        Ok(Opened {
            _slot: slot,
            registrar,
            verified_hash,
        })
    }

    /// The stored password hash of a domain that `password` matches, if any (for transfers).
    pub async fn verify_domain_password(
        &self,
        name: &str,
        password: String,
    ) -> Result<Option<String>, String> {
        let key = name.to_string();
        let stored = self.read(|c| c.domain(&key))?.and_then(|d| d.auth_hash);
        let Some(stored) = stored else {
            return Ok(None);
        };
        let candidate = stored.clone();
        let matches = self
            .argon(move || auth::verify(&password, &candidate))
            .await
            == Some(true);
        Ok(matches.then_some(stored))
    }

    /// Carries out a front end's [`Plan::Run`]: a transfer's password is verified first (its
    /// matching hash goes into the command; a failed read is the outcome), then the command
    /// is committed.
    pub async fn carry_out(
        &self,
        registrar: u32,
        verified_hash: String,
        mut command: Command,
        verify: Option<String>,
    ) -> Result<Outcome, QueueFull> {
        if let (
            Some(password),
            Command::Transfer {
                name,
                verified_hash,
            }
            | Command::QueryTransfer {
                name,
                verified_hash,
            },
        ) = (verify, command.carried_mut())
        {
            match self.verify_domain_password(name, password).await {
                Ok(hash) => *verified_hash = hash,
                Err(e) => {
                    return Ok(Outcome::Failed(format!(
                        "reading the registry database failed: {e}"
                    )));
                }
            }
        }
        self.commit(registrar, verified_hash, command).await
    }

    /// Queues a command for the commit thread and waits for its durable outcome.
    pub async fn commit(
        &self,
        registrar: u32,
        verified_hash: String,
        command: Command,
    ) -> Result<Outcome, QueueFull> {
        self.activity.count(&command, ops::now());
        let (reply, outcome) = oneshot::channel();
        let job = Job {
            registrar,
            verified_hash,
            command,
            reply,
        };
        self.commits.submit(job).map_err(|_| QueueFull)?;
        Ok(outcome
            .await
            .unwrap_or_else(|_| Outcome::Failed("the commit thread stopped".into())))
    }
}

/// A registrar logged in to a session front end, holding one of its session slots.
pub struct Opened<'a> {
    _slot: Slot<'a, u32>,
    /// The registrar.
    pub registrar: u32,
    /// The stored password hash its credentials were verified against.
    pub verified_hash: String,
}

/// Why a session's log-in was refused.
#[derive(Debug)]
pub enum Unopened {
    /// The credentials (or the database).
    Denied(Denied),
    /// The registrar has as many sessions open as it may.
    Busy(u32),
}

/// What a session front end (EPP, RRP) does with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan<Response> {
    /// Carry out this registry command ([`Core::carry_out`]); for a transfer, first verify
    /// this password against the domain's.
    Run {
        /// The command.
        command: Command,
        /// A transfer's password.
        verify: Option<String>,
    },
    /// Answer at once.
    Answer(Response),
}

/// The registrar's queue was full: the command was not queued and nothing changed. Each
/// front end answers it with its protocol's "retry later" and [`QueueFull`]'s text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many of your commands are waiting; retry in a moment")]
pub struct QueueFull;

/// Why credentials were refused.
#[derive(Debug)]
pub enum Denied {
    /// Unknown registrar, suspended, or wrong password.
    Credentials,
    /// The registrar must present its pinned client certificate.
    Certificate,
    /// The database could not be read.
    Internal(String),
}
