//! `update-agent`: the satellite's only writer. It dials the control plane (or a relay) over
//! QUIC, says which serial each zone holds, and applies the signed changesets and snapshots it
//! receives to the zone directories and the WHOIS tree, acknowledging each serial once it is
//! durable. Every agent keeps the newest signed changesets it applied (`keep_changesets`, with
//! their sealed registry records: the registry's disaster recovery replays them); with
//! `[relay]` it also serves agents downstream from them. The work is in the library
//! (`update_agent::run`, `update_agent::applier`); this is its command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use satellite_protocol::keys;
use update_agent::config::Config;
use update_agent::{run, satellite, verify};

/// The satellite's update-agent.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The configuration file (TOML).
    #[arg(short, long, default_value = "update-agent.toml", global = true)]
    config: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the agent (the default).
    Run,
    /// Writes a new node key (`<name>.key`, mode 0600) and its public key (`<name>.pub`):
    /// the key the control plane pins for this satellite.
    Keygen {
        /// Where to write them.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The files' base name.
        #[arg(long, default_value = "node")]
        name: String,
    },
    /// Prints the serial each zone holds, from the data on disk (read only: safe while the
    /// agent runs).
    Status,
    /// Compares this satellite's DNS and WHOIS data, item by item, with the registry's export
    /// at the serial it holds (`control-plane export <zone> --serial <serial> -o DIR`): what
    /// is missing, extra or different. Read only; exits 1 on any difference.
    Verify {
        /// The folder holding `<zone>-<serial>.img` and `<zone>-<serial>.whois`.
        #[arg(long)]
        export: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    ops::init_logging();
    match cli.command.unwrap_or(Command::Run) {
        Command::Keygen { dir, name } => {
            std::fs::create_dir_all(&dir)?;
            let key = keys::write_new(
                &dir.join(format!("{name}.key")),
                &dir.join(format!("{name}.pub")),
            )?;
            println!("{}", keys::public_text(&key));
            Ok(())
        }
        Command::Status => {
            // Read only: the agent may be running.
            let config = Config::load(&cli.config)?;
            for zone in &config.zones {
                match satellite::serial_on_disk(&zone.directory)? {
                    Some(serial) => println!("{}\t{serial}", zone.origin),
                    None => println!("{}\tno data yet", zone.origin),
                }
            }
            Ok(())
        }
        Command::Verify { export } => {
            let config = Config::load(&cli.config)?;
            let mut same = true;
            for zone in &config.zones {
                same &= verify::against_export(
                    &zone.origin,
                    &zone.directory,
                    &config.whois_tree,
                    &export,
                )?;
            }
            if !same {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Run => {
            let config = Config::load(&cli.config)?;
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?
                .block_on(run::run(config, &cli.config))
        }
    }
}
