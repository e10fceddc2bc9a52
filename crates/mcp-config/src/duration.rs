//! Durations in config files: seconds (`10`, `0.5`, as the seed notebook writes them) or
//! humantime strings (`"10s"`, `"500ms"`, `"1m 30s"`).

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, Visitor};
use serde::{Serialize, Serializer};

/// What a duration field accepts, for error messages.
pub(crate) const EXPECTED: &str =
    "a duration: seconds as a number (10, 0.5) or a string such as \"10s\", \"500ms\", \"1m\"";

/// Parses a humantime string, or a bare number of seconds written as a string.
pub(crate) fn parse(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if let Ok(secs) = trimmed.parse::<f64>() {
        return from_secs(secs);
    }
    humantime::parse_duration(trimmed)
        .map_err(|err| format!("invalid duration {text:?} ({err}); expected {EXPECTED}"))
}

fn from_secs(secs: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(secs).map_err(|_| {
        format!("invalid duration {secs}: expected a finite, non-negative number of seconds")
    })
}

/// Deserializes a duration from a number of seconds or a humantime string.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Duration, D::Error> {
    deserializer.deserialize_any(DurationVisitor)
}

/// Serializes a duration as seconds: an integer when whole, else a float.
pub(crate) fn serialize<S: Serializer>(
    duration: &Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    if duration.subsec_nanos() == 0 {
        duration.as_secs().serialize(serializer)
    } else {
        duration.as_secs_f64().serialize(serializer)
    }
}

struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EXPECTED)
    }

    fn visit_u64<E: de::Error>(self, secs: u64) -> Result<Duration, E> {
        Ok(Duration::from_secs(secs))
    }

    fn visit_i64<E: de::Error>(self, secs: i64) -> Result<Duration, E> {
        u64::try_from(secs).map(Duration::from_secs).map_err(|_| {
            E::custom(format!("invalid duration {secs}: durations cannot be negative"))
        })
    }

    fn visit_f64<E: de::Error>(self, secs: f64) -> Result<Duration, E> {
        from_secs(secs).map_err(E::custom)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Duration, E> {
        parse(text).map_err(E::custom)
    }
}

/// JSON Schema stand-in for duration fields.
pub(crate) struct DurationSchema;

impl JsonSchema for DurationSchema {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Seconds as a number (10, 0.5) or a humantime string (\"10s\", \"500ms\", \"1m\").",
            "anyOf": [
                { "type": "number", "minimum": 0 },
                { "type": "string", "pattern": "^\\s*[0-9]" }
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_seconds_and_humantime() {
        assert_eq!(parse("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("1m 30s"), Ok(Duration::from_secs(90)));
        assert!(parse("-1").is_err());
        assert!(parse("ten seconds").unwrap_err().contains("expected a duration"));
    }
}
