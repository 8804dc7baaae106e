//! Cursor decoding of arbitrary text never panics and accepts nothing it did not mint.
#![no_main]

use libfuzzer_sys::fuzz_target;
use credentials_core::cursor::{decode, ListFilter};
use credentials_core::model::Status;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let filter = ListFilter { status: Status::Active, kind: None };
        assert!(decode("fuzz-workspace", filter, text).is_none());
    }
});
