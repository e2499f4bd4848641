//! A request body read as the JSON a SCIM request may be: each name at most once in an object,
//! compared as SCIM compares attribute names, and no U+0000 in any string.
//!
//! RFC 8259 §4 leaves an object with a name given twice to each parser, and I-JSON (RFC 7493
//! §2.3) forbids it. serde_json kept the last value, so `{"name": {…}, "Name": {…}}` lost the
//! first without a word, and a proxy that read the first `userName` of a body saw another user
//! than scimd did. SCIM's names are case-insensitive (RFC 7643 §2.1), so `name` and `Name` are
//! one name given twice as much as `name` twice is.

use crate::error::{Error, Quoted};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::cell::Cell;
use std::collections::HashSet;
use std::fmt;

/// Why a body is not read.
#[derive(Debug)]
pub enum Unreadable {
    /// Not JSON at all: serde_json's own message.
    NotJson(serde_json::Error),
    /// JSON, but not as SCIM takes it: the SCIM error to answer.
    Refused(Error),
}

/// No stored string can hold U+0000 (PostgreSQL's text cannot, and SQLite gives the same
/// answers): a body, path or query string naming one is refused before the database sees it.
pub const NUL: char = '\0';

/// Objects up to this many names are searched for a clash name by name; larger ones keep a set
/// of their names folded to lower case, so a body of 100,000 names costs no 10^10 comparisons.
const SCANNED_NAMES: usize = 16;

pub fn read(text: &[u8]) -> Result<Value, Unreadable> {
    let refusal = Cell::new(None);
    let mut de = serde_json::Deserializer::from_slice(text);
    let read = Reader { refusal: &refusal }.deserialize(&mut de).and_then(|value| de.end().map(|()| value));
    match (read, refusal.take()) {
        (_, Some(refused)) => Err(Unreadable::Refused(refused)),
        (Ok(value), None) => Ok(value),
        (Err(e), None) => Err(Unreadable::NotJson(e)),
    }
}

/// Builds a `Value` as serde_json does, refusing what SCIM cannot take. The refusal is kept
/// aside: serde_json's error would carry only its text.
#[derive(Clone, Copy)]
struct Reader<'r> {
    refusal: &'r Cell<Option<Error>>,
}

impl Reader<'_> {
    fn refuse<E: serde::de::Error>(self, error: Error) -> E {
        self.refusal.set(Some(error));
        E::custom("refused")
    }

    fn string<E: serde::de::Error>(self, s: String) -> Result<Value, E> {
        if s.contains(NUL) {
            return Err(self.refuse(nul()));
        }
        Ok(Value::String(s))
    }
}

fn nul() -> Error {
    Error::invalid_value("strings may not contain the character U+0000")
}

fn given_twice(first: &str, again: &str) -> Error {
    Error::invalid_syntax(if first == again {
        format!("the request body gives {} twice in one object", Quoted(first))
    } else {
        format!(
            "the request body gives one name twice in one object, as {} and as {}: SCIM's names are \
             case-insensitive (RFC 7643 §2.1)",
            Quoted(first),
            Quoted(again)
        )
    })
}

impl<'de> DeserializeSeed<'de> for Reader<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Reader<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        self.string(v.to_owned())
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
        self.string(v)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        let mut folded: Option<HashSet<String>> = None;
        while let Some(name) = map.next_key::<String>()? {
            if name.contains(NUL) {
                return Err(self.refuse(nul()));
            }
            let clash = match &mut folded {
                Some(names) => !names.insert(name.to_ascii_lowercase()),
                None => object.keys().any(|k| k.eq_ignore_ascii_case(&name)),
            };
            if clash {
                let first = object.keys().find(|k| k.eq_ignore_ascii_case(&name)).map_or("", String::as_str);
                return Err(self.refuse(given_twice(first, &name)));
            }
            let value = map.next_value_seed(self)?;
            object.insert(name, value);
            if folded.is_none() && object.len() == SCANNED_NAMES {
                folded = Some(object.keys().map(|k| k.to_ascii_lowercase()).collect());
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::{read, Unreadable};
    use crate::error::{Error, ScimType};
    use proptest::prelude::*;
    use serde_json::{json, Value};

    fn refusal(text: &str) -> (ScimType, String) {
        match read(text.as_bytes()) {
            Err(Unreadable::Refused(Error::BadRequest { scim_type, detail })) => (scim_type, detail),
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn bodies_read_as_serde_json_reads_them() {
        let texts = [
            r#"{"schemas": ["urn:x"], "userName": "a", "active": true, "n": -3, "u": 18446744073709551615, "f": 1.5e3, "z": null, "e": {}, "l": [[], {"a": [1, "b"]}]}"#,
            r#""just a string""#,
            " [1, 2.0, \"\\u00e9\\n\"] ",
            r#"{"a": 1, "b": {"a": 2}, "c": [{"a": 3}, {"a": 4}]}"#,
        ];
        for text in texts {
            let want: serde_json::Value = serde_json::from_str(text).unwrap();
            assert_eq!(read(text.as_bytes()).unwrap(), want, "{text}");
        }
        let many: String = (0..1000).map(|i| format!("\"n{i}\": {i}")).collect::<Vec<_>>().join(",");
        let value = read(format!("{{{many}}}").as_bytes()).unwrap();
        assert_eq!(value.as_object().unwrap().len(), 1000);
        assert_eq!(value["n999"], json!(999));
    }

    #[test]
    fn a_name_given_twice_in_one_object_is_refused_in_any_case_and_at_any_depth() {
        let cases = [
            (r#"{"userName": "a", "userName": "b"}"#, r#"gives "userName" twice"#),
            (r#"{"userName": "a", "USERNAME": "b"}"#, r#"as "userName" and as "USERNAME""#),
            (r#"{"name": {"givenName": "A"}, "Name": {"familyName": "B"}}"#, r#"as "name" and as "Name""#),
            (r#"{"name": {"givenName": "A", "givenname": "B"}}"#, r#"as "givenName" and as "givenname""#),
            (r#"{"Operations": [{"op": "add", "OP": "remove"}]}"#, r#"as "op" and as "OP""#),
            (r#"{"emails": [{"value": "x"}, {"value": "y", "Value": "z"}]}"#, r#"as "value" and as "Value""#),
        ];
        for (text, said) in cases {
            let (scim_type, detail) = refusal(text);
            assert_eq!(scim_type, ScimType::InvalidSyntax, "{text}");
            assert!(detail.contains(said), "{text}: {detail}");
        }
        // Past the names searched one by one, the folded set finds the clash as well.
        for at in [super::SCANNED_NAMES - 1, super::SCANNED_NAMES, 5_000] {
            let names: String = (0..=at).map(|i| format!("\"n{i}\": {i},")).collect();
            let (_, detail) = refusal(&format!("{{{names} \"N{}\": 0}}", at / 2));
            assert!(detail.contains(&format!("as \"n{}\" and as \"N{}\"", at / 2, at / 2)), "{detail}");
        }
        // Names that differ outside ASCII are different names, as SCIM's ASCII names are.
        assert!(read(r#"{"é": 1, "É": 2}"#.as_bytes()).is_ok());
        // The same name in different objects is no clash.
        assert!(read(r#"{"a": {"a": {"a": 1}}, "b": [{"a": 1}, {"a": 2}]}"#.as_bytes()).is_ok());
    }

    #[test]
    fn u0000_is_refused_in_values_and_names() {
        for text in [r#"{"userName": "a\u0000b"}"#, r#"{"a\u0000": 1}"#, r#"[["\u0000"]]"#] {
            assert_eq!(refusal(text).0, ScimType::InvalidValue, "{text}");
        }
    }

    /// A JSON object of up to 40 names drawn from a few letters in either case, holding any
    /// values, so that both ways of finding a clash (name by name, and the folded set) meet
    /// clashes and bodies without one.
    fn any_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            prop_oneof![50 => "[a-cé\"]{0,4}", 1 => "[a-c]\\u{0}"].prop_map(Value::from),
        ];
        let nested = leaf.prop_recursive(3, 64, 8, |inner| {
            prop_oneof![prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array), object_of(inner, 0..8),]
        });
        object_of(nested, 0..40)
    }

    fn object_of(values: impl Strategy<Value = Value>, names: std::ops::Range<usize>) -> impl Strategy<Value = Value> {
        let name = prop_oneof![50 => "[a-fA-F]{2,4}", 1 => "[a-f]\\u{0}"];
        prop::collection::vec((name, values), names).prop_map(|members| Value::Object(members.into_iter().collect()))
    }

    /// What the reader refuses, decided by the rule as written, object by object.
    fn refused(value: &Value) -> bool {
        match value {
            Value::String(s) => s.contains('\0'),
            Value::Array(items) => items.iter().any(refused),
            Value::Object(map) => {
                let names: Vec<&String> = map.keys().collect();
                let clash =
                    names.iter().enumerate().any(|(i, a)| names[i + 1..].iter().any(|b| a.eq_ignore_ascii_case(b)));
                clash || names.iter().any(|n| n.contains('\0')) || map.values().any(refused)
            }
            _ => false,
        }
    }

    proptest! {
        #[test]
        fn reads_what_serde_json_writes_unless_the_rule_refuses_it(value in any_value()) {
            let text = serde_json::to_string(&value).unwrap();
            match read(text.as_bytes()) {
                Ok(read) => {
                    prop_assert!(!refused(&value), "{text}");
                    prop_assert_eq!(read, value);
                }
                Err(Unreadable::Refused(_)) => prop_assert!(refused(&value), "{text}"),
                Err(Unreadable::NotJson(e)) => prop_assert!(false, "{text}: {e}"),
            }
        }
    }

    #[test]
    fn what_is_not_json_is_serde_json_s_error() {
        for text in ["", "{", "{\"a\": 1} x", "{\"a\" 1}", "[1,]", "nul", "\"\\ud800\""] {
            assert!(matches!(read(text.as_bytes()), Err(Unreadable::NotJson(_))), "{text}");
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(matches!(read(deep.as_bytes()), Err(Unreadable::NotJson(_))), "serde_json's depth limit holds");
    }
}
