//! DNSSEC keys: the algorithms (ECDSA P-256 with SHA-256, RFC 6605, number 13; Ed25519, RFC
//! 8080, number 15), a [`Signer`] interface with a `ring` backend in memory ([`KeyPair`]), and
//! a zone's keys as DNSKEY records with their timing, key tags and DS records. Their files are
//! [`super::bind`]'s.

use std::fmt;

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};

use crate::name::Name;

/// Why a key could not be made, read or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// An algorithm other than 13 and 15.
    #[error("DNSSEC algorithm {0} is not supported here: use 13 (ECDSAP256SHA256) or 15 (ED25519)")]
    Algorithm(u8),
    /// The key material does not make a key.
    #[error("the key is not a valid {0} key")]
    Rejected(&'static str),
    /// A key file does not read.
    #[error("{path}: {why}")]
    File {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// The signer failed (an HSM that is gone, for one).
    #[error("signing failed: {0}")]
    Signing(String),
}

/// A DNSSEC signing algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// ECDSA on P-256 with SHA-256 (13): the default.
    EcdsaP256Sha256,
    /// Ed25519 (15).
    Ed25519,
}

impl Algorithm {
    /// The algorithm's number (RFC 8624).
    pub fn number(self) -> u8 {
        match self {
            Algorithm::EcdsaP256Sha256 => 13,
            Algorithm::Ed25519 => 15,
        }
    }

    /// The algorithm of a number.
    pub fn from_number(number: u8) -> Result<Algorithm, KeyError> {
        match number {
            13 => Ok(Algorithm::EcdsaP256Sha256),
            15 => Ok(Algorithm::Ed25519),
            other => Err(KeyError::Algorithm(other)),
        }
    }

    /// Its mnemonic (RFC 8624; as BIND writes it).
    pub fn mnemonic(self) -> &'static str {
        match self {
            Algorithm::EcdsaP256Sha256 => "ECDSAP256SHA256",
            Algorithm::Ed25519 => "ED25519",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.number(), self.mnemonic())
    }
}

/// What signs: a key in memory ([`KeyPair`]) or one in an HSM.
pub trait Signer: Send + Sync {
    /// The algorithm.
    fn algorithm(&self) -> Algorithm;
    /// The public key as a DNSKEY carries it (P-256: X ‖ Y, 64 octets; Ed25519: 32 octets).
    fn public_key(&self) -> &[u8];
    /// Signs a message (RFC 6605: r ‖ s; RFC 8080: the 64-octet signature).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError>;
}

enum Inner {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A key held in memory, signing with `ring`.
pub struct KeyPair {
    pub(super) algorithm: Algorithm,
    inner: Inner,
    pub(super) public: Vec<u8>,
    /// The private key as BIND's files hold it (P-256: the scalar; Ed25519: the seed).
    pub(super) private: Vec<u8>,
    rng: SystemRandom,
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyPair({})", self.algorithm)
    }
}

impl KeyPair {
    /// A new random key.
    pub fn generate(algorithm: Algorithm) -> Result<KeyPair, KeyError> {
        let rng = SystemRandom::new();
        let rejected = |_| KeyError::Rejected(algorithm.mnemonic());
        match algorithm {
            Algorithm::EcdsaP256Sha256 => {
                let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
                let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).map_err(rejected)?;
                let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng)
                    .map_err(|_| KeyError::Rejected(algorithm.mnemonic()))?;
                // PrivateKeyInfo { version, algorithm, OCTET STRING { ECPrivateKey { version,
                // OCTET STRING privateKey, … } } } (RFC 5208, RFC 5915).
                let private = der::p256_private_key(pkcs8.as_ref())
                    .ok_or(KeyError::Rejected("ECDSAP256SHA256"))?;
                // ring's public key is 0x04 ‖ X ‖ Y; a DNSKEY holds X ‖ Y.
                let public = pair.public_key().as_ref()[1..].to_vec();
                Ok(KeyPair {
                    algorithm,
                    inner: Inner::Ecdsa(pair),
                    public,
                    private,
                    rng,
                })
            }
            Algorithm::Ed25519 => {
                let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(rejected)?;
                // OneAsymmetricKey { version, algorithm, OCTET STRING { OCTET STRING seed }, … }
                // (RFC 8410).
                let seed =
                    der::ed25519_seed(pkcs8.as_ref()).ok_or(KeyError::Rejected("ED25519"))?;
                let pair = Ed25519KeyPair::from_seed_unchecked(&seed)
                    .map_err(|_| KeyError::Rejected(algorithm.mnemonic()))?;
                let public = pair.public_key().as_ref().to_vec();
                Ok(KeyPair {
                    algorithm,
                    inner: Inner::Ed25519(pair),
                    public,
                    private: seed,
                    rng,
                })
            }
        }
    }

    /// The key of a private key as BIND's files hold it (P-256: the 32-octet scalar; Ed25519:
    /// the 32-octet seed) and its public key as a DNSKEY holds it; refused if they are not
    /// one key's halves.
    pub fn from_parts(
        algorithm: Algorithm,
        private: &[u8],
        public: &[u8],
    ) -> Result<KeyPair, KeyError> {
        let rng = SystemRandom::new();
        let rejected = |_| KeyError::Rejected(algorithm.mnemonic());
        let inner = match algorithm {
            Algorithm::EcdsaP256Sha256 => {
                let point = [&[4u8][..], public].concat();
                Inner::Ecdsa(
                    EcdsaKeyPair::from_private_key_and_public_key(
                        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                        private,
                        &point,
                        &rng,
                    )
                    .map_err(rejected)?,
                )
            }
            Algorithm::Ed25519 => Inner::Ed25519(
                Ed25519KeyPair::from_seed_and_public_key(private, public).map_err(rejected)?,
            ),
        };
        Ok(KeyPair {
            algorithm,
            inner,
            public: public.to_vec(),
            private: private.to_vec(),
            rng,
        })
    }
}

impl Signer for KeyPair {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    fn public_key(&self) -> &[u8] {
        &self.public
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.inner {
            Inner::Ecdsa(pair) => pair
                .sign(&self.rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| KeyError::Signing("ECDSA".into())),
            Inner::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }
}

/// The DNSKEY flags of a zone key (RFC 4034 §2.1.1): 256 for a zone-signing key, 257 with the
/// secure entry point bit for a key-signing (or combined) key.
pub const ZONE_KEY: u16 = 256;
/// [`ZONE_KEY`] with the secure entry point bit.
pub const SECURE_ENTRY_POINT: u16 = 257;

/// When a key is in the zone's DNSKEY set and when it signs: BIND's key timing metadata
/// (`Publish`, `Activate`, `Inactive`, `Delete` in the `.private` file, which
/// `dnssec-settime` sets), in seconds since 1970. A time not set does not limit the key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timing {
    /// From when the DNSKEY is in the zone.
    pub publish: Option<u64>,
    /// From when the key signs.
    pub activate: Option<u64>,
    /// From when it no longer signs (its DNSKEY stays: retired).
    pub inactive: Option<u64>,
    /// From when its DNSKEY is gone.
    pub delete: Option<u64>,
    /// From when the zone asks its parent for this key's DS: CDS and CDNSKEY records (RFC
    /// 7344, RFC 8078; `SyncPublish`, `dnssec-settime -P sync`).
    pub sync_publish: Option<u64>,
    /// From when it no longer does (`SyncDelete`).
    pub sync_delete: Option<u64>,
}

impl Timing {
    /// True if the DNSKEY is in the zone at `now`.
    pub fn published(&self, now: u64) -> bool {
        self.publish.is_none_or(|t| t <= now) && self.delete.is_none_or(|t| now < t)
    }

    /// True if the zone publishes the key's CDS and CDNSKEY at `now` (the key published too).
    pub fn sync(&self, now: u64) -> bool {
        self.published(now)
            && self.sync_publish.is_some_and(|t| t <= now)
            && self.sync_delete.is_none_or(|t| now < t)
    }

    /// True if the key signs at `now` (published, activated and not yet inactive).
    pub fn active(&self, now: u64) -> bool {
        self.published(now)
            && self.activate.is_none_or(|t| t <= now)
            && self.inactive.is_none_or(|t| now < t)
    }
}

/// A zone's key: its flags, its signer and its timing.
pub struct ZoneKey {
    /// DNSKEY flags ([`ZONE_KEY`] or [`SECURE_ENTRY_POINT`]).
    pub flags: u16,
    /// What signs.
    pub signer: Box<dyn Signer>,
    /// When it is published and when it signs.
    pub timing: Timing,
}

impl fmt::Debug for ZoneKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ZoneKey(flags {}, algorithm {}, tag {})",
            self.flags,
            self.signer.algorithm(),
            self.key_tag()
        )
    }
}

impl ZoneKey {
    /// A key published and signing at every time.
    pub fn new(flags: u16, signer: Box<dyn Signer>) -> ZoneKey {
        ZoneKey {
            flags,
            signer,
            timing: Timing::default(),
        }
    }

    /// The DNSKEY rdata: flags, protocol 3, algorithm, public key.
    pub fn dnskey_rdata(&self) -> Vec<u8> {
        dnskey_rdata(
            self.flags,
            self.signer.algorithm(),
            self.signer.public_key(),
        )
    }

    /// The key tag (RFC 4034 Appendix B).
    pub fn key_tag(&self) -> u16 {
        key_tag(&self.dnskey_rdata())
    }

    /// True for a key with the secure entry point bit (a KSK or a CSK).
    pub fn is_sep(&self) -> bool {
        self.flags & 1 == 1
    }

    /// The DS rdata for this key at `owner`, with SHA-256 (digest type 2, RFC 4509).
    pub fn ds_rdata(&self, owner: &Name) -> Vec<u8> {
        ds_rdata(owner, &self.dnskey_rdata())
    }
}

/// The DS rdata of DNSKEY rdata at `owner`, with SHA-256 (digest type 2, RFC 4509).
pub fn ds_rdata(owner: &Name, dnskey: &[u8]) -> Vec<u8> {
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    digest.update(&owner.as_wire().to_ascii_lowercase());
    digest.update(dnskey);
    let mut out = Vec::with_capacity(36);
    out.extend_from_slice(&key_tag(dnskey).to_be_bytes());
    out.push(dnskey.get(3).copied().unwrap_or(0));
    out.push(2);
    out.extend_from_slice(digest.finish().as_ref());
    out
}

/// DNSKEY rdata (RFC 4034 §2.1): flags, protocol 3, algorithm, public key.
pub fn dnskey_rdata(flags: u16, algorithm: Algorithm, public: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + public.len());
    out.extend_from_slice(&flags.to_be_bytes());
    out.push(3);
    out.push(algorithm.number());
    out.extend_from_slice(public);
    out
}

/// The key tag of DNSKEY rdata (RFC 4034 Appendix B).
pub fn key_tag(dnskey: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for (i, byte) in dnskey.iter().enumerate() {
        sum += if i & 1 == 0 {
            u32::from(*byte) << 8
        } else {
            u32::from(*byte)
        };
    }
    sum += (sum >> 16) & 0xffff;
    (sum & 0xffff) as u16
}

/// Just enough DER to take the private key out of ring's own PKCS#8 documents.
mod der {
    const OCTET_STRING: u8 = 0x04;

    /// One element: its tag, its contents, what follows it.
    fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = input.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 2 || rest.len() < n {
                return None;
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |a, b| a << 8 | usize::from(*b));
            (len, &rest[n..])
        };
        (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
    }

    /// The contents of the first element with `tag`, skipping the ones before it.
    fn find(mut input: &[u8], tag: u8) -> Option<&[u8]> {
        while !input.is_empty() {
            let (t, contents, rest) = element(input)?;
            if t == tag {
                return Some(contents);
            }
            input = rest;
        }
        None
    }

    /// The private scalar of a P-256 PKCS#8 document.
    pub fn p256_private_key(pkcs8: &[u8]) -> Option<Vec<u8>> {
        let (_, info, _) = element(pkcs8)?;
        let (_, ec_private_key, _) = element(find(info, OCTET_STRING)?)?;
        let key = find(ec_private_key, OCTET_STRING)?;
        (key.len() == 32).then(|| key.to_vec())
    }

    /// The seed of an Ed25519 PKCS#8 document.
    pub fn ed25519_seed(pkcs8: &[u8]) -> Option<Vec<u8>> {
        let (_, info, _) = element(pkcs8)?;
        let (tag, seed, _) = element(find(info, OCTET_STRING)?)?;
        (tag == OCTET_STRING && seed.len() == 32).then(|| seed.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_tag_and_ds_are_rfc_4034s() {
        // RFC 4034 §5.4's example DNSKEY of dskey.example.com: tag 60485.
        let key = data_encoding::BASE64
            .decode(
                b"AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==",
            )
            .unwrap();
        let mut rdata = vec![1, 0, 3, 5];
        rdata.extend_from_slice(&key);
        assert_eq!(key_tag(&rdata), 60485);
    }
}
