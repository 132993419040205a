//! Success bodies decode by one rule, table-driven over every operation of
//! every spec (the operations come from the CLI's generated call table,
//! checked against the specs, so a new operation is covered without
//! editing this file):
//!
//! - a `DELETE` answered with any 2xx is `Ok`, whatever its body (none,
//!   `{}`, text);
//! - a `GET` whose success is a model, answered 200 with an empty or
//!   undecodable body, is `InvalidResponse` with the status and raw body
//!   kept;
//! - every array, map and object field of every model that answers an
//!   operation decodes from `null`, at every depth the answers reach.

use std::collections::BTreeSet;
use std::path::PathBuf;

use httpmock::prelude::*;
use regkit_cli::call::{self, CallError, CallOutput, Method, Operation, ParamType};
use regkit_cli::call_table;
use regkit_core::{Error, RetryPolicy};
use serde_json::{Map, Value, json};

// ------------------------------------------------------------ the table

/// One provider: its spec as codegen reads it and its call table.
struct Provider {
    name: String,
    doc: Value,
    ops: &'static [Operation],
}

fn providers() -> Vec<Provider> {
    let root = xtask::workspace_root();
    let manifest = xtask::Manifest::load(&root).expect("specs/providers.toml loads");
    let providers: Vec<Provider> = manifest
        .providers
        .iter()
        .map(|p| Provider {
            name: p.name.clone(),
            doc: xtask::spec_document(&root, p).expect("the spec loads"),
            ops: call_table::operations(&p.name).expect("a call table for every provider"),
        })
        .collect();
    assert_eq!(providers.len(), 5, "every provider is in the table");
    for p in &providers {
        // The call table is the spec's operations, all of them.
        let in_spec: BTreeSet<String> = operations_of(&p.doc).map(|(id, ..)| id).collect();
        let callable: BTreeSet<String> = p
            .ops
            .iter()
            .filter(|op| !op.handwritten)
            .map(|op| op.id.to_owned())
            .collect();
        assert_eq!(in_spec, callable, "{}: call table and spec differ", p.name);
    }
    providers
}

/// `(operationId, method, operation object)` of every operation in `doc`.
fn operations_of(doc: &Value) -> impl Iterator<Item = (String, String, &Value)> {
    doc["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(_, item)| item.as_object().into_iter().flatten())
        .filter_map(|(method, op)| {
            let id = op.get("operationId")?.as_str()?;
            Some((id.to_owned(), method.to_uppercase(), op))
        })
}

impl Provider {
    /// The spec's operation object for `op`.
    fn operation(&self, op: &Operation) -> &Value {
        &self.doc["paths"][op.path][op.method.as_str().to_lowercase()]
    }

    /// The JSON schema of `op`'s success body, when it documents one.
    fn success_schema(&self, op: &Operation) -> Option<&Value> {
        let responses = self.operation(op)["responses"].as_object()?;
        responses
            .iter()
            .filter(|(code, _)| code.starts_with('2'))
            .find_map(|(_, r)| {
                let r = resolve(&self.doc, r);
                r.get("content")?.get("application/json")?.get("schema")
            })
    }

    /// The JSON schema of `op`'s request body, when it takes one.
    fn request_schema(&self, op: &Operation) -> Option<&Value> {
        let body = resolve(&self.doc, self.operation(op).get("requestBody")?);
        body.get("content")?.get("application/json")?.get("schema")
    }

    fn callable(&self) -> impl Iterator<Item = &'static Operation> + '_ {
        self.ops.iter().filter(|op| !op.handwritten)
    }
}

/// `value` with `$ref`s followed.
fn resolve<'a>(doc: &'a Value, mut value: &'a Value) -> &'a Value {
    while let Some(reference) = value.get("$ref").and_then(Value::as_str) {
        let pointer = reference.trim_start_matches('#');
        value = doc
            .pointer(pointer)
            .unwrap_or_else(|| panic!("unresolved $ref {reference}"));
    }
    value
}

// ------------------------------------------------------ bodies from schemas

/// How [`instance`] fills a schema's collections.
#[derive(Clone, Copy, Debug)]
enum Fill {
    /// Every array and map, and every optional object, is `null`.
    Nulls,
    /// Every collection holds one element, filled `Fill::Depth(n - 1)`
    /// (`Depth(0)` is `Nulls`): nulls `n` levels down.
    Depth(usize),
}

impl Fill {
    fn inner(self) -> Self {
        match self {
            Fill::Depth(n) if n > 1 => Fill::Depth(n - 1),
            _ => Fill::Nulls,
        }
    }
}

/// The schema's parts merged (`allOf`), its first alternative
/// (`oneOf`/`anyOf`) or its `Nullable<T>` parameter, `$ref`s followed.
fn flatten(doc: &Value, schema: &Value) -> Value {
    let schema = resolve(doc, schema);
    // A clearable field (`Nullable<T>`): its value is the type parameter.
    if let Some(inner) = schema.pointer("/x-rust-type/parameters/0") {
        return flatten(doc, inner);
    }
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        let mut merged = schema.as_object().cloned().unwrap_or_default();
        merged.remove("allOf");
        for part in parts {
            let part = flatten(doc, part);
            for (k, v) in part.as_object().into_iter().flatten() {
                match (k.as_str(), merged.get_mut(k)) {
                    ("properties", Some(Value::Object(props))) => {
                        props.extend(v.as_object().cloned().unwrap_or_default())
                    }
                    ("required", Some(Value::Array(req))) => {
                        req.extend(v.as_array().cloned().unwrap_or_default())
                    }
                    _ => {
                        merged.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        return Value::Object(merged);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(first) = schema.get(key).and_then(|a| a.get(0)) {
            return flatten(doc, first);
        }
    }
    schema.clone()
}

fn kind(schema: &Value) -> &str {
    match schema.get("type").and_then(Value::as_str) {
        Some(t) => t,
        None if schema.get("properties").is_some() => "object",
        None => "any",
    }
}

fn is_map(schema: &Value) -> bool {
    kind(schema) == "object"
        && schema.get("properties").is_none()
        && schema
            .get("additionalProperties")
            .is_some_and(|a| a.as_bool() != Some(false))
}

/// Whether `null` stands in for an absent or empty value of this schema.
fn is_collection(schema: &Value) -> bool {
    matches!(kind(schema), "array" | "object")
}

/// A JSON value valid for `schema`, its collections filled as `fill` says.
fn instance(doc: &Value, schema: &Value, fill: Fill, depth: usize) -> Value {
    assert!(depth < 16, "schema recursion too deep: {schema}");
    let schema = flatten(doc, schema);
    if let Some(first) = schema.get("enum").and_then(|e| e.get(0)) {
        return first.clone();
    }
    match kind(&schema) {
        "array" => match fill {
            Fill::Nulls => json!([]),
            Fill::Depth(_) => json!([instance(doc, &schema["items"], fill.inner(), depth + 1)]),
        },
        "object" if is_map(&schema) => match fill {
            Fill::Nulls => json!({}),
            Fill::Depth(_) => {
                let values = schema["additionalProperties"].clone();
                let value = if values.is_object() {
                    instance(doc, &values, fill.inner(), depth + 1)
                } else {
                    json!("abc")
                };
                json!({ "key": value })
            }
        },
        "object" => {
            let required: BTreeSet<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let mut out = Map::new();
            for (name, prop) in schema
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let flat = flatten(doc, prop);
                let required = required.contains(name.as_str());
                let value = match fill {
                    // Arrays and maps are null whether required or not; an
                    // object only when it is optional (a required object
                    // must be there to hold its own fields).
                    Fill::Nulls
                        if is_collection(&flat)
                            && (!required || kind(&flat) == "array" || is_map(&flat)) =>
                    {
                        Value::Null
                    }
                    Fill::Nulls => instance(doc, prop, Fill::Nulls, depth + 1),
                    Fill::Depth(_)
                        if is_collection(&flat) && !is_map(&flat) && kind(&flat) == "object" =>
                    {
                        instance(doc, prop, fill.inner(), depth + 1)
                    }
                    Fill::Depth(_) => instance(doc, prop, fill, depth + 1),
                };
                out.insert(name.clone(), value);
            }
            Value::Object(out)
        }
        "string" => match schema.get("format").and_then(Value::as_str) {
            Some("date-time") => json!("2024-01-01T00:00:00Z"),
            Some("time") => json!("01:23:00+00:00"),
            Some("uri") => json!("https://example.com/x"),
            Some("uuid") => json!(UUID),
            _ => json!("abc"),
        },
        "integer" => json!(1),
        "number" => json!(1.5),
        "boolean" => json!(true),
        _ => json!("abc"),
    }
}

/// A value every string parameter accepts, UUID-typed ones included.
const UUID: &str = "5a8e7c1e-40d6-4c38-9b0e-2d9a2f0d7f10";

// ------------------------------------------------------------ calling

/// A client of every provider, against one mock server.
struct Clients {
    digitalocean: regkit_digitalocean::Client,
    ionos: regkit_ionos::Client,
    humanitec: regkit_humanitec::Client,
    buildkite: regkit_buildkite::Client,
    abeja: regkit_abeja::Client,
}

macro_rules! client {
    ($krate:ident, $base:expr) => {
        $krate::Client::builder()
            .base_url($base)
            .bearer_token("test-token")
            .retry(RetryPolicy::none())
            .build()
            .unwrap()
    };
}

impl Clients {
    fn new(server: &MockServer) -> Self {
        let base = server.base_url();
        Self {
            digitalocean: client!(regkit_digitalocean, &base),
            ionos: client!(regkit_ionos, &base),
            humanitec: client!(regkit_humanitec, &base),
            buildkite: client!(regkit_buildkite, &base),
            abeja: client!(regkit_abeja, &base),
        }
    }

    /// Calls `op` of `provider` with every required parameter and, when it
    /// takes one, a body made from its schema.
    async fn call(&self, provider: &Provider, op: &Operation) -> Result<CallOutput, CallError> {
        let mut argv: Vec<String> = vec!["call".into(), op.id.into()];
        for p in op.params.iter().filter(|p| p.required) {
            let value = match p.ty {
                t if t.is_integer() => "1",
                ParamType::Boolean => "true",
                _ => UUID,
            };
            argv.extend([format!("--{}", p.flag), value.to_owned()]);
        }
        if let Some(schema) = provider.request_schema(op) {
            let body = instance(&provider.doc, schema, Fill::Depth(1), 0);
            let file = body_dir().join(format!("{}-{}.json", provider.name, op.id));
            std::fs::write(&file, body.to_string()).unwrap();
            argv.extend(["--body".to_owned(), file.display().to_string()]);
        }
        let matches = call::command(&provider.name, provider.ops)
            .try_get_matches_from(&argv)
            .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
        let (id, args) = matches.subcommand().expect("an operation");
        match provider.name.as_str() {
            "digitalocean" => call_table::call_digitalocean(&self.digitalocean, id, args).await,
            "ionos" => call_table::call_ionos(&self.ionos, id, args).await,
            "humanitec" => call_table::call_humanitec(&self.humanitec, id, args).await,
            "buildkite" => call_table::call_buildkite(&self.buildkite, id, args).await,
            "abeja" => call_table::call_abeja(&self.abeja, id, args).await,
            other => panic!("no provider {other}"),
        }
    }
}

fn body_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("success_bodies");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Answers every request with `status` and `body` (JSON content type when
/// the body is JSON), until dropped.
async fn answer<'a>(server: &'a MockServer, status: u16, body: &str) -> httpmock::Mock<'a> {
    let body = body.to_owned();
    server
        .mock_async(move |_, then| {
            let then = then.status(status);
            let then = if serde_json::from_str::<Value>(&body).is_ok() {
                then.header("content-type", "application/json")
            } else {
                then
            };
            then.body(body);
        })
        .await
}

// ------------------------------------------------------------ the rules

#[tokio::test]
async fn every_delete_acknowledged_with_a_2xx_is_ok_whatever_its_body() {
    let server = MockServer::start_async().await;
    let clients = Clients::new(&server);
    let mut deletes = 0;
    for provider in providers() {
        for op in provider.callable().filter(|op| op.method == Method::Delete) {
            deletes += 1;
            for status in [200, 202, 204] {
                for body in ["", "{}", "<html>deleted</html>", r#"{"id": 7}"#] {
                    let mock = answer(&server, status, body).await;
                    let at = format!("{} {} {status} {body:?}", provider.name, op.id);
                    let out = clients
                        .call(&provider, op)
                        .await
                        .unwrap_or_else(|e| panic!("{at}: a deletion that worked failed: {e}"));
                    assert_eq!(out.status, status, "{at}");
                    mock.delete_async().await;
                }
            }
        }
    }
    // DigitalOcean 7, IONOS 3, Humanitec 1, Buildkite 3, ABEJA 1.
    assert_eq!(deletes, 15, "every DELETE of every spec");
}

#[tokio::test]
async fn a_delete_that_documents_a_body_returns_it_when_it_decodes_and_none_otherwise() {
    let server = MockServer::start_async().await;
    let repository = json!({"created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
        "creator": {"id": "9", "email": "a@example.com", "display_name": null, "role": "admin",
            "is_registered": true, "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z"},
        "description": null, "id": "2", "name": "app", "organization_id": "1"});
    let c = client!(regkit_abeja, server.base_url());
    for (status, body, id) in [
        (200, repository.to_string(), Some("2")),
        (200, String::new(), None),
        (204, String::new(), None),
        (200, "{}".into(), None),
        (202, "gone".into(), None),
    ] {
        let mock = answer(&server, status, &body).await;
        let deleted = c
            .delete_repository()
            .organization_id("1")
            .repository_id("2")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{status} {body:?}: {e}"));
        assert_eq!(deleted.status(), status);
        let got = deleted.into_inner();
        assert_eq!(got.as_ref().map(|r| r.id.as_str()), id, "{status} {body:?}");
        mock.delete_async().await;
    }
}

#[tokio::test]
async fn every_read_answered_with_an_empty_or_undecodable_body_is_invalid_response() {
    let server = MockServer::start_async().await;
    let clients = Clients::new(&server);
    let mut reads = 0;
    for provider in providers() {
        for op in provider.callable().filter(|op| op.method == Method::Get) {
            if provider.success_schema(op).is_none() {
                continue;
            }
            reads += 1;
            for body in ["", "  \n", "<html>maintenance</html>"] {
                let mock = answer(&server, 200, body).await;
                let at = format!("{} {} {body:?}", provider.name, op.id);
                match clients.call(&provider, op).await {
                    Err(CallError::Api(e)) => {
                        let message = e.to_string();
                        assert_eq!(e.status().map(|s| s.as_u16()), Some(200), "{at}: {message}");
                        assert!(
                            message.contains("does not match the documented type"),
                            "{at}: not InvalidResponse: {message}"
                        );
                    }
                    other => panic!("{at}: a read without an answer must fail: {other:?}"),
                }
                mock.delete_async().await;
            }
        }
    }
    assert!(reads >= 40, "every GET that returns a model ({reads})");
}

/// The typed error of a read keeps the status and the raw body, for one
/// read of each provider (the sweep above shows the class over all reads).
#[tokio::test]
async fn an_invalid_read_keeps_its_status_and_raw_body_in_every_provider() {
    fn check<E: std::fmt::Debug>(at: &str, body: &str, r: Result<impl std::fmt::Debug, Error<E>>) {
        match r {
            Err(Error::InvalidResponse(raw, _)) => {
                assert_eq!(raw.status(), 200, "{at}");
                assert_eq!(raw.body().as_ref(), body.as_bytes(), "{at}");
            }
            other => panic!("{at} {body:?}: expected InvalidResponse, got {other:?}"),
        }
    }
    let server = MockServer::start_async().await;
    let c = Clients::new(&server);
    for body in ["", "<html>maintenance</html>"] {
        let mock = answer(&server, 200, body).await;
        let r = c
            .digitalocean
            .registries_get()
            .registry_name("r")
            .send()
            .await;
        check("digitalocean", body, r);
        let r = c
            .ionos
            .registries_find_by_id()
            .registry_id(UUID)
            .send()
            .await;
        check("ionos", body, r);
        let r = c
            .humanitec
            .get_registry()
            .org_id("o")
            .reg_id("r")
            .send()
            .await;
        check("humanitec", body, r);
        let r = c
            .buildkite
            .get_registry()
            .org_slug("o")
            .registry_slug("r")
            .send()
            .await;
        check("buildkite", body, r);
        let r = c
            .abeja
            .get_repository()
            .organization_id("1")
            .repository_id("2")
            .send()
            .await;
        check("abeja", body, r);
        mock.delete_async().await;
    }
}

#[tokio::test]
async fn null_collections_decode_in_every_answer_at_every_depth() {
    let server = MockServer::start_async().await;
    let clients = Clients::new(&server);
    let mut answers = 0;
    let mut nulls = 0;
    for provider in providers() {
        for op in provider.callable() {
            let Some(schema) = provider.success_schema(op) else {
                continue;
            };
            answers += 1;
            for fill in [Fill::Nulls, Fill::Depth(1), Fill::Depth(2), Fill::Depth(3)] {
                let body = instance(&provider.doc, schema, fill, 0);
                nulls += body.to_string().matches("null").count();
                let mock = answer(&server, 200, &body.to_string()).await;
                let at = format!("{} {} {fill:?}: {body}", provider.name, op.id);
                clients
                    .call(&provider, op)
                    .await
                    .unwrap_or_else(|e| panic!("{at}: {e}"));
                mock.delete_async().await;
            }
        }
    }
    assert!(
        answers >= 60,
        "every operation that answers with a model ({answers})"
    );
    assert!(
        nulls > answers,
        "the answers carry null collections ({nulls})"
    );
}

/// The case that was reported: DigitalOcean's docker credentials with
/// `{"auths": null}`, how a Go server writes an empty map.
#[tokio::test]
async fn docker_credentials_with_null_auths_decode_as_empty() {
    let server = MockServer::start_async().await;
    let _mock = answer(&server, 200, r#"{"auths": null}"#).await;
    let c = client!(regkit_digitalocean, server.base_url());
    let creds = c
        .registry_get_docker_credentials()
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(creds.auths.is_empty());
}
