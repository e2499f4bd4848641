//! The compatibility layer: every deviation from RFC 7643/7644 that scimd accepts, the client
//! that needs it, and what strict mode (a per-tenant setting) answers instead. The core
//! validates strictly; it asks `Compat::allow` before bending a rule, and each request keeps
//! the list of rules that fired.

use crate::error::{Error, ScimType};
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// `"op": "Replace"`, `"Operations"` spelled `operations`: Entra ID.
    PatchNameCase,
    /// `"active": "False"`, `"primary": "true"`, numbers as strings: Entra ID (default mode),
    /// Keycloak plug-ins.
    StringScalars,
    /// `{"op":"Remove","path":"members","value":[{"value":id}]}` removes those values: Entra ID.
    RemoveWithValue,
    /// add/replace at `emails[type eq "work"].value` with no such element creates it: Entra ID.
    FilterCreatesElement,
    /// `"manager": "id"` for `{"value": "id"}` (and `""` to clear): Entra ID.
    BareComplexValue,
    /// `"Operations": []` succeeds and changes nothing: Entra ID's validator.
    EmptyOperations,
    /// `id`, `meta`, `schemas` inside a path-less PATCH value are ignored: Okta group rename.
    PathlessReadOnlyEcho,
    /// `urn:scim:schemas:core:1.0`, `urn:scim:schemas:extension:enterprise:1.0` and other
    /// legacy or foreign schema URNs: OneLogin templates, Entra's ADSCIM group URN.
    ForeignSchemaUrn,
    /// `"emails": {…}` for `"emails": [{…}]`: OneLogin templates.
    SingleValueForMultiValued,
    /// A PUT without `active` keeps the current value: Okta AIW, OneLogin.
    PutKeepsActive,
    /// A PUT's `password` is an echo (Okta sends a placeholder) and is ignored.
    PutIgnoresPassword,
    /// Attributes no schema defines are dropped: IdP templates carry custom attributes.
    UnknownAttribute,
    /// A resource or PatchOp body without `schemas`: OneLogin templates, hand-written scripts.
    MissingSchemas,
    /// `externalId eq jyoung`: a bare word where a filter's value belongs is read as a string
    /// (legacy and hand-written clients).
    UnquotedFilterValue,
    /// `count=-1` asks for the largest page the server serves: PingFederate's "Results per
    /// page" of -1 ("server max"). RFC 7644 §3.4.2.4 reads a negative count as 0.
    NegativeCountAsMaximum,
}

impl Rule {
    pub fn name(self) -> &'static str {
        match self {
            Rule::PatchNameCase => "patch-name-case",
            Rule::StringScalars => "string-scalars",
            Rule::RemoveWithValue => "remove-with-value",
            Rule::FilterCreatesElement => "filter-creates-element",
            Rule::BareComplexValue => "bare-complex-value",
            Rule::EmptyOperations => "empty-operations",
            Rule::PathlessReadOnlyEcho => "pathless-read-only-echo",
            Rule::ForeignSchemaUrn => "foreign-schema-urn",
            Rule::SingleValueForMultiValued => "single-value-for-multi-valued",
            Rule::PutKeepsActive => "put-keeps-active",
            Rule::PutIgnoresPassword => "put-ignores-password",
            Rule::UnknownAttribute => "unknown-attribute",
            Rule::MissingSchemas => "missing-schemas",
            Rule::UnquotedFilterValue => "unquoted-filter-value",
            Rule::NegativeCountAsMaximum => "negative-count-as-maximum",
        }
    }

    /// What strict mode answers (RFC 7644 §3.12).
    fn strict_type(self) -> ScimType {
        match self {
            Rule::StringScalars | Rule::SingleValueForMultiValued | Rule::BareComplexValue => ScimType::InvalidValue,
            Rule::FilterCreatesElement => ScimType::NoTarget,
            Rule::PathlessReadOnlyEcho => ScimType::Mutability,
            Rule::UnquotedFilterValue => ScimType::InvalidFilter,
            _ => ScimType::InvalidSyntax,
        }
    }
}

/// One request's view of the layer.
#[derive(Debug, Default)]
pub struct Compat {
    strict: bool,
    /// A `Mutex`, not a `RefCell`: a write's use-case code runs on the store's writer thread
    /// (`store::commit`), not on the thread that made the request.
    fired: Mutex<Vec<Rule>>,
}

impl Compat {
    pub fn new(strict: bool) -> Self {
        Compat { strict, fired: Mutex::new(Vec::new()) }
    }

    pub fn is_strict(&self) -> bool {
        self.strict
    }

    /// Lets the deviation through (and records it), or refuses it in strict mode with `detail`.
    pub fn allow(&self, rule: Rule, detail: impl FnOnce() -> String) -> Result<(), Error> {
        if self.strict {
            return Err(Error::bad_request(rule.strict_type(), format!("{} (strict RFC mode)", detail())));
        }
        self.record(rule);
        Ok(())
    }

    /// For deviations that choose a behaviour rather than accept input: true (recorded) in
    /// compatible mode, false in strict mode.
    pub fn prefer(&self, rule: Rule) -> bool {
        if self.strict {
            return false;
        }
        self.record(rule);
        true
    }

    fn record(&self, rule: Rule) {
        let mut fired = self.fired.lock().unwrap_or_else(|p| p.into_inner());
        if !fired.contains(&rule) {
            fired.push(rule);
        }
    }

    pub fn fired(&self) -> Vec<Rule> {
        self.fired.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compatible_mode_records_and_strict_mode_refuses() {
        let c = Compat::new(false);
        c.allow(Rule::StringScalars, || "x".into()).unwrap();
        c.allow(Rule::StringScalars, || "x".into()).unwrap();
        c.allow(Rule::EmptyOperations, || "x".into()).unwrap();
        assert_eq!(c.fired(), [Rule::StringScalars, Rule::EmptyOperations]);
        let s = Compat::new(true);
        let e = s.allow(Rule::FilterCreatesElement, || "no element matches".into()).unwrap_err();
        assert!(matches!(e, Error::BadRequest { scim_type: ScimType::NoTarget, .. }));
        assert!(s.fired().is_empty());
    }
}
