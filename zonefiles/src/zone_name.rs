//! The name of a zone as the registry, the agents and the WHOIS tree keep it: a valid domain
//! name in lower case, without the final dot (`name`, `example.tld`). Text from a
//! configuration file, a command line or a database becomes one through [`ZoneName::parse`],
//! the one place that trims the dot and folds the case; everything after compares plain
//! strings.

use std::fmt;

use crate::name::{Name, NameError};

/// A zone's name: lower case, no final dot, never the root.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct ZoneName(String);

/// Why a text is not a zone's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZoneNameError {
    /// The root, or nothing.
    #[error("a zone's name is needed, not the root")]
    Root,
    /// Not a domain name.
    #[error("{text:?} is not a domain name: {error}")]
    Syntax {
        /// The text given.
        text: String,
        /// What is wrong with it.
        error: NameError,
    },
}

impl ZoneName {
    /// Reads a zone's name in presentation form, with or without the final dot, in any case.
    pub fn parse(text: &str) -> Result<ZoneName, ZoneNameError> {
        let trimmed = text.trim().trim_end_matches('.');
        if trimmed.is_empty() {
            return Err(ZoneNameError::Root);
        }
        let name = Name::from_text(format!("{trimmed}.").as_bytes(), None).map_err(|error| {
            ZoneNameError::Syntax {
                text: text.to_owned(),
                error,
            }
        })?;
        let text = name.to_string();
        Ok(ZoneName(text.trim_end_matches('.').to_ascii_lowercase()))
    }

    /// The name as text (lower case, no final dot).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for ZoneName {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for ZoneName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for ZoneName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for ZoneName {
    type Err = ZoneNameError;

    fn from_str(text: &str) -> Result<ZoneName, ZoneNameError> {
        ZoneName::parse(text)
    }
}

impl TryFrom<String> for ZoneName {
    type Error = ZoneNameError;

    fn try_from(text: String) -> Result<ZoneName, ZoneNameError> {
        ZoneName::parse(&text)
    }
}

impl From<ZoneName> for String {
    fn from(name: ZoneName) -> String {
        name.0
    }
}

impl PartialEq<str> for ZoneName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for ZoneName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for ZoneName {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl PartialEq<ZoneName> for String {
    fn eq(&self, other: &ZoneName) -> bool {
        *self == other.0
    }
}

impl PartialEq<ZoneName> for str {
    fn eq(&self, other: &ZoneName) -> bool {
        self == other.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_spelling_per_zone() {
        for text in ["name", "NAME", "name.", " Name. "] {
            assert_eq!(ZoneName::parse(text).unwrap(), "name");
        }
        assert_eq!(
            ZoneName::parse("Example.TLD.").unwrap().as_str(),
            "example.tld"
        );
        assert_eq!(ZoneName::parse("XN--P1AI").unwrap(), "xn--p1ai");
        assert_eq!(ZoneName::parse("."), Err(ZoneNameError::Root));
        assert_eq!(ZoneName::parse(""), Err(ZoneNameError::Root));
        assert!(matches!(
            ZoneName::parse(&"a".repeat(64)),
            Err(ZoneNameError::Syntax { .. })
        ));
        let json = serde_json::to_string(&ZoneName::parse("Name.").unwrap()).unwrap();
        assert_eq!(json, "\"name\"");
        let back: ZoneName = serde_json::from_str("\"NAME.\"").unwrap();
        assert_eq!(back, "name");
        assert!(serde_json::from_str::<ZoneName>("\".\"").is_err());
    }
}
