//! `control-plane escrow`: deposits with the escrow agent, the keys they use, and a registry
//! restored from them.

use std::path::PathBuf;

use anyhow::{Context, Result};
use control_plane::escrow::deposit::{self, Kind, Settings};
use control_plane::escrow::{restore, ryde};
use control_plane::store::sqlite::escrow;
use pgp::composed::{SignedPublicKey, SignedSecretKey};

use crate::{Env, open};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Make an OpenPGP key pair (Ed25519 signing, X25519 encryption): the registry's signing key
    /// for `[escrow] signing_key`, or a test escrow agent's.
    Keygen {
        /// Who the key is for (its user id), e.g. "Registry Escrow <escrow@nic.example>".
        #[arg(long)]
        user_id: String,
        /// Where to write the secret key (armored, mode 0600); the public key goes beside it
        /// with `.pub.asc` for `.asc`.
        #[arg(long)]
        out: PathBuf,
    },
    /// Make a deposit of a zone (of every zone if none is named) now: full or differential by
    /// the schedule (`[escrow] full_every_days`) unless told. A run killed midway leaves no
    /// folder that looks complete; the next run removes what it left and starts again.
    Deposit {
        /// The zone.
        zone: Option<String>,
        /// `full`, `diff`, or `thin`: the weekly bulk registration data access file for ICANN,
        /// encrypted to `[escrow] brda_key`.
        #[arg(long, value_parser = ["full", "diff", "thin"])]
        kind: Option<String>,
    },
    /// The deposits made.
    List {
        /// Only this zone's.
        zone: Option<String>,
    },
    /// Check deposits end to end without restoring them (an escrow agent's or a drill's check):
    /// each part's signature, the parts, decryption, the XML and every object, and that they
    /// chain (a full deposit, then its differentials in order).
    Verify(Deposits),
    /// Rebuild this (new) registry from a full deposit and the differential deposits after
    /// it, in order. The registry must run the zone and hold no domain or host object;
    /// registrars already added keep their passwords and credit.
    Restore(Deposits),
}

/// Deposits to check or restore, and the keys that open them.
#[derive(clap::Args)]
pub struct Deposits {
    /// The deposit folders, the full one first.
    #[arg(required = true)]
    deposits: Vec<PathBuf>,
    /// The registry's public key, which signed them.
    #[arg(long)]
    registry_key: PathBuf,
    /// The escrow agent's secret key, which decrypts them.
    #[arg(long)]
    agent_key: PathBuf,
}

impl Deposits {
    /// The registry's public key and the agent's secret key.
    fn keys(&self) -> Result<(SignedPublicKey, SignedSecretKey)> {
        Ok((
            ryde::public_key(&self.registry_key)?,
            ryde::secret_key(&self.agent_key)?,
        ))
    }
}

/// The public key file beside a secret key file: `x.asc` → `x.pub.asc`.
fn public_beside(secret: &std::path::Path) -> PathBuf {
    let stem = secret
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .trim_end_matches(".asc")
        .to_string();
    secret.with_file_name(format!("{stem}.pub.asc"))
}

/// Carries out an escrow command.
pub fn run(command: Command, env: &Env) -> Result<()> {
    let settings = &env.config.escrow;
    match command {
        Command::Keygen { user_id, out } => {
            if let Some(parent) = out.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let public = public_beside(&out);
            let fingerprint = ryde::generate(&user_id, &out, &public)?;
            println!(
                "OpenPGP key {fingerprint} for {user_id}: secret {}, public {}",
                out.display(),
                public.display()
            );
            Ok(())
        }
        Command::Deposit { zone, kind } => {
            let signing = ryde::secret_key(&settings.signing_key)
                .context("the registry's escrow signing key ([escrow] signing_key)")?;
            let agent = ryde::public_key(&settings.agent_key)
                .context("the escrow agent's key ([escrow] agent_key)")?;
            let kind = kind.map(|k| match k.as_str() {
                "full" => Kind::Full,
                "thin" => Kind::Thin,
                _ => Kind::Diff,
            });
            let brda = settings
                .brda_key
                .as_deref()
                .map(|path| ryde::public_key(path).context("ICANN's key ([escrow] brda_key)"))
                .transpose()?;
            let zones = match zone {
                Some(zone) => vec![zone],
                None => {
                    use control_plane::store::Store;
                    open(&env.config)?
                        .zones()?
                        .into_iter()
                        .map(|z| z.origin.to_string())
                        .collect()
                }
            };
            for zone in zones {
                // Drawn on a terminal only: a log gets the summary below.
                let bar = indicatif::ProgressBar::new_spinner().with_style(
                    indicatif::ProgressStyle::with_template(
                        "{spinner} {human_pos} domains read ({per_sec}, {elapsed})",
                    )
                    .expect("a valid template"),
                );
                let made = deposit::make(
                    &env.config.database,
                    &zone,
                    kind,
                    &Settings {
                        folder: &settings.folder,
                        split_bytes: settings.split_bytes,
                        signing: &signing,
                        agent: &agent,
                        brda: brda.as_ref(),
                        full_every: i64::from(settings.full_every_days) * 86_400,
                    },
                    |n| bar.set_position(n),
                )?;
                bar.finish_and_clear();
                let d = &made.deposit;
                println!(
                    "{} deposit {} of {} at {}: {} objects, {} parts ({} bytes) in {} ms; report {}",
                    d.kind,
                    d.id,
                    d.zone,
                    zonefiles::calendar::date_time(d.watermark),
                    d.objects,
                    made.parts.len(),
                    d.bytes,
                    d.took_ms,
                    made.report.display()
                );
                println!("{}", made.folder.display());
            }
            Ok(())
        }
        Command::List { zone } => {
            let state = deposit::state_path(&settings.folder);
            anyhow::ensure!(
                state.exists(),
                "no deposit has been made in {}",
                settings.folder.display()
            );
            let conn = escrow::open(&state)?;
            for d in escrow::deposits(&conn, zone.as_deref())? {
                println!(
                    "{}\t{}\t{}\t{}\t{} objects\t{} bytes\t{} ms\t{}",
                    d.id,
                    d.zone,
                    d.kind,
                    zonefiles::calendar::date_time(d.watermark),
                    d.objects,
                    d.bytes,
                    d.took_ms,
                    d.folder
                );
            }
            Ok(())
        }
        Command::Verify(given) => {
            let (registry, agent) = given.keys()?;
            let deposits = given.deposits;
            let scratch = tempfile::Builder::new().prefix("escrow-verify").tempdir()?;
            let checked =
                restore::verify(&deposits, &registry, &agent, scratch.path(), |what, _| {
                    tracing::info!("{what}")
                })?;
            for (d, _) in &checked {
                let counts: Vec<String> = d
                    .counts
                    .iter()
                    .map(|(uri, n)| format!("{n} {}", uri.rsplit(':').next().unwrap_or(uri)))
                    .collect();
                println!(
                    "ok: {} deposit {} of {} at {}: {}",
                    d.kind,
                    d.id,
                    d.zone,
                    zonefiles::calendar::date_time(d.watermark),
                    counts.join(", ")
                );
            }
            Ok(())
        }
        Command::Restore(given) => {
            let (registry, agent) = given.keys()?;
            let deposits = given.deposits;
            let mut conn = open(&env.config)?;
            let signer = env.config.signer()?;
            let scratch = tempfile::Builder::new()
                .prefix("escrow-restore")
                .tempdir_in(
                    env.config
                        .database
                        .parent()
                        .filter(|p| !p.as_os_str().is_empty())
                        .unwrap_or(std::path::Path::new(".")),
                )?;
            let restored = restore::restore(
                &mut conn,
                &signer,
                &deposits,
                &registry,
                &agent,
                scratch.path(),
                |what, n| tracing::info!(objects = n, "{what}"),
            )?;
            for d in &restored.deposits {
                println!(
                    "applied {} deposit {} of {} at {}",
                    d.kind,
                    d.id,
                    d.zone,
                    zonefiles::calendar::date_time(d.watermark)
                );
            }
            println!(
                "restored {} domains, {} host objects, {} registrars in {} changesets; set each registrar's password (control-plane registrar password) and credit",
                restored.domains, restored.hosts, restored.registrars, restored.changesets
            );
            Ok(())
        }
    }
}
