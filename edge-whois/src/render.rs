//! WHOIS output in the field order of ICANN's Registry RDDS Consistent Labeling and Display
//! Policy: `Key: value` lines, repeated keys for lists, dates in ISO 8601 UTC, then the last
//! update line and the terms of use. [`parse_domain`] reads a domain's lines back (the body of
//! the administrative `set` command, in the .name plan's line protocol).

use std::fmt::Write as _;

use serde::Deserialize;
use zonefiles::calendar;
use zonefiles::whois::{Domain, DomainStatus, Host, Nameserver, Registrar};

/// The texts an operator sets around the records.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Texts {
    /// Printed after every answer (the terms of use).
    pub terms: String,
    /// The form for inaccuracy complaints, shown with domains.
    pub inaccuracy_url: String,
    /// The answer when nothing matches; `{query}` is replaced by the query.
    pub not_found: String,
    /// The answer for names under TLDs this server does not serve.
    pub not_served: String,
    /// The answer when a client exceeds its limits.
    pub limited: String,
}

impl Default for Texts {
    fn default() -> Texts {
        Texts {
            terms: "The data in this WHOIS database is provided for information purposes only. \
                    By querying it you agree to use the data only for lawful purposes and not to \
                    use it for unsolicited mass communication or to collect data in bulk."
                .into(),
            inaccuracy_url: "https://icann.org/wicf/".into(),
            not_found: "No match for \"{query}\".".into(),
            not_served: "This server does not serve \"{query}\": ask the registry of its TLD."
                .into(),
            limited: "Query limit exceeded. Please try again later.".into(),
        }
    }
}

/// An ISO 8601 UTC date for seconds since 1970 (`2026-11-21T12:00:00Z`).
pub fn iso8601(seconds: i64) -> String {
    calendar::date_time(seconds).replacen(' ', "T", 1) + "Z"
}

/// Reads what [`iso8601`] writes.
pub fn parse_iso8601(text: &str) -> Option<i64> {
    let b = text.trim().as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[19] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| std::str::from_utf8(&b[r]).ok()?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    Some(calendar::days_from_civil(y, m as u32, d as u32) * calendar::DAY + h * 3600 + mi * 60 + s)
}

/// The U-label form of an A-label name, when it has any `xn--` label that decodes.
pub fn unicode_form(name: &str) -> Option<String> {
    if !name.split('.').any(|l| l.starts_with("xn--")) {
        return None;
    }
    let (unicode, result) = idna::domain_to_unicode(name);
    result.ok().filter(|_| unicode != name).map(|_| unicode)
}

fn registrar_lines(out: &mut String, registrar: Option<&Registrar>, id: u32) {
    if let Some(r) = registrar {
        let _ = writeln!(out, "Registrar: {}", r.name);
    }
    let _ = writeln!(out, "Registrar IANA ID: {id}");
    if let Some(r) = registrar {
        let _ = writeln!(out, "Registrar Abuse Contact Email: {}", r.abuse_email);
        let _ = writeln!(out, "Registrar Abuse Contact Phone: {}", r.abuse_phone);
    }
}

/// A domain's record lines (without the footer).
pub fn domain(d: &Domain, registrar: Option<&Registrar>) -> String {
    let mut out = String::with_capacity(1024);
    let _ = writeln!(out, "Domain Name: {}", d.name);
    if let Some(unicode) = unicode_form(&d.name) {
        let _ = writeln!(out, "Internationalized Domain Name: {unicode}");
    }
    let _ = writeln!(out, "Registry Domain ID: {}", d.roid);
    if let Some(r) = registrar {
        let _ = writeln!(out, "Registrar WHOIS Server: {}", r.whois_server);
        let _ = writeln!(out, "Registrar URL: {}", r.url);
    }
    let _ = writeln!(out, "Updated Date: {}", iso8601(d.updated));
    let _ = writeln!(out, "Creation Date: {}", iso8601(d.created));
    let _ = writeln!(out, "Registry Expiry Date: {}", iso8601(d.expires));
    registrar_lines(&mut out, registrar, d.registrar);
    for status in &d.statuses {
        let _ = writeln!(
            out,
            "Domain Status: {} https://icann.org/epp#{}",
            status.epp(),
            status.epp()
        );
    }
    for ns in &d.nameservers {
        let _ = writeln!(out, "Name Server: {}", ns.name);
    }
    let dnssec = if d.ds.is_empty() {
        "unsigned"
    } else {
        "signedDelegation"
    };
    let _ = writeln!(out, "DNSSEC: {dnssec}");
    out
}

/// A host's record lines.
pub fn host(h: &Host, registrar: Option<&Registrar>) -> String {
    let mut out = String::with_capacity(512);
    let _ = writeln!(out, "Server Name: {}", h.name);
    if let Some(unicode) = unicode_form(&h.name) {
        let _ = writeln!(out, "Internationalized Server Name: {unicode}");
    }
    for address in &h.addresses {
        let _ = writeln!(out, "IP Address: {address}");
    }
    if let Some(r) = registrar {
        let _ = writeln!(out, "Registrar: {}", r.name);
        let _ = writeln!(out, "Registrar WHOIS Server: {}", r.whois_server);
        let _ = writeln!(out, "Registrar URL: {}", r.url);
    } else {
        let _ = writeln!(out, "Registrar IANA ID: {}", h.registrar);
    }
    out
}

/// A registrar's record lines.
pub fn registrar(r: &Registrar) -> String {
    let mut out = String::with_capacity(512);
    let _ = writeln!(out, "Registrar: {}", r.name);
    let _ = writeln!(out, "Registrar IANA ID: {}", r.iana_id);
    let _ = writeln!(out, "Registrar WHOIS Server: {}", r.whois_server);
    let _ = writeln!(out, "Registrar URL: {}", r.url);
    let _ = writeln!(out, "Registrar Abuse Contact Email: {}", r.abuse_email);
    let _ = writeln!(out, "Registrar Abuse Contact Phone: {}", r.abuse_phone);
    let _ = writeln!(out, "Updated Date: {}", iso8601(r.updated));
    out
}

/// What follows every answer: the inaccuracy form (for domains), the last update line and
/// the terms of use, each line ending in CRLF as RFC 3912 asks.
pub fn footer(texts: &Texts, with_form: bool, last_update: Option<i64>) -> String {
    let mut out = String::with_capacity(texts.terms.len() + 200);
    if with_form {
        let _ = writeln!(
            out,
            "URL of the ICANN Whois Inaccuracy Complaint Form: {}",
            texts.inaccuracy_url
        );
    }
    if let Some(t) = last_update {
        let _ = writeln!(out, ">>> Last update of WHOIS database: {} <<<", iso8601(t));
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", texts.terms);
    out
}

/// Turns `\n` line ends into the CRLF of RFC 3912.
pub fn crlf(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\n', "\r\n")
}

/// Reads a domain's record lines back. Fields the output does not show (glue addresses, DS
/// data) come back empty; `DNSSEC: signedDelegation` cannot say which keys.
pub fn parse_domain(text: &str) -> Result<Domain, String> {
    let mut d = Domain {
        name: String::new(),
        roid: String::new(),
        registrar: 0,
        statuses: Vec::new(),
        nameservers: Vec::new(),
        ds: Vec::new(),
        created: 0,
        updated: 0,
        expires: 0,
    };
    let date = |v: &str, key: &str| parse_iso8601(v).ok_or(format!("{key}: not an ISO 8601 date"));
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "Domain Name" => d.name = value.to_ascii_lowercase(),
            "Registry Domain ID" => d.roid = value.to_owned(),
            "Registrar IANA ID" => {
                d.registrar = value
                    .parse()
                    .map_err(|_| "Registrar IANA ID: not a number")?
            }
            "Updated Date" => d.updated = date(value, "Updated Date")?,
            "Creation Date" => d.created = date(value, "Creation Date")?,
            "Registry Expiry Date" => d.expires = date(value, "Registry Expiry Date")?,
            "Domain Status" => {
                let code = value.split_whitespace().next().unwrap_or("");
                let status = DomainStatus::from_epp(code)
                    .ok_or(format!("Domain Status: unknown status {code:?}"))?;
                d.statuses.push(status);
            }
            "Name Server" => d.nameservers.push(Nameserver {
                name: value.to_ascii_lowercase(),
                addresses: Vec::new(),
            }),
            _ => {}
        }
    }
    if d.name.is_empty() {
        return Err("no Domain Name line".into());
    }
    Ok(d)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn dates_are_iso_8601_utc() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_795_262_173), "2026-11-21T11:56:13Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(parse_iso8601("2026-11-21T11:56:13Z"), Some(1_795_262_173));
        assert_eq!(parse_iso8601("2026-13-01T00:00:00Z"), None);
    }

    /// Domain records as registries hold them (no DS, no glue).
    pub(crate) fn domains() -> impl Strategy<Value = Domain> {
        (
            "[a-z][a-z0-9]{0,20}",
            "[A-Z0-9]{1,10}-TLD",
            1u32..100_000,
            proptest::sample::subsequence(DomainStatus::ALL.to_vec(), 0..4),
            proptest::collection::vec("ns[0-9]\\.[a-z]{1,10}\\.(net|com|tld)", 0..5),
            (
                0i64..4_000_000_000,
                0i64..4_000_000_000,
                0i64..4_000_000_000,
            ),
        )
            .prop_map(|(label, roid, registrar, statuses, ns, (c, u, e))| Domain {
                name: format!("{label}.tld"),
                roid,
                registrar,
                statuses,
                nameservers: ns
                    .into_iter()
                    .map(|name| Nameserver {
                        name,
                        addresses: Vec::new(),
                    })
                    .collect(),
                ds: Vec::new(),
                created: c,
                updated: u,
                expires: e,
            })
    }

    proptest! {
        /// Every domain record renders and parses back to itself.
        #[test]
        fn domains_render_and_parse_back(d in domains()) {
            let registrar = Registrar {
                iana_id: d.registrar,
                name: "Example Registrar, Inc.".into(),
                whois_server: "whois.example-registrar.net".into(),
                url: "https://example-registrar.net".into(),
                abuse_email: "abuse@example-registrar.net".into(),
                abuse_phone: "+1.5555550100".into(),
                updated: 0,
            };
            for r in [None, Some(&registrar)] {
                prop_assert_eq!(parse_domain(&domain(&d, r)).unwrap(), d.clone());
            }
        }
    }
}
