//! `control-plane import`: SRRP commands from a file, carried out as the registrars they name.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::{Env, open};

/// What to import.
#[derive(clap::Args)]
pub struct Args {
    /// The file (`-`: standard input).
    file: PathBuf,
    /// Commands per transaction.
    #[arg(long, default_value_t = 10_000)]
    batch: usize,
}

/// Imports the file; exits 1 when a command was refused.
pub fn run(args: Args, env: &Env) -> Result<()> {
    let Args { file, batch } = args;
    let config = &env.config;
    let mut conn = open(config)?;
    let signer = config.signer()?;
    let input: Box<dyn std::io::BufRead> = if file.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let opened =
            std::fs::File::open(&file).with_context(|| format!("opening {}", file.display()))?;
        Box::new(std::io::BufReader::new(opened))
    };
    let started = std::time::Instant::now();
    // Drawn on a terminal only: a log gets the summary below.
    let bar = indicatif::ProgressBar::new_spinner().with_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {human_pos} lines read ({per_sec}, {elapsed})",
        )
        .expect("a valid template"),
    );
    let imported =
        control_plane::operator::import::run(&mut conn, &signer, input, batch, |lines| {
            bar.set_position(lines as u64);
        })?;
    bar.finish_and_clear();
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
