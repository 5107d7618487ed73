//! `control-plane journal`: the journal of signed changesets, with each signature checked.

use anyhow::Result;
use control_plane::publish::signing::Signer;
use control_plane::store::sqlite;

use crate::{Env, open};

/// Which entries to list.
#[derive(clap::Args)]
pub struct Args {
    /// Only this zone.
    #[arg(long)]
    zone: Option<String>,
    /// Entries after this sequence number.
    #[arg(long, default_value_t = 0)]
    after: i64,
    /// At most this many.
    #[arg(long, default_value_t = 50)]
    limit: usize,
}

/// Prints the entries.
pub fn run(args: Args, env: &Env) -> Result<()> {
    let Args { zone, after, limit } = args;
    let config = &env.config;
    let conn = open(config)?;
    let signer = Signer::load(&config.signing_key).ok();
    for (seq, entry) in sqlite::journal_after(&conn, zone.as_deref().unwrap_or(""), after, limit)? {
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
