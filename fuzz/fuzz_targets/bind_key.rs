//! BIND's key files as `zonefiles sign` reads them (`zonefiles::sign::bind::from_bind`), on
//! arbitrary text: the bytes before the first NUL are the `.key` file, the rest the `.private`
//! one. No panic, and nothing opened while reading (a key in a token is only named); a key
//! whose material is in the file and opens signs, with the public key its DNSKEY carries.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zonefiles::sign::bind::{Secret, from_bind};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (public, private) = text.split_once('\0').unwrap_or((&text, ""));
    let Ok(key) = from_bind(public, private) else {
        return;
    };
    if matches!(key.secret, Secret::Material(_)) {
        let published = key.public.clone();
        if let Ok(key) = key.open() {
            assert!(key.signer.sign(b"fuzz").is_ok());
            assert_eq!(key.signer.public_key(), published.as_slice());
        }
    }
});
