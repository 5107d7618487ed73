//! The registrars' web page over HTTPS, driven by curl (cookies in a jar, as a browser keeps
//! them): log-in with its CSRF check and rate limit, every page and the CSV download, one
//! registrar never seeing another's data, forged and ended sessions, malformed requests, and
//! the security headers on every response.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;

use crate::fixture::{Registry, free_port, password};

struct Browser {
    web: SocketAddr,
    ca: PathBuf,
    jar: tempfile::NamedTempFile,
}

/// A response: status, headers (lower case), body.
struct Page {
    status: u16,
    headers: String,
    body: String,
}

impl Browser {
    fn new(registry: &Registry, web: SocketAddr) -> Browser {
        Browser {
            web,
            ca: registry.path("keys/srrp.crt"),
            jar: tempfile::NamedTempFile::new().unwrap(),
        }
    }

    fn request(&self, path: &str, extra: &[&str]) -> Page {
        let host = format!("localhost:{}:{}", self.web.port(), self.web.ip());
        let url = format!("https://localhost:{}{path}", self.web.port());
        let jar = self.jar.path().to_str().unwrap();
        let out = Command::new("curl")
            .args(["-s", "--resolve", &host, "--cacert"])
            .arg(&self.ca)
            .args([
                "-c",
                jar,
                "-b",
                jar,
                "-D",
                "/dev/stderr",
                "-w",
                "\n%{http_code}",
            ])
            .args(extra)
            .arg(&url)
            .output()
            .expect("curl is installed");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = stdout.rsplit_once('\n').unwrap_or(("", "0"));
        Page {
            status: code.trim().parse().unwrap_or(0),
            headers: String::from_utf8_lossy(&out.stderr).to_lowercase(),
            body: body.to_owned(),
        }
    }

    fn get(&self, path: &str) -> Page {
        self.request(path, &[])
    }

    fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let mut args = Vec::new();
        for (name, value) in form {
            args.push("--data-urlencode".to_string());
            args.push(format!("{name}={value}"));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.request(path, &args)
    }

    /// The CSRF token in the page's forms.
    fn csrf(page: &Page) -> String {
        let at = page.body.find("name=\"csrf\" value=\"").expect("a form") + 19;
        page.body[at..].split('"').next().unwrap().to_owned()
    }

    fn log_in(&self, registrar: u32, password: &str) -> Page {
        let form = self.get("/login");
        let id = registrar.to_string();
        self.post(
            "/login",
            &[
                ("registrar", &id),
                ("password", password),
                ("csrf", &Self::csrf(&form)),
            ],
        )
    }
}

#[test]
fn registrars_see_their_own_account_and_nothing_else() {
    let web = free_port();
    let mut registry = Registry::new(&format!(
        "\n[web]\nlisten = [\"{web}\"]\nregistry = \"Dot Name\"\nfailed_logins_per_minute = 3\nlow_balance = 100000000\n"
    ));
    registry.start();
    registry.register(1001, "mine.smith.name");
    registry.register(1001, "other.smith.name");
    registry.register(1002, "theirs.smith.name");
    registry.cli(&[
        "notice",
        "add",
        "Maintenance: SRRP and EPP read-only",
        "--from",
        "2099-01-01 02:00",
        "--until",
        "2099-01-01 04:00",
    ]);
    let one = Browser::new(&registry, web);

    // Not logged in: every page sends the browser to the log-in form.
    let page = one.get("/domains");
    assert_eq!(page.status, 303);
    assert!(
        page.headers.contains("location: /login"),
        "{}",
        page.headers
    );
    // The form's token must match its cookie.
    let page = one.post(
        "/login",
        &[
            ("registrar", "1001"),
            ("password", password(1001)),
            ("csrf", "forged"),
        ],
    );
    assert_eq!(page.status, 403, "{}", page.body);
    let page = one.log_in(1001, "wrong");
    assert_eq!(page.status, 401);
    assert!(page.body.contains("Unknown registrar id or wrong password"));
    let page = one.log_in(1001, password(1001));
    assert_eq!(page.status, 303, "{}", page.body);
    assert!(page.headers.contains("set-cookie: __host-session="));
    assert!(
        page.headers.contains("secure; httponly; samesite=strict"),
        "{}",
        page.headers
    );

    // Every page, and the headers every response carries.
    for path in [
        "/",
        "/domains",
        "/domains/mine.smith.name",
        "/messages",
        "/statement",
        "/notices",
        "/prices",
        "/nowhere",
    ] {
        let page = one.get(path);
        for header in [
            "strict-transport-security: max-age=31536000",
            "content-security-policy: default-src 'none'; style-src 'self'",
            "frame-ancestors 'none'",
            "x-content-type-options: nosniff",
            "cache-control: no-store",
        ] {
            assert!(
                page.headers.contains(header),
                "{path}: no {header}: {}",
                page.headers
            );
        }
        assert!(page.body.contains("Dot Name"), "{path}: {}", page.body);
    }
    let account = one.get("/");
    assert_eq!(account.status, 200);
    assert!(account.body.contains("Account of"), "{}", account.body);
    assert!(
        account.body.contains("The balance is low"),
        "the warning: {}",
        account.body
    );
    assert!(account.body.contains("Maintenance: SRRP and EPP read-only"));
    let domains = one.get("/domains");
    assert!(domains.body.contains("mine.smith.name") && domains.body.contains("other.smith.name"));
    assert!(
        !domains.body.contains("theirs.smith.name"),
        "another registrar's domain listed"
    );
    let search = one.get("/domains?q=MINE");
    assert!(search.body.contains("mine.smith.name") && !search.body.contains("other.smith.name"));
    let domain = one.get("/domains/mine.smith.name");
    assert!(
        domain.body.contains("ns.example.net") && domain.body.contains("CREATE DOMAIN"),
        "{}",
        domain.body
    );
    // Another registrar's domain is "not found", as a name that does not exist is.
    let theirs = one.get("/domains/theirs.smith.name");
    let nothing = one.get("/domains/nothing.smith.name");
    assert_eq!((theirs.status, nothing.status), (404, 404));
    assert!(!theirs.body.contains("1002") && theirs.body.contains("is not among your domains"));
    let statement = one.get("/statement");
    assert!(
        statement.body.contains("mine.smith.name") && !statement.body.contains("theirs.smith.name")
    );
    let csv = one.get(&format!(
        "/statement.csv?month={}",
        &zonefiles::calendar::date(ops::now())[..7]
    ));
    assert_eq!(csv.status, 200);
    assert!(
        csv.headers
            .contains("content-disposition: attachment; filename=\"statement-1001-")
    );
    assert!(
        csv.body
            .starts_with("registrar,iana_id,name,time,kind,domain,amount,balance\n")
    );
    assert!(
        csv.body.lines().skip(1).all(|l| l.starts_with("1001,")),
        "{}",
        csv.body
    );
    assert!(csv.body.contains("mine.smith.name"));
    let prices = one.get("/prices");
    assert!(prices.body.contains(".name"), "{}", prices.body);

    // Malformed requests: a clear status, nothing from the inside.
    let long = format!("/domains?q={}", "x".repeat(300));
    for path in ["/statement?month=2026-13", "/statement?month=x", &long] {
        let page = one.get(path);
        assert_eq!(page.status, 400, "{path}: {}", page.body);
        assert!(page.body.contains("Malformed request"));
    }
    let big = "x".repeat(8192);
    let page = one.post("/logout", &[("csrf", &big)]);
    assert_eq!(page.status, 413, "an oversized form");

    // Log-out needs the session's own token; after it, the session is gone.
    let page = one.post("/logout", &[("csrf", "forged")]);
    assert_eq!(page.status, 400);
    let csrf = Browser::csrf(&one.get("/"));
    let page = one.post("/logout", &[("csrf", &csrf)]);
    assert_eq!(page.status, 303);
    assert_eq!(one.get("/").status, 303);

    // A forged session cookie is no session.
    let forged = Browser::new(&registry, web);
    std::fs::write(
        forged.jar.path(),
        format!(
            "#HttpOnly_localhost\tFALSE\t/\tTRUE\t0\t__Host-session\t{}\n",
            "A".repeat(43)
        ),
    )
    .unwrap();
    assert_eq!(forged.get("/").status, 303);

    // The second registrar sees its own, and only its own.
    let two = Browser::new(&registry, web);
    assert_eq!(two.log_in(1002, password(1002)).status, 303);
    let domains = two.get("/domains");
    assert!(
        domains.body.contains("theirs.smith.name") && !domains.body.contains("mine.smith.name")
    );
    assert_eq!(two.get("/domains/mine.smith.name").status, 404);

    // Failed log-ins from one address are limited.
    let guesser = Browser::new(&registry, web);
    for _ in 0..2 {
        assert_eq!(guesser.log_in(1001, "guess").status, 401);
    }
    assert_eq!(guesser.log_in(1001, "guess").status, 429);
    assert_eq!(
        guesser.log_in(1001, password(1001)).status,
        429,
        "even the right one, for a minute"
    );
}

/// Headless Chromium through log-in, every page, a search, a domain, the CSV download and
/// log-out (`web_browser.py`, Selenium); each page is saved to `target/web-screenshots/`.
#[test]
fn a_browser_logs_in_and_reads_every_page() {
    let web = free_port();
    let mut registry = Registry::new(&format!(
        "\n[web]\nlisten = [\"{web}\"]\nregistry = \"Dot Name\"\nlow_balance = 100000000\n"
    ));
    registry.start();
    registry.register(1001, "mine.smith.name");
    registry.register(1001, "transferred.smith.name");
    registry.register(1002, "theirs.smith.name");
    let set = registry.as_registrar(
        1001,
        "SET PASSWORD",
        &[
            ("domain-name", "transferred.smith.name"),
            ("domain-auth", "Move-It-77"),
        ],
    );
    assert_eq!(set.code.number(), 200, "{set:?}");
    let moved = registry.as_registrar(
        1002,
        "TRANSFER DOMAIN",
        &[
            ("domain-name", "transferred.smith.name"),
            ("domain-auth", "Move-It-77"),
        ],
    );
    assert_eq!(moved.code.number(), 200, "{moved:?}");
    registry.cli(&[
        "notice",
        "add",
        "Maintenance window: SRRP, EPP and RRP read-only",
        "--from",
        "2099-01-01 02:00",
        "--until",
        "2099-01-01 04:00",
    ]);
    let shots = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/web-screenshots");
    std::fs::create_dir_all(shots).unwrap();
    let downloads = tempfile::tempdir().unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/integration/web_browser.py"
    );
    let out = Command::new(crate::epp::test_python())
        .arg(script)
        .arg(web.port().to_string())
        .args(["1001", password(1001), shots])
        .arg(downloads.path())
        .output()
        .expect("Python with Selenium: run test.sh (it installs chromium, chromium-driver and selenium)");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A registrar with a pinned client certificate logs in by the certificate alone, from a
/// client that presents it; without it, the same button is refused.
#[test]
fn a_pinned_certificate_logs_its_registrar_in() {
    let web = free_port();
    let mut registry = Registry::new(&format!("\n[web]\nlisten = [\"{web}\"]\n"));
    let generated =
        rcgen::generate_simple_self_signed(vec!["registrar-1003.example".to_string()]).unwrap();
    std::fs::write(registry.path("client.crt"), generated.cert.pem()).unwrap();
    std::fs::write(
        registry.path("client.key"),
        generated.signing_key.serialize_pem(),
    )
    .unwrap();
    registry.cli(&["registrar", "pin", "1003", "--certificate", "client.crt"]);
    registry.start();
    let (crt, key) = (registry.path("client.crt"), registry.path("client.key"));
    let identity = [
        "--cert",
        crt.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ];

    let with = Browser::new(&registry, web);
    let form = with.request("/login", &identity);
    assert!(
        form.body
            .contains("Log in as registrar 1003 with the certificate"),
        "{}",
        form.body
    );
    let csrf = Browser::csrf(&form);
    let mut args = identity.to_vec();
    let body = format!("csrf={csrf}&certificate=1");
    args.extend(["--data", body.as_str()]);
    let page = with.request("/login", &args);
    assert_eq!(page.status, 303, "{}", page.body);
    let account = with.request("/", &identity);
    assert!(account.body.contains("Account of"), "{}", account.body);
    assert!(account.body.contains("(1003)"), "{}", account.body);

    // Without the certificate there is no button, and the request is refused.
    let without = Browser::new(&registry, web);
    let form = without.get("/login");
    assert!(!form.body.contains("with the certificate"));
    let page = without.post(
        "/login",
        &[("csrf", &Browser::csrf(&form)), ("certificate", "1")],
    );
    assert_eq!(page.status, 401);
    assert!(
        page.body
            .contains("no certificate that a registrar has pinned"),
        "{}",
        page.body
    );
    // The password alone does not do for a registrar that pinned a certificate.
    assert_eq!(without.log_in(1003, password(1003)).status, 401);
}
