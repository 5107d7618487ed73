//! Signatures over changesets (Ed25519): the bytes they cover and how they are checked. The
//! control plane signs every changeset it journals; a satellite applies none whose signature
//! does not check against a key it trusts.
//!
//! # What is signed
//!
//! ```text
//! "constellation changeset v2" · 0x00 · zone length u8 · zone (ASCII, no final dot)
//!     · from serial u32 · to serial u32 · changeset length u32 (big-endian) · changeset bytes
//!     · registry record bytes
//! ```
//!
//! The registry record is the control plane's own account of the rows the change wrote,
//! sealed to its offline recovery key (`control_plane::recovery`): satellites keep it with the
//! changeset and cannot read it; it is signed so that a recovery replays nothing forged.
//!
//! A snapshot's signature covers its header, and through the SHA-256 every byte of it:
//!
//! ```text
//! "constellation snapshot v1" · 0x00 · zone length u8 · zone · serial u32 · image length u64
//!     · WHOIS length u64 · SHA-256 of image ‖ WHOIS
//! ```
//!
//! The zone and serials are inside the signature, so a valid changeset cannot be replayed for
//! another zone or at another position in the journal. A key is named by its id: the first 8
//! octets of the SHA-256 of its 32-octet public key, in hex.

use ring::signature::{ED25519, UnparsedPublicKey};

use crate::message::SignedChangeset;

const CONTEXT: &[u8] = b"constellation changeset v2\0";
const SNAPSHOT_CONTEXT: &[u8] = b"constellation snapshot v1\0";

/// The id of a public key.
pub fn key_id(public_key: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, public_key);
    digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The bytes a changeset's signature covers.
pub fn signed_message(zone: &str, from: u32, to: u32, changeset: &[u8], record: &[u8]) -> Vec<u8> {
    let zone = &zone.as_bytes()[..zone.len().min(255)];
    let mut message =
        Vec::with_capacity(CONTEXT.len() + zone.len() + 13 + changeset.len() + record.len());
    message.extend_from_slice(CONTEXT);
    message.push(zone.len() as u8);
    message.extend_from_slice(zone);
    message.extend_from_slice(&from.to_be_bytes());
    message.extend_from_slice(&to.to_be_bytes());
    message.extend_from_slice(&(changeset.len() as u32).to_be_bytes());
    message.extend_from_slice(changeset);
    message.extend_from_slice(record);
    message
}

/// The bytes a snapshot's signature covers.
pub fn signed_snapshot(
    zone: &str,
    serial: u32,
    image_len: u64,
    whois_len: u64,
    digest: &[u8; 32],
) -> Vec<u8> {
    let zone = &zone.as_bytes()[..zone.len().min(255)];
    let mut message = Vec::with_capacity(SNAPSHOT_CONTEXT.len() + zone.len() + 53);
    message.extend_from_slice(SNAPSHOT_CONTEXT);
    message.push(zone.len() as u8);
    message.extend_from_slice(zone);
    message.extend_from_slice(&serial.to_be_bytes());
    message.extend_from_slice(&image_len.to_be_bytes());
    message.extend_from_slice(&whois_len.to_be_bytes());
    message.extend_from_slice(digest);
    message
}

/// True if `signature` is `public_key`'s signature over `message`.
pub fn verify(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    UnparsedPublicKey::new(&ED25519, public_key)
        .verify(message, signature)
        .is_ok()
}

/// True if the changeset's signature is `public_key`'s over its zone, serials, bytes and
/// record.
pub fn verify_changeset(public_key: &[u8], c: &SignedChangeset) -> bool {
    verify(
        public_key,
        &signed_message(&c.zone, c.from, c.to, &c.bytes, &c.record),
        &c.signature,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_are_16_hex_digits() {
        let id = key_id(&[7u8; 32]);
        assert_eq!(id.len(), 16);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn the_message_binds_zone_and_serials() {
        assert_ne!(
            signed_message("a", 1, 2, b"x", b""),
            signed_message("b", 1, 2, b"x", b"")
        );
        assert_ne!(
            signed_message("a", 1, 2, b"x", b""),
            signed_message("a", 2, 3, b"x", b"")
        );
        assert!(signed_message("tld", 1, 2, b"x", b"").starts_with(CONTEXT));
        // Where the changeset ends and the record starts is part of what is signed.
        assert_ne!(
            signed_message("a", 1, 2, b"xy", b""),
            signed_message("a", 1, 2, b"x", b"y")
        );
    }
}
