//! The page handlers, the router and the templates of the registrars' web page.
//!
//! One file on purpose: every handler goes through the same few steps here — the session's
//! viewer, a scoped read, a template, the error pages — and the handlers read best as the list
//! of pages below.
//!
//! | path | page |
//! | --- | --- |
//! | `GET /login`, `POST /login`, `POST /logout` | log-in form (CSRF-checked), log-in, log-out |
//! | `GET /` | the account: balance, credit limit, low-balance warning, counts, notices |
//! | `GET /domains?q=&after=` | the registrar's domains containing `q`, 50 a page after `after` |
//! | `GET /domains/{name}` | one domain: status, dates, name servers, DS, history |
//! | `GET /messages` | unacknowledged poll messages, oldest first |
//! | `GET /statement?month=YYYY-MM`, `GET /statement.csv?month=` | the month's ledger lines; the billing report's CSV rows |
//! | `GET /notices`, `GET /prices` | the registry's notices; its prices and premium names |

use std::sync::Arc;

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use minijinja::{Value, context};
use serde::Deserialize;
use zonefiles::calendar;

use super::session::{Session, same, token};
use super::{Peer, Web};
use crate::front::core::Denied;
use crate::model::{Domain, HistoryKey, Registrar};
use crate::registry::money;
use crate::store::Store;
use crate::store::sqlite::{journal, pages};

/// The session cookie (`__Host-`: Secure, path `/`, no domain).
const SESSION: &str = "__Host-session";
/// The log-in form's CSRF cookie.
const LOGIN: &str = "__Host-login";
/// Domains a page.
const PAGE: usize = 50;
/// Messages listed, at most.
const MESSAGES: usize = 200;
/// Statement lines a page.
const STATEMENT_PAGE: usize = 100;

/// The compiled-in templates.
pub fn templates() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    for (name, source) in [
        ("base.html", include_str!("templates/base.html")),
        ("login.html", include_str!("templates/login.html")),
        ("error.html", include_str!("templates/error.html")),
        ("account.html", include_str!("templates/account.html")),
        ("domains.html", include_str!("templates/domains.html")),
        ("domain.html", include_str!("templates/domain.html")),
        ("messages.html", include_str!("templates/messages.html")),
        ("statement.html", include_str!("templates/statement.html")),
        ("notices.html", include_str!("templates/notices.html")),
        ("prices.html", include_str!("templates/prices.html")),
    ] {
        env.add_template(name, source)
            .expect("the compiled-in templates are valid");
    }
    env
}

/// The router over the web page's state.
pub fn router(web: Arc<Web>) -> Router {
    Router::new()
        .route("/login", get(login_form).post(log_in))
        .route("/logout", post(log_out))
        .route("/", get(account))
        .route("/domains", get(domains))
        .route("/domains/{name}", get(domain))
        .route("/messages", get(messages))
        .route("/statement", get(statement))
        .route("/statement.csv", get(statement_csv))
        .route("/notices", get(notices))
        .route("/prices", get(prices))
        .route("/style.css", get(style))
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(4096))
        .layer(axum::middleware::map_response(secure))
        .with_state(web)
}

/// The headers every response carries.
async fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// A cookie's value, if the request carries it.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (n, v) = pair.trim().split_once('=')?;
            (n == name).then(|| v.to_string())
        })
}

/// Sets a cookie on a response: Secure, HttpOnly, SameSite=Strict, path `/` (so `__Host-`
/// names hold); `max_age` 0 removes it.
fn set_cookie(response: &mut Response, name: &str, value: &str, max_age: Option<u64>) {
    let age = max_age.map_or(String::new(), |s| format!("; Max-Age={s}"));
    let cookie = format!("{name}={value}; Path=/; Secure; HttpOnly; SameSite=Strict{age}");
    // Tokens are base64url, so the value is always a valid header.
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// A registrar logged in, as a page sees it.
struct Viewer {
    session: Session,
    registrar: Registrar,
}

impl Viewer {
    /// What every page's layout shows.
    fn base(&self, web: &Web, here: &str) -> Value {
        context! {
            registry => web.settings.registry.clone(),
            here => here,
            csrf => self.session.csrf.clone(),
            registrar => context! {
                id => self.registrar.id,
                name => self.registrar.name.clone(),
                iana_id => self.registrar.iana_id,
            },
        }
    }
}

fn render(web: &Web, status: StatusCode, name: &str, values: Value) -> Response {
    match web
        .templates
        .get_template(name)
        .and_then(|t| t.render(values))
    {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, template = name, "rendering a page");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be shown",
            )
                .into_response()
        }
    }
}

fn error_page(
    web: &Web,
    viewer: Option<&Viewer>,
    status: StatusCode,
    heading: &str,
    text: &str,
) -> Response {
    let base = match viewer {
        Some(v) => v.base(web, ""),
        None => context! { registry => web.settings.registry.clone() },
    };
    render(
        web,
        status,
        "error.html",
        context! { heading => heading, text => text, ..base },
    )
}

fn unavailable(web: &Web, viewer: Option<&Viewer>, error: &anyhow::Error) -> Response {
    tracing::error!(%error, "reading the registry database for the web page");
    error_page(
        web,
        viewer,
        StatusCode::SERVICE_UNAVAILABLE,
        "Not available just now",
        "The registry could not read its database. Try again in a moment.",
    )
}

/// The answer to a form that could not be read: too large (413), or malformed.
fn unread_form(web: &Web, viewer: Option<&Viewer>, rejection: &FormRejection) -> Response {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return error_page(
            web,
            viewer,
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request too large",
            "A form here takes at most 4 KiB.",
        );
    }
    bad_request(web, viewer)
}

fn bad_request(web: &Web, viewer: Option<&Viewer>) -> Response {
    error_page(
        web,
        viewer,
        StatusCode::BAD_REQUEST,
        "Malformed request",
        "The address or the form could not be read. Use the page's links and forms.",
    )
}

/// The session's registrar, or the response that sends the browser to the log-in page.
async fn viewer(web: &Arc<Web>, headers: &HeaderMap) -> Result<Viewer, Response> {
    let to_login = || Redirect::to("/login").into_response();
    let key = cookie(headers, SESSION).ok_or_else(to_login)?;
    let session = web.sessions.get(&key).ok_or_else(to_login)?;
    let id = session.registrar;
    match web.read(move |c| Ok(c.registrar(id)?)).await {
        Ok(Some(registrar)) if registrar.active => Ok(Viewer { session, registrar }),
        Ok(_) => {
            web.sessions.close_all(id);
            Err(to_login())
        }
        Err(error) => Err(unavailable(web, None, &error)),
    }
}

/// The log-in form; `pinned` is the registrar whose pinned certificate the browser presents.
fn login_page(web: &Web, status: StatusCode, error: Option<&str>, pinned: Option<u32>) -> Response {
    let csrf = token();
    let mut response = render(
        web,
        status,
        "login.html",
        context! {
            registry => web.settings.registry.clone(),
            login_csrf => csrf.clone(),
            error => error,
            pinned => pinned,
        },
    );
    set_cookie(&mut response, LOGIN, &csrf, Some(3600));
    response
}

/// The registrar whose pinned certificate the peer presented, if any.
async fn pinned(web: &Arc<Web>, peer: &Peer) -> anyhow::Result<Option<u32>> {
    let Some(pin) = peer.pin.clone() else {
        return Ok(None);
    };
    web.read(move |c| Ok(pages::registrar_by_pin(c, &pin)?))
        .await
}

async fn login_form(
    State(web): State<Arc<Web>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
) -> Response {
    if cookie(&headers, SESSION).is_some_and(|key| web.sessions.get(&key).is_some()) {
        return Redirect::to("/").into_response();
    }
    match pinned(&web, &peer).await {
        Ok(pinned) => login_page(&web, StatusCode::OK, None, pinned),
        Err(error) => unavailable(&web, None, &error),
    }
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    registrar: String,
    #[serde(default)]
    password: String,
    csrf: String,
    /// Log in by the client certificate the browser presents, not a password.
    #[serde(default)]
    certificate: String,
}

/// Opens a session for `id` and sends the browser to its account.
fn session_for(web: &Web, id: u32, peer: &Peer) -> Response {
    let Some(key) = web.sessions.open(id) else {
        return error_page(
            web,
            None,
            StatusCode::SERVICE_UNAVAILABLE,
            "Too many sessions",
            "The page has too many sessions open just now. Try again later.",
        );
    };
    tracing::info!(registrar = id, ip = %peer.ip, "web log-in");
    let mut response = Redirect::to("/").into_response();
    set_cookie(&mut response, SESSION, &key, None);
    set_cookie(&mut response, LOGIN, "", Some(0));
    response
}

async fn log_in(
    State(web): State<Arc<Web>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let form = match form {
        Ok(Form(form)) => form,
        Err(rejection) => return unread_form(&web, None, &rejection),
    };
    if !web.sessions.may_try(peer.ip) {
        return error_page(
            &web,
            None,
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed log-ins",
            "Too many log-ins failed from your address in the last minute. Wait a minute, then try again.",
        );
    }
    let pinned = match pinned(&web, &peer).await {
        Ok(pinned) => pinned,
        Err(error) => return unavailable(&web, None, &error),
    };
    if !cookie(&headers, LOGIN).is_some_and(|c| same(&c, &form.csrf)) {
        return login_page(
            &web,
            StatusCode::FORBIDDEN,
            Some("The form expired or did not come from this page. Log in again."),
            pinned,
        );
    }
    let denied = if !form.certificate.is_empty() {
        match pinned {
            Some(id) => return session_for(&web, id, &peer),
            None => Denied::Certificate,
        }
    } else {
        match form.registrar.trim().parse::<u32>() {
            Err(_) => Denied::Credentials,
            Ok(id) => match web
                .core
                .authenticate(id, &form.password, peer.pin.as_deref())
                .await
            {
                Ok(_) => return session_for(&web, id, &peer),
                Err(denied) => denied,
            },
        }
    };
    let text = match denied {
        Denied::Internal(error) => {
            return unavailable(&web, None, &anyhow::anyhow!(error));
        }
        Denied::Certificate if !form.certificate.is_empty() => {
            "The browser presented no certificate that a registrar has pinned."
        }
        Denied::Certificate => {
            "This registrar logs in only from a browser presenting its pinned client certificate."
        }
        Denied::Credentials => "Unknown registrar id or wrong password.",
    };
    web.sessions.failed(peer.ip);
    tracing::info!(ip = %peer.ip, "web log-in refused");
    login_page(&web, StatusCode::UNAUTHORIZED, Some(text), pinned)
}

#[derive(Deserialize)]
struct LogoutForm {
    csrf: String,
}

async fn log_out(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    form: Result<Form<LogoutForm>, FormRejection>,
) -> Response {
    let viewer = match viewer(&web, &headers).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    match form {
        Ok(Form(form)) if same(&form.csrf, &viewer.session.csrf) => {
            if let Some(key) = cookie(&headers, SESSION) {
                web.sessions.close(&key);
            }
            let mut response = Redirect::to("/login").into_response();
            set_cookie(&mut response, SESSION, "", Some(0));
            response
        }
        Ok(_) => bad_request(&web, Some(&viewer)),
        Err(rejection) => unread_form(&web, Some(&viewer), &rejection),
    }
}

/// Runs a page: the viewer, then `read` on the database, then the template.
macro_rules! page {
    ($web:expr, $headers:expr, |$viewer:ident| $body:expr) => {{
        let web: &Arc<Web> = &$web;
        let $viewer = match viewer(web, &$headers).await {
            Ok(viewer) => viewer,
            Err(response) => return response,
        };
        $body
    }};
}

async fn account(State(web): State<Arc<Web>>, headers: HeaderMap) -> Response {
    page!(web, headers, |viewer| {
        let id = viewer.registrar.id;
        let now = ops::now();
        let read = web
            .read(move |c| {
                let domains = pages::count_domains_of(c, id, "")?;
                let unread = c.first_message(id)?.map_or(0, |(_, n)| n);
                let notices = pages::notices(c, now)?;
                Ok((domains, unread, notices))
            })
            .await;
        let (domains, unread, notices) = match read {
            Ok(read) => read,
            Err(error) => return unavailable(&web, Some(&viewer), &error),
        };
        let r = &viewer.registrar;
        render(
            &web,
            StatusCode::OK,
            "account.html",
            context! {
                balance => money(r.balance),
                credit_limit => money(r.credit_limit),
                available => money(r.balance + r.credit_limit),
                low => r.balance < web.settings.low_balance,
                domains => domains,
                unread => unread,
                notices => notices.iter().map(notice).collect::<Vec<_>>(),
                ..viewer.base(&web, "account")
            },
        )
    })
}

fn notice(n: &pages::Notice) -> Value {
    let when = match n.until {
        Some(until) => format!(
            "{} to {} UTC",
            calendar::date_time(n.from),
            calendar::date_time(until)
        ),
        None => format!("from {} UTC", calendar::date_time(n.from)),
    };
    context! { when => when, text => n.text.clone() }
}

/// A domain's statuses in RFC 5731's words.
fn status(domain: &Domain) -> String {
    let mut words: Vec<&str> = Vec::new();
    if domain.deletion.is_some() {
        words.push("pendingDelete");
    }
    if domain.cluster.is_none() {
        words.push("inactive");
    }
    words.extend(domain.statuses.iter().map(|s| s.epp()));
    if words.is_empty() {
        words.push("ok");
    }
    words.join(", ")
}

#[derive(Deserialize)]
struct DomainsQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    after: String,
}

async fn domains(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    query: Result<Query<DomainsQuery>, QueryRejection>,
) -> Response {
    page!(web, headers, |viewer| {
        let Ok(Query(query)) = query else {
            return bad_request(&web, Some(&viewer));
        };
        if query.q.len() > 253 || query.after.len() > 253 {
            return bad_request(&web, Some(&viewer));
        }
        let id = viewer.registrar.id;
        let q = query.q.trim().to_ascii_lowercase();
        let (search, after) = (q.clone(), query.after.clone());
        let read = web
            .read(move |c| {
                let rows = pages::domains_of(c, id, &search, &after, PAGE)?;
                let total = pages::count_domains_of(c, id, &search)?;
                Ok((rows, total))
            })
            .await;
        let (rows, total) = match read {
            Ok(read) => read,
            Err(error) => return unavailable(&web, Some(&viewer), &error),
        };
        let next = (rows.len() == PAGE).then(|| rows.last().map(|d| d.name.clone()));
        let rows: Vec<Value> = rows
            .iter()
            .map(|d| {
                context! {
                    name => d.name.clone(),
                    status => status(d),
                    expires => calendar::date(d.expires),
                    ds => d.ds.len(),
                }
            })
            .collect();
        render(
            &web,
            StatusCode::OK,
            "domains.html",
            context! {
                q => q,
                after => query.after,
                rows => rows,
                total => total,
                next => next.flatten(),
                ..viewer.base(&web, "domains")
            },
        )
    })
}

async fn domain(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    page!(web, headers, |viewer| {
        let id = viewer.registrar.id;
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let key = name.clone();
        let read = web
            .read(move |c| {
                let Some(domain) = c.domain(&key)?.filter(|d| d.registrar == id) else {
                    return Ok(None);
                };
                let nameservers = match domain.cluster {
                    Some(cluster) => c.cluster(cluster)?.map(|c| c.nameservers),
                    None => None,
                }
                .unwrap_or_default();
                let history: Vec<_> = c
                    .history(HistoryKey::Domain(&key))?
                    .into_iter()
                    .filter(|h| h.at >= domain.created)
                    .collect();
                Ok(Some((domain, nameservers, history)))
            })
            .await;
        let (domain, nameservers, history) = match read {
            Ok(Some(found)) => found,
            Ok(None) => {
                return error_page(
                    &web,
                    Some(&viewer),
                    StatusCode::NOT_FOUND,
                    "Not found",
                    &format!("{name} is not among your domains."),
                );
            }
            Err(error) => return unavailable(&web, Some(&viewer), &error),
        };
        let nameservers: Vec<String> = nameservers
            .iter()
            .map(|ns| {
                let addresses: Vec<String> = ns.addresses.iter().map(|a| a.to_string()).collect();
                if addresses.is_empty() {
                    ns.name.clone()
                } else {
                    format!("{} ({})", ns.name, addresses.join(", "))
                }
            })
            .collect();
        let history: Vec<Value> = history
            .iter()
            .map(|h| {
                context! {
                    at => calendar::date_time(h.at),
                    actor => h.actor.clone(),
                    change => h.change.clone(),
                }
            })
            .collect();
        render(
            &web,
            StatusCode::OK,
            "domain.html",
            context! {
                d => context! {
                    name => domain.name.clone(),
                    status => status(&domain),
                    created => calendar::date_time(domain.created),
                    expires => calendar::date_time(domain.expires),
                    updated => calendar::date_time(domain.updated),
                    nameservers => nameservers,
                    ds_records => domain.ds.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
                },
                history => history,
                ..viewer.base(&web, "domains")
            },
        )
    })
}

async fn messages(State(web): State<Arc<Web>>, headers: HeaderMap) -> Response {
    page!(web, headers, |viewer| {
        let id = viewer.registrar.id;
        let read = web
            .read(move |c| {
                let rows = pages::messages_of(c, id, MESSAGES)?;
                let total = c.first_message(id)?.map_or(0, |(_, n)| n);
                Ok((rows, total))
            })
            .await;
        let (rows, total) = match read {
            Ok(read) => read,
            Err(error) => return unavailable(&web, Some(&viewer), &error),
        };
        let more = total as usize > rows.len();
        let rows: Vec<Value> = rows
            .iter()
            .map(|m| {
                context! {
                    id => m.id,
                    at => calendar::date_time(m.at),
                    domain => m.domain.clone().unwrap_or_default(),
                    text => m.text.clone(),
                }
            })
            .collect();
        render(
            &web,
            StatusCode::OK,
            "messages.html",
            context! { rows => rows, more => more, ..viewer.base(&web, "messages") },
        )
    })
}

#[derive(Deserialize)]
struct MonthQuery {
    month: Option<String>,
    /// The statement's page: lines after this ledger id.
    #[serde(default)]
    after: i64,
}

/// The month asked for (this one by default), its bounds and the page's start, if it reads.
fn month(query: Result<Query<MonthQuery>, QueryRejection>) -> Option<(String, i64, i64, i64)> {
    let Query(query) = query.ok()?;
    let month = query
        .month
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| calendar::date(ops::now())[..7].to_string());
    if month.len() != 7 {
        return None;
    }
    let start = calendar::parse_date(&format!("{month}-01"))?;
    Some((month, start, calendar::add_months(start, 1), query.after))
}

async fn statement(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    query: Result<Query<MonthQuery>, QueryRejection>,
) -> Response {
    page!(web, headers, |viewer| {
        let Some((month, start, end, after)) = month(query) else {
            return bad_request(&web, Some(&viewer));
        };
        let id = viewer.registrar.id;
        let read = web
            .read(move |c| {
                let rows = pages::ledger_of(c, id, start, end, Some((after, STATEMENT_PAGE)))?;
                let summary = pages::ledger_summary(c, id, start, end)?;
                Ok((rows, summary))
            })
            .await;
        let (rows, summary) = match read {
            Ok(read) => read,
            Err(error) => return unavailable(&web, Some(&viewer), &error),
        };
        let next = (rows.len() == STATEMENT_PAGE)
            .then(|| rows.last().map(|(id, _)| *id))
            .flatten();
        let rows: Vec<Value> = rows
            .iter()
            .map(|(_, r)| {
                context! {
                    at => calendar::date_time(r.at),
                    kind => r.kind.as_str(),
                    domain => r.domain.clone().unwrap_or_default(),
                    amount => money(r.amount),
                    balance => money(r.balance),
                }
            })
            .collect();
        render(
            &web,
            StatusCode::OK,
            "statement.html",
            context! {
                month => month,
                rows => rows,
                lines => summary.lines,
                total => money(summary.total),
                opening => summary.balances.map(|(o, _)| money(o)),
                closing => summary.balances.map(|(_, c)| money(c)),
                after => after,
                next => next,
                ..viewer.base(&web, "statement")
            },
        )
    })
}

async fn statement_csv(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    query: Result<Query<MonthQuery>, QueryRejection>,
) -> Response {
    page!(web, headers, |viewer| {
        let Some((month, _, _, _)) = month(query) else {
            return bad_request(&web, Some(&viewer));
        };
        let id = viewer.registrar.id;
        let asked = month.clone();
        let csv = match web
            .read(move |c| crate::operator::billing(c, &asked, Some(id)))
            .await
        {
            Ok(csv) => csv,
            Err(error) => return unavailable(&web, Some(&viewer), &error),
        };
        (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"statement-{id}-{month}.csv\""),
                ),
            ],
            csv,
        )
            .into_response()
    })
}

async fn notices(State(web): State<Arc<Web>>, headers: HeaderMap) -> Response {
    page!(web, headers, |viewer| {
        let now = ops::now();
        let notices = match web.read(move |c| Ok(pages::notices(c, now)?)).await {
            Ok(notices) => notices,
            Err(error) => return unavailable(&web, Some(&viewer), &error),
        };
        render(
            &web,
            StatusCode::OK,
            "notices.html",
            context! {
                notices => notices.iter().map(notice).collect::<Vec<_>>(),
                ..viewer.base(&web, "notices")
            },
        )
    })
}

async fn prices(State(web): State<Arc<Web>>, headers: HeaderMap) -> Response {
    page!(web, headers, |viewer| {
        let read = web
            .read(|c| Ok((c.zones()?, journal::premium_names(c)?)))
            .await;
        let (zones, premium) = match read {
            Ok(read) => read,
            Err(error) => return unavailable(&web, Some(&viewer), &error),
        };
        let row = |name: String, p: &crate::model::Prices| {
            context! {
                origin => name.clone(),
                name => name,
                create => money(p.create),
                renew => money(p.renew),
                transfer => money(p.transfer),
                restore => money(p.restore),
            }
        };
        render(
            &web,
            StatusCode::OK,
            "prices.html",
            context! {
                zones => zones.iter().map(|z| row(z.origin.to_string(), &z.prices)).collect::<Vec<_>>(),
                premium => premium.iter().map(|(n, p)| row(n.clone(), p)).collect::<Vec<_>>(),
                ..viewer.base(&web, "prices")
            },
        )
    })
}

async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("templates/style.css"),
    )
        .into_response()
}

async fn not_found(State(web): State<Arc<Web>>) -> Response {
    error_page(
        &web,
        None,
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no such page. Start from the account page.",
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_templates_compile() {
        let env = super::templates();
        for name in [
            "login.html",
            "account.html",
            "domains.html",
            "statement.html",
        ] {
            env.get_template(name).unwrap();
        }
    }
}
