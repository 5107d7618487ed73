//! `control-plane registrar`: registrar accounts (credentials, pinned certificates, credit).

use std::path::PathBuf;

use anyhow::{Context, Result};
use control_plane::front::{auth, tls};
use control_plane::model::Registrar;
use control_plane::operator;
use control_plane::store::{Store, sqlite};

use crate::{Env, open};

#[derive(clap::Subcommand)]
pub enum Command {
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

/// Carries out a registrar command.
pub fn run(command: Command, env: &Env) -> Result<()> {
    let (config, who) = (&env.config, env.who.as_str());
    let mut conn = open(config)?;
    let signer = || config.signer();
    match command {
        Command::Add {
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
        Command::Suspend { id } | Command::Resume { id } => {
            let active = matches!(command, Command::Resume { .. });
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
        Command::Password {
            id,
            password: given,
            password_file,
        } => {
            let mut registrar = operator::registrar(&conn, id)?;
            registrar.password_hash = auth::hash(&password(given, password_file)?);
            operator::put_registrar(&mut conn, &signer()?, &registrar, who, "SET PASSWORD")?;
            println!("registrar {id}: password changed");
        }
        Command::Pin {
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
        Command::Credit { id, amount } => {
            let balance = operator::top_up(&mut conn, id, amount, who)?;
            println!(
                "registrar {id}: balance {}",
                control_plane::registry::money(balance)
            );
        }
        Command::List => {
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
