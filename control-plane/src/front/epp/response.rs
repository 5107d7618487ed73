//! The XML the server sends: the greeting and command responses (RFC 5730 §2.4, §2.6), written
//! straight into a string with every value escaped.

use std::fmt::Write;

use zonefiles::calendar;

use super::xml::escape;
use super::{Code, DATA_COLLECTION, EPP, EXTENSIONS, OBJECTS};

const PROLOGUE: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>"#;

/// A time as XML Schema's `dateTime` in UTC, e.g. `2026-12-03T03:11:26.0Z`.
pub fn date_time(time: i64) -> String {
    calendar::date_time(time).replacen(' ', "T", 1) + ".0Z"
}

/// The greeting (RFC 5730 §2.4), sent on connect and in answer to `<hello>`.
pub fn greeting(server_id: &str, now: i64) -> String {
    let mut out = format!(
        r#"{PROLOGUE}<epp xmlns="{EPP}"><greeting><svID>{}</svID><svDate>{}</svDate><svcMenu><version>1.0</version><lang>en</lang>"#,
        escape(server_id),
        date_time(now)
    );
    for object in OBJECTS {
        let _ = write!(out, "<objURI>{object}</objURI>");
    }
    out.push_str("<svcExtension>");
    for extension in EXTENSIONS {
        let _ = write!(out, "<extURI>{extension}</extURI>");
    }
    let _ = write!(
        out,
        "</svcExtension></svcMenu><dcp>{DATA_COLLECTION}</dcp></greeting></epp>"
    );
    out
}

/// A command's response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The result code.
    pub code: Code,
    /// The `<msg>`: what happened, or what was wrong.
    pub message: String,
    /// The inside of `<resData>`, if any.
    pub data: Option<String>,
    /// The elements of `<extension>`, each with the extension's namespace (a session is sent
    /// only those of extensions it named at login).
    pub extension: Vec<(&'static str, String)>,
    /// `<msgQ>`: the poll queue.
    pub queue: Option<Queue>,
}

/// `<msgQ>` (RFC 5730 §2.6): how many messages wait, and the one presented or acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    /// Messages waiting.
    pub count: u64,
    /// The message's id.
    pub id: i64,
    /// When it was queued and what it says (for the message presented by a poll request).
    pub message: Option<(i64, String)>,
}

impl Response {
    /// A response with the code's own text.
    pub fn new(code: Code) -> Response {
        Response {
            code,
            message: code.text().to_string(),
            data: None,
            extension: Vec::new(),
            queue: None,
        }
    }

    /// A response with a text of its own.
    pub fn with_message(code: Code, message: impl Into<String>) -> Response {
        Response {
            message: message.into(),
            ..Response::new(code)
        }
    }

    /// The document, with the transaction ids.
    pub fn render(&self, client_transaction: Option<&str>, server_transaction: &str) -> String {
        let mut out = format!(
            r#"{PROLOGUE}<epp xmlns="{EPP}"><response><result code="{}"><msg>{}</msg></result>"#,
            self.code.number(),
            escape(&self.message)
        );
        if let Some(queue) = &self.queue {
            let _ = write!(out, r#"<msgQ count="{}" id="{}""#, queue.count, queue.id);
            match &queue.message {
                Some((at, text)) => {
                    let _ = write!(
                        out,
                        "><qDate>{}</qDate><msg>{}</msg></msgQ>",
                        date_time(*at),
                        escape(text)
                    );
                }
                None => out.push_str("/>"),
            }
        }
        if let Some(data) = &self.data {
            let _ = write!(out, "<resData>{data}</resData>");
        }
        if !self.extension.is_empty() {
            out.push_str("<extension>");
            for (_, element) in &self.extension {
                out.push_str(element);
            }
            out.push_str("</extension>");
        }
        out.push_str("<trID>");
        if let Some(id) = client_transaction {
            let _ = write!(out, "<clTRID>{}</clTRID>", escape(id));
        }
        let _ = write!(
            out,
            "<svTRID>{}</svTRID></trID></response></epp>",
            escape(server_transaction)
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::epp::xml;

    #[test]
    fn responses_are_well_formed_and_escaped() {
        let mut response = Response::with_message(Code::ParameterPolicy, "a<b & \"c\"");
        response.data = Some("<x/>".into());
        let text = response.render(Some("ABC<1>"), "SV-1");
        let root = xml::parse(text.as_bytes()).unwrap();
        let result = &root.children[0].children[0];
        assert_eq!(result.attribute("code"), Some("2306"));
        assert_eq!(result.children[0].text, "a<b & \"c\"");
        assert!(text.contains("<clTRID>ABC&lt;1&gt;</clTRID>"));
        let greeting = greeting("Registry & co", 0);
        assert!(xml::parse(greeting.as_bytes()).is_ok());
        assert!(greeting.contains("<svDate>1970-01-01T00:00:00.0Z</svDate>"));
    }
}
