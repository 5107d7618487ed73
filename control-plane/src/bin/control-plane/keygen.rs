//! `control-plane keygen`: the changeset signing key, a self-signed TLS certificate for the
//! registrar front ends, the push service's tunnel key and the offline recovery key.

use std::path::PathBuf;

use anyhow::{Context, Result};
use control_plane::front::tls;
use control_plane::publish::signing::Signer;

/// Where to write the keys, and for which names.
#[derive(clap::Args)]
pub struct Args {
    /// Folder to write signing.key, signing.pub, srrp.crt and srrp.key into.
    #[arg(long)]
    dir: PathBuf,
    /// Names and addresses the certificate is valid for.
    #[arg(long = "name", default_values_t = ["localhost".to_string(), "127.0.0.1".to_string()])]
    names: Vec<String>,
    /// Only the signing key (a key rotation: see README, "Rotating the signing key").
    #[arg(long)]
    signing_only: bool,
}

/// Writes the keys.
pub fn run(args: Args) -> Result<()> {
    let Args {
        dir,
        names,
        signing_only,
    } = args;
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
    let tunnel =
        satellite_protocol::keys::write_new(&dir.join("tunnel.key"), &dir.join("tunnel.pub"))?;
    let recovery = control_plane::operator::recovery::generate(&dir.join("recovery.key"))?;
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
