//! SVG plots of a report (plotters): latency against offered load, throughput per repetition
//! and memory over time, one line per server, for each zone shape; the distribution of
//! propagation latency, one line per offered rate.

use std::collections::BTreeMap;
use std::path::Path;

use plotters::prelude::*;

use super::Run;
use super::stats::{Summary, whole};

/// A plot written to a file.
#[derive(Debug, Clone)]
pub struct Plot {
    /// The file name (in the plots directory).
    pub file: String,
    /// What it shows.
    pub title: String,
    /// The zone shape.
    pub shape: String,
    /// The suite it belongs to.
    pub suite: String,
}

type Line = (String, Vec<(f64, f64)>);

/// A server's colour, the same in every plot; lines of anything else (offered rates) take the
/// next colour of a palette by their place in the plot.
fn colour(server: &str, place: usize) -> RGBColor {
    const PALETTE: [RGBColor; 4] = [
        RGBColor(0x94, 0x67, 0xbd),
        RGBColor(0xff, 0x7f, 0x0e),
        RGBColor(0x8c, 0x56, 0x4b),
        RGBColor(0x17, 0xbe, 0xcf),
    ];
    match server {
        "edge-dns" => RGBColor(0xd6, 0x27, 0x28),
        "nsd" => RGBColor(0x1f, 0x77, 0xb4),
        "knot" => RGBColor(0x2c, 0xa0, 0x2c),
        "reflector" => RGBColor(0x7f, 0x7f, 0x7f),
        _ => PALETTE[place % PALETTE.len()],
    }
}

/// Draws one plot of `suite` into `dir` and lists it.
fn emit(
    plots: &mut Vec<Plot>,
    dir: &Path,
    (suite, shape): (&str, &str),
    (file, title): (String, String),
    axes: &Axes,
    lines: &[Line],
) -> anyhow::Result<()> {
    chart(&dir.join(&file), &title, axes, lines)?;
    plots.push(Plot {
        file,
        title,
        shape: shape.into(),
        suite: suite.into(),
    });
    Ok(())
}

/// Draws every plot the runs have data for into `dir`.
pub fn draw_all(runs: &[Run], dir: &Path) -> anyhow::Result<Vec<Plot>> {
    std::fs::create_dir_all(dir)?;
    let mut shapes: Vec<&str> = runs.iter().map(|r| r.shape.as_str()).collect();
    shapes.dedup();
    shapes.sort();
    shapes.dedup();
    let mut plots = Vec::new();
    for shape in shapes {
        let dns: Vec<&Run> = runs
            .iter()
            .filter(|r| r.shape == shape && r.suite == "dns")
            .collect();
        if dns.is_empty() {
            continue;
        }
        let place = ("dns", shape);
        for (series, label) in [("latency-p99", "p99"), ("latency-p50", "p50")] {
            let lines = median_curves(&dns, series);
            if lines.iter().any(|(_, points)| !points.is_empty()) {
                let file = format!("{series}-{shape}.svg");
                let title = format!("UDP latency {label} against offered load, shape {shape}");
                let axes = Axes {
                    x: "offered load (thousand queries/s)",
                    y: &format!("{label} latency (ms, log)"),
                    log_y: true,
                    whole_x: false,
                };
                let lines = scale_x(lines, 1e-3);
                emit(&mut plots, dir, place, (file, title), &axes, &lines)?;
            }
        }
        let mut per_rep: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        for run in &dns {
            for m in run
                .measurements
                .iter()
                .filter(|m| m.metric == "UDP queries per second")
            {
                per_rep
                    .entry(m.server.clone())
                    .or_default()
                    .push((run.repetition as f64, m.value / 1e3));
            }
        }
        if !per_rep.is_empty() {
            let file = format!("throughput-{shape}.svg");
            let title = format!("UDP throughput at saturation per repetition, shape {shape}");
            let lines: Vec<Line> = per_rep
                .into_iter()
                .map(|(s, mut p)| {
                    p.sort_by(|a, b| a.0.total_cmp(&b.0));
                    (s, p)
                })
                .collect();
            let axes = Axes {
                x: "repetition",
                y: "thousand queries/s (dnsperf)",
                log_y: false,
                whole_x: true,
            };
            emit(&mut plots, dir, place, (file, title), &axes, &lines)?;
        }
        if let Some(first) = dns.iter().min_by_key(|r| r.repetition) {
            let lines: Vec<Line> = first
                .series
                .iter()
                .filter(|s| s.plot == "memory" && !s.points.is_empty())
                .map(|s| {
                    (
                        s.server.clone(),
                        s.points.iter().map(|p| (p[0], p[1])).collect(),
                    )
                })
                .collect();
            if !lines.is_empty() {
                let file = format!("memory-{shape}.svg");
                let title = format!(
                    "Server memory (PSS) from start to stop, repetition {}, shape {shape}",
                    first.repetition
                );
                let axes = Axes {
                    x: "seconds since start",
                    y: "MiB",
                    log_y: false,
                    whole_x: false,
                };
                emit(&mut plots, dir, place, (file, title), &axes, &lines)?;
            }
        }
    }
    // One distribution per registry size.
    let mut sizes: Vec<&str> = runs
        .iter()
        .filter(|r| r.suite == "propagation")
        .map(|r| r.shape.as_str())
        .collect();
    sizes.sort();
    sizes.dedup();
    for shape in sizes {
        let propagation: Vec<&Run> = runs
            .iter()
            .filter(|r| r.suite == "propagation" && r.shape == shape)
            .collect();
        let mut lines = median_curves(&propagation, "propagation");
        lines.retain(|(_, points)| !points.is_empty());
        let first = propagation[0];
        // In the order the rates ran, not alphabetically.
        lines.sort_by_key(|(rate, _)| first.order.iter().position(|o| o == rate));
        let (file, title) = match super::markdown::registry_size(shape) {
            Some(size) => (
                format!("propagation-{shape}.svg"),
                format!(
                    "Propagation: confirmation to answered by every satellite, a registry of {} domains",
                    whole(size)
                ),
            ),
            None => (
                "propagation.svg".to_owned(),
                "Propagation: confirmation to answered by every satellite".to_owned(),
            ),
        };
        let axes = Axes {
            x: "share of the changes answered (%)",
            y: "latency (ms, log)",
            log_y: true,
            whole_x: false,
        };
        emit(
            &mut plots,
            dir,
            ("propagation", shape),
            (file, title),
            &axes,
            &lines,
        )?;
    }
    Ok(plots)
}

/// For each server, the median over repetitions of `series`'s y at each x.
pub fn median_curves(runs: &[&Run], series: &str) -> Vec<Line> {
    let mut by_server: BTreeMap<String, BTreeMap<u64, Vec<f64>>> = BTreeMap::new();
    for run in runs {
        for s in run.series.iter().filter(|s| s.plot == series) {
            let points = by_server.entry(s.server.clone()).or_default();
            for p in &s.points {
                points.entry(p[0].to_bits()).or_default().push(p[1]);
            }
        }
    }
    by_server
        .into_iter()
        .map(|(server, points)| {
            let mut line: Vec<(f64, f64)> = points
                .into_iter()
                .filter_map(|(x, ys)| Some((f64::from_bits(x), Summary::of(&ys)?.median)))
                .collect();
            line.sort_by(|a, b| a.0.total_cmp(&b.0));
            (server, line)
        })
        .collect()
}

fn scale_x(lines: Vec<Line>, factor: f64) -> Vec<Line> {
    lines
        .into_iter()
        .map(|(s, p)| (s, p.into_iter().map(|(x, y)| (x * factor, y)).collect()))
        .collect()
}

/// A chart's axes.
struct Axes<'a> {
    x: &'a str,
    y: &'a str,
    /// A logarithmic y axis (latencies over orders of magnitude).
    log_y: bool,
    /// x takes whole values only (repetitions).
    whole_x: bool,
}

/// Draws one line per server, with a marker at each point when there are few, and room above
/// the lines for the legend.
fn chart(path: &Path, title: &str, axes: &Axes, lines: &[Line]) -> anyhow::Result<()> {
    let points = lines.iter().flat_map(|(_, p)| p.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in points {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        return Ok(());
    }
    if axes.whole_x {
        (x0, x1) = (x0 - 0.25, x1 + 0.25);
    } else if x0 == x1 {
        (x0, x1) = (x0 - 1.0, x1 + 1.0);
    }
    let markers = lines.iter().all(|(_, p)| p.len() <= 30);
    let root = SVGBackend::new(path, (720, 420)).into_drawing_area();
    let err = |e: DrawingAreaErrorKind<_>| anyhow::anyhow!("drawing {}: {e}", path.display());
    root.fill(&WHITE).map_err(err)?;
    let mut builder = ChartBuilder::on(&root);
    builder
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60);
    macro_rules! finish {
        ($chart:expr) => {{
            let mut chart = $chart;
            let mut mesh = chart.configure_mesh();
            mesh.x_desc(axes.x)
                .y_desc(axes.y)
                .light_line_style(BLACK.mix(0.04));
            let whole = |x: &f64| format!("{x:.0}");
            if axes.whole_x {
                mesh.x_labels((x1 - x0).round() as usize + 1)
                    .x_label_formatter(&whole);
            }
            mesh.draw().map_err(err)?;
            for (place, (server, line)) in lines.iter().enumerate() {
                let c = colour(server, place);
                chart
                    .draw_series(LineSeries::new(line.iter().copied(), c.stroke_width(2)))
                    .map_err(err)?
                    .label(server.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                    });
                if markers {
                    chart
                        .draw_series(line.iter().map(|&p| Circle::new(p, 3, c.filled())))
                        .map_err(err)?;
                }
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()
                .map_err(err)?;
        }};
    }
    if axes.log_y {
        let low = (y0.max(1e-3) / 2.0).max(1e-3);
        let high = (y1 * 5.0).max(low * 10.0);
        finish!(
            builder
                .build_cartesian_2d(x0..x1, (low..high).log_scale())
                .map_err(err)?
        );
    } else {
        let high = if y1 > 0.0 { y1 * 1.6 } else { 1.0 };
        finish!(builder.build_cartesian_2d(x0..x1, 0.0..high).map_err(err)?);
    }
    root.present().map_err(err)?;
    Ok(())
}
