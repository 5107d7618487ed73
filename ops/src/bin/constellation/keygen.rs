//! `constellation keygen`: every key a constellation needs, from one place. The control plane's
//! keys and a node's tunnel key are made by the binaries that use them (`control-plane keygen`,
//! `update-agent keygen`); TSIG secrets for secondary partners are made here, printed as the
//! configuration of edge-dns and of the partner's server (BIND, NSD, Knot).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// Which key.
#[derive(clap::Subcommand)]
pub enum Key {
    /// The control plane's keys: changeset signing key, push-service tunnel key, SRRP
    /// certificate (`control-plane keygen`).
    ControlPlane {
        /// Where to write them.
        #[arg(long, default_value = "keys")]
        dir: PathBuf,
    },
    /// A satellite's (or relay's) tunnel key (`update-agent keygen`); its `.pub` is what its
    /// upstream pins.
    Node {
        /// Where to write it.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The files' base name.
        #[arg(long, default_value = "node")]
        name: String,
    },
    /// A TSIG secret (HMAC-SHA256, 256 bits) for zone transfers to a secondary partner,
    /// printed as edge-dns, BIND, NSD and Knot configuration.
    Tsig {
        /// The key's name, e.g. `xfr.name.`.
        name: String,
    },
}

/// Runs `keygen`.
pub fn run(key: Key) -> anyhow::Result<()> {
    let bin = std::env::current_exe()?
        .parent()
        .context("this binary's folder")?
        .to_owned();
    match key {
        Key::ControlPlane { dir } => {
            delegate(&bin, "control-plane", &["keygen", "--dir", path(&dir)?])
        }
        Key::Node { dir, name } => delegate(
            &bin,
            "update-agent",
            &["keygen", "--dir", path(&dir)?, "--name", &name],
        ),
        Key::Tsig { name } => {
            let mut secret = [0u8; 32];
            std::fs::File::open("/dev/urandom")
                .and_then(|mut f| f.read_exact(&mut secret))
                .context("reading /dev/urandom")?;
            print!("{}", tsig(&name, &secret));
            Ok(())
        }
    }
}

fn path(dir: &Path) -> anyhow::Result<&str> {
    dir.to_str().context("a UTF-8 path")
}

fn delegate(bin: &Path, program: &str, args: &[&str]) -> anyhow::Result<()> {
    let status = Command::new(bin.join(program))
        .args(args)
        .status()
        .with_context(|| format!("running {program} (it belongs next to this binary)"))?;
    if !status.success() {
        bail!("{program} {} failed", args.join(" "));
    }
    Ok(())
}

/// A TSIG key's configuration for edge-dns and the partners' servers.
pub fn tsig(name: &str, secret: &[u8]) -> String {
    let name = if name.ends_with('.') {
        name.to_owned()
    } else {
        format!("{name}.")
    };
    let secret = data_encoding::BASE64.encode(secret);
    format!(
        "# edge-dns.toml (then name the key in the zone's allow_transfer and notify)\n\
         [[key]]\nname = \"{name}\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{secret}\"\n\n\
         # BIND, named.conf\n\
         key \"{name}\" {{\n\talgorithm hmac-sha256;\n\tsecret \"{secret}\";\n}};\n\n\
         # NSD, nsd.conf\n\
         key:\n\tname: \"{name}\"\n\talgorithm: hmac-sha256\n\tsecret: \"{secret}\"\n\n\
         # Knot, knot.conf\n\
         key:\n  - id: {name}\n    algorithm: hmac-sha256\n    secret: {secret}\n"
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_secret_is_the_same_in_every_dialect() {
        let text = super::tsig("xfr.name", &[7; 32]);
        let secret = data_encoding::BASE64.encode(&[7; 32]);
        assert_eq!(text.matches(&secret).count(), 4, "{text}");
        assert_eq!(text.matches("xfr.name.").count(), 4, "{text}");
    }
}
