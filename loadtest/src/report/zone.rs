//! The zone-tooling benchmark: our compile (parse, check, compile, write the image) beside the
//! load (parse and check) of NSD's, Knot's and BIND's zone checkers on the same file, each as a
//! process whose wall time, CPU time and peak memory come from the kernel (`wait4`); the image's
//! size against the text; opening the image (with the page cache dropped first, when this runs
//! as root, and warm) and look-ups in it; the diff of the image against that of the same zone
//! with a thousandth of its delegations changed.
//!
//! The tools are not pinned: each may use every core, as an operator would run it. Their order
//! turns with each repetition.

use std::ffi::OsStr;

use super::process;
use super::{Better, Context, Run};

/// The tools, in the order of the first repetition (`zonefiles` is our compile).
pub const TOOLS: [&str; 4] = [
    "zonefiles",
    "nsd-checkzone",
    "kzonecheck",
    "named-checkzone",
];

/// Drops the kernel's page cache (root only), so that the next open reads from the disk.
fn drop_page_cache() -> bool {
    // SAFETY: sync has no preconditions.
    unsafe { libc::sync() };
    std::fs::write("/proc/sys/vm/drop_caches", "3\n").is_ok()
}

/// Estimated seconds for one repetition on one shape.
pub fn estimate(ctx: &Context) -> f64 {
    1.0 + TOOLS.len() as f64 * (0.5 + ctx.delegations as f64 * 4e-6) + ctx.delegations as f64 * 8e-6
}

/// Whether the tool is installed (our own always is).
pub fn installed(tool: &str) -> bool {
    tool == "zonefiles" || super::on_path(tool)
}

/// Runs every tool once on `shape`'s zone.
pub fn run(ctx: &Context, shape: &str, repetition: u32) -> anyhow::Result<Run> {
    let dir = ctx.work.join(shape);
    let zone = dir.join("tld.zone");
    let image = dir.join("tld.img");
    let mut order: Vec<String> = TOOLS
        .iter()
        .filter(|t| installed(t))
        .map(|t| t.to_string())
        .collect();
    let len = order.len().max(1);
    order.rotate_left((repetition as usize - 1) % len);
    let mut run = Run::new("zone", shape, repetition, order.clone());
    for tool in &order {
        ctx.progress
            .step(&format!("{shape} · rep {repetition} · {tool}"));
        let (zone_arg, image_arg) = (zone.as_os_str(), image.as_os_str());
        let (program, args): (std::path::PathBuf, Vec<&OsStr>) = match tool.as_str() {
            "zonefiles" => (
                ctx.bin.join("zonefiles"),
                vec![
                    "compile".as_ref(),
                    "--quiet".as_ref(),
                    zone_arg,
                    "-o".as_ref(),
                    image_arg,
                ],
            ),
            "nsd-checkzone" => (tool.into(), vec!["tld".as_ref(), zone_arg]),
            "kzonecheck" => (tool.into(), vec!["-o".as_ref(), "tld".as_ref(), zone_arg]),
            _ => (
                tool.into(),
                vec![
                    "-i".as_ref(),
                    "local".as_ref(),
                    "-q".as_ref(),
                    "tld".as_ref(),
                    zone_arg,
                ],
            ),
        };
        let cost = process::run_measured(&program, &args)?;
        anyhow::ensure!(cost.success, "{tool} failed on {}", zone.display());
        run.add(
            tool,
            "wall time",
            "s",
            cost.wall.as_secs_f64(),
            Better::Lower,
        );
        run.add(tool, "CPU time", "s", cost.cpu.as_secs_f64(), Better::Lower);
        run.add(
            tool,
            "peak memory",
            "MiB",
            cost.peak_rss as f64 / (1 << 20) as f64,
            Better::Lower,
        );
        if tool == "zonefiles" {
            let text = std::fs::metadata(&zone)?.len() as f64;
            let bytes = std::fs::metadata(&image)?.len() as f64;
            run.add(tool, "image size", "MB", bytes / 1e6, Better::Lower);
            run.add(
                tool,
                "image size, share of the text",
                "%",
                100.0 * bytes / text,
                Better::Lower,
            );
            if drop_page_cache() {
                let cold = crate::zonebench::run(&image, None, 0)?;
                run.add(
                    tool,
                    "open the image and a first look-up, cold page cache",
                    "ms",
                    cold.open_and_first_lookup.as_secs_f64() * 1e3,
                    Better::Lower,
                );
            }
            let changed = dir.join("changed.img");
            let compiled = std::process::Command::new(ctx.bin.join("zonefiles"))
                .args(["compile", "--quiet"])
                .arg(dir.join("changed.zone"))
                .arg("-o")
                .arg(&changed)
                .stdout(std::process::Stdio::null())
                .status()?;
            anyhow::ensure!(compiled.success(), "zonefiles compile changed.zone failed");
            let bench = crate::zonebench::run(&image, Some(&changed), 3)?;
            if let (Some(diff), Some((removed, added))) = (bench.diff, bench.diff_size) {
                run.add(
                    tool,
                    &format!("diff against the zone with 0.1% of delegations changed ({removed} records out, {added} in)"),
                    "ms",
                    diff.as_secs_f64() * 1e3,
                    Better::Lower,
                );
            }
            run.add(
                tool,
                "open the image and a first look-up",
                "ms",
                bench.open_and_first_lookup.as_secs_f64() * 1e3,
                Better::Lower,
            );
            run.add(
                tool,
                "warm look-up of a delegation",
                "ns",
                bench.lookup_median.as_nanos() as f64,
                Better::Lower,
            );
        }
        ctx.progress.advance(0.5 + ctx.delegations as f64 * 4e-6);
    }
    ctx.progress.advance(1.0);
    Ok(run)
}
