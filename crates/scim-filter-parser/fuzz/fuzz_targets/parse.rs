//! Any bytes: the filter and path parsers return, never panic or overflow the stack, and
//! whatever parses survives display and re-parse unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_filter_parser::{parse_filter, parse_path};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(f) = parse_filter(text) {
        assert_eq!(parse_filter(&f.to_string()), Ok(f));
    }
    if let Ok(p) = parse_path(text) {
        assert_eq!(parse_path(&p.to_string()), Ok(p));
    }
});
