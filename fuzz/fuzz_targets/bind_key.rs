//! BIND's key files as `zonefiles sign` reads them (`zonefiles::sign::keys::from_bind`), on
//! arbitrary text: the bytes before the first NUL are the `.key` file, the rest the `.private`
//! one. No panic; a key that reads signs, with the public key its DNSKEY carries.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zonefiles::sign::keys::from_bind;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (public, private) = text.split_once('\0').unwrap_or((&text, ""));
    if let Ok(key) = from_bind(public, private) {
        assert!(key.signer.sign(b"fuzz").is_ok());
        assert_eq!(&key.dnskey_rdata()[4..], key.signer.public_key());
    }
});
