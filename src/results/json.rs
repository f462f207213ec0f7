//! `results.json`'s text: pretty, with arrays of plain values on one line (`[1, 2, 3]`
//! rather than one number per line), and the serde helpers that write a non-finite float
//! as `null` (JSON has no NaN) and read it back.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// Writes `value` as pretty JSON (two-space indents, as `serde_json::to_string_pretty`),
/// every array that holds no object or array on one line.
pub fn pretty_compact(value: &Value) -> String {
    let mut out = String::new();
    write(value, 0, &mut out);
    out
}

fn write(value: &Value, depth: usize, out: &mut String) {
    let indent = |depth: usize| "  ".repeat(depth);
    match value {
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Object(fields) if fields.is_empty() => out.push_str("{}"),
        Value::Array(items) if items.iter().all(|v| !v.is_array() && !v.is_object()) => {
            let flat: Vec<String> = items.iter().map(Value::to_string).collect();
            out.push_str(&format!("[{}]", flat.join(", ")));
        }
        Value::Array(items) => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                out.push_str(&indent(depth + 1));
                write(item, depth + 1, out);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            out.push_str(&indent(depth));
            out.push(']');
        }
        Value::Object(fields) => {
            out.push_str("{\n");
            for (i, (key, item)) in fields.iter().enumerate() {
                out.push_str(&format!("{}{}: ", indent(depth + 1), Value::String(key.clone())));
                write(item, depth + 1, out);
                out.push_str(if i + 1 < fields.len() { ",\n" } else { "\n" });
            }
            out.push_str(&indent(depth));
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

pub(super) fn finite_or_null_one<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    value.is_finite().then_some(*value).serialize(serializer)
}

pub(super) fn null_as_nan_one<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
}

pub(super) fn finite_or_null<S: Serializer>(values: &[f64], serializer: S) -> Result<S::Ok, S::Error> {
    let as_options: Vec<Option<f64>> = values.iter().map(|v| v.is_finite().then_some(*v)).collect();
    as_options.serialize(serializer)
}

pub(super) fn null_as_nan<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<f64>, D::Error> {
    let raw: Vec<Option<f64>> = Vec::deserialize(deserializer)?;
    Ok(raw.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

#[cfg(test)]
mod tests {
    use super::pretty_compact;

    #[test]
    fn flat_arrays_go_on_one_line_and_the_rest_is_pretty() {
        let value = serde_json::json!({"a": [1, 2], "b": [{"c": ["x, [ y"]}], "d": {}, "e": [], "f": 1.5});
        let expected = "{\n  \"a\": [1, 2],\n  \"b\": [\n    {\n      \"c\": [\"x, [ y\"]\n    }\n  ],\n  \"d\": {},\n  \"e\": [],\n  \"f\": 1.5\n}";
        assert_eq!(pretty_compact(&value), expected);
    }

    #[test]
    fn without_arrays_it_is_serde_jsons_pretty_text() {
        let value = serde_json::json!({"a": {"b": "t\"x", "c": null, "d": true}, "e": -3});
        assert_eq!(pretty_compact(&value), serde_json::to_string_pretty(&value).unwrap());
    }
}
