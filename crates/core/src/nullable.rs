//! `Nullable<T>`: a request field that can be set or explicitly cleared.

use std::fmt;

/// A field of an update request that can be set to a value or cleared.
///
/// In an update (`PATCH`, or Buildkite's registry update), leaving a field
/// out keeps the current value, while sending `null` clears it: a registry's
/// description, an OIDC policy, a token's expiry. Fields with that meaning
/// are `Option<Nullable<T>>` in the generated models: `None` leaves the
/// field out, `Some(Nullable::Null)` sends `null`, and
/// `Some(Nullable::Value(v))` sends `v`. The wire format is plain JSON.
///
/// ```
/// use regkit_core::Nullable;
///
/// let clear: Nullable<String> = Nullable::Null;
/// let set = Nullable::from("nightly builds".to_owned());
/// assert_eq!(serde_json::to_string(&clear).unwrap(), "null");
/// assert_eq!(serde_json::to_string(&set).unwrap(), r#""nightly builds""#);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Nullable<T> {
    /// Sent as JSON `null`: clear the field.
    Null,
    /// Sent as the value itself.
    Value(T),
}

impl<T> Nullable<T> {
    /// `None` for `Null`, `Some(v)` for `Value(v)`.
    pub fn into_option(self) -> Option<T> {
        match self {
            Self::Null => None,
            Self::Value(v) => Some(v),
        }
    }

    /// `Null` for `None`, `Value(v)` for `Some(v)`.
    pub fn from_option(value: Option<T>) -> Self {
        value.map_or(Self::Null, Self::Value)
    }

    /// Whether this is `Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }
}

impl<T> From<T> for Nullable<T> {
    fn from(value: T) -> Self {
        Self::Value(value)
    }
}

impl From<&str> for Nullable<String> {
    fn from(value: &str) -> Self {
        Self::Value(value.to_owned())
    }
}

impl<T: fmt::Debug> fmt::Debug for Nullable<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("Null"),
            Self::Value(v) => f.debug_tuple("Value").field(v).finish(),
        }
    }
}

impl<T: serde::Serialize> serde::Serialize for Nullable<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Null => serializer.serialize_none(),
            Self::Value(v) => v.serialize(serializer),
        }
    }
}

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Nullable<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Option::<T>::deserialize(deserializer).map(Self::from_option)
    }
}

#[cfg(feature = "schemars")]
impl<T: schemars::JsonSchema> schemars::JsonSchema for Nullable<T> {
    fn is_referenceable() -> bool {
        false
    }

    fn schema_name() -> String {
        format!("Nullable_{}", T::schema_name())
    }

    fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        <Option<T>>::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::Nullable;

    #[test]
    fn round_trips_null_and_values() {
        let v: Nullable<u32> = serde_json::from_str("null").unwrap();
        assert!(v.is_null());
        let v: Nullable<u32> = serde_json::from_str("7").unwrap();
        assert_eq!(v, Nullable::Value(7));
        assert_eq!(
            serde_json::to_string(&Nullable::<u32>::Null).unwrap(),
            "null"
        );
        assert_eq!(Nullable::from_option(Some(3)).into_option(), Some(3));
    }
}
