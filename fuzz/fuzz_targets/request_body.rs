//! A create body, as bytes from the wire: parsing and validation never panic, and every
//! refusal is a 400.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match credentials_core::validate::parse_json(data) {
        Ok(body) => {
            if let Err(err) = credentials_core::validate::new_credential(body) {
                assert_eq!(err.status(), 400);
            }
        }
        Err(err) => assert_eq!(err.status(), 400),
    }
});
