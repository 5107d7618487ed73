//! RRP's wire format (RFC 2832 §4.1–4.2, §5; RFC 3632): requests, responses and response
//! codes, with no I/O.
//!
//! # Messages
//!
//! A request is a command line, then `name:value` lines, then a line holding only `.`:
//!
//! ```text
//! add
//! EntityName:Domain
//! DomainName:EXAMPLE.TLD
//! NameServer:NS1.EXAMPLE.NET
//! -Period:2
//! .
//! ```
//!
//! A name starting with `-` is an *option* of the command; any other is an *attribute* of the
//! entity (`EntityName` says which: `Domain` or `NameServer`). Command and names are
//! case-insensitive; a value ending in `=` asks `mod` to remove it. A response is a code line
//! (`200 Command completed successfully`), `name:value` lines and `.`.
//!
//! Lines end with CRLF; a bare LF is taken as a line end too, so a hand-typed request works.
//! Only printable ASCII is accepted (names are LDH, IDNs in their ACE form, RFC 3632 §2.1).
//!
//! A request that cannot be read — no command, a line without `:`, a byte outside printable
//! ASCII, an unknown command or entity — is answered with RFC 2832's code for it (500, 502,
//! 507), and the session goes on; only a request over the server's size limit ends the
//! session, since where the next one starts is no longer known.

/// The protocol version served (RFC 3632's, which adds IPv6 name server addresses and
/// withdrawing a transfer to RFC 2832's 1.1.0).
pub const VERSION: &str = "2.0.0";

/// The commands of RFC 2832 §4.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// Register a domain or a name server.
    Add,
    /// Whether a domain or name server could be registered.
    Check,
    /// Delete one.
    Del,
    /// The protocol version.
    Describe,
    /// Change one.
    Mod,
    /// End the session.
    Quit,
    /// Extend a registration.
    Renew,
    /// Log in.
    Session,
    /// All about one.
    Status,
    /// Ask for, answer or withdraw a transfer.
    Transfer,
}

impl Verb {
    fn parse(word: &str) -> Option<Verb> {
        Some(match word {
            "add" => Verb::Add,
            "check" => Verb::Check,
            "del" => Verb::Del,
            "describe" => Verb::Describe,
            "mod" => Verb::Mod,
            "quit" => Verb::Quit,
            "renew" => Verb::Renew,
            "session" => Verb::Session,
            "status" => Verb::Status,
            "transfer" => Verb::Transfer,
            _ => return None,
        })
    }

    /// The command word, as sent.
    pub fn word(self) -> &'static str {
        match self {
            Verb::Add => "add",
            Verb::Check => "check",
            Verb::Del => "del",
            Verb::Describe => "describe",
            Verb::Mod => "mod",
            Verb::Quit => "quit",
            Verb::Renew => "renew",
            Verb::Session => "session",
            Verb::Status => "status",
            Verb::Transfer => "transfer",
        }
    }
}

/// What a command is about (`EntityName`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    /// A domain.
    Domain,
    /// A name server (a host object).
    NameServer,
}

/// A request as read: the command, its entity, and its attributes and options in the order
/// sent, names lower case (options without their `-`), values as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The command.
    pub verb: Verb,
    /// `EntityName`, if given.
    pub entity: Option<Entity>,
    /// Attributes of the entity.
    pub attributes: Vec<(String, String)>,
    /// Options of the command.
    pub options: Vec<(String, String)>,
}

impl Request {
    /// Every value of attribute `name` (lower case).
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.attributes
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of option `name` (lower case, without `-`).
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Where the end of a request is in the bytes received so far: the length up to and
/// including its `.` line, once that line arrived.
pub fn find_end(received: &[u8]) -> Option<usize> {
    let mut start = 0;
    while let Some(offset) = received[start..].iter().position(|&b| b == b'\n') {
        let end = start + offset + 1;
        let line = &received[start..start + offset];
        if line == b"." || line == b".\r" {
            return Some(end);
        }
        start = end;
    }
    None
}

/// Reads one request (its bytes up to and including the `.` line). An unreadable request is
/// the response to send.
pub fn parse(message: &[u8]) -> Result<Request, Response> {
    let text = std::str::from_utf8(message)
        .ok()
        .filter(|t| {
            t.bytes()
                .all(|b| b == b'\r' || b == b'\n' || b == b'\t' || (0x20..0x7f).contains(&b))
        })
        .ok_or_else(|| {
            Response::error(
                Code::InvalidCommandFormat,
                "only printable ASCII is accepted",
            )
        })?;
    let mut lines = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l).trim())
        .filter(|l| !l.is_empty());
    let word = lines.next().unwrap_or(".").to_ascii_lowercase();
    let verb = Verb::parse(&word).ok_or_else(|| {
        Response::error(
            Code::InvalidCommandName,
            format!("{word:?} is not an RRP command"),
        )
    })?;
    let mut request = Request {
        verb,
        entity: None,
        attributes: Vec::new(),
        options: Vec::new(),
    };
    for line in lines {
        if line == "." {
            break;
        }
        let (name, value) = line.split_once(':').ok_or_else(|| {
            Response::error(
                Code::InvalidCommandFormat,
                format!("{line:?} is not name:value"),
            )
        })?;
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_string());
        if let Some(option) = name.strip_prefix('-') {
            request.options.push((option.to_string(), value));
        } else if name == "entityname" {
            let entity = match value.to_ascii_lowercase().as_str() {
                "domain" => Entity::Domain,
                "nameserver" => Entity::NameServer,
                _ => {
                    return Err(Response::error(
                        Code::InvalidEntityValue,
                        format!("EntityName {value:?} is neither Domain nor NameServer"),
                    ));
                }
            };
            if request.entity.replace(entity).is_some() {
                return Err(Response::error(
                    Code::InvalidCommandFormat,
                    "EntityName given more than once",
                ));
            }
        } else {
            request.attributes.push((name, value));
        }
    }
    Ok(request)
}

/// A response: its code, an explanation after the code's text, and `name:value` lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The code.
    pub code: Code,
    /// Why, for a refusal (appended to the code's text).
    pub reason: Option<String>,
    /// Attribute lines, in order.
    pub attributes: Vec<(String, String)>,
}

impl Response {
    /// A response with the code's text alone.
    pub fn new(code: Code) -> Response {
        Response {
            code,
            reason: None,
            attributes: Vec::new(),
        }
    }

    /// A refusal with its reason.
    pub fn error(code: Code, reason: impl Into<String>) -> Response {
        Response {
            reason: Some(reason.into()),
            ..Response::new(code)
        }
    }

    /// Adds a `name:value` line.
    pub fn push(&mut self, name: &str, value: impl Into<String>) {
        self.attributes.push((name.to_string(), value.into()));
    }

    /// The first value of attribute `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The wire form: CRLF lines ending with `.`. Line breaks in values or the reason become
    /// spaces, so a value can never end the response early.
    pub fn render(&self) -> Vec<u8> {
        let clean = |s: &str| s.replace(['\r', '\n'], " ");
        let mut out = format!("{} {}", self.code.number(), self.code.text());
        if let Some(reason) = &self.reason {
            out.push_str(": ");
            out.push_str(&clean(reason));
        }
        out.push_str("\r\n");
        for (name, value) in &self.attributes {
            out.push_str(&format!("{name}:{}\r\n", clean(value)));
        }
        out.push_str(".\r\n");
        out.into_bytes()
    }

    /// Reads a response (a client's side): the code line, `name:value` lines, `.`.
    pub fn parse(message: &[u8]) -> Option<Response> {
        let text = std::str::from_utf8(message).ok()?;
        let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let first = lines.next()?;
        let (number, rest) = first.split_once(' ')?;
        let code = Code::from_number(number.parse().ok()?)?;
        let reason = rest
            .strip_prefix(code.text())
            .and_then(|r| r.strip_prefix(": "))
            .map(str::to_string);
        let mut response = Response {
            code,
            reason,
            attributes: Vec::new(),
        };
        for line in lines {
            if line == "." {
                return Some(response);
            }
            let (name, value) = line.split_once(':')?;
            response.push(name, value);
        }
        None
    }
}

macro_rules! codes {
    ($($variant:ident = $number:literal, $text:literal;)*) => {
        /// RRP's response codes (RFC 2832 §5.1, RFC 3632 §2), each with its text.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $(#[doc = concat!(stringify!($number), ": ", $text, ".")] $variant,)*
        }

        impl Code {
            /// Every code, in numeric order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The numeric code.
            pub fn number(self) -> u16 {
                match self {
                    $(Code::$variant => $number,)*
                }
            }

            /// The code's text.
            pub fn text(self) -> &'static str {
                match self {
                    $(Code::$variant => $text,)*
                }
            }
        }
    };
}

codes! {
    Success = 200, "Command completed successfully";
    DomainAvailable = 210, "Domain name available";
    DomainNotAvailable = 211, "Domain name not available";
    NameServerAvailable = 212, "Name server available";
    NameServerNotAvailable = 213, "Name server not available";
    Closing = 220, "Command completed successfully. Server closing connection";
    FailedClosing = 420, "Command failed due to server error. Server closing connection";
    Failed = 421, "Command failed due to server error. Client should try again";
    InvalidCommandName = 500, "Invalid command name";
    InvalidCommandOption = 501, "Invalid command option";
    InvalidEntityValue = 502, "Invalid entity value";
    InvalidAttributeName = 503, "Invalid attribute name";
    MissingAttribute = 504, "Missing required attribute";
    InvalidAttributeSyntax = 505, "Invalid attribute value syntax";
    InvalidOptionValue = 506, "Invalid option value";
    InvalidCommandFormat = 507, "Invalid command format";
    MissingEntity = 508, "Missing required entity";
    MissingOption = 509, "Missing command option";
    InvalidEncoding = 510, "Invalid encoding";
    ServerClosing = 520, "Server closing connection. Client should try opening new connection";
    TooManySessions = 521, "Too many sessions open. Server closing connection";
    AuthenticationFailed = 530, "Authentication failed";
    AuthorizationFailed = 531, "Authorization failed";
    LinkedWithNameServer = 532, "Domain names linked with name server";
    HasActiveNameServers = 533, "Domain name has active name servers";
    NotFlaggedForTransfer = 534, "Domain name has not been flagged for transfer";
    RestrictedAddress = 535, "Restricted IP address";
    AlreadyFlaggedForTransfer = 536, "Domain already flagged for transfer";
    NotUnique = 540, "Attribute value is not unique";
    InvalidAttributeValue = 541, "Invalid attribute value";
    InvalidOldValue = 542, "Invalid old value for an attribute";
    FinalAttribute = 543, "Final or implicit attribute cannot be updated";
    OnHold = 544, "Entity on hold";
    NotFound = 545, "Entity reference not found";
    CreditLimit = 546, "Credit limit exceeded";
    InvalidSequence = 547, "Invalid command sequence";
    NotUpForRenewal = 548, "Domain is not up for renewal";
    CommandFailed = 549, "Command failed";
    ParentNotRegistered = 550, "Parent domain not registered";
    ParentStatus = 551, "Parent domain status does not allow for operation";
    StatusProhibits = 552, "Domain status does not allow for operation";
    PendingTransfer = 553, "Operation not allowed. Domain pending transfer";
    AlreadyRegistered = 554, "Domain already registered";
    AlreadyRenewed = 555, "Domain already renewed";
    MaximumPeriod = 556, "Maximum registration period exceeded";
    NameServerLocked = 557, "Name server locked";
}

impl Code {
    /// The code with this number, if RRP has one.
    pub fn from_number(number: u16) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.number() == number)
    }

    /// The server closes the session after a response with this code.
    pub fn closes(self) -> bool {
        matches!(
            self,
            Code::Closing | Code::FailedClosing | Code::ServerClosing | Code::TooManySessions
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_reads_into_entity_attributes_and_options() {
        let request = parse(
            b"ADD\r\nEntityName:Domain\r\nDomainName:EXAMPLE.TLD\r\nNameServer:ns1.example.net\r\nNameServer: ns2.example.net \r\n-Period:2\r\n.\r\n",
        )
        .unwrap();
        assert_eq!(request.verb, Verb::Add);
        assert_eq!(request.entity, Some(Entity::Domain));
        assert_eq!(
            request.values("nameserver").collect::<Vec<_>>(),
            ["ns1.example.net", "ns2.example.net"]
        );
        assert_eq!(request.values("domainname").next(), Some("EXAMPLE.TLD"));
        assert_eq!(request.option("period"), Some("2"));
    }

    #[test]
    fn unreadable_requests_get_their_codes() {
        let code = |bytes: &[u8]| parse(bytes).unwrap_err().code.number();
        assert_eq!(code(b"register\r\n.\r\n"), 500);
        assert_eq!(code(b".\r\n"), 500);
        assert_eq!(code(b"add\r\nEntityName:Contact\r\n.\r\n"), 502);
        assert_eq!(code(b"add\r\nDomainName EXAMPLE.TLD\r\n.\r\n"), 507);
        assert_eq!(code(b"add\r\nDomainName:caf\xc3\xa9.tld\r\n.\r\n"), 507);
        assert_eq!(
            code(b"add\r\nEntityName:Domain\r\nEntityName:Domain\r\n.\r\n"),
            507
        );
    }

    #[test]
    fn the_end_of_a_request_is_its_dot_line() {
        assert_eq!(find_end(b"quit\r\n"), None);
        assert_eq!(find_end(b"quit\r\n.\r\nsession\r\n"), Some(9));
        assert_eq!(find_end(b"quit\n.\n"), Some(7));
        // A value starting with a dot is not the end.
        assert_eq!(find_end(b"check\r\nDomainName:.x\r\n"), None);
    }

    #[test]
    fn responses_render_and_read_back_and_values_cannot_end_them() {
        let mut response = Response::error(Code::InvalidAttributeValue, "bad\r\n.\r\nvalue");
        response.push("status", "ACTIVE");
        let wire = response.render();
        assert_eq!(
            String::from_utf8(wire.clone()).unwrap(),
            "541 Invalid attribute value: bad  .  value\r\nstatus:ACTIVE\r\n.\r\n"
        );
        let back = Response::parse(&wire).unwrap();
        assert_eq!(back.code, Code::InvalidAttributeValue);
        assert_eq!(back.get("STATUS"), Some("ACTIVE"));
    }

    #[test]
    fn every_code_has_its_number_once() {
        for code in Code::ALL {
            assert_eq!(Code::from_number(code.number()), Some(*code));
        }
    }
}
