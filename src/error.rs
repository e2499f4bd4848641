//! The one error type of scimd: every layer returns it, and `http::error` renders it.
//!
//! Client mistakes carry the RFC 7644 §3.12 `scimType` they deserve; `Internal` keeps its cause
//! for the log and never shows it to the client.

use std::fmt;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// RFC 7644 §3.12, Table 9.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
}

impl ScimType {
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// A malformed or unacceptable request (400) with its `scimType`.
    #[error("{detail}")]
    BadRequest { scim_type: ScimType, detail: String },
    /// A uniqueness constraint would be violated (409 uniqueness).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    /// The method is not allowed here; carries the `Allow` list.
    #[error("the method is not allowed on this resource (allowed: {0})")]
    MethodNotAllowed(&'static str),
    /// A SCIM feature this service provider does not offer (501, RFC 7644 §3.12), as its
    /// ServiceProviderConfig says.
    #[error("{0}")]
    NotSupported(&'static str),
    #[error("the request body is larger than the limit of {0} bytes")]
    PayloadTooLarge(usize),
    /// Too many failed authentications from this address; retry after this many seconds.
    #[error("too many failed authentications; retry after {0} seconds")]
    TooManyRequests(u64),
    /// If-Match named another version (RFC 7644 §3.14).
    #[error("the resource has changed: If-Match does not name its current version")]
    PreconditionFailed,
    /// Lost an optimistic-concurrency race inside a transaction; the service retries it and
    /// it reaches a client only if retries run out.
    #[error("the resource was changed concurrently; retry the request")]
    WriteConflict,
    /// The database could not be reached (no connection within the wait, or the connection
    /// closed under the request), or took no writes (PostgreSQL read-only). The cause is
    /// logged, never sent.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The database's disk (or SQLite's file size limit) left no room for the write. Nothing
    /// was written; the write can succeed once an operator frees space. The cause is logged.
    #[error("the database has no room to write: {0}")]
    StorageFull(String),
    /// As many credential checks (argon2) as may run or wait at once already do: each holds
    /// 19 MiB and a core for about 25 ms, and a flood of made-up credentials would otherwise
    /// start one per request. Worth a retry.
    #[error("too many credentials are being checked at once; retry later")]
    Busy,
    /// Anything that is not the client's fault. The cause is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
    /// What an operator must put right before scimd can start or a command can run: a
    /// database it cannot open, an address it cannot listen on. Said as it is on the command
    /// line, where "internal error" read as a bug in scimd; to a client, it is an `Internal`.
    #[error("{0}")]
    Setup(String),
}

impl Error {
    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Error::BadRequest { scim_type, detail: detail.into() }
    }
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidValue, detail)
    }
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidSyntax, detail)
    }
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidFilter, detail)
    }
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidPath, detail)
    }
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::Mutability, detail)
    }
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::NoTarget, detail)
    }
    pub fn internal(cause: impl fmt::Display) -> Self {
        Error::Internal(cause.to_string())
    }
}

/// A client's text as scimd's messages quote it: in double quotes and as written, in any
/// script, with only what a reader could not see or that would break the line escaped, as
/// JSON escapes it (`\"`, `\n`, `\u200b`). Rust's `{:?}` escaped combining marks as well, so
/// a Hindi userName's 409 read `"ग\u{941}प\u{94d}ता"` and a decomposed é `"e\u{301}"`.
pub struct Quoted<'a>(pub &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        f.write_char('"')?;
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c if unseen(c) => {
                    for unit in c.encode_utf16(&mut [0; 2]) {
                        write!(f, "\\u{unit:04x}")?;
                    }
                }
                c => f.write_char(c)?,
            }
        }
        f.write_char('"')
    }
}

/// Controls, spaces other than U+0020, and the format characters that show nothing or turn
/// the text's direction (a bidi override in a message would reorder what an admin reads).
/// The joiners U+200C and U+200D stay: Indic scripts and emoji need them.
fn unseen(c: char) -> bool {
    c.is_control()
        || (c.is_whitespace() && c != ' ')
        || matches!(
            c,
            '\u{ad}'
                | '\u{61c}'
                | '\u{180e}'
                | '\u{200b}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{e0001}'
                | '\u{e0020}'..='\u{e007f}'
        )
}

#[cfg(test)]
mod tests {
    use super::Quoted;

    #[test]
    fn quoted_text_keeps_every_script_and_escapes_what_cannot_be_seen() {
        let cases = [
            ("गुप्ता", "\"गुप्ता\""),
            ("Jose\u{301}", "\"Jose\u{301}\""),
            ("\u{301}abc", "\"\u{301}abc\""),
            ("山田 太郎", "\"山田 太郎\""),
            ("ക്\u{200d}", "\"ക്\u{200d}\""),
            ("👩\u{200d}💻", "\"👩\u{200d}💻\""),
            ("say \"hi\" \\ bye", "\"say \\\"hi\\\" \\\\ bye\""),
            ("two\nlines\r\tend", "\"two\\nlines\\r\\tend\""),
            ("nul\u{0}bel\u{7}del\u{7f}c1\u{85}", "\"nul\\u0000bel\\u0007del\\u007fc1\\u0085\""),
            ("no\u{a0}break\u{3000}wide", "\"no\\u00a0break\\u3000wide\""),
            ("zero\u{200b}width\u{feff}", "\"zero\\u200bwidth\\ufeff\""),
            ("abc\u{202e}fed", "\"abc\\u202efed\""),
            ("tag\u{e0041}", "\"tag\\udb40\\udc41\""),
            ("", "\"\""),
        ];
        for (text, want) in cases {
            assert_eq!(Quoted(text).to_string(), want, "{text:?}");
        }
    }
}
