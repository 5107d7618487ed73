//! Keys in a hardware security module, over PKCS#11 (`cryptoki`): the private half is made in
//! the token, marked sensitive and not extractable, and never leaves it; signing sends the
//! SHA-256 digest to the token (CKM_ECDSA), which returns r ‖ s, the form RFC 6605 puts in an
//! RRSIG. ECDSA P-256 (algorithm 13) only.
//!
//! A key is named by a PKCS#11 URI (RFC 7512):
//! `pkcs11:token=<label>;object=<label>?module-path=<library>&pin-source=<file>` (or
//! `pin-value=<pin>`). BIND's key files carry the URI in place of the private key
//! (`Label: pkcs11:…` in the `.private` file, as BIND writes for keys in an HSM), so a key in a
//! token is used like any other ([`super::bind::read_bind`]).
//!
//! One session per key, behind a lock: a token signs one request at a time anyway. A token
//! that is gone fails the signature with a clear error; nothing unsigned is produced.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;

use super::keys::{Algorithm, KeyError, Signer};

/// The DER of the prime256v1 curve's OID (CKA_EC_PARAMS).
const P256: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// A parsed PKCS#11 URI: the token and object labels, the module and the PIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri {
    /// The token's label.
    pub token: String,
    /// The key's label.
    pub object: String,
    /// The PKCS#11 library.
    pub module: String,
    /// The user PIN.
    pub pin: Pin,
}

/// Where the user PIN is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pin {
    /// In the URI (`pin-value`).
    Value(String),
    /// In a file, its first line (`pin-source`), read when the token is opened.
    File(String),
}

impl Pin {
    fn read(&self) -> Result<String, KeyError> {
        match self {
            Pin::Value(pin) => Ok(pin.clone()),
            Pin::File(file) => Ok(std::fs::read_to_string(file)
                .map_err(|e| KeyError::File {
                    path: file.clone(),
                    why: format!("the PIN file: {e}"),
                })?
                .lines()
                .next()
                .unwrap_or("")
                .to_owned()),
        }
    }
}

/// RFC 3986 percent-decoding of a URI component.
fn unescape(text: &str) -> Result<String, KeyError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| bad_uri("a % not followed by two hex digits"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad_uri("text that is not UTF-8"))
}

fn bad_uri(why: &str) -> KeyError {
    KeyError::File {
        path: "PKCS#11 URI".into(),
        why: why.into(),
    }
}

impl Uri {
    /// Parses `pkcs11:token=…;object=…?module-path=…&pin-source=…` (or `pin-value=…`).
    pub fn parse(text: &str) -> Result<Uri, KeyError> {
        let rest = text
            .strip_prefix("pkcs11:")
            .ok_or_else(|| bad_uri("does not start with pkcs11:"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut fields = HashMap::new();
        for part in path.split(';').chain(query.split('&')) {
            if let Some((name, value)) = part.split_once('=') {
                fields.insert(name.to_owned(), unescape(value)?);
            }
        }
        let mut take = |name: &str| fields.remove(name);
        let pin = match (take("pin-value"), take("pin-source")) {
            (Some(pin), _) => Pin::Value(pin),
            (None, Some(file)) => Pin::File(file.trim_start_matches("file:").to_owned()),
            (None, None) => return Err(bad_uri("no pin-source or pin-value")),
        };
        Ok(Uri {
            token: take("token").ok_or_else(|| bad_uri("no token"))?,
            object: take("object").ok_or_else(|| bad_uri("no object"))?,
            module: take("module-path").ok_or_else(|| bad_uri("no module-path"))?,
            pin,
        })
    }

    /// The URI as text, the PIN named by `pin_source` (a file) rather than written out.
    pub fn to_text(&self, pin_source: &Path) -> String {
        let escape = |s: &str| -> String {
            s.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect()
        };
        format!(
            "pkcs11:token={};object={}?module-path={}&pin-source={}",
            escape(&self.token),
            escape(&self.object),
            escape(&self.module),
            escape(&pin_source.to_string_lossy())
        )
    }
}

fn hsm(error: impl std::fmt::Display) -> KeyError {
    KeyError::Signing(format!("PKCS#11: {error}"))
}

/// The module at `path`, loaded and initialised once per process (PKCS#11 asks for one
/// context per application).
fn module(path: &str) -> Result<Pkcs11, KeyError> {
    static MODULES: Mutex<Option<HashMap<String, Pkcs11>>> = Mutex::new(None);
    let mut modules = MODULES.lock().unwrap_or_else(|e| e.into_inner());
    let modules = modules.get_or_insert_with(HashMap::new);
    if let Some(module) = modules.get(path) {
        return Ok(module.clone());
    }
    let pkcs11 = Pkcs11::new(path).map_err(|e| hsm(format!("loading {path}: {e}")))?;
    match pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(())
        | Err(cryptoki::error::Error::Pkcs11(
            cryptoki::error::RvError::CryptokiAlreadyInitialized,
            _,
        )) => {}
        Err(e) => return Err(hsm(e)),
    }
    modules.insert(path.to_owned(), pkcs11.clone());
    Ok(pkcs11)
}

/// A session logged in to the token with the URI's label.
fn session(uri: &Uri) -> Result<(Pkcs11, Session), KeyError> {
    let pkcs11 = module(&uri.module)?;
    let slot = pkcs11
        .get_slots_with_token()
        .map_err(hsm)?
        .into_iter()
        .find(|s| {
            pkcs11
                .get_token_info(*s)
                .is_ok_and(|t| t.label().trim_end() == uri.token)
        })
        .ok_or_else(|| hsm(format!("no token labelled {:?}", uri.token)))?;
    let session = pkcs11.open_rw_session(slot).map_err(hsm)?;
    // A login holds for every session of the application with that token.
    let pin = AuthPin::new(uri.pin.read()?.into());
    match session.login(UserType::User, Some(&pin)) {
        Ok(())
        | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => {
        }
        Err(e) => return Err(hsm(format!("logging in to {:?}: {e}", uri.token))),
    }
    Ok((pkcs11, session))
}

/// The public key (X ‖ Y) of a CKA_EC_POINT: an OCTET STRING holding 0x04 ‖ X ‖ Y.
fn ec_point(der: &[u8]) -> Option<Vec<u8>> {
    let point = match der {
        [0x04, 0x41, rest @ ..] if rest.len() == 65 => rest,
        raw if raw.len() == 65 => raw,
        _ => return None,
    };
    (point[0] == 0x04).then(|| point[1..].to_vec())
}

/// A key held in a token.
pub struct Pkcs11Key {
    // Kept for as long as the session lives.
    _module: Pkcs11,
    session: Mutex<Session>,
    key: ObjectHandle,
    public: Vec<u8>,
}

impl Pkcs11Key {
    /// Makes a new P-256 key pair in the token, labelled `uri.object`: the private key
    /// sensitive and not extractable.
    pub fn generate(uri: &Uri) -> Result<Pkcs11Key, KeyError> {
        let (module, session) = session(uri)?;
        let label = Attribute::Label(uri.object.clone().into_bytes());
        let public_template = [
            Attribute::Token(true),
            Attribute::Verify(true),
            Attribute::EcParams(P256.to_vec()),
            label.clone(),
        ];
        let private_template = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            label,
        ];
        let (public, private) = session
            .generate_key_pair(
                &Mechanism::EccKeyPairGen,
                &public_template,
                &private_template,
            )
            .map_err(hsm)?;
        Pkcs11Key::from_pair(module, session, private, public)
    }

    /// The key of a pair of handles in a logged-in session.
    fn from_pair(
        module: Pkcs11,
        session: Session,
        private: ObjectHandle,
        public: ObjectHandle,
    ) -> Result<Pkcs11Key, KeyError> {
        let point = public_point(&session, public)?;
        Ok(Pkcs11Key {
            _module: module,
            session: Mutex::new(session),
            key: private,
            public: point,
        })
    }

    /// Opens the key pair labelled `uri.object` in the token.
    pub fn open(uri: &Uri) -> Result<Pkcs11Key, KeyError> {
        let (module, session) = session(uri)?;
        let find = |class| {
            session
                .find_objects(&[
                    Attribute::Class(class),
                    Attribute::KeyType(KeyType::EC),
                    Attribute::Label(uri.object.clone().into_bytes()),
                ])
                .map_err(hsm)?
                .into_iter()
                .next()
                .ok_or_else(|| {
                    hsm(format!(
                        "no EC key labelled {:?} in {:?}",
                        uri.object, uri.token
                    ))
                })
        };
        let (private, public) = (
            find(ObjectClass::PRIVATE_KEY)?,
            find(ObjectClass::PUBLIC_KEY)?,
        );
        Pkcs11Key::from_pair(module, session, private, public)
    }
}

fn public_point(session: &Session, public: ObjectHandle) -> Result<Vec<u8>, KeyError> {
    let attributes = session
        .get_attributes(public, &[AttributeType::EcPoint, AttributeType::EcParams])
        .map_err(hsm)?;
    let mut point = None;
    for attribute in attributes {
        match attribute {
            Attribute::EcParams(params) if params != P256 => {
                return Err(KeyError::Rejected(
                    "ECDSAP256SHA256 (the token's key is on another curve)",
                ));
            }
            Attribute::EcPoint(der) => point = ec_point(&der),
            _ => {}
        }
    }
    point.ok_or(KeyError::Rejected("ECDSAP256SHA256"))
}

impl Signer for Pkcs11Key {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EcdsaP256Sha256
    }

    fn public_key(&self) -> &[u8] {
        &self.public
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let digest = ring::digest::digest(&ring::digest::SHA256, message);
        let session = self.session.lock().unwrap_or_else(|e| e.into_inner());
        session
            .sign(&Mechanism::Ecdsa, self.key, digest.as_ref())
            .map_err(hsm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_read_and_write_back() {
        let dir = tempfile::tempdir().unwrap();
        let pin = dir.path().join("pin");
        std::fs::write(&pin, "1234\n").unwrap();
        let text = format!(
            "pkcs11:token=dnssec%20keys;object=tld-ksk?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source={}",
            pin.display()
        );
        let uri = Uri::parse(&text).unwrap();
        assert_eq!(uri.token, "dnssec keys");
        assert_eq!(uri.pin.read().unwrap(), "1234");
        assert_eq!(Uri::parse(&uri.to_text(&pin)).unwrap(), uri);
        for bad in [
            "file:x",
            "pkcs11:token=a;object=b?module-path=m",
            "pkcs11:object=b?module-path=m&pin-value=1",
            "pkcs11:token=%zz;object=b?module-path=m&pin-value=1",
        ] {
            assert!(Uri::parse(bad).is_err(), "{bad}");
        }
    }
}
