//! `constellation verify`: for each satellite, the registry is exported at the serial the
//! satellite holds (`control-plane export`, once per serial) and the satellite's agent compares
//! its data with it item by item (`update-agent verify`). Needs the configuration files in the
//! manifest, so it runs where the parts share a host (as `up`'s do).

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

use crate::manifest::Manifest;
use ops::scrape::Samples;

/// Runs `verify`; an error names the satellites whose data differs.
pub fn run(path: &Path) -> anyhow::Result<()> {
    let manifest = Manifest::load(path)?;
    let control = manifest.control_plane_config.as_ref().context(
        "the manifest names no control_plane_config: run `update-agent verify` on each satellite instead",
    )?;
    let bin = std::env::current_exe()?
        .parent()
        .context("this binary's folder")?
        .to_owned();
    let exports = tempdir(path)?;
    let mut failed = Vec::new();
    for satellite in &manifest.satellites {
        let Some(agent) = &satellite.agent_config else {
            println!(
                "{}: no agent_config in the manifest; skipped",
                satellite.name
            );
            continue;
        };
        let page = Samples::fetch(satellite.agent_metrics)
            .with_context(|| format!("{}: its agent's metrics do not answer", satellite.name))?;
        for zone in &manifest.zones {
            let serial = page
                .get(&format!("update_agent_serial{{zone=\"{zone}\"}}"))
                .with_context(|| format!("{}: holds no data of {zone}", satellite.name))?
                as u32;
            if !exports.join(format!("{zone}-{serial}.img")).exists() {
                let out = Command::new(bin.join("control-plane"))
                    .arg("-c")
                    .arg(control)
                    .args([
                        "export",
                        zone,
                        "--serial",
                        &serial.to_string(),
                        "--force",
                        "-o",
                    ])
                    .arg(&exports)
                    .output()
                    .context("running control-plane export")?;
                if !out.status.success() {
                    bail!(
                        "exporting {zone} at {serial}: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            }
        }
        let out = Command::new(bin.join("update-agent"))
            .arg("-c")
            .arg(agent)
            .arg("verify")
            .arg("--export")
            .arg(&exports)
            .output()
            .context("running update-agent verify")?;
        println!("== {}", satellite.name);
        print!("{}", String::from_utf8_lossy(&out.stdout));
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        if !out.status.success() {
            failed.push(satellite.name.clone());
        }
    }
    let _ = std::fs::remove_dir_all(&exports);
    if !failed.is_empty() {
        bail!("{} differ from the registry", failed.join(", "));
    }
    println!("every satellite holds exactly the registry's data");
    Ok(())
}

/// A fresh folder for the exports beside the manifest.
fn tempdir(manifest: &Path) -> anyhow::Result<std::path::PathBuf> {
    let dir = manifest
        .parent()
        .unwrap_or(Path::new("."))
        .join(format!("verify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}
