//! Loading a spec, shaping it for progenitor, and rejecting what progenitor
//! cannot digest with an error that names the file and the operation.

use std::path::Path;

use openapiv3::{OpenAPI, ReferenceOr, StatusCode};
use serde_yaml::Value;

/// A named string enum from `components.schemas`; codegen emits it as an
/// open enum (unknown values decode into `Unknown(String)`).
#[derive(Debug)]
pub struct OpenEnum {
    pub rust_name: String,
    pub description: Option<String>,
    pub values: Vec<String>,
}

/// A spec ready for progenitor, plus what codegen emits beside progenitor's output.
#[derive(Debug)]
pub struct PreparedSpec {
    pub openapi: OpenAPI,
    pub open_enums: Vec<OpenEnum>,
    /// Operations marked `x-regkit-handwritten`, left out of the generated
    /// client; codegen still builds their URLs.
    pub handwritten: Vec<Handwritten>,
    /// List operations and their `x-regkit-pagination` schemes.
    pub paginated: Vec<(String, crate::pagination::Pagination)>,
    /// Operations whose success body carries a secret (`format: password`).
    pub secret_responses: Vec<String>,
    /// Operations with a catch-all arm for unlisted statuses (those
    /// without a `default` response).
    pub catch_all_operations: usize,
    /// Non-nullable array and map (`additionalProperties`) properties of
    /// `components.schemas` objects: each is a `Vec` or map field of a
    /// generated type.
    pub component_collections: usize,
    /// `DELETE` operations whose success response documents a body: each
    /// returns `Option<T>` (codegen pass `optional_deleted`).
    pub deletes_with_body: usize,
    /// Path parameters summed over operations: each is one `encode_path`
    /// call in the client and one path matcher in the mock helpers.
    pub path_parameters: usize,
    /// Operations in the generated client.
    pub operations: usize,
}

const HANDWRITTEN: &str = "x-regkit-handwritten";

/// An operation the provider crate implements by hand.
#[derive(Debug)]
pub struct Handwritten {
    pub operation_id: String,
    /// The HTTP method, upper case.
    pub method: String,
    /// The path template, e.g. `/v2/orgs/{org_slug}/things`.
    pub path: String,
}

impl Handwritten {
    /// Path parameter names, in template order.
    pub fn path_params(&self) -> Vec<String> {
        self.path
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
            .collect()
    }
}
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

pub fn load(path: &Path, display: &str) -> Result<PreparedSpec, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{display}: cannot read: {e}"))?;
    let mut doc: Value =
        serde_yaml::from_str(&text).map_err(|e| format!("{display}: invalid YAML: {e}"))?;

    let handwritten = remove_handwritten(&mut doc);
    let secret_responses = collect_secret_responses(&doc);
    mark_clearable(&mut doc);
    mark_timestamps(&mut doc);
    mark_secrets(&mut doc);
    let open_enums = collect_open_enums(&doc);
    let component_collections = count_component_collections(&doc);
    let paginated = collect_pagination(&doc, display)?;

    let openapi: OpenAPI = serde_yaml::from_value(doc)
        .map_err(|e| format!("{display}: not an OpenAPI 3.0 document: {e}"))?;
    validate(&openapi, display)?;
    let catch_all_operations = openapi
        .paths
        .paths
        .values()
        .filter_map(ReferenceOr::as_item)
        .flat_map(|item| item.iter())
        .filter(|(_, op)| op.responses.default.is_none())
        .count();
    let (operations, path_parameters) = count_path_parameters(&openapi);
    let deletes_with_body = count_deletes_with_body(&openapi);
    Ok(PreparedSpec {
        path_parameters,
        operations,
        openapi,
        open_enums,
        handwritten,
        paginated,
        secret_responses,
        catch_all_operations,
        component_collections,
        deletes_with_body,
    })
}

const PAGINATION: &str = "x-regkit-pagination";

fn collect_pagination(
    doc: &Value,
    display: &str,
) -> Result<Vec<(String, crate::pagination::Pagination)>, String> {
    let mut found = Vec::new();
    let paths = doc.get("paths").and_then(Value::as_mapping);
    for (_, item) in paths.into_iter().flatten() {
        for (method, op) in item.as_mapping().into_iter().flatten() {
            let Some(scheme) = op.get(PAGINATION) else {
                continue;
            };
            let id = op.get("operationId").and_then(Value::as_str).unwrap_or("?");
            if method.as_str() != Some("get") {
                return Err(format!(
                    "{display}: {id}: {PAGINATION} on a non-GET operation"
                ));
            }
            let scheme = serde_yaml::from_value(scheme.clone())
                .map_err(|e| format!("{display}: {id}: invalid {PAGINATION}: {e}"))?;
            found.push((id.to_owned(), scheme));
        }
    }
    Ok(found)
}

/// Drops operations the provider crate implements by hand (e.g. multipart
/// uploads, which progenitor cannot express) and returns their ids.
fn remove_handwritten(doc: &mut Value) -> Vec<Handwritten> {
    let mut removed = Vec::new();
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_mapping_mut) else {
        return removed;
    };
    for (path, item) in paths.iter_mut() {
        let path = path.as_str().unwrap_or_default().to_owned();
        let Some(item) = item.as_mapping_mut() else {
            continue;
        };
        item.retain(|method, op| {
            let is_method = method.as_str().is_some_and(|m| METHODS.contains(&m));
            let handwritten = op.get(HANDWRITTEN).and_then(Value::as_bool) == Some(true);
            if is_method && handwritten {
                let id = op.get("operationId").and_then(Value::as_str).unwrap_or("?");
                removed.push(Handwritten {
                    operation_id: id.to_owned(),
                    method: method.as_str().unwrap_or_default().to_uppercase(),
                    path: path.clone(),
                });
            }
            !(is_method && handwritten)
        });
    }
    paths.retain(|_, item| {
        item.as_mapping().is_none_or(|m| {
            m.keys()
                .any(|k| k.as_str().is_some_and(|k| METHODS.contains(&k)))
        })
    });
    removed
}

const CLEARABLE: &str = "x-regkit-clearable";

/// A nullable property marked `x-regkit-clearable: true` (an update field
/// where `null` clears the value and leaving it out keeps it) becomes
/// `regkit_core::Nullable<T>`, so the generated `Option<Nullable<T>>` can
/// say both. The schema without its null branch is the type parameter.
fn mark_clearable(value: &mut Value) {
    match value {
        Value::Mapping(map) => {
            if map.remove(CLEARABLE).and_then(|v| v.as_bool()) == Some(true) {
                let description = map.remove("description");
                let mut inner = std::mem::take(map);
                inner.remove("nullable");
                // `oneOf: [X, {enum: [null]}]` spells nullable too.
                if let Some(Value::Sequence(branches)) = inner.get_mut("oneOf") {
                    branches.retain(|b| {
                        b.get("enum") != Some(&serde_yaml::from_str("[null]").expect("static YAML"))
                    });
                    if branches.len() == 1 {
                        let only = branches.remove(0);
                        inner.remove("oneOf");
                        if inner.is_empty() {
                            if let Value::Mapping(m) = only {
                                inner = m;
                            }
                        } else {
                            inner.insert("allOf".into(), Value::Sequence(vec![only]));
                        }
                    }
                }
                let mut ext: Value = serde_yaml::from_str(
                    "{crate: regkit-core, version: '*', path: 'regkit_core::Nullable'}",
                )
                .expect("static YAML");
                ext.as_mapping_mut().expect("mapping").insert(
                    "parameters".into(),
                    Value::Sequence(vec![Value::Mapping(inner)]),
                );
                if let Some(description) = description {
                    map.insert("description".into(), description);
                }
                map.insert("x-rust-type".into(), ext);
            }
            for (_, v) in map.iter_mut() {
                mark_clearable(v);
            }
        }
        Value::Sequence(seq) => seq.iter_mut().for_each(mark_clearable),
        _ => {}
    }
}

/// (operations, path parameters summed over operations), with parameters
/// declared on the path item counted for each of its operations.
fn count_path_parameters(spec: &OpenAPI) -> (usize, usize) {
    let resolve = |p: &ReferenceOr<openapiv3::Parameter>| -> Option<openapiv3::Parameter> {
        match p {
            ReferenceOr::Item(p) => Some(p.clone()),
            ReferenceOr::Reference { reference } => reference
                .strip_prefix("#/components/parameters/")
                .and_then(|name| spec.components.as_ref()?.parameters.get(name))
                .and_then(ReferenceOr::as_item)
                .cloned(),
        }
    };
    let mut operations = 0;
    let mut path_parameters = 0;
    for item in spec.paths.paths.values().filter_map(ReferenceOr::as_item) {
        for (_, op) in item.iter() {
            operations += 1;
            path_parameters += item
                .parameters
                .iter()
                .chain(&op.parameters)
                .filter_map(resolve)
                .filter(|p| matches!(p, openapiv3::Parameter::Path { .. }))
                .count();
        }
    }
    (operations, path_parameters)
}

fn count_component_collections(doc: &Value) -> usize {
    let schemas = doc
        .get("components")
        .and_then(|c| c.get("schemas"))
        .and_then(Value::as_mapping);
    schemas
        .into_iter()
        .flatten()
        .filter_map(|(_, schema)| schema.get("properties")?.as_mapping())
        .flatten()
        .filter(|(_, p)| {
            let array = p.get("type").and_then(Value::as_str) == Some("array");
            let map = p.get("type").and_then(Value::as_str) == Some("object")
                && p.get("properties").is_none()
                && p.get("additionalProperties")
                    .is_some_and(|a| a.as_bool() != Some(false));
            (array || map) && p.get("nullable").and_then(Value::as_bool) != Some(true)
        })
        .count()
}

/// `DELETE` operations with a success status whose response has content.
fn count_deletes_with_body(spec: &OpenAPI) -> usize {
    spec.paths
        .paths
        .values()
        .filter_map(ReferenceOr::as_item)
        .filter_map(|item| item.delete.as_ref())
        .filter(|op| {
            op.responses.responses.iter().any(|(code, response)| {
                let success = match code {
                    StatusCode::Code(c) => (200..300).contains(c),
                    StatusCode::Range(r) => *r == 2,
                };
                success && success_body(spec, response) != "[]"
            })
        })
        .count()
}

/// Operations whose success response reaches a `format: password` schema,
/// following `$ref`s into `components`.
fn collect_secret_responses(doc: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let paths = doc.get("paths").and_then(Value::as_mapping);
    for (_, item) in paths.into_iter().flatten() {
        for (method, op) in item.as_mapping().into_iter().flatten() {
            if !method.as_str().is_some_and(|m| METHODS.contains(&m)) {
                continue;
            }
            let responses = op.get("responses").and_then(Value::as_mapping);
            let secret = responses.into_iter().flatten().any(|(code, response)| {
                let code = match code {
                    Value::Number(n) => n.to_string(),
                    other => other.as_str().unwrap_or_default().to_owned(),
                };
                code.starts_with('2')
                    && carries_secret(doc, response, &mut std::collections::HashSet::new())
            });
            if secret {
                let id = op.get("operationId").and_then(Value::as_str).unwrap_or("?");
                found.push(id.to_owned());
            }
        }
    }
    found.sort();
    found
}

fn carries_secret<'a>(
    doc: &'a Value,
    value: &'a Value,
    seen: &mut std::collections::HashSet<&'a str>,
) -> bool {
    match value {
        Value::Mapping(map) => {
            if map.get("format").and_then(Value::as_str) == Some("password") {
                return true;
            }
            if let Some(target) = map.get("$ref").and_then(Value::as_str) {
                if !seen.insert(target) {
                    return false;
                }
                let resolved = target
                    .strip_prefix("#/")
                    .map(|p| p.split('/').try_fold(doc, |v, k| v.get(k)));
                return matches!(resolved, Some(Some(v)) if carries_secret(doc, v, seen));
            }
            map.iter()
                .any(|(k, v)| k.as_str() != Some("example") && carries_secret(doc, v, seen))
        }
        Value::Sequence(seq) => seq.iter().any(|v| carries_secret(doc, v, seen)),
        _ => false,
    }
}

/// A `format: date-time` whose `pattern` allows at most milliseconds
/// (`\.[0-9]{3}`) becomes `regkit_core::TimestampMillis`: a chrono time
/// that serialises with exactly that precision, so `Utc::now()` (which has
/// nanoseconds) is sent in a form the provider accepts.
fn mark_timestamps(value: &mut Value) {
    match value {
        Value::Mapping(map) => {
            let millis = map.get("format").and_then(Value::as_str) == Some("date-time")
                && map
                    .get("pattern")
                    .and_then(Value::as_str)
                    .is_some_and(|p| p.contains(r"\.[0-9]{3}") || p.contains(r"\.\d{3}"));
            if millis {
                let ext: Value = serde_yaml::from_str(
                    "{crate: regkit-core, version: '*', path: 'regkit_core::TimestampMillis'}",
                )
                .expect("static YAML");
                map.insert("x-rust-type".into(), ext);
            }
            for (_, v) in map.iter_mut() {
                mark_timestamps(v);
            }
        }
        Value::Sequence(seq) => seq.iter_mut().for_each(mark_timestamps),
        _ => {}
    }
}

/// `type: string, format: password` becomes `regkit_core::SecretString`
/// through typify's `x-rust-type` extension, wherever the schema appears.
fn mark_secrets(value: &mut Value) {
    match value {
        Value::Mapping(map) => {
            let is_secret = map.get("type").and_then(Value::as_str) == Some("string")
                && map.get("format").and_then(Value::as_str) == Some("password");
            if is_secret {
                let ext: Value = serde_yaml::from_str(
                    "{crate: regkit-core, version: '*', path: 'regkit_core::SecretString'}",
                )
                .expect("static YAML");
                map.insert("x-rust-type".into(), ext);
            }
            for (_, v) in map.iter_mut() {
                mark_secrets(v);
            }
        }
        Value::Sequence(seq) => seq.iter_mut().for_each(mark_secrets),
        _ => {}
    }
}

fn collect_open_enums(doc: &Value) -> Vec<OpenEnum> {
    let Some(schemas) = doc
        .get("components")
        .and_then(|c| c.get("schemas"))
        .and_then(Value::as_mapping)
    else {
        return Vec::new();
    };
    schemas
        .iter()
        .filter_map(|(name, schema)| {
            let is_string = schema.get("type").and_then(Value::as_str) == Some("string");
            let values = schema.get("enum")?.as_sequence()?;
            let values: Option<Vec<String>> = values
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect();
            Some(OpenEnum {
                rust_name: crate::naming::pascal(name.as_str()?),
                description: schema
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                values: values.filter(|_| is_string)?,
            })
        })
        .collect()
}

/// A success response's body, as text to compare: its media types and
/// schemas (a `$ref`'d response resolved first).
fn success_body(spec: &OpenAPI, response: &ReferenceOr<openapiv3::Response>) -> String {
    let response = match response {
        ReferenceOr::Item(r) => Some(r),
        ReferenceOr::Reference { reference } => reference
            .strip_prefix("#/components/responses/")
            .and_then(|name| spec.components.as_ref()?.responses.get(name))
            .and_then(ReferenceOr::as_item),
    };
    let content: Vec<_> = response
        .map(|r| {
            r.content
                .iter()
                .map(|(media, m)| {
                    (
                        media.clone(),
                        serde_json::to_string(&m.schema).unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    format!("{content:?}")
}

/// Checks for what progenitor rejects or panics on, so the user gets the
/// file and operation instead of a backtrace.
fn validate(spec: &OpenAPI, display: &str) -> Result<(), String> {
    let mut problems = Vec::new();
    for (path, item) in &spec.paths.paths {
        let ReferenceOr::Item(item) = item else {
            problems.push(format!("{path}: path items must not be $refs"));
            continue;
        };
        for (method, op) in item.iter() {
            let at = format!("{} {path}", method.to_uppercase());
            let Some(id) = op.operation_id.as_deref() else {
                problems.push(format!("{at}: has no operationId"));
                continue;
            };
            let at = format!("{at} ({id})");
            let successes: Vec<_> = op
                .responses
                .responses
                .iter()
                .filter(|(code, _)| match code {
                    StatusCode::Code(c) => (200..300).contains(c),
                    StatusCode::Range(r) => *r == 2,
                })
                .collect();
            if op.responses.default.is_some() && !successes.is_empty() {
                problems.push(format!(
                    "{at}: has a `default` response beside its success response; \
                     progenitor would treat both as success types. Use `4XX`/`5XX`."
                ));
            }
            // Several documented success statuses are fine when they share
            // one body (all bodiless, or the same schema): the operation
            // still has one success type.
            let bodies: std::collections::BTreeSet<String> = successes
                .iter()
                .map(|(_, r)| success_body(spec, r))
                .collect();
            if bodies.len() > 1 {
                let codes: Vec<_> = successes.iter().map(|(c, _)| c.to_string()).collect();
                problems.push(format!(
                    "{at}: its success responses ({}) have different bodies; \
                     progenitor needs one success type",
                    codes.join(", ")
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{display}: progenitor cannot handle this spec:\n  - {}",
            problems.join("\n  - ")
        ))
    }
}

/// Secret-bearing operations as the generated code names them in
/// `OperationInfo` (progenitor snake-cases the spec's `operationId`).
pub(crate) fn secret_operation_ids(spec: &PreparedSpec) -> Vec<String> {
    let mut ids: Vec<String> = spec
        .secret_responses
        .iter()
        .map(|id| crate::naming::snake(id))
        .collect();
    ids.sort();
    ids
}
