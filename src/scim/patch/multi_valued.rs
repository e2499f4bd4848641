//! The elements of a multi-valued attribute under PATCH: when two are the same value, and
//! which one keeps `primary`.

use crate::scim::schema::AttributeDef;
use serde_json::Value;

/// Two elements are the same value: equal `value` sub-attributes where both have one
/// (Entra's remove carries `$ref: null` beside the id), else equal JSON.
pub(super) fn same_value(def: &AttributeDef, a: &Value, b: &Value) -> bool {
    match (a.get("value"), b.get("value")) {
        (Some(x), Some(y)) => match (x.as_str(), y.as_str(), def.sub_attribute("value")) {
            (Some(x), Some(y), Some(v)) if !v.case_exact() => crate::scim::normalize(x) == crate::scim::normalize(y),
            _ => x == y,
        },
        _ => a == b,
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
