//! RFC 7644 SCIM filters (§3.4.2.2) and PATCH paths (§3.5.2): the grammar, its AST, canonical
//! `Display`, and limits that turn hostile input into an error instead of a crash.
//!
//! No web or database types here: the server validates the AST against its schemas and
//! compiles it to SQL.

mod ast;
mod display;
mod grammar;

pub use ast::{AttrPath, CompValue, CompareOp, Filter, PatchPath};
pub use grammar::{parse_filter, parse_path, ErrorKind, ParseError, EXPECTED_VALUE, MAX_DEPTH, MAX_INPUT_LEN};
