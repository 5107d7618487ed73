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
