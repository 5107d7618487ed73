//! `control-plane`: the registry server (SRRP over TLS) and its operator commands.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use control_plane::config::Config;
use control_plane::model::{Lifecycle, Nameserver, Registrar, TransferDefault, ZoneSettings};
use control_plane::signing::Signer;
use control_plane::srrp::{Request, VERSION};
use control_plane::store::Store;
use control_plane::{auth, client, feed, metrics, operator, push, server, sqlite, tls, writer};

/// The registry: its database, SRRP for registrars, and the journal of signed changesets that
/// feeds every satellite. Every subcommand reads the same configuration file.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The configuration file (TOML; every setting has a default).
    #[arg(short, long, global = true)]
    config: Option<PathBuf>,
    /// The registry database instead of the configuration's.
    #[arg(long, global = true)]
    database: Option<PathBuf>,
    /// Who is acting, for the history (default: $USER).
    #[arg(long, global = true)]
    operator: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum SatelliteCommand {
    /// Accepts a satellite: its name (as its agent's `id`) and its tunnel public key (base64,
    /// from `update-agent keygen`, or the path of its `.pub` file).
    Add {
        /// The satellite's name.
        name: String,
        /// Its public key, or its `.pub` file.
        key: String,
    },
    /// Stops accepting a satellite; its tunnel is closed.
    Remove {
        /// The satellite's name.
        name: String,
    },
    /// The satellites accepted.
    List,
}

#[derive(Subcommand)]
enum Command {
    /// Serve SRRP until SIGINT or SIGTERM.
    Serve {
        /// Serve SRRP on this address instead (repeatable).
        #[arg(long)]
        listen: Vec<SocketAddr>,
        /// Serve EPP on this address instead (repeatable).
        #[arg(long)]
        epp_listen: Vec<SocketAddr>,
        /// Metrics on this address instead.
        #[arg(long)]
        metrics_listen: Option<SocketAddr>,
    },
    /// Create the changeset signing key and a self-signed TLS certificate for SRRP.
    Keygen {
        /// Folder to write signing.key, signing.pub, srrp.crt and srrp.key into.
        #[arg(long)]
        dir: PathBuf,
        /// Names and addresses the certificate is valid for.
        #[arg(long = "name", default_values_t = ["localhost".to_string(), "127.0.0.1".to_string()])]
        names: Vec<String>,
        /// Only the signing key (a key rotation: see README, "Rotating the signing key").
        #[arg(long)]
        signing_only: bool,
    },
    /// Zones (TLDs) the registry runs.
    #[command(subcommand)]
    Zone(ZoneCommand),
    /// Registrar accounts.
    #[command(subcommand)]
    Registrar(RegistrarCommand),
    /// Blocked labels and third/second-level combinations.
    #[command(subcommand)]
    Block(BlockCommand),
    /// Satellites the push service accepts (added and removed while it runs).
    #[command(subcommand)]
    Satellite(SatelliteCommand),
    /// Every satellite's serial, lag and last contact, per zone.
    Satellites {
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// A domain's state and history.
    History {
        /// The domain.
        domain: String,
    },
    /// The journal of signed changesets, with each signature checked.
    Journal {
        /// Only this zone.
        #[arg(long)]
        zone: Option<String>,
        /// Entries after this sequence number.
        #[arg(long, default_value_t = 0)]
        after: i64,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Check the journal against the database: gapless, signed, and replaying to exactly the
    /// zones and WHOIS data held now; and every balance against its ledger.
    Audit,
    /// Copy the database, consistent and online (the registry keeps serving), to a new file:
    /// the backup `recover` starts from.
    Backup {
        /// The file to write (it must not exist), or a folder to write
        /// `registry-<UTC time>.db` into.
        target: PathBuf,
        /// In a folder, keep only this many backups (the oldest go).
        #[arg(long)]
        keep: Option<usize>,
    },
    /// Rebuild the registry after its disk was lost: run on the database restored from the
    /// newest backup, with the control plane stopped. Replays the changesets (and their sealed
    /// registry records) from satellites' changeset logs, so that the registry is again where
    /// the newest satellite is; prints what registrars must re-send.
    Recover {
        /// The recovery private key (`recovery.key` from `keygen`, kept offline).
        #[arg(long)]
        recovery_key: PathBuf,
        /// A changeset log copied from a satellite (`<state>/<zone>.relay`; repeatable: give
        /// every satellite's, the newest wins).
        #[arg(required = true)]
        logs: Vec<PathBuf>,
    },
    /// Carry out SRRP commands from a file as the registrars they name (bringing domains in
    /// from another system, or sample data): one `<registrar-id> <COMMAND> <OBJECT>
    /// attribute=value …` per line, through the same rules as SRRP, many to a transaction,
    /// journaled for the satellites. Run it while `serve` is stopped.
    Import {
        /// The file (`-`: standard input).
        file: PathBuf,
        /// Commands per transaction.
        #[arg(long, default_value_t = 10_000)]
        batch: usize,
    },
    /// Write a zone's full image and WHOIS objects at a serial (default: the current one), after
    /// the publication checks (zone checks; no sudden shrink).
    Export {
        /// The zone.
        zone: String,
        /// The serial (any serial the journal covers).
        #[arg(long)]
        serial: Option<u32>,
        /// Where to write `<zone>-<serial>.img` and `<zone>-<serial>.whois`.
        #[arg(short, long, default_value = ".")]
        output: PathBuf,
        /// Refuse a zone with fewer records than this share of the last export.
        #[arg(long, default_value_t = 0.9)]
        min_ratio: f64,
        /// Publish even a zone that shrank past the ratio.
        #[arg(long)]
        force: bool,
    },
    /// Reports.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Send one SRRP request and print the response (`attribute=value` arguments).
    Srrp {
        /// The server.
        #[arg(long, default_value = "127.0.0.1:1700")]
        server: SocketAddr,
        #[command(flatten)]
        tls: ClientTls,
        /// The command, e.g. CREATE.
        command: String,
        /// The object, e.g. DOMAIN.
        object: String,
        /// Attributes, e.g. registrar-id=1001 domain-name=example.tld.
        attributes: Vec<String>,
    },
    /// Log in over EPP, send EPP documents (files, or `-` for standard input), print each
    /// response, log out
    Epp {
        /// The server.
        #[arg(long, default_value = "127.0.0.1:700")]
        server: SocketAddr,
        #[command(flatten)]
        tls: ClientTls,
        /// The registrar id to log in as (`<clID>`).
        #[arg(long)]
        client: String,
        /// Its password.
        #[arg(long)]
        password: String,
        /// Also print the greeting.
        #[arg(long)]
        greeting: bool,
        /// Documents to send, each a whole `<epp>` document (`-`: standard input).
        documents: Vec<PathBuf>,
    },
}

/// How a registrar client reaches the server over TLS.
#[derive(clap::Args)]
struct ClientTls {
    /// The certificate to trust (PEM).
    #[arg(long)]
    ca: PathBuf,
    /// The name the certificate is checked against.
    #[arg(long, default_value = "localhost")]
    server_name: String,
    /// A client certificate to present (PEM), for registrars with a pinned one.
    #[arg(long, requires = "key")]
    cert: Option<PathBuf>,
    /// Its private key (PEM).
    #[arg(long)]
    key: Option<PathBuf>,
}

impl ClientTls {
    fn config(&self) -> Result<Arc<rustls::ClientConfig>> {
        Ok(match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => tls::client_config_with_identity(&self.ca, cert, key)?,
            _ => tls::client_config(&self.ca)?,
        })
    }
}

/// A zone's grace periods and transfer policy; a value not given keeps the zone's (for a new
/// zone, the default).
#[derive(clap::Args)]
struct LifecycleArgs {
    /// Days after a registration in which deleting it refunds it (add grace) [default: 0]
    #[arg(long)]
    add_grace_days: Option<u32>,
    /// Days after a renewal in which deleting the domain refunds the renewal [default: 0]
    #[arg(long)]
    renew_grace_days: Option<u32>,
    /// Days after a transfer in which deleting the domain refunds the transfer [default: 0]
    #[arg(long)]
    transfer_grace_days: Option<u32>,
    /// Renew domains at their expiry (charged), refunded if deleted or transferred within this
    /// many days (0: no renewal at expiry) [default: 0]
    #[arg(long)]
    auto_renew_grace_days: Option<u32>,
    /// Days a deleted domain stays restorable (redemption; 0: a deletion frees the name at
    /// once) [default: 0]
    #[arg(long)]
    redemption_days: Option<u32>,
    /// Days after the redemption period before the name is free [default: 5]
    #[arg(long)]
    pending_delete_days: Option<u32>,
    /// Days the sponsoring registrar has to answer a transfer request (0: a request with the
    /// domain password completes at once) [default: 0]
    #[arg(long)]
    transfer_timeout_days: Option<u32>,
    /// What an unanswered transfer request becomes: approve or reject [default: approve]
    #[arg(long, value_parser = parse_transfer_default)]
    transfer_default: Option<TransferDefault>,
}

impl LifecycleArgs {
    fn apply(&self, policy: &mut Lifecycle) {
        let days = [
            (self.add_grace_days, &mut policy.add_grace_days),
            (self.renew_grace_days, &mut policy.renew_grace_days),
            (self.transfer_grace_days, &mut policy.transfer_grace_days),
            (
                self.auto_renew_grace_days,
                &mut policy.auto_renew_grace_days,
            ),
            (self.redemption_days, &mut policy.redemption_days),
            (self.pending_delete_days, &mut policy.pending_delete_days),
            (
                self.transfer_timeout_days,
                &mut policy.transfer_timeout_days,
            ),
        ];
        for (given, field) in days {
            if let Some(value) = given {
                *field = value;
            }
        }
        if let Some(default) = self.transfer_default {
            policy.transfer_default = default;
        }
    }
}

fn parse_transfer_default(text: &str) -> Result<TransferDefault, String> {
    TransferDefault::parse(text).ok_or_else(|| format!("{text:?}: approve or reject"))
}

#[derive(Subcommand)]
enum ZoneCommand {
    /// Add a zone.
    Add {
        /// Its name, e.g. `name`.
        origin: String,
        /// Registration level: 2 (example.tld) or 3 (john.smith.name).
        #[arg(long, default_value_t = 2)]
        level: u8,
        /// An apex name server, `host` or `host=address,address` (repeatable).
        #[arg(long = "ns")]
        nameservers: Vec<String>,
        /// Price of a registration year, in cents.
        #[arg(long, default_value_t = 600)]
        price: i64,
        /// Serial policy: counter, unix-time or date-counter.
        #[arg(long, default_value = "counter")]
        serial_policy: String,
        /// First serial.
        #[arg(long, default_value_t = 1)]
        serial: u32,
        #[command(flatten)]
        lifecycle: LifecycleArgs,
    },
    /// Set a zone's grace periods and transfer policy (RFC 3915), changing only the values given; gTLDs
    /// use add, renew and transfer grace 5, auto-renew grace 45, redemption 30, pending delete 5
    /// and a transfer timeout of 5 days, approved by default.
    Grace {
        /// The zone.
        origin: String,
        #[command(flatten)]
        lifecycle: LifecycleArgs,
    },
    /// List zones with their serials.
    List,
}

#[derive(Subcommand)]
enum RegistrarCommand {
    /// Add a registrar.
    Add {
        /// Its registrar-id.
        #[arg(long)]
        id: u32,
        /// Its IANA id.
        #[arg(long)]
        iana_id: u32,
        /// Its name.
        #[arg(long)]
        name: String,
        /// Its password (or give --password-file).
        #[arg(long)]
        password: Option<String>,
        /// A file holding its password.
        #[arg(long)]
        password_file: Option<PathBuf>,
        /// Its WHOIS server.
        #[arg(long, default_value = "")]
        whois_server: String,
        /// Its web site.
        #[arg(long, default_value = "")]
        url: String,
        /// Abuse contact e-mail.
        #[arg(long, default_value = "")]
        abuse_email: String,
        /// Abuse contact telephone.
        #[arg(long, default_value = "")]
        abuse_phone: String,
        /// How far below zero its balance may go, in cents.
        #[arg(long, default_value_t = 0)]
        credit_limit: i64,
    },
    /// Refuse every command of a registrar.
    Suspend {
        /// The registrar-id.
        id: u32,
    },
    /// Accept a suspended registrar's commands again.
    Resume {
        /// The registrar-id.
        id: u32,
    },
    /// Set a registrar's password.
    Password {
        /// The registrar-id.
        id: u32,
        /// The new password (or give --password-file).
        #[arg(long)]
        password: Option<String>,
        /// A file holding it.
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// Require a registrar to connect with this TLS client certificate (or, with --clear, with
    /// any or none).
    Pin {
        /// The registrar-id.
        id: u32,
        /// The certificate (PEM).
        #[arg(long, required_unless_present = "clear")]
        certificate: Option<PathBuf>,
        /// Remove the pin.
        #[arg(long)]
        clear: bool,
    },
    /// Add credit (cents; negative to take it back).
    Credit {
        /// The registrar-id.
        id: u32,
        /// Amount in cents.
        #[arg(allow_hyphen_values = true)]
        amount: i64,
    },
    /// List registrars with their balances.
    List,
}

#[derive(Subcommand)]
enum BlockCommand {
    /// Block a label (`smith`) or a combination (`john.smith`).
    Add {
        /// The label or combination.
        what: String,
    },
    /// Unblock it.
    Remove {
        /// The label or combination.
        what: String,
    },
    /// List what is blocked.
    List,
}

#[derive(Subcommand)]
enum ReportCommand {
    /// The monthly statement per registrar, as CSV.
    Billing {
        /// The month, YYYY-MM.
        #[arg(long)]
        month: String,
        /// Write it here instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

fn password(given: Option<String>, file: Option<PathBuf>) -> Result<String> {
    match (given, file) {
        (Some(p), None) => Ok(p),
        (None, Some(f)) => Ok(std::fs::read_to_string(&f)
            .with_context(|| format!("reading {}", f.display()))?
            .trim_end_matches(['\r', '\n'])
            .to_string()),
        _ => anyhow::bail!("give exactly one of --password and --password-file"),
    }
}

fn parse_nameserver(text: &str) -> Result<Nameserver> {
    let (name, addresses) = text.split_once('=').unwrap_or((text, ""));
    Ok(Nameserver {
        name: name.trim_end_matches('.').to_ascii_lowercase(),
        addresses: addresses
            .split(',')
            .filter(|a| !a.is_empty())
            .map(|a| {
                a.parse()
                    .with_context(|| format!("{a:?} is not an IP address"))
            })
            .collect::<Result<_>>()?,
    })
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    ops::init_logging();
    let mut config = match &cli.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if let Some(database) = cli.database {
        config.database = database;
    }
    let who = cli
        .operator
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "root".to_string());
    let open = |config: &Config| -> Result<rusqlite::Connection> {
        if let Some(parent) = config.database.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        Ok(sqlite::open(&config.database)?)
    };
    match cli.command {
        Command::Serve {
            listen,
            epp_listen,
            metrics_listen,
        } => {
            if !listen.is_empty() {
                config.srrp.listen = listen;
            }
            if !epp_listen.is_empty() {
                config.epp.listen = epp_listen;
            }
            if metrics_listen.is_some() {
                config.metrics_listen = metrics_listen;
            }
            let conn = open(&config)?;
            serve(config, conn)
        }
        Command::Keygen {
            dir,
            names,
            signing_only,
        } => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let (signer, pkcs8) = Signer::generate()?;
            Signer::save(&pkcs8, &dir.join("signing.key"))?;
            if signing_only {
                println!(
                    "signing key {} (id {}), public key {}",
                    dir.join("signing.key").display(),
                    signer.id(),
                    dir.join("signing.pub").display()
                );
                return Ok(());
            }
            tls::write_self_signed(&names, &dir.join("srrp.crt"), &dir.join("srrp.key"))?;
            let tunnel = satellite_protocol::keys::write_new(
                &dir.join("tunnel.key"),
                &dir.join("tunnel.pub"),
            )?;
            let recovery = control_plane::recovery::generate(&dir.join("recovery.key"))?;
            println!(
                "signing key {} (id {}), public key {}; TLS certificate {} for {}; tunnel key {} (public key {})",
                dir.join("signing.key").display(),
                signer.id(),
                dir.join("signing.pub").display(),
                dir.join("srrp.crt").display(),
                names.join(", "),
                dir.join("tunnel.key").display(),
                satellite_protocol::keys::public_text(&tunnel)
            );
            println!(
                "recovery key {} (id {recovery}): keep it offline with the backups and remove it from this host; the control plane needs only {} (recovery_key)",
                dir.join("recovery.key").display(),
                dir.join("recovery.pub").display()
            );
            Ok(())
        }
        Command::Zone(ZoneCommand::Add {
            origin,
            level,
            nameservers,
            price,
            serial_policy,
            serial,
            lifecycle,
        }) => {
            let mut zone = ZoneSettings::new(&origin);
            lifecycle.apply(&mut zone.lifecycle);
            zone.level = level;
            zone.year_price = price;
            zone.serial = serial;
            zone.serial_policy = sqlite::parse_policy(&serial_policy).with_context(|| {
                format!(
                    "{serial_policy:?}: the serial policy is counter, unix-time or date-counter"
                )
            })?;
            zone.apex_nameservers = nameservers
                .iter()
                .map(|n| parse_nameserver(n))
                .collect::<Result<_>>()?;
            if let Some(first) = zone.apex_nameservers.first() {
                zone.mname = first.name.clone();
            }
            let signer = config.signer()?;
            operator::add_zone(&mut open(&config)?, &signer, &zone, &who)?;
            println!(
                "zone {} added (level {level}, serial {serial})",
                zone.origin
            );
            Ok(())
        }
        Command::Zone(ZoneCommand::Grace { origin, lifecycle }) => {
            let mut conn = open(&config)?;
            let mut policy = conn
                .zones()?
                .into_iter()
                .find(|z| z.origin == origin.trim_matches('.').to_ascii_lowercase())
                .with_context(|| format!("the registry does not run {origin} (see `zone list`)"))?
                .lifecycle;
            lifecycle.apply(&mut policy);
            operator::set_lifecycle(&mut conn, &origin, &policy, &who)?;
            println!("zone {origin}: {}", operator::describe_lifecycle(&policy));
            Ok(())
        }
        Command::Zone(ZoneCommand::List) => {
            for zone in open(&config)?.zones()? {
                println!(
                    "{}\tlevel {}\tserial {}\tprice {}",
                    zone.origin,
                    zone.level,
                    zone.serial,
                    control_plane::registry::money(zone.year_price)
                );
            }
            Ok(())
        }
        Command::Registrar(command) => registrar(command, &config, open(&config)?, &who),
        Command::Block(command) => {
            let mut conn = open(&config)?;
            match command {
                BlockCommand::Add { what } => {
                    let changed = operator::block(&mut conn, &what, true, &who)?;
                    println!(
                        "{what}: {}",
                        if changed {
                            "blocked"
                        } else {
                            "was blocked already"
                        }
                    );
                }
                BlockCommand::Remove { what } => {
                    let changed = operator::block(&mut conn, &what, false, &who)?;
                    println!(
                        "{what}: {}",
                        if changed {
                            "unblocked"
                        } else {
                            "was not blocked"
                        }
                    );
                }
                BlockCommand::List => {
                    for line in sqlite::blocked(&conn)? {
                        println!("{line}");
                    }
                }
            }
            Ok(())
        }
        Command::History { domain } => {
            print!("{}", operator::history(&open(&config)?, &domain)?);
            Ok(())
        }
        Command::Journal { zone, after, limit } => {
            let conn = open(&config)?;
            let signer = Signer::load(&config.signing_key).ok();
            for (seq, entry) in
                sqlite::journal_after(&conn, zone.as_deref().unwrap_or(""), after, limit)?
            {
                let checked = match &signer {
                    Some(s) if s.id() == entry.key_id => {
                        if entry.signed_by(s.public_key()) {
                            "signature ok"
                        } else {
                            "SIGNATURE BAD"
                        }
                    }
                    _ => "signed by another key",
                };
                let summary = match zonefiles::Changeset::decode(&entry.changeset) {
                    Ok(c) => format!(
                        "-{} +{} DNS records, {} WHOIS changes",
                        c.removed.len(),
                        c.added.len(),
                        c.whois.len()
                    ),
                    Err(e) => format!("UNDECODABLE: {e}"),
                };
                println!(
                    "#{seq} {} {} -> {} at {} UTC: {summary}; key {} {checked}",
                    entry.zone,
                    entry.from_serial,
                    entry.to_serial,
                    zonefiles::calendar::date_time(entry.committed),
                    entry.key_id
                );
            }
            Ok(())
        }
        Command::Satellite(command) => {
            let conn = open(&config)?;
            match command {
                SatelliteCommand::Add { name, key } => {
                    let text = match std::fs::read_to_string(&key) {
                        Ok(text) => text,
                        Err(_) => key.clone(),
                    };
                    let public = satellite_protocol::keys::parse_public(&text).with_context(|| {
                        format!(
                            "{key} is neither a base64 Ed25519 public key nor a file holding one"
                        )
                    })?;
                    let text = satellite_protocol::keys::public_text(&public);
                    control_plane::satellites::add(&conn, &name, &text)?;
                    println!("satellite {name} accepted with key {text}");
                }
                SatelliteCommand::Remove { name } => {
                    if !control_plane::satellites::remove(&conn, &name)? {
                        anyhow::bail!("no satellite named {name}");
                    }
                    println!("satellite {name} removed");
                }
                SatelliteCommand::List => {
                    for member in control_plane::satellites::members(&conn)? {
                        println!("{}\t{}", member.name, member.public_key);
                    }
                }
            }
            Ok(())
        }
        Command::Satellites { json } => {
            let conn = open(&config)?;
            let rows = control_plane::satellites::status(&conn, ops::now())?;
            if json {
                for row in &rows {
                    println!("{}", serde_json::to_string(row)?);
                }
            } else {
                println!("satellite\tzone\tstate\tserial\tnewest\tlag\tlag_s\tlast_contact\taudit");
                for row in &rows {
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}s ago\t{}",
                        row.satellite,
                        row.zone,
                        if row.connected {
                            "connected"
                        } else {
                            "disconnected"
                        },
                        row.serial.map_or("-".to_string(), |s| s.to_string()),
                        row.newest,
                        row.lag_changes,
                        row.lag_seconds,
                        (ops::now() - row.last_contact).max(0),
                        row.audit.as_deref().unwrap_or("-")
                    );
                }
            }
            Ok(())
        }
        Command::Import { file, batch } => {
            let mut conn = open(&config)?;
            let signer = config.signer()?;
            let input: Box<dyn std::io::BufRead> = if file.as_os_str() == "-" {
                Box::new(std::io::stdin().lock())
            } else {
                let opened = std::fs::File::open(&file)
                    .with_context(|| format!("opening {}", file.display()))?;
                Box::new(std::io::BufReader::new(opened))
            };
            let started = std::time::Instant::now();
            let imported = control_plane::import::run(&mut conn, &signer, input, batch, |lines| {
                eprint!("\r{lines} lines read");
            })?;
            eprintln!();
            for (line, why) in imported.refused.iter().take(20) {
                println!("line {line}: {why}");
            }
            println!(
                "import: {} commands carried out in {} transaction(s) ({} changesets) in {:.1} s, {} refused",
                imported.done,
                imported.transactions,
                imported.changesets,
                started.elapsed().as_secs_f64(),
                imported.refused.len()
            );
            if !imported.refused.is_empty() {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Audit => {
            let conn = open(&config)?;
            audit(&conn, &config)
        }
        Command::Backup { target, keep } => {
            let conn = open(&config)?;
            let (file, pruned) = control_plane::recovery::backup(&conn, &target, keep)?;
            let backup = rusqlite::Connection::open_with_flags(
                &file,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            )?;
            let serials: Vec<String> = backup
                .zones()?
                .iter()
                .map(|z| format!("{} at serial {}", z.origin, z.serial))
                .collect();
            println!("backup {}: {}", file.display(), serials.join(", "));
            for old in pruned {
                println!("removed the older backup {}", old.display());
            }
            Ok(())
        }
        Command::Recover { recovery_key, logs } => {
            let key = control_plane::recovery::RecoveryPrivateKey::load(&recovery_key)?;
            let mut conn = open(&config)?;
            let recovery =
                control_plane::recovery::recover(&mut conn, &logs, &config.public_keys()?, &key)?;
            print!("{}", recovery.report());
            audit(&conn, &config)
        }
        Command::Export {
            zone,
            serial,
            output,
            min_ratio,
            force,
        } => {
            let conn = open(&config)?;
            let e =
                control_plane::snapshot::export(&conn, &zone, serial, &output, min_ratio, force)?;
            println!(
                "{zone} at serial {}: {} records in {}, {} WHOIS objects in {}, image SHA-256 {}",
                e.serial,
                e.records,
                e.image.display(),
                e.objects,
                e.whois.display(),
                e.digest
            );
            Ok(())
        }
        Command::Report(ReportCommand::Billing { month, output }) => {
            let csv = operator::billing(&open(&config)?, &month)?;
            match output {
                Some(path) => std::fs::write(&path, csv)
                    .with_context(|| format!("writing {}", path.display()))?,
                None => print!("{csv}"),
            }
            Ok(())
        }
        Command::Srrp {
            server,
            tls,
            command,
            object,
            attributes,
        } => {
            let request = Request {
                command: command.to_ascii_uppercase(),
                object: object.to_ascii_uppercase(),
                protocol: VERSION.to_string(),
                attributes: attributes
                    .iter()
                    .map(|a| {
                        a.split_once('=')
                            .map(|(n, v)| (n.to_string(), v.to_string()))
                            .with_context(|| format!("{a:?} is not attribute=value"))
                    })
                    .collect::<Result<_>>()?,
            };
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let config = tls.config()?;
            let response =
                runtime.block_on(client::send(server, &tls.server_name, config, &request))?;
            let wire = response.render();
            print!("{}", String::from_utf8_lossy(&wire[..wire.len() - 1]));
            Ok(())
        }
        Command::Epp {
            server,
            tls,
            client: id,
            password,
            greeting,
            documents,
        } => {
            let documents = documents
                .iter()
                .map(|path| {
                    if path.as_os_str() == "-" {
                        std::io::read_to_string(std::io::stdin()).context("reading standard input")
                    } else {
                        std::fs::read_to_string(path)
                            .with_context(|| format!("reading {}", path.display()))
                    }
                })
                .collect::<Result<Vec<_>>>()?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let config = tls.config()?;
            let responses = runtime.block_on(client::epp_session(
                server,
                &tls.server_name,
                config,
                &id,
                &password,
                &documents,
            ))?;
            for response in &responses[usize::from(!greeting)..] {
                println!("{response}");
            }
            Ok(())
        }
    }
}

fn registrar(
    command: RegistrarCommand,
    config: &Config,
    mut conn: rusqlite::Connection,
    who: &str,
) -> Result<()> {
    let signer = || config.signer();
    match command {
        RegistrarCommand::Add {
            id,
            iana_id,
            name,
            password: given,
            password_file,
            whois_server,
            url,
            abuse_email,
            abuse_phone,
            credit_limit,
        } => {
            anyhow::ensure!(
                conn.registrar(id)?.is_none(),
                "registrar {id} exists already (change it with suspend, resume, password or credit)"
            );
            let registrar = Registrar {
                id,
                iana_id,
                name,
                whois_server,
                url,
                abuse_email,
                abuse_phone,
                password_hash: auth::hash(&password(given, password_file)?),
                active: true,
                balance: 0,
                credit_limit,
                updated: ops::now(),
                certificate: None,
            };
            operator::put_registrar(&mut conn, &signer()?, &registrar, who, "ADD REGISTRAR")?;
            println!("registrar {id} ({}) added", registrar.name);
        }
        RegistrarCommand::Suspend { id } | RegistrarCommand::Resume { id } => {
            let active = matches!(command, RegistrarCommand::Resume { .. });
            let mut registrar = operator::registrar(&conn, id)?;
            registrar.active = active;
            registrar.updated = ops::now();
            let change = if active { "RESUME" } else { "SUSPEND" };
            operator::put_registrar(&mut conn, &signer()?, &registrar, who, change)?;
            println!(
                "registrar {id} {}",
                if active { "resumed" } else { "suspended" }
            );
        }
        RegistrarCommand::Password {
            id,
            password: given,
            password_file,
        } => {
            let mut registrar = operator::registrar(&conn, id)?;
            registrar.password_hash = auth::hash(&password(given, password_file)?);
            operator::put_registrar(&mut conn, &signer()?, &registrar, who, "SET PASSWORD")?;
            println!("registrar {id}: password changed");
        }
        RegistrarCommand::Pin {
            id,
            certificate,
            clear,
        } => {
            let mut registrar = operator::registrar(&conn, id)?;
            registrar.certificate = match (&certificate, clear) {
                (Some(path), false) => Some(tls::certificate_pin_file(path)?),
                _ => None,
            };
            let change = match &registrar.certificate {
                Some(pin) => format!("PIN CERTIFICATE (sha256 {pin})"),
                None => "UNPIN CERTIFICATE".to_string(),
            };
            operator::put_registrar(&mut conn, &signer()?, &registrar, who, &change)?;
            println!("registrar {id}: {}", change.to_lowercase());
        }
        RegistrarCommand::Credit { id, amount } => {
            let balance = operator::top_up(&mut conn, id, amount, who)?;
            println!(
                "registrar {id}: balance {}",
                control_plane::registry::money(balance)
            );
        }
        RegistrarCommand::List => {
            for r in sqlite::registrars(&conn)? {
                println!(
                    "{}\tIANA {}\t{}\t{}\tbalance {}\tcredit limit {}",
                    r.id,
                    r.iana_id,
                    if r.active { "active" } else { "suspended" },
                    r.name,
                    control_plane::registry::money(r.balance),
                    control_plane::registry::money(r.credit_limit)
                );
            }
        }
    }
    Ok(())
}

/// Runs the audit and prints it; exits 1 on a problem.
fn audit(conn: &rusqlite::Connection, config: &Config) -> Result<()> {
    let report = control_plane::audit::run(conn, &config.public_keys()?)?;
    for problem in &report.problems {
        println!("{problem}");
    }
    println!(
        "audit: {} changesets, {} domains, {} problems",
        report.changesets,
        report.domains,
        report.problems.len()
    );
    if !report.problems.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}

fn serve(config: Config, conn: rusqlite::Connection) -> Result<()> {
    let signer = config.signer().context(
        "the control plane signs every changeset: create a key with `control-plane keygen`",
    )?;
    match signer.recovery() {
        Some(key) => tracing::info!(
            key = key.id(),
            "registry records are sealed to this recovery key"
        ),
        None => tracing::warn!(
            "no recovery_key: satellites carry no registry record, and the registry cannot be rebuilt from them after a loss of its disk (docs/ops/disaster-recovery.md)"
        ),
    }
    let tls = tls::server_config(&config.srrp.certificate, &config.srrp.key)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async move {
        let mut listeners = Vec::new();
        for address in &config.srrp.listen {
            listeners.push(
                tokio::net::TcpListener::bind(address)
                    .await
                    .with_context(|| format!("binding SRRP on {address}"))?,
            );
        }
        tracing::info!(key = signer.id(), "changesets are signed with this key");
        let snapshot_signer = Signer::load(&config.signing_key)?;
        let (commits, commit_thread) = writer::start(
            conn,
            signer,
            writer::Settings {
                max_batch: config.srrp.max_batch,
                queue_per_registrar: config.srrp.queue_per_registrar,
                server_info: config.srrp.server_info.clone(),
                sweep_interval: Duration::from_secs(config.sweep_interval_s),
            },
        );
        let server = Arc::new(server::Server::new(
            tls,
            commits.clone(),
            config.database.clone(),
            &server::Settings {
                max_message_bytes: config.srrp.max_message_bytes,
                timeout: Duration::from_millis(config.srrp.timeout_ms),
                max_connections: config.srrp.max_connections,
                max_connections_per_ip: config.srrp.max_connections_per_ip,
            },
        ));
        for listener in listeners {
            tracing::info!(address = %listener.local_addr()?, "SRRP listening");
            tokio::spawn(server.clone().serve(listener));
        }
        let epp = if config.epp.listen.is_empty() {
            None
        } else {
            let e = &config.epp;
            let tls = match (&e.certificate, &e.key) {
                (Some(certificate), Some(key)) => tls::server_config(certificate, key)?,
                _ => tls::server_config(&config.srrp.certificate, &config.srrp.key)?,
            };
            let epp = Arc::new(control_plane::epp::server::Epp::new(
                tls,
                server.clone(),
                control_plane::epp::server::Settings {
                    server_id: e.server_id.clone(),
                    max_frame_bytes: e.max_frame_bytes,
                    handshake_timeout: Duration::from_secs(e.handshake_timeout_s),
                    idle_timeout: Duration::from_secs(e.idle_timeout_s),
                    max_session: Duration::from_secs(e.max_session_s),
                    max_failed_logins: e.max_failed_logins,
                    max_connections: e.max_connections,
                    max_connections_per_ip: e.max_connections_per_ip,
                    max_sessions_per_registrar: e.max_sessions_per_registrar,
                },
            ));
            for address in &e.listen {
                let listener = tokio::net::TcpListener::bind(address)
                    .await
                    .with_context(|| format!("binding EPP on {address}"))?;
                tracing::info!(address = %listener.local_addr()?, "EPP listening");
                tokio::spawn(epp.clone().serve(listener));
            }
            Some(epp)
        };
        let push = match config.push.listen {
            Some(address) => {
                let node_key = satellite_protocol::keys::load_private(&config.push.key)
                    .context("the push service needs a tunnel key: `control-plane keygen` writes tunnel.key")?;
                let feed = feed::Feed::new(config.database.clone(), 100_000)?;
                tokio::spawn(feed.clone().follow(commits.stats.published.clone()));
                let push = push::Push::new(
                    config.database.clone(),
                    snapshot_signer,
                    feed,
                    config.push.replay_limit,
                )?;
                let endpoint = quinn::Endpoint::server(
                    satellite_protocol::tunnel::server_config(&node_key, push.pins())?,
                    address,
                )
                .with_context(|| format!("binding the push service on {address} (UDP)"))?;
                tracing::info!(%address, key = satellite_protocol::keys::public_text(
                    &satellite_protocol::keys::public_of(&node_key).unwrap_or_default()), "push service listening (QUIC)");
                tokio::spawn(push.clone().serve(endpoint));
                tokio::spawn(push.clone().audit_every(Duration::from_secs(config.push.audit_interval_s.max(1))));
                Some(push)
            }
            None => None,
        };
        if let Some(address) = config.metrics_listen {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("binding metrics on {address}"))?;
            let (server, database) = (server.clone(), config.database.clone());
            let expiry = ops::tls::expiry(&config.srrp.certificate)?;
            let page: ops::Page = Arc::new(move || {
                let serials = zone_serials(&database).unwrap_or_default();
                let mut page = metrics::render(&server, &serials);
                if let Some(epp) = &epp {
                    page.push_str(&metrics::render_epp(epp));
                }
                page.push_str(&format!(
                    "# HELP control_plane_srrp_certificate_expiry_seconds When the SRRP certificate expires (Unix time; read at start).\n\
                     # TYPE control_plane_srrp_certificate_expiry_seconds gauge\n\
                     control_plane_srrp_certificate_expiry_seconds {expiry}\n"
                ));
                if let Some(push) = &push {
                    page.push_str(&push.metrics());
                }
                page
            });
            tokio::spawn(ops::serve_metrics(listener, page));
        }
        ops::stopped().await;
        tracing::info!("stopping: finishing the commands already queued");
        commits.close();
        let _ = tokio::task::spawn_blocking(move || commit_thread.join()).await;
        Ok(())
    })
}

fn zone_serials(database: &Path) -> Result<Vec<(String, u32)>> {
    let conn = rusqlite::Connection::open_with_flags(
        database,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    Ok(conn
        .zones()?
        .into_iter()
        .map(|z| (z.origin, z.serial))
        .collect())
}
