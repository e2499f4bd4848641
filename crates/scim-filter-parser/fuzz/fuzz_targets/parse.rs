//! Any bytes: the filter and path parsers return, never panic or overflow the stack, and
//! whatever parses survives display and re-parse unchanged (when the canonical text, whose
//! escapes can be longer than the input, still fits the length limit).
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_filter_parser::{parse_filter, parse_path, MAX_INPUT_LEN};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(f) = parse_filter(text) {
        let shown = f.to_string();
        if shown.len() <= MAX_INPUT_LEN {
            assert_eq!(parse_filter(&shown), Ok(f));
        }
    }
    if let Ok(p) = parse_path(text) {
        let shown = p.to_string();
        if shown.len() <= MAX_INPUT_LEN {
            assert_eq!(parse_path(&shown), Ok(p));
        }
    }
});
