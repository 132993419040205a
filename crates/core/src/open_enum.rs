//! Enums that accept values the spec does not list.

/// Defines a string enum whose unknown values decode into `Unknown(String)`
/// instead of failing the whole response. Codegen emits one of these for
/// every named string enum in a spec, so a provider adding a status does
/// not break clients already in use.
///
/// ```
/// regkit_core::open_enum! {
///     /// State of a job.
///     pub enum JobState {
///         Running = "running",
///         Done = "done",
///     }
/// }
/// let s: JobState = serde_json::from_str("\"paused\"").unwrap();
/// assert_eq!(s, JobState::Unknown("paused".into()));
/// assert_eq!(s.as_str(), "paused");
/// assert_eq!(serde_json::to_string(&JobState::Done).unwrap(), "\"done\"");
/// ```
#[macro_export]
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this version of the client does not know; kept verbatim.
            Unknown(::std::string::String),
        }

        impl $name {
            /// Every value the spec lists.
            pub const KNOWN: &'static [&'static str] = &[$($value),*];

            /// The value as sent on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $value, )*
                    Self::Unknown(other) => other.as_str(),
                }
            }

            /// Whether the value is one the spec lists.
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Unknown(_))
            }
        }

        impl ::std::convert::From<&str> for $name {
            fn from(value: &str) -> Self {
                match value {
                    $( $value => Self::$variant, )*
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }

        impl ::std::convert::From<::std::string::String> for $name {
            fn from(value: ::std::string::String) -> Self {
                Self::from(value.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;
            fn from_str(value: &str) -> ::std::result::Result<Self, Self::Err> {
                Ok(Self::from(value))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::__private::serde::Serialize for $name {
            fn serialize<S: $crate::__private::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::__private::serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__private::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::std::result::Result<Self, D::Error> {
                let value: ::std::borrow::Cow<'de, str> =
                    $crate::__private::serde::Deserialize::deserialize(deserializer)?;
                Ok(Self::from(value.as_ref()))
            }
        }

        // Compiled in the crate that invokes the macro: its own `schemars`
        // feature (which turns on regkit-core's) decides.
        #[cfg(feature = "schemars")]
        impl $crate::__private::schemars::JsonSchema for $name {
            fn schema_name() -> ::std::string::String {
                stringify!($name).to_owned()
            }

            fn json_schema(
                _: &mut $crate::__private::schemars::r#gen::SchemaGenerator,
            ) -> $crate::__private::schemars::schema::Schema {
                $crate::__private::schemars::schema::SchemaObject {
                    instance_type: Some($crate::__private::schemars::schema::InstanceType::String.into()),
                    enum_values: Some(vec![$($value.into()),*]),
                    ..Default::default()
                }
                .into()
            }
        }
    };
}
