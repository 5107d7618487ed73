//! Changeset decoding on arbitrary bytes; what decodes encodes back to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zonefiles::changeset::Changeset;

fuzz_target!(|data: &[u8]| {
    if let Ok(changeset) = Changeset::decode(data) {
        let again = Changeset::decode(&changeset.encode()).expect("encoded changesets decode");
        assert_eq!(again, changeset);
    }
});
