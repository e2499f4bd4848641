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
