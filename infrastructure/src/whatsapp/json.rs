//! Lenient accessors over `serde_json::Value`: a missing key or a value of an unexpected type
//! reads as absent, never as an error. Meta documents strings for ids and timestamps; numbers
//! and booleans are read too, so a change of representation does not lose data.

use serde_json::{Map, Value};

/// A string-like value at `key`: strings as they are, numbers and booleans in their JSON form.
pub(crate) fn string(value: &Value, key: &str) -> Option<String> {
    match value.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Like [`string`], but absent reads as the empty string (for ids that Meta always sends).
pub(crate) fn string_or_empty(value: &Value, key: &str) -> String {
    string(value, key).unwrap_or_default()
}

/// A boolean, also accepted as the strings `"true"` / `"false"`.
pub(crate) fn boolean(value: &Value, key: &str) -> Option<bool> {
    match value.get(key)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" => Some(true),
        Value::String(s) if s == "false" => Some(false),
        _ => None,
    }
}

/// An integer (Unix seconds, codes, quantities), sent as a number or a decimal string.
pub(crate) fn integer(value: &Value, key: &str) -> Option<i64> {
    match value.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A finite floating-point number (coordinates, prices), sent as a number or a string.
pub(crate) fn float(value: &Value, key: &str) -> Option<f64> {
    let parsed = match value.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    parsed.filter(|f| f.is_finite())
}

/// The elements of the array at `key`, or none.
pub(crate) fn array<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The object at `key`, if it is one.
pub(crate) fn object<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value.get(key).filter(|v| v.is_object())
}

/// The keys of `value` that are not in `known`, with their values: what the normalised form does
/// not model, kept so nothing Meta sends is dropped.
pub(crate) fn extra(value: &Value, known: &[&str]) -> Map<String, Value> {
    value
        .as_object()
        .map(|object| {
            object
                .iter()
                .filter(|(key, _)| !known.contains(&key.as_str()))
                .map(|(key, v)| (key.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_and_timestamps_read_from_strings_and_numbers() {
        let v = json!({"a": "1749416383", "b": 1749416383, "c": " 12 ", "d": "x", "e": null});
        assert_eq!(integer(&v, "a"), Some(1_749_416_383));
        assert_eq!(integer(&v, "b"), Some(1_749_416_383));
        assert_eq!(integer(&v, "c"), Some(12));
        assert_eq!(integer(&v, "d"), None);
        assert_eq!(integer(&v, "e"), None);
        assert_eq!(string(&v, "b").as_deref(), Some("1749416383"));
        assert_eq!(string(&v, "e"), None);
    }

    #[test]
    fn accessors_on_non_objects_read_as_absent() {
        let v = json!([1, 2]);
        assert_eq!(string(&v, "a"), None);
        assert!(array(&v, "a").is_empty());
        assert!(extra(&v, &[]).is_empty());
        assert_eq!(float(&json!({"x": "NaN"}), "x"), None);
    }
}
