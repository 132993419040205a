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
    /// Operations marked `x-regkit-handwritten`, left out of the generated client.
    pub handwritten: Vec<String>,
    /// List operations and their `x-regkit-pagination` schemes.
    pub paginated: Vec<(String, crate::pagination::Pagination)>,
}

const HANDWRITTEN: &str = "x-regkit-handwritten";
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

pub fn load(path: &Path, display: &str) -> Result<PreparedSpec, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{display}: cannot read: {e}"))?;
    let mut doc: Value =
        serde_yaml::from_str(&text).map_err(|e| format!("{display}: invalid YAML: {e}"))?;

    let handwritten = remove_handwritten(&mut doc);
    mark_clearable(&mut doc);
    mark_secrets(&mut doc);
    let open_enums = collect_open_enums(&doc);
    let paginated = collect_pagination(&doc, display)?;

    let openapi: OpenAPI = serde_yaml::from_value(doc)
        .map_err(|e| format!("{display}: not an OpenAPI 3.0 document: {e}"))?;
    validate(&openapi, display)?;
    Ok(PreparedSpec {
        openapi,
        open_enums,
        handwritten,
        paginated,
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

/// Method and parameter names as progenitor spells them.
pub fn snake(name: &str) -> String {
    use heck::ToSnakeCase;
    name.to_snake_case()
}

/// Drops operations the provider crate implements by hand (e.g. multipart
/// uploads, which progenitor cannot express) and returns their ids.
fn remove_handwritten(doc: &mut Value) -> Vec<String> {
    let mut removed = Vec::new();
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_mapping_mut) else {
        return removed;
    };
    for (_, item) in paths.iter_mut() {
        let Some(item) = item.as_mapping_mut() else {
            continue;
        };
        item.retain(|method, op| {
            let is_method = method.as_str().is_some_and(|m| METHODS.contains(&m));
            let handwritten = op.get(HANDWRITTEN).and_then(Value::as_bool) == Some(true);
            if is_method && handwritten {
                let id = op.get("operationId").and_then(Value::as_str).unwrap_or("?");
                removed.push(id.to_owned());
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
                rust_name: pascal(name.as_str()?),
                description: schema
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                values: values.filter(|_| is_string)?,
            })
        })
        .collect()
}

pub fn pascal(name: &str) -> String {
    use heck::ToUpperCamelCase;
    name.to_upper_camel_case()
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
            if successes.len() > 1 {
                let codes: Vec<_> = successes.iter().map(|(c, _)| c.to_string()).collect();
                problems.push(format!(
                    "{at}: has several success responses ({}); keep the one the API documents",
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
