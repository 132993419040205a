//! `regkit <provider> call <operation>`: every operation of every spec,
//! reachable from the command line, generated into
//! `crates/cli/src/generated_calls/<provider>.rs` (one file per provider)
//! and the index `crates/cli/src/generated_calls/mod.rs`.
//!
//! Everything is read from the spec: names, locations and types of
//! parameters, summaries, request bodies and the JSON pointers of the
//! secret (`format: password`) values of each success body. A parameter's
//! Rust type follows typify's rules for the schemas the specs use
//! ([`ParamType::from_schema`]); a schema outside them is an error naming
//! the operation and the parameter, never a guess. The setters of the
//! generated client take any `TryInto` of their type, so a drift would
//! compile: the test `spec_types_are_the_builders_types` compares every
//! parameter and body type with the builders' fields instead.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use openapiv3::{OpenAPI, Parameter, ReferenceOr};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;

use crate::manifest::Provider;
use crate::spec::PreparedSpec;

/// Where the generated files go, relative to the workspace root.
pub const OUTPUT_DIR: &str = "crates/cli/src/generated_calls";

/// Flags `call` adds itself; no parameter may take them.
const RESERVED_FLAGS: [&str; 4] = ["body", "show-secrets", "help", "output"];

/// A parameter's type, as the CLI parses it (`call::ParamType`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ParamType {
    String,
    Boolean,
    I32,
    I64,
    U64,
    NonZeroU64,
}

impl ParamType {
    /// The Rust type typify gives a parameter's schema (the subset of its
    /// rules the specs use): `string` is `String`, `boolean` is `bool`; an
    /// `integer` with `format: int32` is `i32` (`NonZeroU32` with
    /// `minimum: 1`, which no spec has), one without a format is
    /// `NonZeroU64` with `minimum: 1`, `u64` with `minimum: 0` and `i64`
    /// otherwise.
    fn from_schema(schema: &Value) -> Result<Self, String> {
        let ty = schema.get("type").and_then(Value::as_str);
        let format = schema.get("format").and_then(Value::as_str);
        if schema.get("enum").is_some() {
            return Err("an enum parameter (xtask/src/cli.rs maps no enum type)".into());
        }
        let minimum = schema.get("minimum").and_then(Value::as_f64);
        let exclusive = schema.get("exclusiveMinimum").is_some_and(|v| v != false);
        match (ty, format) {
            (Some("string"), None) => Ok(Self::String),
            (Some("boolean"), None) => Ok(Self::Boolean),
            (Some("integer"), _) if exclusive => {
                Err("an integer with exclusiveMinimum (typify's type is not mapped here)".into())
            }
            (Some("integer"), Some("int32")) if minimum != Some(1.0) => Ok(Self::I32),
            (Some("integer"), None) => Ok(match minimum {
                Some(1.0) => Self::NonZeroU64,
                Some(0.0) => Self::U64,
                None => Self::I64,
                Some(m) => {
                    return Err(format!(
                        "an integer with minimum {m} (typify's type is not mapped here)"
                    ));
                }
            }),
            (ty, format) => Err(format!(
                "a parameter of type {} format {} (xtask/src/cli.rs maps no such type)",
                ty.unwrap_or("none"),
                format.unwrap_or("none")
            )),
        }
    }

    /// `call::ParamType::…`
    fn variant(self) -> TokenStream {
        match self {
            Self::String => quote!(ParamType::String),
            Self::Boolean => quote!(ParamType::Boolean),
            Self::I32 => quote!(ParamType::I32),
            Self::I64 => quote!(ParamType::I64),
            Self::U64 => quote!(ParamType::U64),
            Self::NonZeroU64 => quote!(ParamType::NonZeroU64),
        }
    }

    /// The type the value parser of `call::ParamType` yields.
    fn rust(self) -> TokenStream {
        match self {
            Self::String => quote!(::std::string::String),
            Self::Boolean => quote!(bool),
            Self::I32 => quote!(i32),
            Self::I64 => quote!(i64),
            Self::U64 => quote!(u64),
            Self::NonZeroU64 => quote!(::std::num::NonZeroU64),
        }
    }
}

struct Param {
    name: String,
    flag: String,
    setter: syn::Ident,
    required: bool,
    location: syn::Ident,
    ty: ParamType,
}

struct Body {
    required: bool,
    /// The schema's name in the spec (for `--help`).
    schema: String,
    /// `regkit_<p>::types::<Name>`.
    rust_ty: TokenStream,
}

struct Op {
    id: String,
    method: syn::Ident,
    path: String,
    summary: String,
    params: Vec<Param>,
    body: Option<Body>,
    /// JSON pointers (with `*` for any key or index) of secret values in
    /// the success body.
    secrets: Vec<String>,
    handwritten: bool,
}

/// The generated `call` files: one per provider, from its spec alone, and
/// the index. `(path relative to the workspace root, contents)`.
pub fn generate(root: &Path, providers: &[&Provider]) -> Result<Vec<(PathBuf, String)>, String> {
    let mut files = Vec::new();
    let mut modules = Vec::new();
    for provider in providers {
        let display = provider.spec.display().to_string();
        let spec = crate::spec::load(&root.join(&provider.spec), &display)?;
        let ops = operations(root, provider, &spec).map_err(|e| format!("{display}: {e}"))?;
        let code = emit_provider(provider, &ops)?;
        let header = header(
            &display,
            &format!(
                "`regkit {} call <operation>`: one table entry and one match arm per\n\
                 //! operation of {display} (see `crate::call`).",
                provider.name
            ),
        );
        files.push((
            Path::new(OUTPUT_DIR).join(format!("{}.rs", provider.name)),
            format!("{header}{code}"),
        ));
        modules.push(*provider);
    }
    let index = emit_index(&modules)?;
    let specs: Vec<String> = providers
        .iter()
        .map(|p| p.spec.display().to_string())
        .collect();
    let header = header(
        &specs.join(", "),
        "The `call` tables of every provider, one module each (see `crate::call`).",
    );
    files.push((
        Path::new(OUTPUT_DIR).join("mod.rs"),
        format!("{header}{index}"),
    ));
    Ok(files)
}

fn header(from: &str, doc: &str) -> String {
    format!(
        "// @generated by `cargo xtask codegen` from {from}. DO NOT EDIT.\n\
         // Change the specs or xtask/src/cli.rs instead;\n\
         // `cargo xtask codegen --check` fails when this file is stale.\n\
         //! {doc}\n\
         #![allow(clippy::all, unused_imports, unused_mut, unreachable_patterns)]\n\n"
    )
}

/// Formats `tokens` with prettyplease, each item skipped by rustfmt (as
/// the other generated files: `cargo fmt --check` must accept them).
fn format_items(tokens: TokenStream) -> Result<String, String> {
    let mut file: syn::File =
        syn::parse2(tokens).map_err(|e| format!("generated call code does not parse: {e}"))?;
    for item in &mut file.items {
        let attrs = match item {
            syn::Item::Use(i) => &mut i.attrs,
            syn::Item::Static(i) => &mut i.attrs,
            syn::Item::Fn(i) => &mut i.attrs,
            syn::Item::Mod(i) => &mut i.attrs,
            _ => continue,
        };
        attrs.push(syn::parse_quote!(#[rustfmt::skip]));
    }
    Ok(prettyplease::unparse(&file))
}

fn operations(root: &Path, provider: &Provider, spec: &PreparedSpec) -> Result<Vec<Op>, String> {
    let openapi = &spec.openapi;
    let doc = serde_json::to_value(openapi).map_err(|e| e.to_string())?;
    let krate = format_ident!("regkit_{}", provider.name);
    let mut ops = Vec::new();
    for (path, item) in &openapi.paths.paths {
        let Some(item) = item.as_item() else { continue };
        for (method, op) in item.iter() {
            let id = op
                .operation_id
                .clone()
                .ok_or_else(|| format!("{method} {path}: no operationId"))?;
            let at = |what: String| format!("operation {id}: {what}");
            let mut params = Vec::new();
            for p in spec_params(openapi, &item.parameters, &op.parameters) {
                params.push(param(&doc, &p).map_err(at)?);
            }
            let body = match request_body(openapi, op) {
                None => None,
                Some((required, schema)) => {
                    let schema = schema.ok_or_else(|| {
                        at("the request body is not a `$ref` to a named schema".into())
                    })?;
                    let name = format_ident!("{}", crate::naming::pascal(&schema));
                    Some(Body {
                        required,
                        schema,
                        rust_ty: quote!(#krate::types::#name),
                    })
                }
            };
            let mut secrets = Vec::new();
            for schema in success_schemas(&doc, op) {
                secret_pointers(&doc, &schema, String::new(), &mut secrets, &mut Vec::new())
                    .map_err(at)?;
            }
            secrets.sort();
            secrets.dedup();
            let listed_secret = spec.secret_responses.contains(&id);
            if listed_secret == secrets.is_empty() {
                return Err(at(format!(
                    "spec.rs {} a secret in the success body, the schema walk found {}",
                    if listed_secret { "finds" } else { "finds no" },
                    if secrets.is_empty() { "none" } else { "one" }
                )));
            }
            check_flags(&params).map_err(at)?;
            ops.push(Op {
                summary: summary(op),
                method: method_ident(method).map_err(at)?,
                id,
                path: path.clone(),
                params,
                body,
                secrets,
                handwritten: false,
            });
        }
    }
    // Hand-written operations are listed (with their spec parameters) so
    // `call` names them, but are not callable generically.
    let raw: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(root.join(&provider.spec)).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    for h in &spec.handwritten {
        let at = |what: String| format!("operation {}: {what}", h.operation_id);
        let item = raw
            .get("paths")
            .and_then(|p| p.get(h.path.as_str()))
            .ok_or_else(|| at(format!("no path `{}` in the spec", h.path)))?;
        let op: openapiv3::Operation = item
            .get(h.method.to_lowercase().as_str())
            .and_then(|v| serde_yaml::from_value(v.clone()).ok())
            .ok_or_else(|| at(format!("no readable {} operation", h.method)))?;
        let item_params: Vec<ReferenceOr<Parameter>> = item
            .get("parameters")
            .map(|v| serde_yaml::from_value(v.clone()).map_err(|e| at(e.to_string())))
            .transpose()?
            .unwrap_or_default();
        let params = spec_params(openapi, &item_params, &op.parameters)
            .iter()
            .map(|p| param(&doc, p).map_err(at))
            .collect::<Result<Vec<_>, _>>()?;
        check_flags(&params).map_err(at)?;
        ops.push(Op {
            id: h.operation_id.clone(),
            method: method_ident(&h.method).map_err(at)?,
            path: h.path.clone(),
            summary: summary(&op),
            params,
            body: None,
            secrets: Vec::new(),
            handwritten: true,
        });
    }
    ops.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(ops)
}

fn method_ident(method: &str) -> Result<syn::Ident, String> {
    let variant = match method.to_ascii_lowercase().as_str() {
        "get" => "Get",
        "put" => "Put",
        "post" => "Post",
        "delete" => "Delete",
        "patch" => "Patch",
        "head" => "Head",
        "options" => "Options",
        "trace" => "Trace",
        other => return Err(format!("unknown HTTP method `{other}`")),
    };
    Ok(format_ident!("{variant}"))
}

fn param(doc: &Value, p: &Parameter) -> Result<Param, String> {
    let (location, data) = match p {
        Parameter::Path { parameter_data, .. } => ("Path", parameter_data),
        Parameter::Query { parameter_data, .. } => ("Query", parameter_data),
        Parameter::Header { parameter_data, .. } => ("Header", parameter_data),
        Parameter::Cookie { parameter_data, .. } => {
            return Err(format!(
                "cookie parameter `{}`: the client sends no cookies",
                parameter_data.name
            ));
        }
    };
    let openapiv3::ParameterSchemaOrContent::Schema(schema) = &data.format else {
        return Err(format!(
            "parameter `{}` has content, not a schema",
            data.name
        ));
    };
    let schema = serde_json::to_value(schema).map_err(|e| e.to_string())?;
    let schema = resolve(doc, &schema, 0)
        .ok_or_else(|| format!("parameter `{}`: unresolvable `$ref`", data.name))?;
    let ty =
        ParamType::from_schema(schema).map_err(|e| format!("parameter `{}`: {e}", data.name))?;
    Ok(Param {
        flag: kebab(&data.name),
        setter: format_ident!("{}", crate::naming::snake(&data.name)),
        // Path parameters are required whatever the spec says (OpenAPI
        // requires `required: true` on them).
        required: data.required || location == "Path",
        location: format_ident!("{location}"),
        ty,
        name: data.name.clone(),
    })
}

/// `schema` with `$ref`s followed (up to a depth).
fn resolve<'a>(doc: &'a Value, schema: &'a Value, depth: usize) -> Option<&'a Value> {
    match schema.get("$ref").and_then(Value::as_str) {
        None => Some(schema),
        Some(_) if depth > 8 => None,
        Some(reference) => {
            let target = doc.pointer(reference.strip_prefix('#')?)?;
            resolve(doc, target, depth + 1)
        }
    }
}

fn check_flags(params: &[Param]) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    for p in params {
        if RESERVED_FLAGS.contains(&p.flag.as_str()) {
            return Err(format!(
                "parameter `{}` would take the reserved flag --{}",
                p.name, p.flag
            ));
        }
        if !seen.insert(p.flag.as_str()) {
            return Err(format!("two parameters would take the flag --{}", p.flag));
        }
    }
    Ok(())
}

fn kebab(name: &str) -> String {
    use heck::ToKebabCase;
    name.to_kebab_case()
}

fn summary(op: &openapiv3::Operation) -> String {
    op.summary
        .clone()
        .or_else(|| {
            op.description
                .as_ref()
                .and_then(|d| d.lines().next().map(str::to_owned))
        })
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// Path-item parameters, then the operation's (which override a path-item
/// one of the same name and location), `$ref`s resolved.
fn spec_params(
    spec: &OpenAPI,
    item: &[ReferenceOr<Parameter>],
    op: &[ReferenceOr<Parameter>],
) -> Vec<Parameter> {
    let resolve = |p: &ReferenceOr<Parameter>| -> Option<Parameter> {
        match p {
            ReferenceOr::Item(p) => Some(p.clone()),
            ReferenceOr::Reference { reference } => reference
                .strip_prefix("#/components/parameters/")
                .and_then(|name| spec.components.as_ref()?.parameters.get(name))
                .and_then(ReferenceOr::as_item)
                .cloned(),
        }
    };
    let place = |p: &Parameter| std::mem::discriminant(p);
    let own: Vec<Parameter> = op.iter().filter_map(resolve).collect();
    let mut all: Vec<Parameter> = item
        .iter()
        .filter_map(resolve)
        .filter(|p| {
            !own.iter().any(|o| {
                o.parameter_data_ref().name == p.parameter_data_ref().name && place(o) == place(p)
            })
        })
        .collect();
    all.extend(own);
    all
}

/// `(required, schema name)` of a request body; the name is `None` for an
/// inline schema.
fn request_body(spec: &OpenAPI, op: &openapiv3::Operation) -> Option<(bool, Option<String>)> {
    let body = match op.request_body.as_ref()? {
        ReferenceOr::Item(b) => b.clone(),
        ReferenceOr::Reference { reference } => reference
            .strip_prefix("#/components/requestBodies/")
            .and_then(|name| spec.components.as_ref()?.request_bodies.get(name))
            .and_then(ReferenceOr::as_item)?
            .clone(),
    };
    let name = body
        .content
        .values()
        .next()
        .and_then(|m| m.schema.as_ref())
        .and_then(|s| match s {
            ReferenceOr::Reference { reference } => {
                Some(reference.rsplit('/').next().unwrap_or(reference).to_owned())
            }
            ReferenceOr::Item(_) => None,
        });
    Some((body.required, name))
}

/// The JSON schemas of an operation's 2xx responses.
fn success_schemas(doc: &Value, op: &openapiv3::Operation) -> Vec<Value> {
    op.responses
        .responses
        .iter()
        .filter(|(code, _)| match code {
            openapiv3::StatusCode::Code(c) => (200..300).contains(c),
            openapiv3::StatusCode::Range(r) => *r == 2,
        })
        .filter_map(|(_, r)| serde_json::to_value(r).ok())
        .filter_map(|r| resolve(doc, &r, 0).cloned())
        .flat_map(|r| {
            r.get("content")
                .and_then(Value::as_object)
                .into_iter()
                .flat_map(|c| c.values())
                .filter_map(|m| m.get("schema").cloned())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// JSON pointers of the `format: password` values inside `schema` (`*`
/// for any key of a map or index of a list), following `$ref`s, object
/// properties, `additionalProperties`, `items` and `allOf`.
fn secret_pointers(
    doc: &Value,
    schema: &Value,
    at: String,
    out: &mut Vec<String>,
    seen: &mut Vec<String>,
) -> Result<(), String> {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        if seen.iter().any(|s| s == reference) {
            return Ok(());
        }
        let target = reference
            .strip_prefix('#')
            .and_then(|p| doc.pointer(p))
            .ok_or_else(|| format!("unresolvable `$ref` {reference}"))?;
        seen.push(reference.to_owned());
        let found = secret_pointers(doc, target, at, out, seen);
        seen.pop();
        return found;
    }
    if schema.get("format").and_then(Value::as_str) == Some("password") {
        out.push(at);
        return Ok(());
    }
    for key in ["oneOf", "anyOf"] {
        for variant in schema
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let mut inner = Vec::new();
            secret_pointers(doc, variant, at.clone(), &mut inner, seen)?;
            if !inner.is_empty() {
                return Err(format!(
                    "a `{key}` at `{at}` holds a secret; xtask/src/cli.rs cannot locate it to redact"
                ));
            }
        }
    }
    for part in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        secret_pointers(doc, part, at.clone(), out, seen)?;
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (name, prop) in props {
            let key = name.replace('~', "~0").replace('/', "~1");
            secret_pointers(doc, prop, format!("{at}/{key}"), out, seen)?;
        }
    }
    if let Some(extra) = schema.get("additionalProperties").filter(|v| v.is_object()) {
        secret_pointers(doc, extra, format!("{at}/*"), out, seen)?;
    }
    if let Some(items) = schema.get("items") {
        secret_pointers(doc, items, format!("{at}/*"), out, seen)?;
    }
    Ok(())
}

/// A provider's file: its `OPERATIONS` table and its `call` dispatcher.
fn emit_provider(provider: &Provider, ops: &[Op]) -> Result<String, String> {
    let krate = format_ident!("regkit_{}", provider.name);
    let entries = ops.iter().map(|op| {
        let Op {
            id,
            method,
            path,
            summary,
            handwritten,
            ..
        } = op;
        let params = op.params.iter().map(|p| {
            let (name, flag, required, location) = (&p.name, &p.flag, p.required, &p.location);
            let ty = p.ty.variant();
            quote! {
                Param {
                    name: #name,
                    flag: #flag,
                    required: #required,
                    location: Location::#location,
                    ty: #ty,
                }
            }
        });
        let body = match &op.body {
            Some(b) => {
                let (schema, required) = (&b.schema, b.required);
                quote! { Some(BodySpec { ty: #schema, required: #required }) }
            }
            None => quote! { None },
        };
        let secrets = &op.secrets;
        quote! {
            Operation {
                id: #id,
                method: Method::#method,
                path: #path,
                summary: #summary,
                params: &[#(#params),*],
                body: #body,
                secrets: &[#(#secrets),*],
                handwritten: #handwritten,
            }
        }
    });
    let doc = format!(
        "Every operation of `{}` ({}), sorted by `operationId`.",
        provider.spec.display(),
        provider.display_name
    );

    let arms = ops.iter().filter(|op| !op.handwritten).map(|op| {
        let id = &op.id;
        let method = format_ident!("{}", crate::naming::snake(id));
        let params = op.params.iter().map(|p| {
            let (name, setter) = (&p.name, &p.setter);
            let ty = p.ty.rust();
            quote! {
                if let Some(value) = args.get_one::<#ty>(#name) {
                    request = request.#setter(value.clone());
                }
            }
        });
        let body = op.body.as_ref().map(|b| {
            let ty = &b.rust_ty;
            quote! {
                if let Some(body) = call::read_body::<#ty>(args)? {
                    request = request.body(body);
                }
            }
        });
        quote! {
            #id => {
                let mut request = client.#method();
                #(#params)*
                #body
                let response = request.send().await.map_err(call::api_error)?;
                call::output(operation, args, response.status().as_u16(), response.into_inner())
            }
        }
    });
    let provider_name = &provider.name;
    let call_doc = format!(
        "Runs the {} operation `operation` with the arguments of its `call` subcommand \
         (as parsed by `call::command(\"{}\", OPERATIONS)`): each value already \
         parsed by its flag's value parser.",
        provider.display_name, provider.name
    );
    format_items(quote! {
        use crate::call::{self, BodySpec, CallError, CallOutput, Location, Method, Operation, Param, ParamType};

        #[doc = #doc]
        pub static OPERATIONS: &[Operation] = &[#(#entries),*];

        #[doc = #call_doc]
        pub async fn call(
            client: &#krate::Client,
            operation: &str,
            args: &clap::ArgMatches,
        ) -> Result<CallOutput, CallError> {
            let operation = call::find(OPERATIONS, operation)?;
            match operation.id {
                #(#arms)*
                _ => Err(call::unavailable(#provider_name, operation)),
            }
        }
    })
}

/// `mod.rs`: a module per provider, `PROVIDERS`, and each provider's table
/// and dispatcher under the names `crate::call` re-exports.
fn emit_index(providers: &[&Provider]) -> Result<String, String> {
    let modules: Vec<syn::Ident> = providers
        .iter()
        .map(|p| format_ident!("{}", p.name))
        .collect();
    let names: Vec<&str> = providers.iter().map(|p| p.name.as_str()).collect();
    let tables: Vec<syn::Ident> = providers
        .iter()
        .map(|p| format_ident!("{}", p.name.to_uppercase()))
        .collect();
    let calls: Vec<syn::Ident> = providers
        .iter()
        .map(|p| format_ident!("call_{}", p.name))
        .collect();
    let mod_docs = providers
        .iter()
        .map(|p| format!("{}: `{}`.", p.display_name, p.spec.display()));
    format_items(quote! {
        use crate::call::Operation;

        #(
            #[doc = #mod_docs]
            pub mod #modules;
        )*

        #(pub use #modules::{OPERATIONS as #tables, call as #calls};)*

        /// Every provider's operations, by provider name.
        pub static PROVIDERS: &[(&str, &[Operation])] = &[#((#names, #modules::OPERATIONS)),*];
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::{client_method_builder, generic_args, last_ident, module};

    /// The types read from the spec are the ones the generated clients'
    /// builders take (a setter accepts any `TryInto` its type, so a drift
    /// could compile and fail only when sent): every parameter's Rust type,
    /// every body's type, and no builder field left without a flag.
    #[test]
    fn spec_types_are_the_builders_types() {
        let root = crate::workspace_root();
        let manifest = crate::Manifest::load(&root).unwrap();
        let mut checked = 0;
        for provider in &manifest.providers {
            let display = provider.spec.display().to_string();
            let spec = crate::spec::load(&root.join(&provider.spec), &display).unwrap();
            let ops = operations(&root, provider, &spec).unwrap();
            let source =
                std::fs::read_to_string(root.join(&provider.crate_dir).join("src/generated.rs"))
                    .unwrap();
            let client = syn::parse_file(&source).unwrap();
            let builders = module(&client, "builder").unwrap();
            for op in ops.iter().filter(|op| !op.handwritten) {
                let at = format!("{} {}", provider.name, op.id);
                let name = client_method_builder(&client, &crate::naming::snake(&op.id))
                    .unwrap_or_else(|| panic!("{at}: no client method"));
                let fields: Vec<(String, syn::Type)> = builders
                    .iter()
                    .find_map(|item| match item {
                        syn::Item::Struct(s) if s.ident == name => Some(
                            s.fields
                                .iter()
                                .filter_map(|f| {
                                    let ident = f.ident.as_ref()?.to_string();
                                    let ident = ident.trim_start_matches("r#").to_owned();
                                    (ident != "client").then(|| (ident, f.ty.clone()))
                                })
                                .collect(),
                        ),
                        _ => None,
                    })
                    .unwrap_or_else(|| panic!("{at}: no builder struct {name}"));
                // `Result<Option<T>, String>` (optional) or `Result<T, String>`.
                let inner = |ty: &syn::Type| {
                    let first = generic_args(ty).and_then(|a| a.first().cloned()).unwrap();
                    if last_ident(&first) == "Option" {
                        generic_args(&first)
                            .and_then(|a| a.first().cloned())
                            .unwrap()
                    } else {
                        first
                    }
                };
                let text = |t: TokenStream| t.to_string().replace(' ', "");
                for p in &op.params {
                    let (_, ty) = fields
                        .iter()
                        .find(|(n, _)| p.setter == n.as_str())
                        .unwrap_or_else(|| panic!("{at}: no builder field for {}", p.name));
                    let theirs = text(quote!(#ty));
                    let theirs_inner = {
                        let t = inner(ty);
                        text(quote!(#t))
                    };
                    assert_eq!(
                        text(p.ty.rust()),
                        theirs_inner,
                        "{at}: parameter {} ({theirs})",
                        p.name
                    );
                    checked += 1;
                }
                if let Some(body) = &op.body {
                    let (_, ty) = fields
                        .iter()
                        .find(|(n, _)| n == "body")
                        .unwrap_or_else(|| panic!("{at}: no body field"));
                    let theirs = last_ident(&inner(ty));
                    let ours = body.rust_ty.to_string();
                    assert!(
                        ours.replace(' ', "").ends_with(&format!("::{theirs}")),
                        "{at}: body {ours} against the builder's {theirs}"
                    );
                }
                for (field, _) in &fields {
                    assert!(
                        field == "body" || op.params.iter().any(|p| p.setter == field.as_str()),
                        "{at}: builder field {field} has no flag"
                    );
                }
            }
        }
        assert!(checked > 150, "only {checked} parameters checked");
    }
}
