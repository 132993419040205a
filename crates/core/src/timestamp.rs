//! A UTC time sent with at most millisecond precision.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
#[cfg(feature = "schemars")]
use schemars::{
    JsonSchema,
    r#gen::SchemaGenerator,
    schema::{InstanceType, Schema, SchemaObject},
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A UTC time that goes over the wire as RFC 3339 with exactly three
/// fraction digits and `Z` (`2024-06-04T21:30:00.123Z`).
///
/// Codegen uses it for `format: date-time` fields whose schema allows at
/// most milliseconds, so a `chrono::Utc::now()` (nanoseconds) is sent in a
/// form the provider accepts instead of being refused with a 400. Reading
/// accepts any RFC 3339 time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimestampMillis(pub DateTime<Utc>);

impl TimestampMillis {
    /// The time, truncated to milliseconds as it is sent.
    pub fn as_sent(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Millis, true)
    }
}

impl From<DateTime<Utc>> for TimestampMillis {
    fn from(value: DateTime<Utc>) -> Self {
        Self(value)
    }
}

impl From<TimestampMillis> for DateTime<Utc> {
    fn from(value: TimestampMillis) -> Self {
        value.0
    }
}

impl std::ops::Deref for TimestampMillis {
    type Target = DateTime<Utc>;
    fn deref(&self) -> &DateTime<Utc> {
        &self.0
    }
}

impl fmt::Display for TimestampMillis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_sent())
    }
}

impl std::str::FromStr for TimestampMillis {
    type Err = chrono::ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(DateTime::parse_from_rfc3339(s)?.with_timezone(&Utc)))
    }
}

impl Serialize for TimestampMillis {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.as_sent())
    }
}

impl<'de> Deserialize<'de> for TimestampMillis {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        DateTime::<Utc>::deserialize(deserializer).map(Self)
    }
}

#[cfg(feature = "schemars")]
impl JsonSchema for TimestampMillis {
    fn schema_name() -> String {
        "TimestampMillis".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        SchemaObject {
            instance_type: Some(InstanceType::String.into()),
            format: Some("date-time".into()),
            ..Default::default()
        }
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_exactly_milliseconds() {
        let t: DateTime<Utc> = "2024-06-04T21:30:00.123456789Z".parse().unwrap();
        let json = serde_json::to_string(&TimestampMillis(t)).unwrap();
        assert_eq!(json, "\"2024-06-04T21:30:00.123Z\"");
        let whole: DateTime<Utc> = "2024-06-04T21:30:00Z".parse().unwrap();
        assert_eq!(TimestampMillis(whole).as_sent(), "2024-06-04T21:30:00.000Z");
        let back: TimestampMillis = serde_json::from_str("\"2024-06-04T23:30:00+02:00\"").unwrap();
        assert_eq!(back.0, whole);
    }
}
