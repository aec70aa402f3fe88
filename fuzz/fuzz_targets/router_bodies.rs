//! Request bodies of every endpoint through the mock's router: the first byte picks the
//! endpoint, the rest is the body.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::router_body(data));
