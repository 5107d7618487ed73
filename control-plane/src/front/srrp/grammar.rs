//! SRRP/1.0, the Stateless Registry-Registrar Protocol of the .name plan: the message grammar,
//! framing and response codes, with no I/O.
//!
//! # Messages
//!
//! A request is one header line `COMMAND LWS OBJECT LWS SRRP/1.0`, then attribute lines
//! `attribute=value` (everything after the first `=` up to the line end is the value, spaces
//! included), ended by EOF: the byte `%x00`, or the end of the client's stream. A response is one
//! header line `code LWS text`, attribute lines, and `%x00`; the server then closes the
//! connection (one request per connection, as the protocol is stateless; TLS session resumption
//! keeps reconnecting cheap).
//!
//! Lines end with CRLF; a bare LF or a bare CR is taken as a line end too, so a hand-typed
//! request works. Characters outside 0x09, 0x20–0x7E and 0xA0–0xFF (ISO-8859-1 printable)
//! make a message malformed.
//!
//! A message that is not well formed — a header without three fields, a third field that is not
//! `SRRP/<digits>.<digits>`, a line without `=`, an attribute name outside `[A-Za-z0-9-]`, a
//! message over [`Limits::max_bytes`] or [`Limits::max_lines`] — gets no response: the server
//! drops the connection, as the plan requires. A well-formed message in another version gets
//! `413`.

/// The only protocol version served.
pub const VERSION: &str = "SRRP/1.0";

/// Bounds on one request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The largest message, in bytes.
    pub max_bytes: usize,
    /// The most lines, header included.
    pub max_lines: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_bytes: 64 * 1024,
            max_lines: 1024,
        }
    }
}

/// A parsed, well-formed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The command word, upper case (`CREATE`, `SET`, `QUERY`, …).
    pub command: String,
    /// The object word, upper case (`DOMAIN`, `CLUSTER`, `EXPIRE`, …).
    pub object: String,
    /// The protocol field as sent, e.g. `SRRP/1.0`.
    pub protocol: String,
    /// Attributes in the order sent; names lower case, values as sent.
    pub attributes: Vec<(String, String)>,
}

/// Why a message is not well formed; the connection is dropped without a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    /// The message is larger than the limit.
    #[error("message longer than {0} bytes")]
    TooLong(usize),
    /// The message has more lines than the limit.
    #[error("message has more than {0} lines")]
    TooManyLines(usize),
    /// A byte outside the printable ISO-8859-1 range.
    #[error("byte {byte:#04x} on line {line} is not printable ISO-8859-1")]
    Character {
        /// The line (1-based).
        line: usize,
        /// The byte.
        byte: u8,
    },
    /// The header does not have three fields, or its third is not an SRRP version.
    #[error("the header line is not COMMAND OBJECT SRRP/x.y")]
    Header,
    /// A line of the body without `=`, or with an empty or invalid attribute name.
    #[error("line {0} is not an attribute=value pair")]
    Attribute(usize),
}

/// Where the end of a request is in the bytes received so far.
///
/// Returns the request's length (without its terminating `%x00`) once a `%x00` arrived, `None`
/// while more may follow. At the end of the stream the whole buffer is the request.
pub fn find_end(received: &[u8]) -> Option<usize> {
    received.iter().position(|&b| b == 0)
}

fn printable(b: u8) -> bool {
    b == b'\t' || (0x20..=0x7e).contains(&b) || b >= 0xa0
}

fn is_pchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// Parses one request (the bytes before its `%x00`).
pub fn parse(message: &[u8], limits: Limits) -> Result<Request, Malformed> {
    if message.len() > limits.max_bytes {
        return Err(Malformed::TooLong(limits.max_bytes));
    }
    let mut lines = split_lines(message);
    let (_, header) = lines.next().ok_or(Malformed::Header)?;
    let header = latin1(header, 1)?;
    let fields: Vec<&str> = header
        .split([' ', '\t'])
        .filter(|f| !f.is_empty())
        .collect();
    let [command, object, protocol] = fields[..] else {
        return Err(Malformed::Header);
    };
    if !is_version(protocol) || !command.bytes().all(is_pchar) || !object.bytes().all(is_pchar) {
        return Err(Malformed::Header);
    }
    let mut attributes = Vec::new();
    for (index, line) in lines {
        let number = index + 1;
        if number > limits.max_lines {
            return Err(Malformed::TooManyLines(limits.max_lines));
        }
        if line.is_empty() {
            continue;
        }
        let line = latin1(line, number)?;
        let (name, value) = line.split_once('=').ok_or(Malformed::Attribute(number))?;
        if name.is_empty() || !name.bytes().all(is_pchar) {
            return Err(Malformed::Attribute(number));
        }
        attributes.push((name.to_ascii_lowercase(), value.to_string()));
    }
    Ok(Request {
        command: command.to_ascii_uppercase(),
        object: object.to_ascii_uppercase(),
        protocol: protocol.to_string(),
        attributes,
    })
}

/// Lines split at CRLF, LF or CR, numbered from 0; a final empty line is not yielded.
fn split_lines(message: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut rest = message;
    let mut index = 0;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest
            .iter()
            .position(|&b| b == b'\r' || b == b'\n')
            .unwrap_or(rest.len());
        let line = &rest[..end];
        let mut next = end;
        if next < rest.len() {
            next += if rest[next] == b'\r' && rest.get(next + 1) == Some(&b'\n') {
                2
            } else {
                1
            };
        }
        rest = &rest[next..];
        index += 1;
        Some((index - 1, line))
    })
}

/// Decodes an ISO-8859-1 line, refusing non-printable bytes.
fn latin1(line: &[u8], number: usize) -> Result<String, Malformed> {
    if let Some(&byte) = line.iter().find(|&&b| !printable(b)) {
        return Err(Malformed::Character { line: number, byte });
    }
    Ok(line.iter().map(|&b| char::from(b)).collect())
}

fn is_version(protocol: &str) -> bool {
    let Some(version) = protocol.strip_prefix("SRRP/") else {
        return false;
    };
    let Some((major, minor)) = version.split_once('.') else {
        return false;
    };
    !major.is_empty()
        && !minor.is_empty()
        && major.bytes().all(|b| b.is_ascii_digit())
        && minor.bytes().all(|b| b.is_ascii_digit())
}

/// An SRRP response code with the plan's text (section "Response codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// 200: the only success code.
    Success,
    /// 300: the server failed; retry later.
    InternalError,
    /// 301: a mandatory attribute could not be returned just now.
    AttributeUnavailable,
    /// 400: the domain is already registered.
    DomainRegistered,
    /// 401: the domain is not registered.
    DomainNotRegistered,
    /// 402: the cluster is not registered.
    ClusterNotRegistered,
    /// 403: an unknown or misplaced attribute (or command).
    InvalidAttribute,
    /// 404: an attribute value that is not valid.
    InvalidValue,
    /// 405: an expiry date in the past or too far ahead.
    InvalidExpiry,
    /// 406: too few or too many name servers.
    NameserverCount,
    /// 407: a mandatory attribute is missing.
    MissingAttribute,
    /// 408: the object is still in use.
    RemovalNotPermitted,
    /// 409: the name is blocked.
    BlockedDomain,
    /// 410: not enough credit.
    CreditFailure,
    /// 411: the object belongs to another registrar.
    AccessDenied,
    /// 412: credentials did not match.
    AuthorizationFailed,
    /// 413: another protocol version.
    UnsupportedVersion,
}

impl Code {
    /// Every code, in numeric order.
    pub const ALL: [Code; 17] = [
        Code::Success,
        Code::InternalError,
        Code::AttributeUnavailable,
        Code::DomainRegistered,
        Code::DomainNotRegistered,
        Code::ClusterNotRegistered,
        Code::InvalidAttribute,
        Code::InvalidValue,
        Code::InvalidExpiry,
        Code::NameserverCount,
        Code::MissingAttribute,
        Code::RemovalNotPermitted,
        Code::BlockedDomain,
        Code::CreditFailure,
        Code::AccessDenied,
        Code::AuthorizationFailed,
        Code::UnsupportedVersion,
    ];

    /// The numeric code.
    pub fn number(self) -> u16 {
        match self {
            Code::Success => 200,
            Code::InternalError => 300,
            Code::AttributeUnavailable => 301,
            Code::DomainRegistered => 400,
            Code::DomainNotRegistered => 401,
            Code::ClusterNotRegistered => 402,
            Code::InvalidAttribute => 403,
            Code::InvalidValue => 404,
            Code::InvalidExpiry => 405,
            Code::NameserverCount => 406,
            Code::MissingAttribute => 407,
            Code::RemovalNotPermitted => 408,
            Code::BlockedDomain => 409,
            Code::CreditFailure => 410,
            Code::AccessDenied => 411,
            Code::AuthorizationFailed => 412,
            Code::UnsupportedVersion => 413,
        }
    }

    /// The short description sent after the number.
    pub fn text(self) -> &'static str {
        match self {
            Code::Success => "Command completed successfully",
            Code::InternalError => "Internal server error",
            Code::AttributeUnavailable => "Attribute temporarily unavailable",
            Code::DomainRegistered => "Domain already registered",
            Code::DomainNotRegistered => "Domain not registered",
            Code::ClusterNotRegistered => "Cluster not registered",
            Code::InvalidAttribute => "Invalid attribute",
            Code::InvalidValue => "Invalid attribute value",
            Code::InvalidExpiry => "Invalid expire date",
            Code::NameserverCount => "Invalid number of name servers",
            Code::MissingAttribute => "Mandatory attribute missing",
            Code::RemovalNotPermitted => "Removal not permitted",
            Code::BlockedDomain => "Blocked domain",
            Code::CreditFailure => "Credit failure",
            Code::AccessDenied => "Access denied",
            Code::AuthorizationFailed => "Authorization failed",
            Code::UnsupportedVersion => "Unsupported protocol version",
        }
    }

    /// The code for a number, if it is one.
    pub fn from_number(number: u16) -> Option<Code> {
        Code::ALL.into_iter().find(|c| c.number() == number)
    }
}

/// A message in wire form: the header line, `name=value` lines, each ended by CRLF, and the
/// `%x00` that ends the message; ISO-8859-1, with characters SRRP cannot carry (outside its
/// printable range) sent as `?`.
fn render_message(header: &str, attributes: &[(String, String)]) -> Vec<u8> {
    fn push(out: &mut Vec<u8>, text: &str) {
        out.extend(text.chars().map(|c| match u32::from(c) {
            0x09 | 0x20..=0x7e | 0xa0..=0xff => c as u8,
            _ => b'?',
        }));
    }
    let mut out = Vec::with_capacity(64 + attributes.len() * 32);
    push(&mut out, header);
    out.extend_from_slice(b"\r\n");
    for (name, value) in attributes {
        push(&mut out, name);
        out.push(b'=');
        push(&mut out, value);
        out.extend_from_slice(b"\r\n");
    }
    out.push(0);
    out
}

/// A response: a code and attribute lines in order (`text` lines keep their order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The response code.
    pub code: Code,
    /// Attributes in the order they are sent.
    pub attributes: Vec<(String, String)>,
}

impl Response {
    /// A response with no body.
    pub fn new(code: Code) -> Response {
        Response {
            code,
            attributes: Vec::new(),
        }
    }

    /// A failure with one human-readable `text` line.
    pub fn error(code: Code, text: impl Into<String>) -> Response {
        Response::new(code).with("text", text)
    }

    /// Adds one attribute.
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Response {
        self.attributes.push((name.to_string(), value.into()));
        self
    }

    /// Adds one attribute in place.
    pub fn push(&mut self, name: &str, value: impl Into<String>) {
        self.attributes.push((name.to_string(), value.into()));
    }

    /// The first value of an attribute.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The wire form: header, CRLF-ended attribute lines, and the `%x00` that ends it.
    /// Characters that SRRP cannot carry (outside ISO-8859-1's printable range) become `?`.
    pub fn render(&self) -> Vec<u8> {
        let header = format!("{} {}", self.code.number(), self.code.text());
        render_message(&header, &self.attributes)
    }

    /// Parses a response as a client reads it (tests and the command-line client).
    pub fn parse(bytes: &[u8]) -> Option<Response> {
        let bytes = match find_end(bytes) {
            Some(end) => &bytes[..end],
            None => bytes,
        };
        let mut lines = split_lines(bytes);
        let (_, header) = lines.next()?;
        let header: String = header.iter().map(|&b| char::from(b)).collect();
        let number: u16 = header.split([' ', '\t']).next()?.parse().ok()?;
        let code = Code::from_number(number)?;
        let mut attributes = Vec::new();
        for (_, line) in lines {
            let line: String = line.iter().map(|&b| char::from(b)).collect();
            let (name, value) = line.split_once('=')?;
            attributes.push((name.to_string(), value.to_string()));
        }
        Some(Response { code, attributes })
    }
}

impl Request {
    /// Renders the request in wire form, ended by `%x00` (the command-line client and tests).
    pub fn render(&self) -> Vec<u8> {
        let header = format!("{} {} {}", self.command, self.object, self.protocol);
        render_message(&header, &self.attributes)
    }

    /// Every value of an attribute, in order.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.attributes
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_example_request() {
        let message = b"CREATE DOMAIN SRRP/1.0\r\nregistrar-id=123456789\r\nregistrar-auth= pass-phrase\r\ndomain-name=example.com\r\nstatus=inactive\r\ncluster-id=987654321\r\n";
        let request = parse(message, Limits::default()).unwrap();
        assert_eq!(request.command, "CREATE");
        assert_eq!(request.object, "DOMAIN");
        assert_eq!(request.protocol, VERSION);
        assert_eq!(
            request.values("registrar-auth").collect::<Vec<_>>(),
            [" pass-phrase"]
        );
        assert_eq!(request.attributes.len(), 5);
    }

    #[test]
    fn value_keeps_equals_signs_and_spaces() {
        let request = parse(
            b"STATUS SERVER SRRP/1.0\nregistrar-auth=a = b=c \n",
            Limits::default(),
        )
        .unwrap();
        assert_eq!(request.attributes[0].1, "a = b=c ");
    }

    #[test]
    fn bare_cr_and_lf_end_lines() {
        let request = parse(
            b"STATUS\tSERVER  SRRP/1.0\rregistrar-id=1\nregistrar-auth=x",
            Limits::default(),
        )
        .unwrap();
        assert_eq!(request.attributes.len(), 2);
    }

    #[test]
    fn malformed_messages() {
        let limits = Limits::default();
        assert_eq!(parse(b"", limits), Err(Malformed::Header));
        assert_eq!(parse(b"CREATE DOMAIN\r\n", limits), Err(Malformed::Header));
        assert_eq!(
            parse(b"CREATE DOMAIN HTTP/1.0\r\n", limits),
            Err(Malformed::Header)
        );
        assert_eq!(
            parse(b"CREATE DOMAIN SRRP/1\r\n", limits),
            Err(Malformed::Header)
        );
        assert_eq!(parse(b"A B C SRRP/1.0\r\n", limits), Err(Malformed::Header));
        assert_eq!(
            parse(b"CREATE DOMAIN SRRP/1.0\r\nnovalue\r\n", limits),
            Err(Malformed::Attribute(2))
        );
        assert_eq!(
            parse(b"CREATE DOMAIN SRRP/1.0\r\nbad name=x\r\n", limits),
            Err(Malformed::Attribute(2))
        );
        assert_eq!(
            parse(b"CREATE DOMAIN SRRP/1.0\r\na=\x01\r\n", limits),
            Err(Malformed::Character { line: 2, byte: 1 })
        );
        let small = Limits {
            max_bytes: 10,
            max_lines: 2,
        };
        assert_eq!(parse(&[b'a'; 11], small), Err(Malformed::TooLong(10)));
        let few_lines = Limits {
            max_bytes: 100,
            max_lines: 2,
        };
        assert_eq!(
            parse(b"A B SRRP/1.0\na=1\nb=2\n", few_lines),
            Err(Malformed::TooManyLines(2))
        );
    }

    #[test]
    fn other_versions_are_well_formed() {
        let request = parse(b"STATUS SERVER SRRP/2.0\r\n", Limits::default()).unwrap();
        assert_eq!(request.protocol, "SRRP/2.0");
    }

    #[test]
    fn response_round_trip() {
        let response = Response::new(Code::Success)
            .with("cluster-id", "987654321")
            .with("text", "Changed-date:2001-02-13 10:15:12 UTC");
        let wire = response.render();
        assert!(
            wire.starts_with(b"200 Command completed successfully\r\ncluster-id=987654321\r\n")
        );
        assert_eq!(*wire.last().unwrap(), 0);
        assert_eq!(Response::parse(&wire), Some(response));
    }

    #[test]
    fn every_code_has_its_number() {
        for code in Code::ALL {
            assert_eq!(Code::from_number(code.number()), Some(code));
        }
    }

    proptest::proptest! {
        #[test]
        fn request_render_parse(
            command in "[A-Z]{1,8}",
            object in "[A-Z]{1,8}",
            attributes in proptest::collection::vec(("[a-z][a-z0-9-]{0,12}", "[ -~]{0,20}"), 0..8),
        ) {
            let request = Request {
                command,
                object,
                protocol: VERSION.to_string(),
                attributes: attributes.into_iter().map(|(n, v)| (n, v.trim_end_matches(['\r', '\n']).to_string())).collect(),
            };
            let wire = request.render();
            let end = find_end(&wire).unwrap();
            proptest::prop_assert_eq!(parse(&wire[..end], Limits::default()).unwrap(), request);
        }

        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = parse(&bytes, Limits::default());
        }
    }
}
