//! Helpers shared by the integration tests.

use std::path::PathBuf;

use zonefiles::{Class, Finding, Name, ParseOptions, Zone, master};

/// The crate's testdata folder.
pub fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

/// Parses master-file text with origin `tld.` and builds the zone.
pub fn zone(text: &str) -> (Zone, Vec<Finding>) {
    let origin: Name = "tld.".parse().unwrap();
    let options = ParseOptions {
        origin: Some(origin.clone()),
        ..ParseOptions::default()
    };
    let records = master::parse_bytes("test", text.as_bytes(), options).unwrap();
    Zone::new(origin, Class::IN, records)
}

/// True when running under CI, where every external tool must be present.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// Whether an external tool is on the PATH; under CI a missing tool fails the test.
pub fn have_tool(tool: &str) -> bool {
    let found = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found || !in_ci(),
        "{tool} is required under CI; .ci/run installs it"
    );
    if !found {
        eprintln!("skipping: {tool} is not installed");
    }
    found
}
