//! EPP (RFC 5730–5734) as a second front end of the registry, beside SRRP: the same rules
//! ([`crate::registry`]), the same commit thread, ledger and journal of signed changesets.
//!
//! # Parts
//!
//! ```text
//! TLS (port 700) ─▶ server: frames (frame), session state, timeouts, login
//!                     │ bytes ─▶ xml::parse (bounded tree) ─▶ command::read (typed, RFC-checked)
//!                     ▼
//!                 front: Request ─▶ registry::Command ─▶ writer::Commits ─▶ Reply ─▶ response
//! ```
//!
//! - [`frame`]: RFC 5734's 4-byte length framing (sans-IO).
//! - [`xml`]: a document as a small element tree under hard limits (no DTD, no entities).
//! - [`command`]: the tree as a typed [`command::Request`], with RFC 5730's result codes for
//!   every refusal.
//! - [`response`]: the XML the server sends (greeting, results, `resData`).
//! - [`translate`]: requests to registry commands and replies to responses (no I/O).
//! - [`server`]: the TLS listener and one task per session.
//!
//! # What this registry offers over EPP
//!
//! The greeting announces the domain and host mappings (RFC 5731, 5732), DNSSEC's secDNS-1.1
//! (RFC 5910, DS data only) and the grace period mapping (RFC 3915). How the SRRP model maps onto EPP objects — clusters, `inactive`, passwords,
//! transfers, contacts — is written down in `docs/epp.md`.

pub mod command;
pub mod frame;
pub mod response;
pub mod server;
pub mod translate;
pub mod xml;

/// EPP's own namespace.
pub const EPP: &str = "urn:ietf:params:xml:ns:epp-1.0";
/// RFC 5731 domain mapping.
pub const DOMAIN: &str = "urn:ietf:params:xml:ns:domain-1.0";
/// RFC 5732 host mapping.
pub const HOST: &str = "urn:ietf:params:xml:ns:host-1.0";
/// RFC 5733 contact mapping (not offered: no contact data is kept).
pub const CONTACT: &str = "urn:ietf:params:xml:ns:contact-1.0";
/// RFC 5910 DNSSEC extension.
pub const SECDNS: &str = "urn:ietf:params:xml:ns:secDNS-1.1";

/// The objects this server offers (`<objURI>`).
pub const OBJECTS: [&str; 2] = [DOMAIN, HOST];
/// RFC 3915 grace periods and restores.
pub const RGP: &str = "urn:ietf:params:xml:ns:rgp-1.0";

/// RFC 8590 change poll: what the registry's staff changed, in poll messages.
pub const CHANGE_POLL: &str = "urn:ietf:params:xml:ns:changePoll-1.0";
/// RFC 8807 login security: passwords longer than `<pw>` allows, in the login's extension.
pub const LOGIN_SEC: &str = "urn:ietf:params:xml:ns:epp:loginSec-1.0";
/// RFC 8748 fees: prices in checks, acknowledged on transforms, charged in their responses.
pub const FEE: &str = "urn:ietf:params:xml:ns:epp:fee-1.0";
/// The extensions this server offers (`<extURI>`).
pub const EXTENSIONS: [&str; 5] = [SECDNS, RGP, CHANGE_POLL, LOGIN_SEC, FEE];

/// The data collection policy (RFC 5730 §2.4's `<dcp>` content): no personal data is kept (no
/// contacts); what is kept serves provisioning and administration, is published (WHOIS, RDAP)
/// and kept as stated in the registry's policy.
pub const DATA_COLLECTION: &str = "<access><none/></access><statement><purpose><admin/><prov/></purpose><recipient><ours/><public/></recipient><retention><stated/></retention></statement>";

/// RFC 5730 §3 result codes used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum Code {
    Success = 1000,
    Pending = 1001,
    NoMessages = 1300,
    Ack = 1301,
    EndingSession = 1500,
    UnknownCommand = 2000,
    SyntaxError = 2001,
    UseError = 2002,
    MissingParameter = 2003,
    ParameterRange = 2004,
    ParameterValueSyntax = 2005,
    UnimplementedVersion = 2100,
    UnimplementedCommand = 2101,
    UnimplementedOption = 2102,
    UnimplementedExtension = 2103,
    Billing = 2104,
    NotRenewable = 2105,
    NotTransferable = 2106,
    Authentication = 2200,
    Authorization = 2201,
    InvalidAuthInfo = 2202,
    PendingTransfer = 2300,
    NotPendingTransfer = 2301,
    Exists = 2302,
    DoesNotExist = 2303,
    StatusProhibits = 2304,
    AssociationProhibits = 2305,
    ParameterPolicy = 2306,
    UnimplementedObject = 2307,
    DataPolicy = 2308,
    Failed = 2400,
    FailedClosing = 2500,
    AuthenticationClosing = 2501,
    SessionLimitClosing = 2502,
}

impl Code {
    /// The number.
    pub fn number(self) -> u16 {
        self as u16
    }

    /// RFC 5730's text for the code.
    pub fn text(self) -> &'static str {
        match self {
            Code::Success => "Command completed successfully",
            Code::Pending => "Command completed successfully; action pending",
            Code::NoMessages => "Command completed successfully; no messages",
            Code::Ack => "Command completed successfully; ack to dequeue",
            Code::EndingSession => "Command completed successfully; ending session",
            Code::UnknownCommand => "Unknown command",
            Code::SyntaxError => "Command syntax error",
            Code::UseError => "Command use error",
            Code::MissingParameter => "Required parameter missing",
            Code::ParameterRange => "Parameter value range error",
            Code::ParameterValueSyntax => "Parameter value syntax error",
            Code::UnimplementedVersion => "Unimplemented protocol version",
            Code::UnimplementedCommand => "Unimplemented command",
            Code::UnimplementedOption => "Unimplemented option",
            Code::UnimplementedExtension => "Unimplemented extension",
            Code::Billing => "Billing failure",
            Code::NotRenewable => "Object is not eligible for renewal",
            Code::NotTransferable => "Object is not eligible for transfer",
            Code::Authentication => "Authentication error",
            Code::Authorization => "Authorization error",
            Code::InvalidAuthInfo => "Invalid authorization information",
            Code::PendingTransfer => "Object pending transfer",
            Code::NotPendingTransfer => "Object not pending transfer",
            Code::Exists => "Object exists",
            Code::DoesNotExist => "Object does not exist",
            Code::StatusProhibits => "Object status prohibits operation",
            Code::AssociationProhibits => "Association prohibits operation",
            Code::ParameterPolicy => "Parameter value policy error",
            Code::UnimplementedObject => "Unimplemented object service",
            Code::DataPolicy => "Data management policy violation",
            Code::Failed => "Command failed",
            Code::FailedClosing => "Command failed; server closing connection",
            Code::AuthenticationClosing => "Authentication error; server closing connection",
            Code::SessionLimitClosing => "Session limit exceeded; server closing connection",
        }
    }

    /// True for 1xxx.
    pub fn is_success(self) -> bool {
        self.number() < 2000
    }
}

/// A refusal: its code and a text saying what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The result code.
    pub code: Code,
    /// What was wrong, for the registrar.
    pub text: String,
}

impl Failure {
    /// A refusal with this code and text.
    pub fn new(code: Code, text: impl Into<String>) -> Failure {
        Failure {
            code,
            text: text.into(),
        }
    }
}
