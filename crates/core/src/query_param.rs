//! One query parameter of a generated operation, as serde sees it: a value
//! under a name, for `reqwest::RequestBuilder::query`.
//!
//! - a scalar (number, bool, string, an enum's unit variant) is one
//!   `name=value` pair;
//! - `None` sends nothing, `Some(v)` sends `v`;
//! - a sequence repeats the name, one pair per element
//!   (`tag=a&tag=b`, OpenAPI's `form` style with `explode`);
//! - a newtype struct is its inner value;
//! - an object is sent as its own fields (exploded), and a newtype variant
//!   as an object with one field.

use serde::ser::{Serialize, SerializeSeq, SerializeStruct, Serializer};

/// `value` under `name` (codegen plumbing).
#[doc(hidden)]
#[derive(Debug)]
pub struct QueryParam<'a, T> {
    name: &'a str,
    value: &'a T,
}

impl<'a, T> QueryParam<'a, T> {
    #[doc(hidden)]
    pub fn new(name: &'a str, value: &'a T) -> Self {
        Self { name, value }
    }
}

impl<T: Serialize> Serialize for QueryParam<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(Named {
            name: self.name,
            inner: serializer,
        })
    }
}

/// Serializes a value as the pairs of the parameter `name`, into the
/// query serializer `inner`.
struct Named<'a, S> {
    name: &'a str,
    inner: S,
}

impl<S: Serializer> Named<'_, S> {
    /// One `name=value` pair.
    fn pair<V: Serialize + ?Sized>(self, value: &V) -> Result<S::Ok, S::Error> {
        let mut pairs = self.inner.serialize_seq(Some(1))?;
        pairs.serialize_element(&(self.name, value))?;
        pairs.end()
    }
}

macro_rules! scalars {
    ($($method:ident: $ty:ty),* $(,)?) => {
        $(fn $method(self, v: $ty) -> Result<S::Ok, S::Error> {
            self.pair(&v)
        })*
    };
}

impl<'a, S: Serializer> Serializer for Named<'a, S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Repeated<'a, S::SerializeSeq>;
    type SerializeTuple = S::SerializeTuple;
    type SerializeTupleStruct = S::SerializeTupleStruct;
    type SerializeTupleVariant = S::SerializeTupleVariant;
    type SerializeMap = S::SerializeMap;
    type SerializeStruct = S::SerializeStruct;
    type SerializeStructVariant = S::SerializeStructVariant;

    scalars! {
        serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_i128: i128, serialize_u8: u8, serialize_u16: u16,
        serialize_u32: u32, serialize_u64: u64, serialize_u128: u128, serialize_f32: f32,
        serialize_f64: f64, serialize_char: char, serialize_str: &str,
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<S::Ok, S::Error> {
        self.inner.serialize_bytes(v)
    }

    fn serialize_none(self) -> Result<S::Ok, S::Error> {
        self.inner.serialize_none()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<S::Ok, S::Error> {
        self.inner.serialize_unit()
    }

    fn serialize_unit_struct(self, name: &'static str) -> Result<S::Ok, S::Error> {
        self.inner.serialize_unit_struct(name)
    }

    /// A string enum's value.
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<S::Ok, S::Error> {
        self.pair(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        let mut object = self.inner.serialize_struct(name, 1)?;
        object.serialize_field(variant, value)?;
        object.end()
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        Ok(Repeated {
            name: self.name,
            pairs: self.inner.serialize_seq(len)?,
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        self.inner.serialize_tuple(len)
    }

    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        self.inner.serialize_tuple_struct(name, len)
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        self.inner
            .serialize_tuple_variant(name, index, variant, len)
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        self.inner.serialize_map(len)
    }

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        self.inner.serialize_struct(name, len)
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        self.inner
            .serialize_struct_variant(name, index, variant, len)
    }
}

/// A sequence's elements, each a `name=element` pair.
struct Repeated<'a, P> {
    name: &'a str,
    pairs: P,
}

impl<P: SerializeSeq> SerializeSeq for Repeated<'_, P> {
    type Ok = P::Ok;
    type Error = P::Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), P::Error> {
        self.pairs.serialize_element(&(self.name, value))
    }

    fn end(self) -> Result<P::Ok, P::Error> {
        self.pairs.end()
    }
}

#[cfg(test)]
mod tests {
    use super::QueryParam;
    use proptest::prelude::*;
    use serde::Serialize;

    /// The query string reqwest sends after `add` puts the parameters on.
    fn encoded(add: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder) -> String {
        static CLIENT: std::sync::LazyLock<reqwest::Client> = std::sync::LazyLock::new(|| {
            crate::tls::prepare();
            reqwest::Client::new()
        });
        add(CLIENT.get("http://127.0.0.1/x"))
            .build()
            .map(|r| r.url().query().unwrap_or_default().to_owned())
            .unwrap_or_else(|e| format!("error: {e}"))
    }

    fn ours<T: Serialize>(name: &'static str, value: T) -> String {
        encoded(|r| r.query(&QueryParam::new(name, &value)))
    }

    #[derive(Serialize, Clone, Copy, Debug)]
    #[serde(rename_all = "snake_case")]
    enum Sort {
        Name,
        CreatedAt,
    }

    #[test]
    fn scalars_options_enums_and_lists_read_as_documented() {
        assert_eq!(ours("per_page", 50u64), "per_page=50");
        assert_eq!(ours("page", Some(2u32)), "page=2");
        assert_eq!(ours("page", None::<u32>), "");
        assert_eq!(ours("sort", Sort::CreatedAt), "sort=created_at");
        assert_eq!(ours("tag", vec!["a b", "c&d"]), "tag=a+b&tag=c%26d");
        assert_eq!(ours("deleted", Some(true)), "deleted=true");
    }

    proptest! {
        /// progenitor-client's `QueryParam` (which this one replaces) is the
        /// oracle for every shape the generated clients send.
        #[test]
        fn encodes_as_progenitor_client_does(
            n in any::<i64>(),
            u in proptest::option::of(any::<u64>()),
            s in ".*",
            b in any::<bool>(),
            list in proptest::collection::vec(".*", 0..4),
            sort in proptest::option::of(prop_oneof![Just(Sort::Name), Just(Sort::CreatedAt)]),
            f in any::<f64>(),
        ) {
            let mine = encoded(|r| {
                r.query(&QueryParam::new("n", &n))
                    .query(&QueryParam::new("u", &u))
                    .query(&QueryParam::new("s", &s))
                    .query(&QueryParam::new("b", &b))
                    .query(&QueryParam::new("list", &list))
                    .query(&QueryParam::new("sort", &sort))
                    .query(&QueryParam::new("f", &f))
            });
            let theirs = encoded(|r| {
                use progenitor_client::QueryParam;
                r.query(&QueryParam::new("n", &n))
                    .query(&QueryParam::new("u", &u))
                    .query(&QueryParam::new("s", &s))
                    .query(&QueryParam::new("b", &b))
                    .query(&QueryParam::new("list", &list))
                    .query(&QueryParam::new("sort", &sort))
                    .query(&QueryParam::new("f", &f))
            });
            prop_assert_eq!(mine, theirs);
        }
    }
}
