//! Sample registrations for a local constellation: `.name` domains (`given.surname.name`)
//! spread over a few registrars, most delegated to shared hosting name servers and some with
//! their own in-zone name server and its glue — as `control-plane import` lines.

use std::fmt::Write;

const GIVEN: [&str; 40] = [
    "anna", "ben", "carla", "david", "emma", "felix", "greta", "hugo", "ines", "jonas", "karin",
    "leo", "mia", "noah", "olga", "paul", "quinn", "rosa", "sven", "tina", "uwe", "vera", "walt",
    "xenia", "yusuf", "zoe", "amir", "bianca", "chen", "dana", "eli", "fatima", "goran", "hana",
    "ivan", "julia", "kofi", "lena", "marco", "nina",
];
const SURNAMES: [&str; 50] = [
    "smith", "jones", "garcia", "muller", "rossi", "dubois", "tanaka", "kim", "nguyen", "silva",
    "kowalski", "novak", "jensen", "larsen", "berg", "costa", "santos", "lopez", "martin",
    "bernard", "weber", "fischer", "meyer", "wagner", "becker", "hoffmann", "schulz", "klein",
    "wolf", "neumann", "brown", "taylor", "wilson", "evans", "walker", "wright", "green", "baker",
    "hill", "clark", "lewis", "young", "king", "scott", "adams", "nelson", "carter", "mitchell",
    "roberts", "turner",
];
/// Hosting providers whose name servers most domains share.
const PROVIDERS: usize = 20;

/// The `n`-th sample domain (distinct for every `n`).
pub fn domain(n: usize) -> String {
    let given = GIVEN[n % GIVEN.len()];
    let surname = SURNAMES[(n / GIVEN.len()) % SURNAMES.len()];
    match n / (GIVEN.len() * SURNAMES.len()) {
        0 => format!("{given}.{surname}.name"),
        round => format!("{given}{round}.{surname}.name"),
    }
}

/// `count` creates for registrars `registrars`, one import line each.
pub fn registrations(count: usize, registrars: &[u32]) -> String {
    let mut out = String::with_capacity(count * 110);
    for n in 0..count {
        let registrar = registrars[n % registrars.len()];
        let name = domain(n);
        let _ = if n % 10 == 3 {
            writeln!(
                out,
                "{registrar} CREATE DOMAIN domain-name={name} ns1-name=ns1.{name} ns1-address=192.0.2.{} ns2-name=ns.host{}.example",
                n % 250 + 1,
                n % PROVIDERS
            )
        } else {
            let provider = n % PROVIDERS;
            writeln!(
                out,
                "{registrar} CREATE DOMAIN domain-name={name} ns1-name=ns1.host{provider}.example ns2-name=ns2.host{provider}.example"
            )
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_domains_are_distinct() {
        let names: std::collections::HashSet<String> = (0..20_000).map(domain).collect();
        assert_eq!(names.len(), 20_000);
        assert_eq!(domain(0), "anna.smith.name");
        assert!(
            registrations(10, &[1001, 1002])
                .lines()
                .all(|l| l.contains("CREATE DOMAIN"))
        );
    }
}
