//! The registrars' web page as its router sees requests: any method, path and query, form
//! body and cookie, with or without a live session, against a registry with one registrar
//! and a domain. No panic; every answer is one of the page's statuses and carries its
//! security headers.
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use control_plane::front::{auth, core::Core};
use control_plane::model::Registrar;
use control_plane::publish::{signing::Signer, writer};
use control_plane::web::{self, Peer, Web};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

struct Fixture {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
    session: String,
    _dir: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("registry.db");
        let mut conn = control_plane::store::sqlite::open(&database).unwrap();
        let (signer, _) = Signer::generate().unwrap();
        let registrar = Registrar {
            id: 1001,
            iana_id: 1001,
            name: "Fuzz Registrar".into(),
            whois_server: String::new(),
            url: String::new(),
            abuse_email: String::new(),
            abuse_phone: String::new(),
            password_hash: auth::hash("fuzz-password"),
            active: true,
            balance: 500,
            credit_limit: 1000,
            updated: 0,
            certificate: None,
        };
        control_plane::operator::put_registrar(&mut conn, &signer, &registrar, "fuzz", "ADD")
            .unwrap();
        let (commits, _thread) = writer::start(
            conn,
            signer,
            writer::Settings {
                max_batch: 16,
                queue_per_registrar: 16,
                server_info: Vec::new(),
                sweep_interval: Duration::from_secs(3600),
                message_days: 0,
            },
        );
        let core = Arc::new(Core::new(commits, database.clone()));
        let web = Web::new(
            core,
            database,
            web::Settings {
                registry: "Fuzz".into(),
                session_idle: Duration::from_secs(3600),
                session_max: Duration::from_secs(3600),
                failed_logins_per_minute: usize::MAX,
                low_balance: 0,
                timeout: Duration::from_secs(5),
                max_connections: 16,
                max_connections_per_ip: 16,
            },
        );
        let router = web::pages::router(web).layer(axum::Extension(Peer {
            ip: "192.0.2.1".parse().unwrap(),
            pin: None,
        }));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        // Log in once, through the page itself.
        let session = runtime.block_on(async {
            let form = router.clone().oneshot(Request::get("/login").body(Body::empty()).unwrap()).await.unwrap();
            let cookie = form.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_string();
            let html = axum::body::to_bytes(form.into_body(), 1 << 20).await.unwrap();
            let html = String::from_utf8_lossy(&html);
            let at = html.find("name=\"csrf\" value=\"").unwrap() + 19;
            let csrf = html[at..].split('"').next().unwrap();
            let login = Request::post("/login")
                .header(header::COOKIE, cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("registrar=1001&password=fuzz-password&csrf={csrf}")))
                .unwrap();
            let done = router.clone().oneshot(login).await.unwrap();
            assert_eq!(done.status(), StatusCode::SEE_OTHER);
            done.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_string()
        });
        Fixture { runtime, router, session, _dir: dir }
    })
}

fuzz_target!(|data: &[u8]| {
    let fixture = fixture();
    // The first byte: the method and whether the session cookie goes along; then the path,
    // a newline, a cookie header, a newline, the body.
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let mut parts = rest.splitn(3, |&b| b == b'\n');
    let path = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let cookie = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default().to_vec();
    let method = if control & 1 == 0 { "GET" } else { "POST" };
    let mut request = Request::builder().method(method).uri(format!("/{}", path.trim_start_matches('/')));
    if control & 2 != 0 {
        request = request.header(header::COOKIE, fixture.session.as_str());
    }
    if !cookie.is_empty() {
        request = request.header(header::COOKIE, cookie);
    }
    if control & 4 != 0 {
        request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    let Ok(request) = request.body(Body::from(body)) else {
        return;
    };
    let response = fixture
        .runtime
        .block_on(fixture.router.clone().oneshot(request))
        .unwrap();
    let status = response.status().as_u16();
    assert!(
        [200, 303, 400, 401, 403, 404, 405, 413, 415, 429].contains(&status),
        "status {status}"
    );
    assert!(response.headers().contains_key(header::CONTENT_SECURITY_POLICY));
});
