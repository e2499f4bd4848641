//! The grammar (RFC 7644 §3.4.2.2 ABNF and §3.5.2 PATH), as nom parsers.
//!
//! Precedence is not > and > or (RFC 7644 §3.4.2.2); `and`/`or` chains are parsed in a loop so
//! only parentheses, `not` and brackets nest, and those are capped at `MAX_DEPTH`. Keywords,
//! operators and literals are case-insensitive (ABNF string literals are), and runs of white
//! space are accepted wherever the ABNF has one SP.

use crate::ast::{AttrPath, CompareOp, Filter, PatchPath};
use nom::branch::alt;
use nom::bytes::complete::{tag, tag_no_case, take_while, take_while1};
use nom::character::complete::{char, multispace0, multispace1, satisfy};
use nom::combinator::{opt, peek, recognize};
use nom::{Err as NomErr, IResult, Parser};
use std::fmt;

mod literals;
use literals::comp_value;

/// Longest filter or path accepted, in bytes.
pub const MAX_INPUT_LEN: usize = 16 * 1024;
/// Deepest nesting of parentheses, `not` and brackets accepted.
pub const MAX_DEPTH: usize = 32;
/// `ParseError::expected` where a comparison's value should stand but none does (a server may
/// read a bare word there as a string, as some legacy clients mean it).
pub const EXPECTED_VALUE: &str = "a value (string, number, true, false or null)";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Syntax,
    TooLong,
    TooDeep,
}

/// Where parsing stopped (byte offset into the input) and what it expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub kind: ErrorKind,
    pub offset: usize,
    pub expected: &'static str,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ErrorKind::TooLong => write!(f, "longer than {MAX_INPUT_LEN} bytes"),
            ErrorKind::TooDeep => write!(f, "nested deeper than {MAX_DEPTH} levels at byte {}", self.offset),
            ErrorKind::Syntax => write!(f, "expected {} at byte {}", self.expected, self.offset),
        }
    }
}

impl std::error::Error for ParseError {}

#[derive(Debug)]
struct PErr<'a> {
    rest: &'a str,
    expected: &'static str,
    too_deep: bool,
}

impl<'a> nom::error::ParseError<&'a str> for PErr<'a> {
    fn from_error_kind(rest: &'a str, _: nom::error::ErrorKind) -> Self {
        PErr { rest, expected: "a filter expression", too_deep: false }
    }
    fn append(_: &'a str, _: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
    /// Of two failed alternatives, report the one that got further.
    fn or(self, other: Self) -> Self {
        if other.rest.len() < self.rest.len() {
            other
        } else {
            self
        }
    }
}

type Res<'a, T> = IResult<&'a str, T, PErr<'a>>;

fn error<'a, T>(rest: &'a str, expected: &'static str) -> Res<'a, T> {
    Err(NomErr::Error(PErr { rest, expected, too_deep: false }))
}

fn failure<'a, T>(rest: &'a str, expected: &'static str) -> Res<'a, T> {
    Err(NomErr::Failure(PErr { rest, expected, too_deep: false }))
}

fn too_deep<T>(rest: &str) -> Res<'_, T> {
    Err(NomErr::Failure(PErr { rest, expected: "less nesting", too_deep: true }))
}

/// Replaces what a failed parser said it expected.
fn expecting<'a, T>(r: Res<'a, T>, expected: &'static str) -> Res<'a, T> {
    r.map_err(|e| {
        e.map(|mut p| {
            if !p.too_deep {
                p.expected = expected;
            }
            p
        })
    })
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// ATTRNAME = ALPHA *(nameChar), plus RFC 7643's `$ref`.
fn attr_name(i: &str) -> Res<'_, &str> {
    expecting(
        alt((tag("$ref"), recognize((satisfy(|c| c.is_ascii_alphabetic()), take_while(is_name_char))))).parse(i),
        "an attribute name",
    )
}

fn name_and_sub(i: &str) -> Res<'_, (String, Option<String>)> {
    let (i, name) = attr_name(i)?;
    let (i, sub) = opt((char('.'), attr_name)).parse(i)?;
    Ok((i, (name.to_string(), sub.map(|(_, s)| s.to_string()))))
}

/// attrPath = [URI ":"] ATTRNAME *1subAttr. A URN prefix runs to the last ':' of the token.
fn attr_path(i: &str) -> Res<'_, AttrPath> {
    if i.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) {
        let (rest, run) = take_while1(|c: char| is_name_char(c) || matches!(c, ':' | '.' | '$')).parse(i)?;
        let colon = run.rfind(':').expect("starts with urn:");
        let tail = &run[colon + 1..];
        let (left, (name, sub)) =
            name_and_sub(tail).map_err(|e| e.map(|p| PErr { rest: &i[i.len() - rest.len() - tail.len()..], ..p }))?;
        if !left.is_empty() {
            return error(&i[run.len() - left.len()..], "the end of the attribute path");
        }
        return Ok((rest, AttrPath { urn: Some(run[..colon].to_string()), name, sub }));
    }
    let (rest, (name, sub)) = name_and_sub(i)?;
    Ok((rest, AttrPath { urn: None, name, sub }))
}

/// A keyword standing alone: not the first letters of a longer name.
fn word<'a>(i: &'a str, kw: &'static str) -> Res<'a, ()> {
    let (rest, _) = tag_no_case(kw).parse(i)?;
    if rest.chars().next().is_some_and(is_name_char) {
        return error(i, kw);
    }
    Ok((rest, ()))
}

fn compare_op(i: &str) -> Res<'_, CompareOp> {
    for op in CompareOp::ALL {
        if let Ok((rest, ())) = word(i, op.as_str()) {
            return Ok((rest, op));
        }
    }
    error(i, "an operator (eq ne co sw ew gt lt ge le pr)")
}

/// After an attribute path: ` pr` or ` op value`.
fn comparison(path: AttrPath, i: &str) -> Res<'_, Filter> {
    let (i, _) = expecting(multispace1(i), "' ' and an operator")?;
    if let Ok((rest, ())) = word(i, "pr") {
        return Ok((rest, Filter::Present(path)));
    }
    let (i, op) = compare_op(i)?;
    let (i, _) = expecting(multispace1(i), "' ' and a value")?;
    let (i, value) = comp_value(i)?;
    Ok((i, Filter::Compare(path, op, value)))
}

/// ` and ` / ` or ` between operands.
fn joiner<'a>(i: &'a str, kw: &'static str) -> Res<'a, ()> {
    let (i, _) = multispace1(i)?;
    let (i, ()) = word(i, kw)?;
    let (i, _) = alt((multispace1, peek(tag("(")))).parse(i)?;
    Ok((i, ()))
}

fn or_expr(i: &str, depth: usize, in_brackets: bool) -> Res<'_, Filter> {
    chain(i, depth, in_brackets, "or", and_expr, Filter::Or)
}

fn and_expr(i: &str, depth: usize, in_brackets: bool) -> Res<'_, Filter> {
    chain(i, depth, in_brackets, "and", unary, Filter::And)
}

type Operand = for<'a> fn(&'a str, usize, bool) -> Res<'a, Filter>;

fn chain<'a>(
    i: &'a str,
    depth: usize,
    in_brackets: bool,
    kw: &'static str,
    operand: Operand,
    join: fn(Vec<Filter>) -> Filter,
) -> Res<'a, Filter> {
    let (mut i, first) = operand(i, depth, in_brackets)?;
    let mut items = vec![first];
    while let Ok((rest, ())) = joiner(i, kw) {
        let (rest, next) = operand(rest, depth, in_brackets)?;
        items.push(next);
        i = rest;
    }
    Ok((i, if items.len() == 1 { items.pop().expect("one item") } else { join(items) }))
}

/// `"(" FILTER ")"` at `i`, which starts with '('.
fn group(i: &str, depth: usize, in_brackets: bool) -> Res<'_, Filter> {
    if depth >= MAX_DEPTH {
        return too_deep(i);
    }
    let (i, _) = char('(').parse(i)?;
    let (i, _) = multispace0(i)?;
    let (i, inner) = or_expr(i, depth + 1, in_brackets)?;
    let (i, _) = multispace0(i)?;
    let (i, _) = expecting(char(')').parse(i), "')'").map_err(to_failure)?;
    Ok((i, inner))
}

fn to_failure(e: NomErr<PErr<'_>>) -> NomErr<PErr<'_>> {
    match e {
        NomErr::Error(p) => NomErr::Failure(p),
        other => other,
    }
}

fn unary(i: &str, depth: usize, in_brackets: bool) -> Res<'_, Filter> {
    if let Ok((rest, ())) = word(i, "not") {
        let (rest, _) = multispace0(rest)?;
        if rest.starts_with('(') {
            let (rest, inner) = group(rest, depth, in_brackets)?;
            return Ok((rest, Filter::Not(Box::new(inner))));
        }
    }
    if i.starts_with('(') {
        return group(i, depth, in_brackets);
    }
    let (i, path) = attr_path(i)?;
    if !i.starts_with('[') {
        return comparison(path, i);
    }
    if in_brackets {
        return failure(i, "a comparison (value paths do not nest)");
    }
    let (i, inner) = brackets(path.sub.is_none(), i, depth)?;
    // Entra ID sends `emails[type eq "work"].value eq "x"`: read it as
    // `emails[type eq "work" and value eq "x"]`.
    if let Some(rest) = i.strip_prefix('.') {
        let (rest, sub) = attr_name(rest)?;
        let (rest, tail) = comparison(AttrPath::new(sub), rest)?;
        let mut items = match inner {
            Filter::And(items) => items,
            other => vec![other],
        };
        items.push(tail);
        return Ok((rest, Filter::ValuePath(path, Box::new(Filter::And(items)))));
    }
    Ok((i, Filter::ValuePath(path, Box::new(inner))))
}

/// `"[" valFilter "]"` at `i`, which starts with '['.
fn brackets(path_ok: bool, i: &str, depth: usize) -> Res<'_, Filter> {
    if !path_ok {
        return failure(i, "an attribute name before '[' (not a sub-attribute)");
    }
    if depth >= MAX_DEPTH {
        return too_deep(i);
    }
    let (i, _) = char('[').parse(i)?;
    let (i, _) = multispace0(i)?;
    let (i, inner) = or_expr(i, depth + 1, true).map_err(to_failure)?;
    let (i, _) = multispace0(i)?;
    let (i, _) = expecting(char(']').parse(i), "']'").map_err(to_failure)?;
    Ok((i, inner))
}

fn finish<T>(input: &str, r: Res<'_, T>) -> Result<T, ParseError> {
    match r {
        Ok((rest, value)) => {
            let rest = rest.trim_start();
            if rest.is_empty() {
                Ok(value)
            } else {
                Err(ParseError {
                    kind: ErrorKind::Syntax,
                    offset: input.len() - rest.len(),
                    expected: "'and', 'or' or the end",
                })
            }
        }
        Err(NomErr::Error(p) | NomErr::Failure(p)) => Err(ParseError {
            kind: if p.too_deep { ErrorKind::TooDeep } else { ErrorKind::Syntax },
            offset: input.len() - p.rest.len(),
            expected: p.expected,
        }),
        Err(NomErr::Incomplete(_)) => {
            Err(ParseError { kind: ErrorKind::Syntax, offset: input.len(), expected: "more input" })
        }
    }
}

fn check_length(input: &str) -> Result<(), ParseError> {
    if input.len() > MAX_INPUT_LEN {
        return Err(ParseError { kind: ErrorKind::TooLong, offset: MAX_INPUT_LEN, expected: "a shorter input" });
    }
    Ok(())
}

/// Parses a `filter` query parameter (RFC 7644 §3.4.2.2).
pub fn parse_filter(input: &str) -> Result<Filter, ParseError> {
    check_length(input)?;
    let start = input.trim_start();
    let r = or_expr(start, 0, false);
    finish(input, r)
}

/// Parses a PATCH operation's `path` (RFC 7644 §3.5.2).
pub fn parse_path(input: &str) -> Result<PatchPath, ParseError> {
    check_length(input)?;
    let start = input.trim_start();
    let r = (|| {
        let (i, attr) = attr_path(start)?;
        if !i.starts_with('[') {
            return Ok((i, PatchPath::Attr(attr)));
        }
        let (i, filter) = brackets(attr.sub.is_none(), i, 0)?;
        let (i, sub) = match i.strip_prefix('.') {
            Some(rest) => {
                let (rest, sub) = attr_name(rest).map_err(to_failure)?;
                (rest, Some(sub.to_string()))
            }
            None => (i, None),
        };
        Ok((i, PatchPath::ValuePath { attr, filter, sub }))
    })();
    finish(input, r)
}
