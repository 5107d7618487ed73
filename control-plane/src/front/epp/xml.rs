//! An EPP frame's XML as a small tree of namespace-resolved elements, read with quick-xml under
//! hard limits, and the escaping the response writer needs.
//!
//! What is refused (as [`XmlError`], answered with EPP code 2001): bytes that are not UTF-8,
//! anything that is not well-formed, a DOCTYPE (so no entity can be declared — no "billion
//! laughs", no external entity), processing instructions, references to entities other than
//! XML's five and character references, an undeclared namespace prefix, more than
//! [`MAX_DEPTH`] levels or [`MAX_ELEMENTS`] elements, and anything after the root. Memory is
//! therefore bounded by the frame size the transport allows (a few times it at most).

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

/// Deepest nesting accepted (EPP's deepest documents have about 8 levels).
pub const MAX_DEPTH: usize = 32;
/// Most elements in one document.
pub const MAX_ELEMENTS: usize = 10_000;

/// One element: its namespace, local name, unqualified attributes, text and children.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    /// The namespace URI it is in (empty when none).
    pub namespace: String,
    /// Its local name.
    pub name: String,
    /// Attributes without a prefix (EPP's are all unqualified), as (name, value).
    pub attributes: Vec<(String, String)>,
    /// Its character data, concatenated (references resolved).
    pub text: String,
    /// Child elements in order.
    pub children: Vec<Element>,
}

impl Element {
    /// True if it is `name` in `namespace`.
    pub fn is(&self, namespace: &str, name: &str) -> bool {
        self.namespace == namespace && self.name == name
    }

    /// An attribute's value.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The children named `name` in `namespace`.
    pub fn all<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is(namespace, name))
    }

    /// The first child named `name` in `namespace`.
    pub fn child(&self, namespace: &str, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(namespace, name))
    }

    /// Its text with surrounding white space removed (XML Schema's `token` collapses it).
    pub fn token(&self) -> &str {
        self.text.trim()
    }
}

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct XmlError(pub String);

fn error(text: impl Into<String>) -> XmlError {
    XmlError(text.into())
}

/// Parses a document into its root element.
pub fn parse(bytes: &[u8]) -> Result<Element, XmlError> {
    let text = std::str::from_utf8(bytes).map_err(|_| error("the XML is not UTF-8"))?;
    let mut reader = NsReader::from_str(text);
    reader.config_mut().check_end_names = true;
    reader.config_mut().expand_empty_elements = false;
    let mut tree = Tree::new(MAX_ELEMENTS);
    let mut root: Option<Element> = None;
    loop {
        let (resolved, event) = reader
            .read_resolved_event()
            .map_err(|e| error(format!("the XML is not well-formed: {e}")))?;
        match event {
            Event::Eof => break,
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                return Err(error("content after the root element"));
            }
            event => {
                if let Some(element) = tree.feed(resolved, event)? {
                    root = Some(element);
                }
            }
        }
    }
    if tree.is_open() {
        return Err(error("the document ends inside an element"));
    }
    root.ok_or_else(|| error("no root element"))
}

/// Builds one element (and its subtree) from a reader's events, under the limits above: the
/// EPP parser feeds it a whole document, the escrow reader one object of a deposit at a time.
#[derive(Debug)]
pub struct Tree {
    stack: Vec<Element>,
    elements: usize,
    max_elements: usize,
}

impl Tree {
    /// An empty builder that accepts at most `max_elements` elements.
    pub fn new(max_elements: usize) -> Tree {
        Tree {
            stack: Vec::new(),
            elements: 0,
            max_elements,
        }
    }

    /// True while an element is open.
    pub fn is_open(&self) -> bool {
        !self.stack.is_empty()
    }

    /// Takes one event with its namespace; returns the outermost element once it closes.
    /// Declarations and comments are ignored; white space outside an element too.
    pub fn feed(
        &mut self,
        resolved: ResolveResult<'_>,
        event: Event<'_>,
    ) -> Result<Option<Element>, XmlError> {
        let namespace = match resolved {
            ResolveResult::Bound(ns) => ns.as_ref().to_string(),
            ResolveResult::Unbound => String::new(),
            ResolveResult::Unknown(prefix) => {
                return Err(error(format!("the prefix {prefix:?} is not declared")));
            }
        };
        match event {
            Event::Start(ref start) | Event::Empty(ref start) => {
                self.elements += 1;
                if self.elements > self.max_elements {
                    return Err(error(format!("more than {} elements", self.max_elements)));
                }
                if self.stack.len() >= MAX_DEPTH {
                    return Err(error(format!("nested deeper than {MAX_DEPTH} levels")));
                }
                let mut element = Element {
                    namespace,
                    name: start.local_name().as_ref().to_string(),
                    ..Element::default()
                };
                for attribute in start.attributes() {
                    let attribute =
                        attribute.map_err(|e| error(format!("a malformed attribute: {e}")))?;
                    let key = attribute.key.as_ref().to_string();
                    if key.contains(':') || key == "xmlns" {
                        continue;
                    }
                    let value = attribute
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|e| error(format!("attribute {key}: {e}")))?;
                    element.attributes.push((key, value.into_owned()));
                }
                if matches!(event, Event::Empty(_)) {
                    return Ok(self.close(element));
                }
                self.stack.push(element);
            }
            Event::End(_) => {
                let element = self
                    .stack
                    .pop()
                    .ok_or_else(|| error("an unmatched end tag"))?;
                return Ok(self.close(element));
            }
            Event::Text(text) => {
                let content = text.xml10_content();
                match self.stack.last_mut() {
                    Some(open) => open.text.push_str(&content),
                    None if content.trim().is_empty() => {}
                    None => return Err(error("text outside the root element")),
                }
            }
            Event::CData(data) => {
                let content = data.xml10_content();
                let open = self
                    .stack
                    .last_mut()
                    .ok_or_else(|| error("CDATA outside the root element"))?;
                open.text.push_str(&content);
            }
            Event::GeneralRef(reference) => {
                let resolved = if reference.is_char_ref() {
                    reference
                        .resolve_char_ref()
                        .ok()
                        .flatten()
                        .ok_or_else(|| error("a character reference to no valid character"))?
                } else {
                    match reference.as_ref() {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        other => {
                            return Err(error(format!("the entity &{other}; is not declared")));
                        }
                    }
                };
                let open = self
                    .stack
                    .last_mut()
                    .ok_or_else(|| error("a reference outside the root element"))?;
                open.text.push(resolved);
            }
            Event::DocType(_) => return Err(error("a DOCTYPE is not accepted")),
            Event::PI(_) => return Err(error("processing instructions are not accepted")),
            Event::Decl(_) | Event::Comment(_) | Event::Eof => {}
        }
        Ok(None)
    }

    fn close(&mut self, element: Element) -> Option<Element> {
        match self.stack.last_mut() {
            Some(parent) => {
                parent.children.push(element);
                None
            }
            None => {
                self.elements = 0;
                Some(element)
            }
        }
    }
}

/// Escapes text for element content or a double-quoted attribute.
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_resolved() {
        let doc = br#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><check>
<d:check xmlns:d="urn:ietf:params:xml:ns:domain-1.0"><d:name>a&amp;b&#x41;</d:name>
<d:name><![CDATA[c<d]]></d:name></d:check></check><clTRID>ABC-1</clTRID></command></epp>"#;
        let root = parse(doc).unwrap();
        assert!(root.is("urn:ietf:params:xml:ns:epp-1.0", "epp"));
        let check = &root.children[0].children[0].children[0];
        assert!(check.is("urn:ietf:params:xml:ns:domain-1.0", "check"));
        assert_eq!(check.children[0].token(), "a&bA");
        assert_eq!(check.children[1].token(), "c<d");
    }

    #[test]
    fn hostile_documents_are_refused() {
        let laughs = br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><epp>&lol2;</epp>"#;
        assert!(parse(laughs).is_err());
        assert!(parse(b"<epp>&lol;</epp>").is_err());
        assert!(parse(b"<x:epp/>").is_err());
        assert!(parse(b"<epp><a></b></epp>").is_err());
        assert!(parse(b"<epp/><epp/>").is_err());
        assert!(parse(b"<epp>").is_err());
        assert!(parse(b"<?php x?><epp/>").is_err());
        assert!(parse(&[0xff, 0xfe]).is_err());
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert!(parse(deep.as_bytes()).is_err());
        let wide = format!("<a>{}</a>", "<b/>".repeat(MAX_ELEMENTS));
        assert!(parse(wide.as_bytes()).is_err());
    }
}
