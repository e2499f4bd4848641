//! The elements of a multi-valued attribute under PATCH: when two are the same value, and
//! which one keeps `primary`.

use crate::scim::schema::AttributeDef;
use serde_json::{Number, Value};
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

/// Two elements are the same value: equal `value` sub-attributes where both have one
/// (Entra's remove carries `$ref: null` beside the id), else equal JSON.
fn same_value(def: &AttributeDef, a: &Value, b: &Value) -> bool {
    match (a.get("value"), b.get("value")) {
        (Some(x), Some(y)) => match (x.as_str(), y.as_str(), def.sub_attribute("value")) {
            (Some(x), Some(y), Some(v)) if !v.case_exact() => crate::scim::normalize(x) == crate::scim::normalize(y),
            _ => x == y,
        },
        _ => a == b,
    }
}

/// Values held by `same_value`'s meaning, so that n values checked against m take about
/// n + m comparisons, not n·m: one `add` of 25,000 emails took 28 s of CPU comparing each to
/// every one before it, and a `remove` by a value array of 10,000 took 4 s.
pub(super) struct SameValues<'v> {
    def: &'v AttributeDef,
    /// Each value's `value_hash`, and the values with it.
    buckets: HashMap<u64, Vec<&'v Value>>,
}

impl<'v> SameValues<'v> {
    pub(super) fn of(def: &'v AttributeDef, values: impl IntoIterator<Item = &'v Value>) -> Self {
        let mut held = SameValues { def, buckets: HashMap::new() };
        values.into_iter().for_each(|v| held.insert(v));
        held
    }

    pub(super) fn insert(&mut self, value: &'v Value) {
        self.buckets.entry(value_hash(self.def, value)).or_default().push(value);
    }

    pub(super) fn contains(&self, value: &Value) -> bool {
        self.buckets
            .get(&value_hash(self.def, value))
            .is_some_and(|held| held.iter().any(|h| same_value(self.def, h, value)))
    }
}

/// A hash on which values that are `same_value` agree: the `value` sub-attribute where there
/// is one (lower-cased where `same_value` compares it so), else the whole element.
fn value_hash(def: &AttributeDef, element: &Value) -> u64 {
    let mut h = DefaultHasher::new();
    match element.get("value") {
        Some(Value::String(s)) if def.sub_attribute("value").is_some_and(|v| !v.case_exact()) => {
            (0u8, crate::scim::normalize(s)).hash(&mut h)
        }
        Some(v) => {
            0u8.hash(&mut h);
            json_hash(v, &mut h);
        }
        None => {
            1u8.hash(&mut h);
            json_hash(element, &mut h);
        }
    }
    h.finish()
}

/// Hashes `v` so that JSON values equal by `Value`'s `==` hash alike: an object's members
/// in any order (`preserve_order` keeps them as sent, and its maps compare without order).
fn json_hash(v: &Value, h: &mut impl Hasher) {
    match v {
        Value::Null => 0u8.hash(h),
        Value::Bool(b) => (1u8, b).hash(h),
        Value::Number(n) => (2u8, number_bits(n)).hash(h),
        Value::String(s) => (3u8, s).hash(h),
        Value::Array(items) => {
            (4u8, items.len()).hash(h);
            items.iter().for_each(|i| json_hash(i, h));
        }
        Value::Object(members) => {
            let unordered = members.iter().fold(0u64, |sum, (k, v)| {
                let mut member = DefaultHasher::new();
                k.hash(&mut member);
                json_hash(v, &mut member);
                sum.wrapping_add(member.finish())
            });
            (5u8, members.len(), unordered).hash(h);
        }
    }
}

/// A number's kind and bits as `Number`'s `==` tells them apart (`1` is not `1.0`), with
/// `-0.0` as `0.0`, which `==` holds equal.
fn number_bits(n: &Number) -> (u8, u64) {
    if let Some(u) = n.as_u64() {
        (0, u)
    } else if let Some(i) = n.as_i64() {
        (1, i as u64)
    } else {
        let f = n.as_f64().unwrap_or(0.0);
        (2, if f == 0.0 { 0 } else { f.to_bits() })
    }
}

/// RFC 7644 §3.5.2: setting `primary: true` on a value makes the others `false`. A
/// `"true"` string counts: Entra's validator sends one, and validation reads it as `true`
/// after this step, so leaving the old primary set would fail the PATCH with two primaries.
pub(super) fn single_primary(items: &mut [Value], touched: &[usize]) {
    let is_primary = |item: &Value| item.get("primary").is_some_and(crate::scim::resource::reads_as_true);
    let chosen = touched.iter().rev().find(|i| is_primary(&items[**i])).copied();
    let Some(chosen) = chosen else { return };
    for (i, item) in items.iter_mut().enumerate() {
        if i != chosen && is_primary(item) {
            item["primary"] = Value::Bool(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::Registry;
    use proptest::prelude::*;
    use serde_json::json;

    /// Elements built to collide: `value`s that differ only in case, numbers that are equal
    /// or only look so (`1`, `1.0`, `-0.0`), members in either order, and no `value` at all.
    fn element() -> impl Strategy<Value = Value> {
        let leaf = prop::sample::select(vec![
            json!("a@x.io"),
            json!("A@X.IO"),
            json!(1),
            json!(1.0),
            json!(0.0),
            json!(-0.0),
            json!({"k": 1, "j": 2}),
            json!({"j": 2, "k": 1}),
        ]);
        prop_oneof![
            leaf.clone(),
            leaf.clone().prop_map(|v| json!({"value": v})),
            (leaf.clone(), leaf.clone()).prop_map(|(v, t)| json!({"value": v, "type": t})),
            (leaf.clone(), leaf.clone()).prop_map(|(v, t)| json!({"type": t, "value": v})),
            (leaf.clone(), leaf).prop_map(|(t, d)| json!({"type": t, "display": d})),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        /// The index finds a held value exactly when `same_value` says one is the same, for
        /// a case-insensitive `value` (emails), a case-exact one (x509Certificates), and an
        /// attribute with none (addresses).
        #[test]
        fn the_index_agrees_with_same_value(held in prop::collection::vec(element(), 0..4), probe in element()) {
            let registry = Registry::load();
            for name in ["emails", "x509Certificates", "addresses"] {
                let def = registry.user.attribute(name).expect(name);
                let want = held.iter().any(|h| same_value(def, h, &probe));
                prop_assert_eq!(SameValues::of(def, &held).contains(&probe), want, "{} {:?} {}", name, held, probe);
            }
        }
    }
}
