//! Reading a baseline's metrics with messages that explain: which metric, which key, what
//! type was expected and what was found (serde's own untagged enums say only "data did
//! not match any variant").

use serde::de::{self, Deserialize, Deserializer};
use serde_json::Value as Json;

use super::metric::{Metric, MetricName, Value};

/// What a JSON value is, for messages.
fn kind(v: &Json) -> String {
    match v {
        Json::Null => "null".to_owned(),
        Json::Bool(b) => format!("a boolean ({b})"),
        Json::Number(n) => format!("a number ({n})"),
        Json::String(t) => format!("a string ({t:?})"),
        Json::Array(_) => "a list".to_owned(),
        Json::Object(_) => "a table".to_owned(),
    }
}

fn whole(map: &serde_json::Map<String, Json>, key: &str, what: &str) -> Result<u64, String> {
    match map.get(key) {
        Some(v) => v.as_u64().ok_or_else(|| format!("'{key}' must be {what}, not {}", kind(v))),
        None => Err(format!("'{key}' is missing")),
    }
}

fn value_of(map: &serde_json::Map<String, Json>) -> Result<Value, String> {
    if map.contains_key("ns") || map.contains_key("ratio") || map.contains_key("reference_ns") {
        let ratio = match map.get("ratio") {
            Some(v) => v.as_f64().ok_or_else(|| format!("'ratio' must be a number, not {}", kind(v)))?,
            None => return Err("'ratio' is missing".to_owned()),
        };
        return Ok(Value::Time {
            ns: whole(map, "ns", "a whole number of nanoseconds")?,
            ratio,
            reference_ns: whole(map, "reference_ns", "a whole number of nanoseconds")?,
        });
    }
    if map.contains_key("bytes") {
        return Ok(Value::Bytes { bytes: whole(map, "bytes", "a whole number of bytes")? });
    }
    match map.get("text") {
        Some(Json::String(text)) => Ok(Value::Text { text: text.clone() }),
        Some(v) => Err(format!("'text' must be a string, not {}", kind(v))),
        None => Err(
            "it has no value: give \"bytes\": N, \"text\": \"...\", or \"ns\": N, \"ratio\": R, \"reference_ns\": N"
                .to_owned(),
        ),
    }
}

impl<'de> Deserialize<'de> for Metric {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = Json::deserialize(deserializer)?;
        let Json::Object(map) = json else {
            return Err(de::Error::custom(format!(
                "each entry of \"metrics\" must be a table with a \"metric\" name and its value, not {}",
                kind(&json)
            )));
        };
        let name = match map.get("metric") {
            Some(Json::String(name)) => name.clone(),
            Some(v) => return Err(de::Error::custom(format!("'metric' must be a name, not {}", kind(v)))),
            None => return Err(de::Error::custom("a metric has no 'metric' name")),
        };
        let metric: MetricName = name.parse().map_err(|e: String| {
            de::Error::custom(format!("{e}; a metric is named like npy_load_mmap.rss_after_open"))
        })?;
        let value = value_of(&map).map_err(|why| de::Error::custom(format!("metric '{name}': {why}")))?;
        Ok(Metric { metric, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_typed_value_names_the_metric_the_key_and_the_type() {
        let text = r#"{"metric": "npy_load_mmap.rss_after_open", "bytes": "lots"}"#;
        let err = serde_json::from_str::<Metric>(text).map(|_| ()).unwrap_err().to_string();
        assert!(
            err.contains("npy_load_mmap.rss_after_open") && err.contains("'bytes' must be a whole number"),
            "{err}"
        );
        assert!(err.contains("\"lots\""), "{err}");
        assert!(!err.contains("did not match any variant"), "{err}");
    }
}
