//! One fixture per zone-check rule (`testdata/checks/<rule>.zone`).

use zonefiles::check::{Rule, Severity, check, has_errors};

use crate::support::{testdata, zone};

const RULES: [Rule; 19] = [
    Rule::SoaMissing,
    Rule::SoaMultiple,
    Rule::SoaNotAtApex,
    Rule::ApexNsMissing,
    Rule::OutOfZone,
    Rule::CnameAndOtherData,
    Rule::CnameMultiple,
    Rule::DnameMultiple,
    Rule::DnameAtDelegation,
    Rule::DnameChildren,
    Rule::GlueMissing,
    Rule::GlueUnused,
    Rule::OccludedData,
    Rule::DsAtApex,
    Rule::DsNotAtDelegation,
    Rule::DsDigestLength,
    Rule::WildcardNotLeftmost,
    Rule::DuplicateRecord,
    Rule::TtlMismatch,
];

#[test]
fn each_fixture_breaks_exactly_its_rule() {
    for rule in RULES {
        let path = testdata().join(format!("checks/{}.zone", rule.slug()));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let (zone, mut findings) = zone(&text);
        findings.extend(check(&zone));
        let rules: Vec<Rule> = findings.iter().map(|f| f.rule).collect();
        assert!(
            rules.contains(&rule),
            "{}: expected {rule:?}, got {findings:?}",
            path.display()
        );
        assert!(
            findings.iter().all(|f| f.rule == rule),
            "{}: only {rule:?} expected, got {findings:?}",
            path.display()
        );
        let warning_only = matches!(
            rule,
            Rule::GlueUnused
                | Rule::OccludedData
                | Rule::WildcardNotLeftmost
                | Rule::DuplicateRecord
                | Rule::TtlMismatch
        );
        assert_eq!(has_errors(&findings), !warning_only, "{rule:?}");
    }
}

#[test]
fn valid_zone_has_no_findings() {
    let text = std::fs::read_to_string(testdata().join("checks/valid.zone")).unwrap();
    let (zone, findings) = zone(&text);
    assert!(findings.is_empty());
    assert_eq!(check(&zone), vec![]);
}

#[test]
fn findings_read_well() {
    let text = std::fs::read_to_string(testdata().join("checks/glue_missing.zone")).unwrap();
    let (zone, _) = zone(&text);
    let findings = check(&zone);
    assert_eq!(findings[0].severity, Severity::Error);
    assert_eq!(
        findings[0].to_string(),
        "error: example.tld./NS: name server ns1.example.tld. is in the zone but has no A or AAAA record (glue_missing)"
    );
}

/// A registry zone holding thousands of hosts no delegation uses gets one line per rule, not
/// one per record, unless every finding is asked for.
#[test]
fn the_command_line_summarizes_findings_by_rule() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tld.zone");
    let mut text = String::from(
        "tld. 3600 IN SOA a.nic.tld. h.nic.tld. 1 1800 900 604800 3600\n\
         tld. 3600 IN NS a.nic.tld.\na.nic.tld. 3600 IN A 192.0.2.53\n",
    );
    for i in 0..2000 {
        text.push_str(&format!("d{i}.tld. 3600 IN NS ns.example.net.\n"));
        // Glue for hosts no delegation uses (orphans left behind in the registry).
        text.push_str(&format!("ns1.d{i}.tld. 3600 IN A 192.0.2.1\n"));
        text.push_str(&format!("ns2.d{i}.tld. 3600 IN A 192.0.2.2\n"));
    }
    std::fs::write(&path, text).unwrap();
    let run = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_zonefiles"))
            .arg("check")
            .arg(&path)
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "warnings only");
        String::from_utf8(out.stdout).unwrap()
    };
    let summary = run(&[]);
    assert_eq!(summary.lines().count(), 7, "{summary}");
    assert!(
        summary.contains("… 3995 more warnings of rule glue_unused (4000 in all"),
        "{summary}"
    );
    assert!(summary.contains("0 errors, 4000 warnings ("), "{summary}");
    let every = run(&["--all-findings"]);
    assert_eq!(every.lines().count(), 4001);
}
