//! Constellation's shared core: names and records, master files, zone checks, the compiled
//! zone image, changesets, the journal and the WHOIS record model.
//!
//! (The design overview is filled in below as the modules land.)

pub mod check;
pub mod master;
pub mod name;
pub mod rdata;
pub mod record;
pub mod rtype;
pub mod zone;

pub use check::{Finding, Rule, Severity, check};
pub use master::{ParseError, ParseOptions, Reader};
pub use name::Name;
pub use record::Record;
pub use rtype::{Class, RecordType};
pub use zone::Zone;
