//! Golden checks with tools nobody here wrote: BIND's named-checkzone, Knot's kzonecheck and
//! ldns-compare-zones read what our writer produces.

use std::process::Command;

use zonefiles::{image, master};

use crate::support::{have_tool, testdata, zone};

fn run(tool: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(tool).args(args).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn bind_knot_and_ldns_accept_our_dump_of_a_compiled_zone() {
    if !(have_tool("named-checkzone") && have_tool("kzonecheck") && have_tool("ldns-compare-zones"))
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for source in ["checks/valid.zone", "master/rich.zone"] {
        let text = std::fs::read_to_string(testdata().join(source)).unwrap();
        let (zone, _) = zone(&text);
        let (bytes, _) = image::compile(&zone, |_| {}).unwrap();
        let dumped = image::Image::from_bytes(bytes).unwrap().to_zone().unwrap();
        let path = dir.path().join("dump.zone");
        let mut out = Vec::new();
        master::write_zone(&dumped, &mut out).unwrap();
        std::fs::write(&path, out).unwrap();
        let path = path.to_str().unwrap();
        let source_path = testdata().join(source);
        let source_path = source_path.to_str().unwrap();

        let (ok, text) = run("named-checkzone", &["-i", "local", "tld", path]);
        assert!(
            ok && text.contains("OK"),
            "named-checkzone on {source}: {text}"
        );
        let (ok, text) = run("kzonecheck", &["-d", "off", "-o", "tld", path]);
        assert!(ok, "kzonecheck on {source}: {text}");
        let (ok, text) = run("ldns-compare-zones", &["-s", source_path, path]);
        assert!(
            ok && text.contains("+0\t-0\t~0"),
            "ldns-compare-zones on {source}: {text}"
        );
    }
}
