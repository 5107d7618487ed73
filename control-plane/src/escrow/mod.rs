//! Escrow deposits (RFC 8909, with RFC 9022's objects) and a registry restored from them.
//!
//! A registry deposits its data with an escrow agent so that another operator can take over if
//! it fails: a full deposit weekly and a differential one daily per zone, each read from one
//! consistent snapshot of the database while registrars keep writing.
//!
//! - [`objects`]: the registry's domains, host objects and registrars in RFC 9022's XML, both
//!   ways (sans-IO).
//! - [`ryde`]: the files escrow agents receive — tarball, compressed and encrypted to the
//!   agent's OpenPGP key, split into parts, each part signed by the registry's key — and back.
//! - [`deposit`]: one deposit of one zone, crash-safe (a folder renamed into place once whole),
//!   with the deposit report; the digests in `escrow.sqlite` make the differential ones.
//! - [`restore`]: checks a full deposit and its differentials end to end, then applies them in
//!   one transaction of a new registry, through the same publication as registrar commands.
//!
//! `control-plane escrow` runs them; docs/escrow.md describes the files, the schedule and the
//! restore for an operator.

pub mod deposit;
pub mod objects;
pub mod restore;
pub mod ryde;
