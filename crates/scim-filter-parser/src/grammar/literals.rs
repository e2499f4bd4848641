//! The literals a comparison compares with (RFC 7644 §3.4.2.2 `compValue`): JSON strings with
//! their escapes and numbers as RFC 8259 writes them, and the keywords.

use super::{error, failure, is_name_char, word, Res};
use crate::ast::CompValue;

/// RFC 8259 §6: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn json_number(i: &str) -> Res<'_, &str> {
    let b = i.as_bytes();
    let digits = |from: usize| b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut n = usize::from(b.first() == Some(&b'-'));
    match b.get(n) {
        Some(b'0') => n += 1,
        Some(b'1'..=b'9') => n += digits(n),
        _ => return error(i, "a number"),
    }
    if b.get(n) == Some(&b'.') && digits(n + 1) > 0 {
        n += 1 + digits(n + 1);
    }
    if matches!(b.get(n), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(b.get(n + 1), Some(b'+' | b'-')));
        if digits(n + 1 + sign) > 0 {
            n += 1 + sign + digits(n + 1 + sign);
        }
    }
    Ok((&i[n..], &i[..n]))
}

fn hex4(s: &str) -> Option<u32> {
    (s.len() >= 4 && s.is_char_boundary(4) && s[..4].bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u32::from_str_radix(&s[..4], 16).ok())
        .flatten()
}

const NOT_NUL: &str = "a character other than U+0000";

/// A JSON string literal with its escapes (RFC 8259 §7), surrogate pairs included, except
/// U+0000, raw or escaped: no SCIM value can hold it (PostgreSQL's text cannot), so a filter
/// comparing with it is refused here rather than failing in the database.
fn json_string(i: &str) -> Res<'_, String> {
    let Some(body) = i.strip_prefix('"') else {
        return error(i, "a string");
    };
    let mut out = String::new();
    let mut rest = body;
    loop {
        let Some(c) = rest.chars().next() else {
            return failure(rest, "a closing '\"'");
        };
        let at_c = rest;
        rest = &rest[c.len_utf8()..];
        match c {
            '\0' => return failure(at_c, NOT_NUL),
            '"' => return Ok((rest, out)),
            '\\' => {
                let Some(e) = rest.chars().next() else {
                    return failure(rest, "an escape character");
                };
                let at = rest;
                rest = &rest[e.len_utf8()..];
                match e {
                    '"' | '\\' | '/' => out.push(e),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'u' => {
                        let Some(hi) = hex4(rest) else { return failure(rest, "four hex digits") };
                        rest = &rest[4..];
                        let code = if (0xD800..0xDC00).contains(&hi) {
                            let lo = rest.strip_prefix("\\u").and_then(hex4).filter(|lo| (0xDC00..0xE000).contains(lo));
                            let Some(lo) = lo else { return failure(rest, "a low surrogate escape") };
                            rest = &rest[6..];
                            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                        } else {
                            hi
                        };
                        match char::from_u32(code) {
                            Some('\0') => return failure(at, NOT_NUL),
                            Some(ch) => out.push(ch),
                            None => return failure(at, "a valid unicode escape"),
                        }
                    }
                    _ => return failure(at, "a JSON escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)"),
                }
            }
            c => out.push(c),
        }
    }
}

/// A comparison's value: a JSON string, number, `true`, `false` or `null` (RFC 7644 §3.4.2.2
/// `compValue`).
pub(super) fn comp_value(i: &str) -> Res<'_, CompValue> {
    if i.starts_with('"') {
        return json_string(i).map(|(r, s)| (r, CompValue::String(s)));
    }
    if let Ok((r, ())) = word(i, "true") {
        return Ok((r, CompValue::Bool(true)));
    }
    if let Ok((r, ())) = word(i, "false") {
        return Ok((r, CompValue::Bool(false)));
    }
    if let Ok((r, ())) = word(i, "null") {
        return Ok((r, CompValue::Null));
    }
    match json_number(i) {
        Ok((r, n)) if !r.chars().next().is_some_and(is_name_char) => Ok((r, CompValue::Number(n.to_string()))),
        _ => error(i, super::EXPECTED_VALUE),
    }
}
