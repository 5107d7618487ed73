//! EPP documents to typed requests (sans-IO), checked element by element against RFC 5730,
//! 5731 and 5910: a misplaced, unknown or repeated element is 2001, a bad value 2005 (or 2004
//! when out of range), a missing one 2003, an object or extension this server does not offer
//! 2307 or 2103, a command it does not carry out 2101.
//!
//! One file on purpose: every command's elements, and the extensions that go with them
//! (secDNS, rgp, loginSec, fee), are checked by the same few helpers, and RFC 5731's commands
//! read best side by side (about 1,250 lines).

use std::net::IpAddr;

use zonefiles::calendar;
use zonefiles::whois::{DelegationSigner, DomainStatus};

use super::xml::Element;
use super::{CONTACT, Code, DOMAIN, EPP, FEE, Failure, HOST, LOGIN_SEC, RGP, SECDNS};
use crate::model::{LedgerKind, Nameserver, Statuses, set_by_registry};
use crate::registry::TransferAction;

/// Most names in one `<check>`.
pub const MAX_CHECK: usize = 100;

/// One EPP frame from a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// `<hello/>`: answered with the greeting.
    Hello,
    /// A `<command>` with its client transaction id.
    Command {
        /// `<clTRID>`, if given.
        client_transaction: Option<String>,
        /// What it asks.
        command: Request,
    },
}

/// A registration period in months.
pub type Months = u32;

/// What a command asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `<login>`.
    Login {
        /// `<clID>`.
        client: String,
        /// `<pw>`.
        password: String,
        /// `<newPW>`.
        new_password: Option<String>,
        /// `<objURI>`s.
        objects: Vec<String>,
        /// `<extURI>`s.
        extensions: Vec<String>,
    },
    /// `<logout/>`.
    Logout,
    /// `<poll op="req"/>` or `<poll op="ack" msgID="…"/>`.
    Poll {
        /// The message acknowledged, for `ack`.
        ack: Option<String>,
    },
    /// `<domain:check>`.
    DomainCheck(Vec<String>),
    /// `<domain:info>`.
    DomainInfo {
        /// The name.
        name: String,
    },
    /// `<domain:create>`.
    DomainCreate {
        /// The name.
        name: String,
        /// `<domain:period>`.
        period: Option<Months>,
        /// `<domain:ns>`.
        nameservers: NameServers,
        /// `<domain:authInfo><domain:pw>` (empty: none, RFC 9154).
        password: String,
        /// `<secDNS:create>` DS data.
        ds: Vec<DelegationSigner>,
    },
    /// `<domain:delete>`.
    DomainDelete {
        /// The name.
        name: String,
    },
    /// `<domain:renew>`.
    DomainRenew {
        /// The name.
        name: String,
        /// `<domain:curExpDate>` (a day).
        current_expiry: i64,
        /// `<domain:period>`.
        period: Option<Months>,
    },
    /// `<transfer op="…"><domain:transfer>`.
    DomainTransfer {
        /// `op`.
        operation: TransferOp,
        /// The name.
        name: String,
        /// `<domain:authInfo><domain:pw>`.
        password: Option<String>,
    },
    /// `<domain:update>` with its secDNS extension.
    DomainUpdate(Box<DomainUpdate>),
    /// A domain command with RFC 8748's fee extension: prices asked for in a check, or the
    /// fee acknowledged for a create, renew, transfer or restore.
    Fee {
        /// What the extension says.
        fee: Fee,
        /// The command it extends.
        request: Box<Request>,
    },
    /// `<host:check>`.
    HostCheck(Vec<String>),
    /// `<host:info>`.
    HostInfo {
        /// The name.
        name: String,
    },
    /// `<host:create>`.
    HostCreate {
        /// The name.
        name: String,
        /// `<host:addr>`s.
        addresses: Vec<IpAddr>,
    },
    /// `<host:update>` (addresses and the name; statuses are not kept).
    HostUpdate {
        /// The name.
        name: String,
        /// Addresses added.
        add: Vec<IpAddr>,
        /// Addresses removed.
        remove: Vec<IpAddr>,
        /// `<host:chg><host:name>`: the new name.
        rename: Option<String>,
    },
    /// `<host:delete>`.
    HostDelete {
        /// The name.
        name: String,
    },
}

/// RFC 8748's extension of a domain command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fee {
    /// `<fee:check>`: the operations to price, each with its years.
    Check {
        /// `<fee:currency>`, if given.
        currency: Option<String>,
        /// What to price.
        quote: Vec<(LedgerKind, u32)>,
    },
    /// `<fee:create>`, `<fee:renew>`, `<fee:transfer>` or `<fee:update>`: the fee the client
    /// acknowledges, in cents (the sum of its `<fee:fee>`s).
    Acknowledge {
        /// `<fee:currency>`, if given.
        currency: Option<String>,
        /// The fee.
        amount: i64,
    },
}

impl Fee {
    /// The currency the client named.
    pub fn currency(&self) -> Option<&str> {
        match self {
            Fee::Check { currency, .. } | Fee::Acknowledge { currency, .. } => currency.as_deref(),
        }
    }
}

/// A `<domain:ns>`: host objects by name, or host attributes (RFC 5731 §1.1: one or the other).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum NameServers {
    /// None given.
    #[default]
    None,
    /// `<domain:hostObj>`s.
    Objects(Vec<String>),
    /// `<domain:hostAttr>`s.
    Attributes(Vec<Nameserver>),
}

impl NameServers {
    /// The host names, in order.
    pub fn names(&self) -> Vec<String> {
        match self {
            NameServers::None => Vec::new(),
            NameServers::Objects(names) => names.clone(),
            NameServers::Attributes(hosts) => hosts.iter().map(|h| h.name.clone()).collect(),
        }
    }
}

/// A transfer operation (RFC 5730 §2.9.3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferOp {
    /// `request`.
    Request,
    /// `query`.
    Query,
    /// `approve`, `reject` or `cancel`: act on a pending transfer.
    Decide(TransferAction),
}

/// The parts of a `<domain:update>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DomainUpdate {
    /// The name.
    pub name: String,
    /// Hosts added.
    pub add_ns: NameServers,
    /// Host names removed.
    pub remove_ns: Vec<String>,
    /// Statuses added (`client…` only).
    pub add_status: Statuses,
    /// Statuses removed.
    pub remove_status: Statuses,
    /// A new password (`<domain:chg><domain:authInfo>`).
    pub password: Option<String>,
    /// DS records added.
    pub add_ds: Vec<DelegationSigner>,
    /// DS records removed.
    pub remove_ds: Vec<DelegationSigner>,
    /// `<secDNS:rem><secDNS:all>true`.
    pub remove_all_ds: bool,
    /// `<rgp:update><rgp:restore op="request"/>` (RFC 3915).
    pub restore: bool,
}

fn syntax(text: impl Into<String>) -> Failure {
    Failure::new(Code::SyntaxError, text)
}

fn value(text: impl Into<String>) -> Failure {
    Failure::new(Code::ParameterValueSyntax, text)
}

/// Checks that `element` has only children from `allowed` (namespace, name, may repeat), each
/// required one present.
fn shape(element: &Element, allowed: &[(&str, &str, Occurs)]) -> Result<(), Failure> {
    for child in &element.children {
        if !allowed.iter().any(|(ns, name, _)| child.is(ns, name)) {
            return Err(syntax(format!(
                "<{}> is not allowed in <{}>",
                child.name, element.name
            )));
        }
    }
    for (ns, name, occurs) in allowed {
        let count = element.all(ns, name).count();
        match occurs {
            Occurs::One if count != 1 => {
                return Err(if count == 0 {
                    Failure::new(
                        Code::MissingParameter,
                        format!("<{name}> is missing from <{}>", element.name),
                    )
                } else {
                    syntax(format!(
                        "<{name}> appears more than once in <{}>",
                        element.name
                    ))
                });
            }
            Occurs::Optional if count > 1 => {
                return Err(syntax(format!(
                    "<{name}> appears more than once in <{}>",
                    element.name
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Occurs {
    One,
    Optional,
    Many,
}

use Occurs::{Many, One, Optional};

fn required<'a>(element: &'a Element, ns: &str, name: &str) -> Result<&'a Element, Failure> {
    element.child(ns, name).ok_or_else(|| {
        Failure::new(
            Code::MissingParameter,
            format!("<{name}> is missing from <{}>", element.name),
        )
    })
}

/// Reads a frame's root element.
pub fn read(root: &Element, extensions: &[&str]) -> Result<Frame, Failure> {
    if !root.is(EPP, "epp") {
        return Err(syntax(format!(
            "the root element must be <epp> in {EPP}, not <{}> in {:?}",
            root.name, root.namespace
        )));
    }
    let [body] = &root.children[..] else {
        return Err(syntax("<epp> must hold exactly one element"));
    };
    if body.is(EPP, "hello") {
        if !body.children.is_empty() {
            return Err(syntax("<hello> is empty"));
        }
        return Ok(Frame::Hello);
    }
    if !body.is(EPP, "command") {
        return Err(syntax(format!(
            "<{}> is not something a client sends",
            body.name
        )));
    }
    let client_transaction = match body.child(EPP, "clTRID") {
        Some(id) => {
            let id = id.token();
            if !(3..=64).contains(&id.chars().count()) {
                return Err(value("<clTRID> has 3 to 64 characters"));
            }
            Some(id.to_string())
        }
        None => None,
    };
    let mut verb: Option<&Element> = None;
    let mut extension: Option<&Element> = None;
    for child in &body.children {
        if child.is(EPP, "clTRID") {
            continue;
        }
        if child.is(EPP, "extension") {
            if extension.replace(child).is_some() {
                return Err(syntax("<extension> appears more than once"));
            }
            continue;
        }
        if child.namespace != EPP || verb.replace(child).is_some() {
            return Err(syntax("<command> holds one command"));
        }
    }
    let verb = verb.ok_or_else(|| syntax("<command> holds no command"))?;
    let extension = extension.map(|e| &e.children[..]).unwrap_or(&[]);
    for ext in extension {
        if !extensions.contains(&ext.namespace.as_str()) {
            return Err(Failure::new(
                Code::UnimplementedExtension,
                format!("the extension {} is not offered here", ext.namespace),
            ));
        }
    }
    // The fee extension is read apart: it applies to the command as the registry carries
    // it out, whatever object mapping the command has.
    let (fees, others): (Vec<&Element>, Vec<&Element>) =
        extension.iter().partition(|e| e.namespace == FEE);
    let others: Vec<Element> = others.into_iter().cloned().collect();
    let mut command = command(verb, &others)?;
    match fees[..] {
        [] => {}
        [element] => {
            command = Request::Fee {
                fee: fee(element, &command)?,
                request: Box::new(command),
            };
        }
        _ => return Err(syntax("one fee extension to a command")),
    }
    Ok(Frame::Command {
        client_transaction,
        command,
    })
}

fn command(verb: &Element, extension: &[Element]) -> Result<Request, Failure> {
    match verb.name.as_str() {
        "login" => return login(verb, extension),
        "logout" => {
            if !verb.children.is_empty() {
                return Err(syntax("<logout> is empty"));
            }
            return Ok(Request::Logout);
        }
        "poll" => {
            return match verb.attribute("op") {
                Some("req") => Ok(Request::Poll { ack: None }),
                Some("ack") => Ok(Request::Poll {
                    ack: Some(
                        verb.attribute("msgID")
                            .ok_or_else(|| {
                                Failure::new(Code::MissingParameter, "poll ack needs a msgID")
                            })?
                            .to_string(),
                    ),
                }),
                _ => Err(syntax("<poll> needs op=\"req\" or op=\"ack\"")),
            };
        }
        "check" | "info" | "create" | "delete" | "renew" | "transfer" | "update" => {}
        other => return Err(syntax(format!("<{other}> is not an EPP command"))),
    }
    let [object] = &verb.children[..] else {
        return Err(syntax(format!("<{}> holds exactly one object", verb.name)));
    };
    if object.namespace == HOST && object.name == verb.name {
        if !extension.is_empty() {
            return Err(syntax("host commands take no extension here"));
        }
        return host(verb, object);
    }
    if object.namespace == CONTACT {
        return Err(Failure::new(
            Code::UnimplementedObject,
            format!(
                "{} objects are not offered by this registry (see its greeting)",
                object.namespace
            ),
        ));
    }
    if object.namespace != DOMAIN || object.name != verb.name {
        return Err(syntax(format!(
            "<{}> holds <{}> in {}",
            verb.name, object.name, object.namespace
        )));
    }
    let secdns = |name: &str| -> Result<Option<&Element>, Failure> {
        let mut found = None;
        for ext in extension {
            if ext.is(SECDNS, name) {
                found = Some(ext);
            } else {
                return Err(syntax(format!(
                    "<{}> does not extend <domain:{}>",
                    ext.name, verb.name
                )));
            }
        }
        Ok(found)
    };
    match verb.name.as_str() {
        "check" => {
            secdns("")?;
            shape(object, &[(DOMAIN, "name", Many)])?;
            let names: Vec<String> = object
                .all(DOMAIN, "name")
                .map(|n| domain_name(n.token()))
                .collect::<Result<_, _>>()?;
            if names.is_empty() {
                return Err(Failure::new(Code::MissingParameter, "no <domain:name>"));
            }
            if names.len() > MAX_CHECK {
                return Err(Failure::new(
                    Code::ParameterPolicy,
                    format!("at most {MAX_CHECK} names per check"),
                ));
            }
            Ok(Request::DomainCheck(names))
        }
        "info" => {
            secdns("")?;
            shape(
                object,
                &[(DOMAIN, "name", One), (DOMAIN, "authInfo", Optional)],
            )?;
            let name = required(object, DOMAIN, "name")?;
            if let Some(hosts) = name.attribute("hosts")
                && !["all", "del", "sub", "none"].contains(&hosts)
            {
                return Err(value("hosts is all, del, sub or none"));
            }
            Ok(Request::DomainInfo {
                name: domain_name(name.token())?,
            })
        }
        "create" => {
            let ext = secdns("create")?;
            shape(
                object,
                &[
                    (DOMAIN, "name", One),
                    (DOMAIN, "period", Optional),
                    (DOMAIN, "ns", Optional),
                    (DOMAIN, "registrant", Optional),
                    (DOMAIN, "contact", Many),
                    (DOMAIN, "authInfo", One),
                ],
            )?;
            refuse_contacts(object)?;
            let ds = match ext {
                Some(ext) => {
                    shape(
                        ext,
                        &[(SECDNS, "maxSigLife", Optional), (SECDNS, "dsData", Many)],
                    )?;
                    no_max_sig_life(ext)?;
                    let ds = ds_list(ext)?;
                    if ds.is_empty() {
                        return Err(syntax(
                            "<secDNS:create> holds at least one <secDNS:dsData> (<secDNS:keyData> is not offered)",
                        ));
                    }
                    ds
                }
                None => Vec::new(),
            };
            Ok(Request::DomainCreate {
                name: domain_name(required(object, DOMAIN, "name")?.token())?,
                period: period(object)?,
                nameservers: match object.child(DOMAIN, "ns") {
                    Some(ns) => hosts(ns)?,
                    None => NameServers::None,
                },
                password: auth_info(required(object, DOMAIN, "authInfo")?)?,
                ds,
            })
        }
        "delete" => {
            secdns("")?;
            shape(object, &[(DOMAIN, "name", One)])?;
            Ok(Request::DomainDelete {
                name: domain_name(required(object, DOMAIN, "name")?.token())?,
            })
        }
        "renew" => {
            secdns("")?;
            shape(
                object,
                &[
                    (DOMAIN, "name", One),
                    (DOMAIN, "curExpDate", One),
                    (DOMAIN, "period", Optional),
                ],
            )?;
            let date = required(object, DOMAIN, "curExpDate")?.token();
            Ok(Request::DomainRenew {
                name: domain_name(required(object, DOMAIN, "name")?.token())?,
                current_expiry: calendar::parse_date(date)
                    .ok_or_else(|| value(format!("curExpDate {date:?} is not a date")))?,
                period: period(object)?,
            })
        }
        "transfer" => {
            secdns("")?;
            shape(
                object,
                &[
                    (DOMAIN, "name", One),
                    (DOMAIN, "period", Optional),
                    (DOMAIN, "authInfo", Optional),
                ],
            )?;
            let operation = match verb.attribute("op") {
                Some("request") => TransferOp::Request,
                Some("query") => TransferOp::Query,
                Some("approve") => TransferOp::Decide(TransferAction::Approve),
                Some("reject") => TransferOp::Decide(TransferAction::Reject),
                Some("cancel") => TransferOp::Decide(TransferAction::Cancel),
                _ => {
                    return Err(syntax(
                        "<transfer> needs op=request|query|approve|reject|cancel",
                    ));
                }
            };
            if period(object)?.is_some_and(|months| months != 12) {
                return Err(Failure::new(
                    Code::ParameterPolicy,
                    "a transfer here adds one year; leave <domain:period> out or make it 1 y",
                ));
            }
            Ok(Request::DomainTransfer {
                operation,
                name: domain_name(required(object, DOMAIN, "name")?.token())?,
                password: object
                    .child(DOMAIN, "authInfo")
                    .map(auth_info)
                    .transpose()?,
            })
        }
        "update" => update(object, extension),
        _ => unreachable!("the verbs are matched above"),
    }
}

/// What `<pw>` and `<newPW>` hold when the password is in `<loginSec:pw>` (RFC 8807 §3.2).
const LOGIN_SECURITY: &str = "[LOGIN-SECURITY]";
/// The longest password this server reads from `<loginSec:pw>`.
const LONGEST_PASSWORD: usize = 256;

/// Reads RFC 8748's extension of `request`: `<fee:check>` of a domain check, or the fee
/// acknowledged for a create, renew, transfer request or restore.
fn fee(element: &Element, request: &Request) -> Result<Fee, Failure> {
    let currency = element
        .child(FEE, "currency")
        .map(|c| c.token().to_string());
    let expected = match request {
        Request::DomainCheck(_) => "check",
        Request::DomainCreate { .. } => "create",
        Request::DomainRenew { .. } => "renew",
        Request::DomainTransfer {
            operation: TransferOp::Request,
            ..
        } => "transfer",
        Request::DomainUpdate(update) if update.restore => "update",
        _ => {
            return Err(Failure::new(
                Code::ParameterPolicy,
                "the fee extension goes with a domain check, create, renew, transfer request or restore",
            ));
        }
    };
    if element.name != expected {
        return Err(syntax(format!(
            "<fee:{}> does not extend this command; <fee:{expected}> does",
            element.name
        )));
    }
    if expected == "check" {
        shape(
            element,
            &[(FEE, "currency", Optional), (FEE, "command", Many)],
        )?;
        let mut quote = Vec::new();
        for command in element.all(FEE, "command") {
            shape(command, &[(FEE, "period", Optional)])?;
            let kind = match command.attribute("name") {
                Some("create") => LedgerKind::Create,
                Some("renew") => LedgerKind::Renew,
                Some("transfer") => LedgerKind::Transfer,
                Some("restore") => LedgerKind::Restore,
                Some(other) => {
                    return Err(Failure::new(
                        Code::ParameterPolicy,
                        format!(
                            "{other} is not priced here: create, renew, transfer and restore are"
                        ),
                    ));
                }
                None => return Err(syntax("<fee:command> needs name=\"…\"")),
            };
            let months = match command.child(FEE, "period") {
                None => 12,
                Some(period) => period_months(period)?,
            };
            let years = if matches!(kind, LedgerKind::Transfer | LedgerKind::Restore) {
                1
            } else if months % 12 == 0 && months > 0 {
                months / 12
            } else {
                return Err(Failure::new(
                    Code::ParameterPolicy,
                    "registrations and renewals here are whole years",
                ));
            };
            quote.push((kind, years));
        }
        if quote.is_empty() {
            return Err(Failure::new(
                Code::MissingParameter,
                "<fee:check> names at least one <fee:command>",
            ));
        }
        return Ok(Fee::Check { currency, quote });
    }
    shape(
        element,
        &[
            (FEE, "currency", Optional),
            (FEE, "fee", Many),
            (FEE, "credit", Many),
        ],
    )?;
    let mut amount = 0i64;
    let mut any = false;
    for fee in element.all(FEE, "fee") {
        any = true;
        let cents = cents(fee.token())
            .ok_or_else(|| value(format!("{:?} is not an amount like 12.50", fee.token())))?;
        amount = amount
            .checked_add(cents)
            .ok_or_else(|| value("the fees add up past any price"))?;
    }
    if !any {
        return Err(Failure::new(
            Code::MissingParameter,
            format!("<fee:{expected}> gives the fee in <fee:fee>"),
        ));
    }
    Ok(Fee::Acknowledge { currency, amount })
}

/// An amount of money like `12.50` (at most two decimals), in cents.
fn cents(text: &str) -> Option<i64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| !s.is_empty() && s.len() <= 15 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !(fraction.is_empty() || (fraction.len() <= 2 && digits(fraction))) {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = format!("{fraction:0<2}").parse().ok()?;
    whole.checked_mul(100)?.checked_add(fraction)
}

fn login(verb: &Element, extension: &[Element]) -> Result<Request, Failure> {
    let security = match extension {
        [] => None,
        [element] if element.is(LOGIN_SEC, "loginSec") => {
            shape(
                element,
                &[
                    (LOGIN_SEC, "userAgent", Optional),
                    (LOGIN_SEC, "pw", Optional),
                    (LOGIN_SEC, "newPW", Optional),
                ],
            )?;
            Some(element)
        }
        _ => return Err(syntax("a login's only extension is <loginSec:loginSec>")),
    };
    shape(
        verb,
        &[
            (EPP, "clID", One),
            (EPP, "pw", One),
            (EPP, "newPW", Optional),
            (EPP, "options", One),
            (EPP, "svcs", One),
        ],
    )?;
    let options = required(verb, EPP, "options")?;
    shape(options, &[(EPP, "version", One), (EPP, "lang", One)])?;
    let version = required(options, EPP, "version")?.token();
    if version != "1.0" {
        return Err(Failure::new(
            Code::UnimplementedVersion,
            format!("EPP version {version} is not spoken here (1.0 is)"),
        ));
    }
    let lang = required(options, EPP, "lang")?.token();
    if lang != "en" {
        return Err(Failure::new(
            Code::UnimplementedOption,
            format!("responses are in en only, not {lang}"),
        ));
    }
    let svcs = required(verb, EPP, "svcs")?;
    shape(
        svcs,
        &[(EPP, "objURI", Many), (EPP, "svcExtension", Optional)],
    )?;
    let extensions = match svcs.child(EPP, "svcExtension") {
        Some(ext) => {
            shape(ext, &[(EPP, "extURI", Many)])?;
            ext.all(EPP, "extURI")
                .map(|e| e.token().to_string())
                .collect()
        }
        None => Vec::new(),
    };
    // A password is in <pw> (<newPW>), or in <loginSec:pw> (<loginSec:newPW>) with the
    // placeholder in its place.
    let password = |name: &str| -> Result<Option<String>, Failure> {
        let plain = verb.child(EPP, name).map(|e| e.text.clone());
        let long = security.and_then(|s| s.child(LOGIN_SEC, name));
        match (plain, long) {
            (Some(p), Some(long)) if p == LOGIN_SECURITY => {
                let long = long.text.clone();
                if !(6..=LONGEST_PASSWORD).contains(&long.chars().count()) {
                    return Err(value(format!(
                        "<loginSec:{name}> holds 6 to {LONGEST_PASSWORD} characters"
                    )));
                }
                Ok(Some(long))
            }
            (Some(p), None) if p == LOGIN_SECURITY => Err(Failure::new(
                Code::MissingParameter,
                format!("<{name}> says {LOGIN_SECURITY}: give the password in <loginSec:{name}>"),
            )),
            (_, Some(_)) => Err(Failure::new(
                Code::ParameterPolicy,
                format!("with <loginSec:{name}>, <{name}> holds {LOGIN_SECURITY} (RFC 8807)"),
            )),
            (plain, None) => Ok(plain),
        }
    };
    Ok(Request::Login {
        client: required(verb, EPP, "clID")?.token().to_string(),
        password: password("pw")?
            .ok_or_else(|| Failure::new(Code::MissingParameter, "<pw> is missing"))?,
        new_password: password("newPW")?,
        objects: svcs
            .all(EPP, "objURI")
            .map(|o| o.token().to_string())
            .collect(),
        extensions,
    })
}

fn update(object: &Element, extension: &[Element]) -> Result<Request, Failure> {
    let mut ext: Option<&Element> = None;
    let mut restore = false;
    for element in extension {
        if element.is(SECDNS, "update") && ext.is_none() {
            ext = Some(element);
        } else if element.is(RGP, "update") && !restore {
            shape(element, &[(RGP, "restore", One)])?;
            match required(element, RGP, "restore")?.attribute("op") {
                Some("request") => restore = true,
                Some("report") => {
                    return Err(Failure::new(
                        Code::UnimplementedOption,
                        "restore reports are not needed here: a restore request restores the domain at once",
                    ));
                }
                _ => return Err(syntax("<rgp:restore> needs op=\"request\"")),
            }
        } else {
            return Err(syntax(format!(
                "<{}> in {} does not extend <domain:update>",
                element.name, element.namespace
            )));
        }
    }
    if object.children.len() == 1 && extension.is_empty() {
        return Err(Failure::new(
            Code::MissingParameter,
            "an update names no change: give <domain:add>, <domain:rem> or <domain:chg> (RFC 5731 §3.2.5)",
        ));
    }
    shape(
        object,
        &[
            (DOMAIN, "name", One),
            (DOMAIN, "add", Optional),
            (DOMAIN, "rem", Optional),
            (DOMAIN, "chg", Optional),
        ],
    )?;
    let mut update = DomainUpdate {
        name: domain_name(required(object, DOMAIN, "name")?.token())?,
        restore,
        ..DomainUpdate::default()
    };
    let part = [
        (DOMAIN, "ns", Optional),
        (DOMAIN, "contact", Many),
        (DOMAIN, "status", Many),
    ];
    for (which, adding) in [("add", true), ("rem", false)] {
        let Some(edit) = object.child(DOMAIN, which) else {
            continue;
        };
        shape(edit, &part)?;
        refuse_contacts(edit)?;
        if let Some(ns) = edit.child(DOMAIN, "ns") {
            let hosts = hosts(ns)?;
            if adding {
                update.add_ns = hosts;
            } else {
                update.remove_ns = hosts.names();
            }
        }
        for element in edit.all(DOMAIN, "status") {
            let Some(word) = element.attribute("s") else {
                return Err(syntax("<domain:status> needs s=\"…\""));
            };
            let status = DomainStatus::from_epp(word)
                .filter(|s| Statuses::SETTABLE.contains(s))
                .ok_or_else(|| {
                    Failure::new(
                        Code::ParameterPolicy,
                        format!("{word} is not a status a client may set (RFC 5731 §2.3)"),
                    )
                })?;
            if set_by_registry(status) {
                return Err(Failure::new(
                    Code::ParameterPolicy,
                    format!("{word} is set and cleared by the registry, not by a registrar"),
                ));
            }
            let (this, other) = if adding {
                (&mut update.add_status, update.remove_status)
            } else {
                (&mut update.remove_status, update.add_status)
            };
            if other.contains(status) {
                return Err(Failure::new(
                    Code::ParameterPolicy,
                    format!("{word} is both added and removed"),
                ));
            }
            *this = this.with(status, true);
        }
    }
    if let Some(chg) = object.child(DOMAIN, "chg") {
        shape(
            chg,
            &[
                (DOMAIN, "registrant", Optional),
                (DOMAIN, "authInfo", Optional),
            ],
        )?;
        refuse_contacts(chg)?;
        update.password = chg.child(DOMAIN, "authInfo").map(auth_info).transpose()?;
    }
    if let Some(ext) = ext {
        shape(
            ext,
            &[
                (SECDNS, "rem", Optional),
                (SECDNS, "add", Optional),
                (SECDNS, "chg", Optional),
            ],
        )?;
        if ext.children.is_empty() {
            return Err(syntax(
                "<secDNS:update> holds <secDNS:rem>, <secDNS:add> or <secDNS:chg>",
            ));
        }
        if ext
            .attribute("urgent")
            .is_some_and(|u| u == "true" || u == "1")
        {
            return Err(Failure::new(
                Code::UnimplementedOption,
                "urgent DS changes are not offered; every change is published at once anyway",
            ));
        }
        if let Some(rem) = ext.child(SECDNS, "rem") {
            shape(rem, &[(SECDNS, "all", Optional), (SECDNS, "dsData", Many)])?;
            if rem.children.is_empty()
                || (rem.child(SECDNS, "all").is_some() && rem.children.len() > 1)
            {
                return Err(syntax(
                    "<secDNS:rem> holds either <secDNS:all> or <secDNS:dsData> records",
                ));
            }
            match rem.child(SECDNS, "all").map(Element::token) {
                Some("true" | "1") => update.remove_all_ds = true,
                Some("false" | "0") | None => {}
                Some(other) => {
                    return Err(value(format!("<secDNS:all> {other:?} is not a boolean")));
                }
            }
            update.remove_ds = ds_list(rem)?;
        }
        if let Some(add) = ext.child(SECDNS, "add") {
            shape(add, &[(SECDNS, "dsData", Many)])?;
            update.add_ds = ds_list(add)?;
            if update.add_ds.is_empty() {
                return Err(syntax("<secDNS:add> holds at least one <secDNS:dsData>"));
            }
        }
        if let Some(chg) = ext.child(SECDNS, "chg") {
            shape(chg, &[(SECDNS, "maxSigLife", Optional)])?;
            no_max_sig_life(chg)?;
        }
    }
    Ok(Request::DomainUpdate(Box::new(update)))
}

fn refuse_contacts(element: &Element) -> Result<(), Failure> {
    if element.child(DOMAIN, "registrant").is_some() || element.child(DOMAIN, "contact").is_some() {
        return Err(Failure::new(
            Code::DataPolicy,
            "this registry keeps no contact data (minimum data set): leave out <domain:registrant> and <domain:contact>",
        ));
    }
    Ok(())
}

fn no_max_sig_life(element: &Element) -> Result<(), Failure> {
    if element.child(SECDNS, "maxSigLife").is_some() {
        return Err(Failure::new(
            Code::UnimplementedOption,
            "<secDNS:maxSigLife> is not offered",
        ));
    }
    Ok(())
}

/// A name as the registry keeps it: lower case, no final dot.
fn domain_name(text: &str) -> Result<String, Failure> {
    let name = text.trim_end_matches('.').to_ascii_lowercase();
    crate::registry::check_name(&name).map_err(value)?;
    Ok(name)
}

fn period(object: &Element) -> Result<Option<Months>, Failure> {
    object
        .child(DOMAIN, "period")
        .map(period_months)
        .transpose()
}

/// A `<domain:period>` or `<fee:period>`: 1 to 99 years or months, in months.
fn period_months(period: &Element) -> Result<Months, Failure> {
    let count: u32 = period
        .token()
        .parse()
        .map_err(|_| value(format!("period {:?} is not a number", period.token())))?;
    if !(1..=99).contains(&count) {
        return Err(Failure::new(Code::ParameterRange, "a period is 1 to 99"));
    }
    match period.attribute("unit") {
        Some("y") => Ok(count * 12),
        Some("m") => Ok(count),
        _ => Err(value("a period's unit is y or m")),
    }
}

fn auth_info(element: &Element) -> Result<String, Failure> {
    shape(
        element,
        &[(DOMAIN, "pw", Optional), (DOMAIN, "ext", Optional)],
    )?;
    if element.child(DOMAIN, "ext").is_some() {
        return Err(Failure::new(
            Code::UnimplementedOption,
            "only password authorization (<domain:pw>) is offered",
        ));
    }
    let pw = element
        .child(DOMAIN, "pw")
        .ok_or_else(|| Failure::new(Code::MissingParameter, "<domain:pw> is missing"))?;
    if pw.attribute("roid").is_some() {
        return Err(Failure::new(
            Code::UnimplementedOption,
            "authorization by a registrant's roid is not offered",
        ));
    }
    Ok(pw.text.clone())
}

/// `<domain:ns>`: host objects (names alone) or host attributes with their addresses.
fn hosts(ns: &Element) -> Result<NameServers, Failure> {
    shape(ns, &[(DOMAIN, "hostObj", Many), (DOMAIN, "hostAttr", Many)])?;
    let objects = ns.all(DOMAIN, "hostObj").count();
    if objects > 0 && objects < ns.children.len() {
        return Err(syntax(
            "<domain:ns> holds host objects or host attributes, not both",
        ));
    }
    let mut out: Vec<Nameserver> = Vec::new();
    for host in &ns.children {
        let (name, addresses) = if host.name == "hostObj" {
            (domain_name(host.token())?, Vec::new())
        } else {
            shape(
                host,
                &[(DOMAIN, "hostName", One), (DOMAIN, "hostAddr", Many)],
            )?;
            let addresses = addresses(host.all(DOMAIN, "hostAddr"))?;
            (
                domain_name(required(host, DOMAIN, "hostName")?.token())?,
                addresses,
            )
        };
        if out.iter().any(|h| h.name == name) {
            return Err(Failure::new(
                Code::ParameterPolicy,
                format!("{name} is named twice"),
            ));
        }
        out.push(Nameserver { name, addresses });
    }
    Ok(match (objects, out.is_empty()) {
        (_, true) => NameServers::None,
        (0, false) => NameServers::Attributes(out),
        _ => NameServers::Objects(out.into_iter().map(|h| h.name).collect()),
    })
}

/// `<domain:hostAddr>` or `<host:addr>` elements: addresses of the family their `ip` names
/// (v4 when absent), sorted.
fn addresses<'a>(elements: impl Iterator<Item = &'a Element>) -> Result<Vec<IpAddr>, Failure> {
    let mut out = Vec::new();
    for address in elements {
        let ip: IpAddr = address
            .token()
            .parse()
            .map_err(|_| value(format!("{:?} is not an IP address", address.token())))?;
        let family = address.attribute("ip").unwrap_or("v4");
        if (family == "v4") != ip.is_ipv4() || !["v4", "v6"].contains(&family) {
            return Err(value(format!("{ip} is not an ip=\"{family}\" address")));
        }
        out.push(ip);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// A command on a host object (RFC 5732).
fn host(verb: &Element, object: &Element) -> Result<Request, Failure> {
    let name = |object: &Element| domain_name(required(object, HOST, "name")?.token());
    match verb.name.as_str() {
        "check" => {
            shape(object, &[(HOST, "name", Many)])?;
            let names: Vec<String> = object
                .all(HOST, "name")
                .map(|n| domain_name(n.token()))
                .collect::<Result<_, _>>()?;
            if names.is_empty() || names.len() > MAX_CHECK {
                return Err(Failure::new(
                    Code::ParameterPolicy,
                    format!("1 to {MAX_CHECK} names per check"),
                ));
            }
            Ok(Request::HostCheck(names))
        }
        "info" => {
            shape(object, &[(HOST, "name", One)])?;
            Ok(Request::HostInfo {
                name: name(object)?,
            })
        }
        "create" => {
            shape(object, &[(HOST, "name", One), (HOST, "addr", Many)])?;
            Ok(Request::HostCreate {
                name: name(object)?,
                addresses: addresses(object.all(HOST, "addr"))?,
            })
        }
        "delete" => {
            shape(object, &[(HOST, "name", One)])?;
            Ok(Request::HostDelete {
                name: name(object)?,
            })
        }
        "update" => {
            shape(
                object,
                &[
                    (HOST, "name", One),
                    (HOST, "add", Optional),
                    (HOST, "rem", Optional),
                    (HOST, "chg", Optional),
                ],
            )?;
            let rename = match object.child(HOST, "chg") {
                Some(chg) => {
                    shape(chg, &[(HOST, "name", One)])?;
                    Some(name(chg)?)
                }
                None => None,
            };
            let mut edits = [Vec::new(), Vec::new()];
            for (which, list) in ["add", "rem"].into_iter().zip(edits.iter_mut()) {
                if let Some(edit) = object.child(HOST, which) {
                    shape(edit, &[(HOST, "addr", Many), (HOST, "status", Many)])?;
                    if edit.child(HOST, "status").is_some() {
                        return Err(Failure::new(
                            Code::ParameterPolicy,
                            "host statuses are not kept by this registry",
                        ));
                    }
                    *list = addresses(edit.all(HOST, "addr"))?;
                }
            }
            let [add, remove] = edits;
            if add.is_empty() && remove.is_empty() && rename.is_none() {
                return Err(Failure::new(
                    Code::MissingParameter,
                    "a host update names no address to add or remove and no new name",
                ));
            }
            Ok(Request::HostUpdate {
                name: name(object)?,
                add,
                remove,
                rename,
            })
        }
        "renew" | "transfer" => Err(Failure::new(
            Code::UnimplementedCommand,
            format!("hosts are not {}ed (RFC 5732)", verb.name),
        )),
        _ => unreachable!("the verbs are matched before"),
    }
}

fn ds_list(parent: &Element) -> Result<Vec<DelegationSigner>, Failure> {
    parent
        .all(SECDNS, "dsData")
        .map(|data| {
            shape(
                data,
                &[
                    (SECDNS, "keyTag", One),
                    (SECDNS, "alg", One),
                    (SECDNS, "digestType", One),
                    (SECDNS, "digest", One),
                    (SECDNS, "keyData", Optional),
                ],
            )?;
            let field = |name: &str| required(data, SECDNS, name).map(Element::token);
            let number = |name: &str, max: u32| -> Result<u32, Failure> {
                let text = field(name)?;
                text.parse::<u32>()
                    .ok()
                    .filter(|n| *n <= max)
                    .ok_or_else(|| value(format!("<secDNS:{name}> {text:?} is not 0 to {max}")))
            };
            Ok(DelegationSigner {
                key_tag: number("keyTag", 65_535)? as u16,
                algorithm: number("alg", 255)? as u8,
                digest_type: number("digestType", 255)? as u8,
                digest: data_encoding::HEXLOWER_PERMISSIVE
                    .decode(field("digest")?.as_bytes())
                    .map_err(|_| value("<secDNS:digest> is not hexadecimal"))?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::cents;

    #[test]
    fn amounts_read_as_cents() {
        for (text, expected) in [
            ("12.50", Some(1250)),
            ("12.5", Some(1250)),
            ("12", Some(1200)),
            ("0.07", Some(7)),
            ("1.234", None),
            ("", None),
            (".5", None),
            ("-1", None),
            ("1e3", None),
            ("99999999999999999999", None),
        ] {
            assert_eq!(cents(text), expected, "{text:?}");
        }
    }
}
