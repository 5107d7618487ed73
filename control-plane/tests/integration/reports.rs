//! The monthly per-registrar transactions report (ICANN's Specification 3) counts what
//! registrars did over SRRP: registrations by term net of those refunded in their add grace
//! period, renewals, transfers won, lost and refused on both sides, deletions in grace and
//! attempted registrations.

use crate::fixture::Registry;
use crate::operator_month;

#[test]
fn the_transactions_report_counts_what_registrars_did() {
    let mut registry = Registry::new("");
    registry.cli(&[
        "zone",
        "grace",
        "tld",
        "--add-grace-days",
        "5",
        "--redemption-days",
        "30",
        "--transfer-timeout-days",
        "5",
    ]);
    // Everything below happens within one month: not in the last minute of one.
    crate::wait_for_month_start();
    registry.start();
    let srrp = |registrar: u32, header: &str, attributes: &[(&str, &str)], code: u16| {
        let response = registry.as_registrar(registrar, header, attributes);
        assert_eq!(
            response.code.number(),
            code,
            "{header} {attributes:?}: {response:?}"
        );
    };
    let in_years = |years: i64| {
        zonefiles::calendar::date(zonefiles::calendar::add_months(ops::now(), 12 * years))
    };
    for (name, years) in [("a.tld", 1), ("b.tld", 2), ("c.tld", 1), ("d.tld", 1)] {
        srrp(
            1001,
            "CREATE DOMAIN",
            &[
                ("domain-name", name),
                ("expiry-date", &in_years(years)),
                ("domain-auth", "move-it-42"),
                ("ns1-name", "ns.example.net"),
                ("ns2-name", "ns.example.org"),
            ],
            200,
        );
    }
    srrp(1001, "CREATE DOMAIN", &[("domain-name", "a.tld")], 400);
    srrp(1001, "DELETE DOMAIN", &[("domain-name", "a.tld")], 200);
    srrp(
        1001,
        "SET EXPIRE",
        &[("domain-name", "b.tld"), ("expiry-date", &in_years(3))],
        200,
    );
    srrp(
        1002,
        "TRANSFER DOMAIN",
        &[("domain-name", "c.tld"), ("domain-auth", "move-it-42")],
        200,
    );
    srrp(
        1001,
        "TRANSFER DOMAIN",
        &[("domain-name", "c.tld"), ("transfer-response", "yes")],
        200,
    );
    srrp(
        1002,
        "TRANSFER DOMAIN",
        &[("domain-name", "d.tld"), ("domain-auth", "move-it-42")],
        200,
    );
    srrp(
        1001,
        "TRANSFER DOMAIN",
        &[("domain-name", "d.tld"), ("transfer-response", "no")],
        200,
    );
    registry.kill();

    let csv = registry.cli(&[
        "report",
        "transactions",
        "tld",
        "--month",
        &operator_month(),
    ]);
    let lines: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(lines[0].len(), 39, "{csv}");
    assert_eq!(lines[0][0], "registrar-name");
    assert_eq!(lines[0][38], "attempted-adds");
    let row = |name: &str| -> Vec<&str> {
        lines
            .iter()
            .find(|l| l[0] == name)
            .unwrap_or_else(|| panic!("{name} in {csv}"))
            .clone()
    };
    let field = |row: &[&str], name: &str| -> String {
        row[lines[0].iter().position(|f| *f == name).unwrap()].to_string()
    };
    let one = row("Registrar 1001");
    for (name, value) in [
        ("iana-id", "91001"),
        ("total-domains", "2"),
        ("net-adds-1-yr", "2"),
        ("net-adds-2-yr", "1"),
        ("net-renews-1-yr", "1"),
        ("transfer-losing-successful", "1"),
        ("transfer-losing-nacked", "1"),
        ("transfer-gaining-successful", "0"),
        ("deleted-domains-grace", "1"),
        ("deleted-domains-nograce", "0"),
        ("attempted-adds", "5"),
    ] {
        assert_eq!(field(&one, name), value, "{name}: {csv}");
    }
    let two = row("Registrar 1002");
    for (name, value) in [
        ("total-domains", "1"),
        ("transfer-gaining-successful", "1"),
        ("transfer-gaining-nacked", "1"),
        ("net-adds-1-yr", "0"),
    ] {
        assert_eq!(field(&two, name), value, "{name}: {csv}");
    }
    assert!(
        !csv.contains("Registrar 1003"),
        "no domains, no activity: no line"
    );
    let totals = row("Totals");
    assert_eq!(field(&totals, "total-domains"), "3");
    assert_eq!(field(&totals, "attempted-adds"), "5");
    assert!(csv.ends_with("\r\n"));
}
