//! Routing of arbitrary methods and paths never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let (method, path) = text.split_once(' ').unwrap_or(("GET", text));
        let _ = credentials_core::http::resolve(method, path);
        let _ = credentials_core::http::routes::allowed_methods(path);
    }
});
