//! Typed edits of progenitor's output, made on the syntax tree before it is
//! formatted. Each pass counts what it changed, and codegen fails, naming
//! the provider and the pass, when the count is not what the spec implies:
//! if progenitor changes the shape of its output, a pass cannot silently
//! stop applying.
//!
//! | pass | why progenitor needs it | retired by |
//! |---|---|---|
//! | `runtime_path` | progenitor's output names `progenitor_client`; regkit's clients run on `regkit_core::runtime` (bounded bodies, status-keeping errors, checked path segments) | a progenitor setting for the runtime crate's path |
//! | `checked_path_params` | `encode_path(&x.to_string())` cannot refuse a value; regkit's takes the parameter's name and returns a `Result`, so an empty, `.` or `..` value is `InvalidRequest` before a URL is built | progenitor calling a fallible, named encoder |
//! | `no_api_version` | progenitor sends `api-version: <info.version>` on every request; no provider here documents it. Removes the header and the then-empty `HeaderMap` | a progenitor setting to omit the header |
//! | `mock_path_matchers` | the httpmock helpers paste the raw value into a regex and match other segments with `.*`; they must match what the client sends (percent-encoded, regex-escaped) within one segment | progenitor's mock generator escaping and encoding path values |
//! | `null_is_a_value` | an optional field whose type has a `Null` variant (a `oneOf` with `null`, e.g. Buildkite's OIDC `equals: null`) is `Option<T>`, and serde reads `null` as `None`, so the value is lost and not sent back; it must read `null` as `Some(T::Null)` and only a missing field as `None` | typify keeping `null` for option fields whose inner type is nullable |
//! | `tidy_conversion_messages` | typify spells types in messages as token streams (``conversion to `:: uuid :: Uuid` ``) | progenitor formatting the type before quoting it |
//! | `unlisted_status` | progenitor turns every status the spec does not list into `Error::UnexpectedResponse`, so a 204 for a documented 200 fails a call that worked; regkit makes any 2xx a success and decodes unlisted 4xx/5xx as the provider's error | progenitor accepting a custom catch-all (or a `2XX` fallback per operation) |
//! | `schemars_behind_feature` | progenitor derives (and typify implements) `schemars::JsonSchema` for every type, unconditionally; nothing in regkit uses it, and it is a sizeable share of a provider crate's build, so it is compiled only with the crate's `schemars` feature | a progenitor setting to put a derive behind a `cfg_attr` |
//! | `null_collections` | typify's `Vec<T>`, map and defaulted object fields reject a JSON `null`, which real services send for empty lists and maps (a Go server writes an empty map as `null`) | typify mapping nullable-by-default collections, or a per-field deserializer setting |
//! | `prepare_then_send` | progenitor's `async fn send` awaits a `pre` and a `post` hook (regkit runs none) and holds the builder, the request, the result and the response across its awaits, so an operation's future reached 1.4 KB, past the allocator's per-thread cache; `send` becomes a synchronous `prepare` and a future of the exchange and the decoding alone; progenitor also writes one arm (one await, one state) per documented status, and consecutive arms that decode alike become one | progenitor generating hook-free operations that build the request before the first await |
//! | `optional_deleted` | a `DELETE` whose spec documents a body returns that model, so a 204 with no body (or any body that does not decode) fails a deletion that worked; regkit returns `Option<T>` for it, `None` when the body does not decode | progenitor offering an optional success type per operation |

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::punctuated::Punctuated;
use syn::visit_mut::VisitMut;

type Args = Punctuated<syn::Expr, syn::Token![,]>;

/// Runs `visit` over the arguments of a `format!` call (whose tokens syn
/// keeps opaque), writing them back. Other macros are left alone.
fn visit_format_args(mac: &mut syn::Macro, mut visit: impl FnMut(&mut syn::Expr)) {
    if !mac.path.is_ident("format") {
        return;
    }
    let Ok(mut args) = mac.parse_body_with(Args::parse_terminated) else {
        return;
    };
    args.iter_mut().for_each(&mut visit);
    mac.tokens = args.to_token_stream();
}

/// Replaces `progenitor_client` at the head of every path and `use` with
/// `regkit_core::runtime`. Returns how many it replaced; the caller checks
/// none is left.
pub fn runtime_path(file: &mut syn::File) -> usize {
    struct Pass(usize);
    impl VisitMut for Pass {
        fn visit_path_mut(&mut self, path: &mut syn::Path) {
            if path
                .segments
                .first()
                .is_some_and(|s| s.ident == "progenitor_client")
            {
                let rest: Vec<_> = path.segments.iter().skip(1).cloned().collect();
                let mut segments: Punctuated<syn::PathSegment, syn::Token![::]> =
                    syn::parse_quote!(regkit_core::runtime);
                segments.extend(rest);
                path.segments = segments;
                self.0 += 1;
            }
            syn::visit_mut::visit_path_mut(self, path);
        }
        fn visit_use_tree_mut(&mut self, tree: &mut syn::UseTree) {
            if let syn::UseTree::Path(p) = tree
                && p.ident == "progenitor_client"
            {
                let inner = p.tree.clone();
                *tree = syn::parse_quote!(regkit_core::runtime::#inner);
                self.0 += 1;
                return;
            }
            syn::visit_mut::visit_use_tree_mut(self, tree);
        }
        fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
            visit_format_args(mac, |e| self.visit_expr_mut(e));
        }
    }
    let mut pass = Pass(0);
    pass.visit_file_mut(file);
    pass.0
}

/// `::regress::Regex` → `::regkit_core::runtime::Pattern` in the
/// `FromStr` of every pattern-checked request string: the specs' patterns
/// are anchored runs of character classes, which regkit-core matches
/// without a regex engine (with the same `new`/`find` shape), so the
/// provider crates need no regex crate. Returns how many paths it renamed
/// (two per pattern: the type of its `LazyLock`, and `new`); the caller
/// checks no `regress` is left, and regkit-core's tests parse every
/// pattern the generated code holds. Retired by a typify setting that
/// names the pattern type its output uses (it has none today).
pub fn regex_free_patterns(file: &mut syn::File) -> usize {
    struct Pass(usize);
    impl VisitMut for Pass {
        fn visit_path_mut(&mut self, path: &mut syn::Path) {
            let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
            if names.len() >= 2 && names[0] == "regress" && names[1] == "Regex" {
                let rest: Vec<_> = path.segments.iter().skip(2).cloned().collect();
                let mut segments: Punctuated<syn::PathSegment, syn::Token![::]> =
                    syn::parse_quote!(regkit_core::runtime::Pattern);
                segments.extend(rest);
                path.segments = segments;
                self.0 += 1;
            }
            syn::visit_mut::visit_path_mut(self, path);
        }
    }
    let mut pass = Pass(0);
    pass.visit_file_mut(file);
    pass.0
}

/// `encode_path(&x.to_string())` → `encode_path(&x.to_string(), "x")?`.
/// Returns how many calls it changed (one per path parameter per operation).
pub fn checked_path_params(file: &mut syn::File) -> usize {
    struct Pass(usize);
    impl VisitMut for Pass {
        fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
            syn::visit_mut::visit_expr_mut(self, expr);
            let syn::Expr::Call(call) = expr else {
                return;
            };
            if !path_ends_with(&call.func, &["encode_path"]) || call.args.len() != 1 {
                return;
            }
            let Some(name) = to_string_receiver(&call.args[0]) else {
                return;
            };
            let arg = &call.args[0];
            let func = &call.func;
            let name = name.to_string();
            *expr = syn::parse_quote!(#func(#arg, #name)?);
            self.0 += 1;
        }
        fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
            visit_format_args(mac, |e| self.visit_expr_mut(e));
        }
    }
    let mut pass = Pass(0);
    pass.visit_file_mut(file);
    pass.0
}

/// `x` in `&x.to_string()`.
fn to_string_receiver(expr: &syn::Expr) -> Option<syn::Ident> {
    let syn::Expr::Reference(r) = expr else {
        return None;
    };
    let syn::Expr::MethodCall(m) = &*r.expr else {
        return None;
    };
    if m.method != "to_string" || !m.args.is_empty() {
        return None;
    }
    match &*m.receiver {
        syn::Expr::Path(p) => p.path.get_ident().cloned(),
        _ => None,
    }
}

/// Drops `header_map.append(… "api-version" …)` from every operation, and
/// with it the `HeaderMap` and its `.headers(header_map)` when nothing else
/// uses them. Returns how many headers it removed (one per operation).
pub fn no_api_version(file: &mut syn::File) -> usize {
    struct Pass(usize);
    impl VisitMut for Pass {
        fn visit_block_mut(&mut self, block: &mut syn::Block) {
            syn::visit_mut::visit_block_mut(self, block);
            let before = block.stmts.len();
            block.stmts.retain(|stmt| !is_api_version_append(stmt));
            let removed = before - block.stmts.len();
            if removed == 0 {
                return;
            }
            self.0 += removed;
            let uses = mentions(&block.to_token_stream(), "header_map");
            // Left: its `let` and the `.headers(header_map)` call.
            if uses == 2 {
                block.stmts.retain(|stmt| !is_let_of(stmt, "header_map"));
                StripHeaders.visit_block_mut(block);
            }
        }
    }
    struct StripHeaders;
    impl VisitMut for StripHeaders {
        fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
            syn::visit_mut::visit_expr_mut(self, expr);
            if let syn::Expr::MethodCall(m) = expr
                && m.method == "headers"
                && m.args.len() == 1
                && m.args[0].to_token_stream().to_string() == "header_map"
            {
                *expr = (*m.receiver).clone();
            }
        }
    }
    let mut pass = Pass(0);
    pass.visit_file_mut(file);
    pass.0
}

fn is_api_version_append(stmt: &syn::Stmt) -> bool {
    let syn::Stmt::Expr(syn::Expr::MethodCall(m), _) = stmt else {
        return false;
    };
    m.method == "append" && m.to_token_stream().to_string().contains("\"api-version\"")
}

fn is_let_of(stmt: &syn::Stmt, name: &str) -> bool {
    matches!(stmt, syn::Stmt::Local(local)
        if matches!(&local.pat, syn::Pat::Ident(p) if p.ident == name))
}

/// How often the identifier `name` occurs in `tokens`.
fn mentions(tokens: &TokenStream, name: &str) -> usize {
    tokens
        .clone()
        .into_iter()
        .map(|tt| match tt {
            proc_macro2::TokenTree::Ident(i) => usize::from(i == name),
            proc_macro2::TokenTree::Group(g) => mentions(&g.stream(), name),
            _ => 0,
        })
        .sum()
}

/// In the mock helpers: `format!("^/a/{}/b/.*$", value.to_string())` →
/// `format!("^/a/{}/b/[^/]*$", regex::escape(&encode_path_segment(&value.to_string())))`.
/// Returns how many matchers it changed (one per path parameter per
/// operation).
pub fn mock_path_matchers(file: &mut syn::File) -> usize {
    struct Pass(usize);
    impl VisitMut for Pass {
        fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
            if !mac.path.is_ident("format") {
                return;
            }
            let Ok(mut args) = mac.parse_body_with(Args::parse_terminated) else {
                return;
            };
            let is_matcher = args.len() == 2
                && matches!(&args[0], syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. })
                    if s.value().starts_with("^/"))
                && args[1].to_token_stream().to_string() == "value . to_string ()";
            if !is_matcher {
                return;
            }
            let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(pattern),
                ..
            }) = &args[0]
            else {
                return;
            };
            let pattern = pattern.value().replace(".*", "[^/]*");
            args[0] = syn::parse_quote!(#pattern);
            args[1] = syn::parse_quote!(regex::escape(&regkit_core::runtime::encode_path_segment(
                &value.to_string()
            )));
            mac.tokens = args.to_token_stream();
            self.0 += 1;
        }
    }
    let mut pass = Pass(0);
    pass.visit_file_mut(file);
    pass.0
}

/// ``conversion to `:: uuid :: Uuid` `` → ``conversion to `::uuid::Uuid` ``
/// in message literals (also inside `format!`). Returns how many it tidied.
pub fn tidy_conversion_messages(file: &mut syn::File) -> usize {
    struct Pass(usize);
    impl VisitMut for Pass {
        fn visit_lit_str_mut(&mut self, lit: &mut syn::LitStr) {
            let value = lit.value();
            let Some(start) = value.find("conversion to `") else {
                return;
            };
            let open = start + "conversion to `".len();
            let Some(len) = value[open..].find('`') else {
                return;
            };
            let ty = &value[open..open + len];
            if !ty.contains(' ') {
                return;
            }
            let tidy = format!(
                "{}{}{}",
                &value[..open],
                ty.replace(' ', ""),
                &value[open + len..]
            );
            *lit = syn::LitStr::new(&tidy, lit.span());
            self.0 += 1;
        }
        fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
            visit_format_args(mac, |e| self.visit_expr_mut(e));
        }
    }
    let mut pass = Pass(0);
    pass.visit_file_mut(file);
    pass.0
}

/// Replaces the catch-all `_ => Err(Error::UnexpectedResponse(response))`
/// of every operation with regkit-core's `unlisted`. Returns how many arms
/// it replaced.
pub fn unlisted_status(file: &mut syn::File) -> usize {
    struct Pass(usize);
    impl VisitMut for Pass {
        fn visit_arm_mut(&mut self, arm: &mut syn::Arm) {
            syn::visit_mut::visit_arm_mut(self, arm);
            if !matches!(arm.pat, syn::Pat::Wild(_)) {
                return;
            }
            let Some(response) = unexpected_response_arg(&arm.body) else {
                return;
            };
            *arm.body = syn::parse_quote! {
                regkit_core::runtime::unlisted(#response).await
            };
            self.0 += 1;
        }
    }
    let mut pass = Pass(0);
    pass.visit_file_mut(file);
    pass.0
}

/// `response` in `Err(Error::UnexpectedResponse(response))`.
fn unexpected_response_arg(body: &syn::Expr) -> Option<syn::Expr> {
    let syn::Expr::Call(err) = body else {
        return None;
    };
    if !path_ends_with(&err.func, &["Err"]) || err.args.len() != 1 {
        return None;
    }
    let syn::Expr::Call(inner) = &err.args[0] else {
        return None;
    };
    if !path_ends_with(&inner.func, &["Error", "UnexpectedResponse"]) || inner.args.len() != 1 {
        return None;
    }
    Some(inner.args[0].clone())
}

fn path_ends_with(expr: &syn::Expr, tail: &[&str]) -> bool {
    let syn::Expr::Path(p) = expr else {
        return false;
    };
    let segments: Vec<String> = p
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    segments.ends_with(&tail.iter().map(|s| s.to_string()).collect::<Vec<_>>())
}

/// Every collection field of a deserialisable struct in the `types` module
/// reads `null` (and a missing field) as empty: `Vec<T>` and map fields
/// (`HashMap`, `BTreeMap`, `serde_json::Map`), required or not, and object
/// fields (a generated struct) that carry a bare `#[serde(default)]`.
/// (`Option` fields already read `null` as `None`.) Returns how many
/// fields it changed.
pub fn null_collections(file: &mut syn::File) -> usize {
    let mut count = 0;
    for item in &mut file.items {
        let syn::Item::Mod(module) = item else {
            continue;
        };
        if module.ident != "types" {
            continue;
        }
        let Some((_, items)) = module.content.as_mut() else {
            continue;
        };
        let structs: Vec<String> = items
            .iter()
            .filter_map(|item| match item {
                syn::Item::Struct(s) => Some(s.ident.to_string()),
                _ => None,
            })
            .collect();
        for item in items.iter_mut() {
            let syn::Item::Struct(s) = item else {
                continue;
            };
            if !derives_deserialize(&s.attrs) {
                continue;
            }
            let syn::Fields::Named(fields) = &mut s.fields else {
                continue;
            };
            for field in &mut fields.named {
                let collection = is_vec(&field.ty)
                    || is_map(&field.ty)
                    || (has_bare_default(&field.attrs) && names_one_of(&field.ty, &structs));
                if collection && add_null_as_empty(&mut field.attrs) {
                    count += 1;
                }
            }
        }
    }
    count
}

fn derives_deserialize(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("derive")
            && a.meta
                .require_list()
                .is_ok_and(|l| l.tokens.to_string().contains("Deserialize"))
    })
}

/// The last segment of a type path (`Vec` in `::std::vec::Vec<u8>`).
fn last_segment(ty: &syn::Type) -> Option<&syn::PathSegment> {
    match ty {
        syn::Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
        _ => None,
    }
}

fn is_vec(ty: &syn::Type) -> bool {
    last_segment(ty).is_some_and(|s| s.ident == "Vec")
}

/// `HashMap<…>`, `BTreeMap<…>` or `serde_json::Map<…>`.
fn is_map(ty: &syn::Type) -> bool {
    last_segment(ty).is_some_and(|s| ["HashMap", "BTreeMap", "Map"].iter().any(|m| s.ident == m))
}

/// A plain path type (no generics) whose name is in `names`.
fn names_one_of(ty: &syn::Type, names: &[String]) -> bool {
    last_segment(ty)
        .is_some_and(|s| s.arguments.is_none() && names.iter().any(|n| s.ident == n.as_str()))
}

/// Whether the field has `#[serde(default)]` (not `default = "path"`,
/// whose value a `null` must not replace with `Default::default()`).
fn has_bare_default(attrs: &[syn::Attribute]) -> bool {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("serde"))
        .filter_map(|a| {
            a.parse_args_with(Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated)
                .ok()
        })
        .flatten()
        .any(|m| matches!(m, syn::Meta::Path(p) if p.is_ident("default")))
}

/// `send()` of every `DELETE` operation whose success type is a model
/// returns `ResponseValue<Option<T>>` instead of `ResponseValue<T>`: the
/// deletion worked whatever the body, and the deleted object is there when
/// the server sent one that decodes (the pipeline reads any other body as
/// `null`). Operations without a body (`()`) and byte streams are left
/// alone. Returns how many operations it changed.
pub fn optional_deleted(file: &mut syn::File) -> usize {
    struct Pass(usize);
    impl VisitMut for Pass {
        fn visit_impl_item_fn_mut(&mut self, f: &mut syn::ImplItemFn) {
            if f.sig.ident != "send" || !sends_delete(&f.block) {
                return;
            }
            let syn::ReturnType::Type(_, ty) = &mut f.sig.output else {
                return;
            };
            let Some(success) = response_value_arg(ty) else {
                return;
            };
            let unit = matches!(success, syn::Type::Tuple(t) if t.elems.is_empty());
            if unit || last_segment(success).is_some_and(|s| s.ident == "ByteStream") {
                return;
            }
            *success = syn::parse_quote!(::std::option::Option<#success>);
            f.attrs.push(syn::parse_quote!(#[doc = ""]));
            f.attrs.push(syn::parse_quote!(
                #[doc = "Any 2xx is `Ok`: the deletion worked. The value is the deleted object when the body decodes into it, `None` when the body is absent or does not."]
            ));
            self.0 += 1;
        }
    }
    let mut pass = Pass(0);
    pass.visit_file_mut(file);
    pass.0
}

/// Whether a block calls `.delete(url)` (how progenitor builds a `DELETE`).
fn sends_delete(block: &syn::Block) -> bool {
    struct Find(bool);
    impl VisitMut for Find {
        fn visit_expr_method_call_mut(&mut self, m: &mut syn::ExprMethodCall) {
            if m.method == "delete"
                && m.args.len() == 1
                && matches!(&m.args[0], syn::Expr::Path(p) if p.path.is_ident("url"))
            {
                self.0 = true;
            }
            syn::visit_mut::visit_expr_method_call_mut(self, m);
        }
    }
    // Read-only search; `syn`'s read-only visitor is a feature not enabled here.
    let mut find = Find(false);
    find.visit_block_mut(&mut block.clone());
    find.0
}

/// `T` in `Result<ResponseValue<T>, _>`.
fn response_value_arg(ty: &mut syn::Type) -> Option<&mut syn::Type> {
    let syn::Type::Path(result) = ty else {
        return None;
    };
    let result = result.path.segments.last_mut()?;
    if result.ident != "Result" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &mut result.arguments else {
        return None;
    };
    let Some(syn::GenericArgument::Type(syn::Type::Path(value))) = args.args.first_mut() else {
        return None;
    };
    let value = value.path.segments.last_mut()?;
    if value.ident != "ResponseValue" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &mut value.arguments else {
        return None;
    };
    match args.args.first_mut()? {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    }
}

/// Every `derive(…, schemars::JsonSchema, …)` loses that derive and gains
/// `#[cfg_attr(feature = "schemars", derive(::schemars::JsonSchema))]`;
/// every `impl … JsonSchema for …` gains `#[cfg(feature = "schemars")]`.
/// Returns how many types it changed.
pub fn schemars_behind_feature(file: &mut syn::File) -> usize {
    struct Gate(usize);
    fn is_json_schema(path: &syn::Path) -> bool {
        path.segments
            .last()
            .is_some_and(|s| s.ident == "JsonSchema")
            && path.segments.iter().any(|s| s.ident == "schemars")
    }
    fn gate_derives(attrs: &mut Vec<syn::Attribute>) -> bool {
        let mut found = false;
        for attr in attrs.iter_mut() {
            if !attr.path().is_ident("derive") {
                continue;
            }
            let Ok(paths) =
                attr.parse_args_with(Punctuated::<syn::Path, syn::Token![,]>::parse_terminated)
            else {
                continue;
            };
            if !paths.iter().any(is_json_schema) {
                continue;
            }
            found = true;
            let kept: Vec<&syn::Path> = paths.iter().filter(|p| !is_json_schema(p)).collect();
            *attr = syn::parse_quote!(#[derive(#(#kept),*)]);
        }
        if found {
            attrs.push(syn::parse_quote!(
                #[cfg_attr(feature = "schemars", derive(::schemars::JsonSchema))]
            ));
        }
        found
    }
    impl VisitMut for Gate {
        fn visit_item_struct_mut(&mut self, s: &mut syn::ItemStruct) {
            if gate_derives(&mut s.attrs) {
                self.0 += 1;
            }
        }
        fn visit_item_enum_mut(&mut self, e: &mut syn::ItemEnum) {
            if gate_derives(&mut e.attrs) {
                self.0 += 1;
            }
        }
        fn visit_item_impl_mut(&mut self, i: &mut syn::ItemImpl) {
            if i.trait_.as_ref().is_some_and(|(_, p, _)| is_json_schema(p)) {
                i.attrs
                    .push(syn::parse_quote!(#[cfg(feature = "schemars")]));
                self.0 += 1;
            }
        }
    }
    let mut gate = Gate(0);
    gate.visit_file_mut(file);
    gate.0
}

const NULL_AS_EMPTY: &str = "regkit_core::runtime::null_as_empty";
const NULL_IS_A_VALUE: &str = "regkit_core::runtime::null_is_a_value";

/// Every `Option<T>` field, where `T` is a generated enum with a `Null`
/// variant, reads a JSON `null` as `Some(T::Null)` (and a missing field as
/// `None`). Returns how many fields it changed.
pub fn null_is_a_value(file: &mut syn::File) -> usize {
    let Some(items) = file.items.iter_mut().find_map(|item| match item {
        syn::Item::Mod(m) if m.ident == "types" => m.content.as_mut().map(|(_, items)| items),
        _ => None,
    }) else {
        return 0;
    };
    let nullable: Vec<String> = items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Enum(e) if e.variants.iter().any(|v| v.ident == "Null") => {
                Some(e.ident.to_string())
            }
            _ => None,
        })
        .collect();
    let mut count = 0;
    for item in items.iter_mut() {
        let syn::Item::Struct(s) = item else {
            continue;
        };
        if !derives_deserialize(&s.attrs) {
            continue;
        }
        let syn::Fields::Named(fields) = &mut s.fields else {
            continue;
        };
        for field in &mut fields.named {
            let inner = option_inner(&field.ty);
            if inner.is_some_and(|t| nullable.contains(&t))
                && add_deserializer(&mut field.attrs, NULL_IS_A_VALUE)
            {
                count += 1;
            }
        }
    }
    count
}

/// The last path segment of `T` in `Option<T>`.
fn option_inner(ty: &syn::Type) -> Option<String> {
    let syn::Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(syn::Type::Path(inner)) => {
            Some(inner.path.segments.last()?.ident.to_string())
        }
        _ => None,
    }
}

/// Adds `default` and `deserialize_with = null_as_empty` to a field's
/// `#[serde(...)]`, creating the attribute when there is none. A field that
/// already has its own deserializer is left alone (returns false).
fn add_null_as_empty(attrs: &mut Vec<syn::Attribute>) -> bool {
    add_deserializer(attrs, NULL_AS_EMPTY)
}

/// Adds `default` and `deserialize_with = <with>` to a field's
/// `#[serde(...)]`, creating the attribute when there is none. A field that
/// already has its own deserializer is left alone (returns false).
fn add_deserializer(attrs: &mut Vec<syn::Attribute>, with: &str) -> bool {
    let serde = attrs.iter_mut().find(|a| a.path().is_ident("serde"));
    let Some(attr) = serde else {
        attrs.push(syn::parse_quote!(#[serde(default, deserialize_with = #with)]));
        return true;
    };
    let syn::Meta::List(list) = &mut attr.meta else {
        return false;
    };
    let metas = match list
        .parse_args_with(syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated)
    {
        Ok(metas) => metas,
        Err(_) => return false,
    };
    if metas
        .iter()
        .any(|m| m.path().is_ident("deserialize_with") || m.path().is_ident("with"))
    {
        return false;
    }
    let mut metas = metas;
    if !metas.iter().any(|m| m.path().is_ident("default")) {
        metas.push(syn::parse_quote!(default));
    }
    metas.push(syn::parse_quote!(deserialize_with = #with));
    list.tokens = quote::quote!(#metas);
    true
}

/// Every operation's `send`, progenitor's
///
/// ```text
/// pub async fn send(self) -> Result<T, Error<E>> {
///     let Self { client, … } = self;
///     … // check the parameters, build `request` and `info`
///     client.pre(&mut request, &info).await?;
///     let result = client.exec(request, &info).await;
///     client.post(&result, &info).await?;
///     let response = result?;
///     match response.status().as_u16() { … }
/// }
/// ```
///
/// becomes a `prepare` that does all the synchronous work, and a `send`
/// that awaits only the exchange and the decoding:
///
/// ```text
/// pub fn send(self) -> impl Future<Output = Result<T, Error<E>>> {
///     regkit_core::runtime::then_decode(self.prepare(), |status, response| async move {
///         match status { … }
///     })
/// }
/// fn prepare(self) -> Result<impl Future<Output = …>, Error<E>> {
///     let Self { client, … } = self;
///     …
///     Ok(client.exec(request, info))
/// }
/// ```
///
/// regkit runs no hooks. Everything an `async fn` holds across an await is
/// room in its future, and a value once borrowed keeps its room to the end
/// of its scope: progenitor's shape kept the builder (every parameter and
/// body), the request (264 bytes), the result and the response beside the
/// exchange, so futures reached 1.4 KB, past the allocator's per-thread
/// cache. Consecutive status arms that decode alike are merged as well
/// (`merge_same_arms`). Returns how many operations it changed (one per
/// operation).
pub fn prepare_then_send(file: &mut syn::File) -> usize {
    struct Pass(usize);
    impl VisitMut for Pass {
        fn visit_item_impl_mut(&mut self, imp: &mut syn::ItemImpl) {
            syn::visit_mut::visit_item_impl_mut(self, imp);
            let mut items = Vec::with_capacity(imp.items.len() + 1);
            for item in std::mem::take(&mut imp.items) {
                match item {
                    syn::ImplItem::Fn(f) => match split_send(&f) {
                        Some((send, prepare)) => {
                            items.push(syn::ImplItem::Fn(send));
                            items.push(syn::ImplItem::Fn(prepare));
                            self.0 += 1;
                        }
                        None => items.push(syn::ImplItem::Fn(f)),
                    },
                    other => items.push(other),
                }
            }
            imp.items = items;
        }
    }
    let mut pass = Pass(0);
    pass.visit_file_mut(file);
    pass.0
}

/// `send` and `prepare` from progenitor's `async fn send`, when it has the
/// shape [`prepare_then_send`] knows; `None` otherwise, so the count exposes
/// an operation it did not change.
fn split_send(f: &syn::ImplItemFn) -> Option<(syn::ImplItemFn, syn::ImplItemFn)> {
    const HOOKED: [&str; 4] = [
        "client . pre (& mut request , & info) . await ? ;",
        "let result = client . exec (request , & info) . await ;",
        "client . post (& result , & info) . await ? ;",
        "let response = result ? ;",
    ];
    if f.sig.ident != "send" || f.sig.asyncness.is_none() {
        return None;
    }
    let syn::ReturnType::Type(_, output) = &f.sig.output else {
        return None;
    };
    let error = crate::syntax::generic_args(output)?.get(1)?.clone();
    let stmts = &f.block.stmts;
    let text: Vec<String> = stmts
        .iter()
        .map(|s| s.to_token_stream().to_string())
        .collect();
    let at = text.windows(HOOKED.len()).position(|w| w == HOOKED)?;
    let prefix = &stmts[..at];
    let mut decode = stmts[at + HOOKED.len()..].to_vec();
    let Some(syn::Stmt::Expr(syn::Expr::Match(by_status), None)) = decode.first_mut() else {
        return None;
    };
    if by_status.expr.to_token_stream().to_string() != "response . status () . as_u16 ()" {
        return None;
    }
    *by_status.expr = syn::parse_quote!(status);
    merge_same_arms(by_status);
    // The decoding runs after `prepare` has returned: it may use only the
    // status and the response.
    let decoding = quote::quote!(#(#decode)*);
    if ["client", "request", "info", "body", "url", "query"]
        .iter()
        .any(|name| mentions(&decoding, name) > 0)
    {
        return None;
    }
    let attrs = &f.attrs;
    let vis = &f.vis;
    let send = syn::parse_quote! {
        #(#attrs)*
        #vis fn send(self) -> impl ::std::future::Future<Output = #output> {
            regkit_core::runtime::then_decode(self.prepare(), |status, response| async move {
                #decoding
            })
        }
    };
    let prepare = syn::parse_quote! {
        /// What `send` does before anything is awaited: the parameters
        /// checked, the request built and handed to the client.
        fn prepare(
            self,
        ) -> Result<
            impl ::std::future::Future<
                Output = Result<(u16, ::reqwest::Response), regkit_core::RequestError>,
            >,
            #error,
        > {
            #(#prefix)*
            Ok(client.exec(request, info))
        }
    };
    Some((send, prepare))
}

/// Merges consecutive arms of a match on a status that do the same thing
/// (`400u16..=499u16 => X, 401u16 => X` → `400u16..=499u16 | 401u16 => X`):
/// progenitor writes one arm, and so one await and one state of the
/// future, per documented status, and most of an operation's error
/// statuses decode the same error body. Only arms without guards whose
/// patterns are literals or ranges are merged; order is kept, so the
/// match means what it meant.
fn merge_same_arms(by_status: &mut syn::ExprMatch) {
    let plain = |arm: &syn::Arm| {
        arm.guard.is_none() && matches!(arm.pat, syn::Pat::Lit(_) | syn::Pat::Range(_))
    };
    let mut merged: Vec<syn::Arm> = Vec::with_capacity(by_status.arms.len());
    for arm in std::mem::take(&mut by_status.arms) {
        if let Some(last) = merged.last_mut()
            && plain(&arm)
            && (plain(last) || matches!(last.pat, syn::Pat::Or(_)))
            && last.body.to_token_stream().to_string() == arm.body.to_token_stream().to_string()
        {
            let mut cases = match &last.pat {
                syn::Pat::Or(or) => or.cases.clone(),
                one => Punctuated::from_iter([one.clone()]),
            };
            cases.push(arm.pat);
            last.pat = syn::Pat::Or(syn::PatOr {
                attrs: Vec::new(),
                leading_vert: None,
                cases,
            });
            continue;
        }
        merged.push(arm);
    }
    by_status.arms = merged;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(code: &str) -> syn::File {
        syn::parse_str(code).unwrap()
    }

    fn text(f: &syn::File) -> String {
        f.to_token_stream().to_string().replace(' ', "")
    }

    #[test]
    fn json_schema_derives_and_impls_go_behind_the_feature() {
        let mut f = file(
            r#"
            #[derive(Clone, Debug, schemars::JsonSchema)] pub struct A { x: u8 }
            #[derive(::serde::Serialize, ::schemars::JsonSchema)] pub enum B { X }
            impl ::schemars::JsonSchema for C { }
            "#,
        );
        assert_eq!(schemars_behind_feature(&mut f), 3);
        let out = text(&f);
        assert!(out.contains("#[derive(Clone,Debug)]"), "{out}");
        assert!(out.contains("#[derive(::serde::Serialize)]"), "{out}");
        assert_eq!(
            out.matches(r#"#[cfg_attr(feature="schemars",derive(::schemars::JsonSchema))]"#)
                .count(),
            2,
            "{out}"
        );
        assert!(
            out.contains(r#"#[cfg(feature="schemars")]impl::schemars::JsonSchemafor"#),
            "{out}"
        );
        // Other derives and impls are not touched, so the count exposes it.
        let mut f = file("#[derive(Clone)] struct D; impl Clone for E {}");
        assert_eq!(schemars_behind_feature(&mut f), 0);
    }

    #[test]
    fn send_prepares_then_awaits_only_the_exchange() {
        let mut f = file(
            r#"impl<'a> Op<'a> {
                ///Sends a `GET` request
                pub async fn send(self) -> Result<ResponseValue<types::X>, Error<types::Error>> {
                    let Self { client, name } = self;
                    let name = name.map_err(Error::InvalidRequest)?;
                    let request = client.client.get(url).build()?;
                    let info = OperationInfo { operation_id: "x" };
                    client.pre(&mut request, &info).await?;
                    let result = client.exec(request, &info).await;
                    client.post(&result, &info).await?;
                    let response = result?;
                    match response.status().as_u16() { 200u16 => ResponseValue::from_response(response).await, _ => unlisted(response).await }
                }
            }"#,
        );
        assert_eq!(prepare_then_send(&mut f), 1);
        let out = text(&f);
        assert!(!out.contains(".pre(") && !out.contains(".post("), "{out}");
        assert!(!out.contains("asyncfnsend"), "{out}");
        assert!(
            out.contains("#[doc=\"Sendsa`GET`request\"]pubfnsend(self)->impl::std::future::Future<Output=Result<ResponseValue<types::X>,Error<types::Error>>>{regkit_core::runtime::then_decode(self.prepare(),|status,response|asyncmove{matchstatus{"),
            "{out}"
        );
        assert!(
            out.contains(",Error<types::Error>,>{letSelf{client,name}=self;"),
            "{out}"
        );
        assert!(out.contains("Ok(client.exec(request,info))}"), "{out}");

        // Statuses that decode alike share one arm, in their order; a
        // different arm between them keeps them apart.
        let mut f = file(
            r#"impl Op { pub async fn send(self) -> Result<R, Error<E>> {
                client.pre(&mut request, &info).await?;
                let result = client.exec(request, &info).await;
                client.post(&result, &info).await?;
                let response = result?;
                match response.status().as_u16() {
                    200u16 => ok(response).await,
                    400u16..=499u16 => err(response).await,
                    401u16 => err(response).await,
                    404u16 => other(response).await,
                    500u16 => err(response).await,
                    500u16..=599u16 => err(response).await,
                    _ => unlisted(response).await,
                }
            } }"#,
        );
        assert_eq!(prepare_then_send(&mut f), 1);
        let out = text(&f);
        assert!(
            out.contains("matchstatus{200u16=>ok(response).await,400u16..=499u16|401u16=>err(response).await,404u16=>other(response).await,500u16|500u16..=599u16=>err(response).await,_=>unlisted(response).await,}"),
            "{out}"
        );

        // A hook that does something, or a decoding that needs the request,
        // is another shape: not touched, so the count exposes it.
        for other in ["log(&result);", ""] {
            let code = format!(
                r#"impl Op {{ pub async fn send(self) -> Result<R, Error<E>> {{
                    client.pre(&mut request, &info).await?;
                    let result = client.exec(request, &info).await;
                    {other}
                    client.post(&result, &info).await?;
                    let response = result?;
                    match response.status().as_u16() {{ _ => unlisted(response, info).await }}
                }} }}"#
            );
            assert_eq!(prepare_then_send(&mut file(&code)), 0, "{code}");
        }
    }

    #[test]
    fn path_parameters_get_a_checked_named_encoder() {
        let mut f = file(
            r#"fn send() { let url = format!("{}/r/{}/t/{}", base, encode_path(&registry.to_string()), encode_path(&tag.to_string()),); }"#,
        );
        assert_eq!(checked_path_params(&mut f), 2);
        let out = text(&f);
        assert!(
            out.contains(r#"encode_path(&registry.to_string(),"registry")?"#),
            "{out}"
        );
        assert!(
            out.contains(r#"encode_path(&tag.to_string(),"tag")?"#),
            "{out}"
        );
        // A call of another shape is not touched, so the count exposes it.
        let mut f = file(r#"fn send() { let url = format!("{}", encode_path(&registry)); }"#);
        assert_eq!(checked_path_params(&mut f), 0);
    }

    #[test]
    fn the_api_version_header_goes_and_takes_its_header_map_along() {
        let mut f = file(
            r#"fn send() {
                let mut header_map = HeaderMap::with_capacity(1usize);
                header_map.append(HeaderName::from_static("api-version"), HeaderValue::from_static(super::Client::api_version()));
                let request = client.get(url).header(ACCEPT, json).headers(header_map).build()?;
            }"#,
        );
        assert_eq!(no_api_version(&mut f), 1);
        let out = text(&f);
        assert!(!out.contains("header_map"), "{out}");
        assert!(out.contains(".header(ACCEPT,json).build()?"), "{out}");

        // Another header keeps the map.
        let mut f = file(
            r#"fn send() {
                let mut header_map = HeaderMap::with_capacity(2usize);
                header_map.append(HeaderName::from_static("api-version"), HeaderValue::from_static(v));
                header_map.append("x-trace", t);
                let request = client.get(url).headers(header_map).build()?;
            }"#,
        );
        assert_eq!(no_api_version(&mut f), 1);
        let out = text(&f);
        assert!(
            out.contains(".headers(header_map)") && !out.contains("api-version"),
            "{out}"
        );
    }

    #[test]
    fn mock_matchers_match_the_encoded_segment_within_one_segment() {
        let mut f = file(
            r#"fn m() { let re = Regex::new(&format!("^/r/{}/t/.*$", value.to_string())).unwrap(); }"#,
        );
        assert_eq!(mock_path_matchers(&mut f), 1);
        let out = text(&f);
        assert!(out.contains(r#""^/r/{}/t/[^/]*$""#), "{out}");
        assert!(
            out.contains(
                "regex::escape(&regkit_core::runtime::encode_path_segment(&value.to_string()))"
            ),
            "{out}"
        );
    }

    #[test]
    fn the_runtime_is_regkit_cores_and_catch_alls_are_liberal() {
        let mut f = file(
            r#"use progenitor_client::{encode_path, Error};
            fn send() { match s { 200u16 => ok(), _ => Err(Error::UnexpectedResponse(response)), } }
            fn other() -> progenitor_client::ByteStream { todo() }"#,
        );
        assert_eq!(runtime_path(&mut f), 2);
        assert_eq!(unlisted_status(&mut f), 1);
        let out = text(&f);
        assert!(!out.contains("progenitor_client"), "{out}");
        assert!(
            out.contains("useregkit_core::runtime::{encode_path,Error}"),
            "{out}"
        );
        assert!(
            out.contains("_=>regkit_core::runtime::unlisted(response).await"),
            "{out}"
        );
    }

    #[test]
    fn collection_fields_read_null_as_empty() {
        let mut f = file(
            r#"pub mod types {
                #[derive(::serde::Deserialize, Default)]
                pub struct Inner { pub x: Option<u8> }
                #[derive(::serde::Deserialize)]
                pub struct A {
                    pub required: ::std::vec::Vec<u8>,
                    #[serde(default, skip_serializing_if = "::std::vec::Vec::is_empty")]
                    pub optional: ::std::vec::Vec<u8>,
                    #[serde(rename = "x")]
                    pub renamed: Vec<u8>,
                    #[serde(default, skip_serializing_if = ":: std :: collections :: HashMap::is_empty")]
                    pub auths: ::std::collections::HashMap<String, Inner>,
                    pub claims: ::std::collections::BTreeMap<String, u8>,
                    #[serde(default, skip_serializing_if = "::serde_json::Map::is_empty")]
                    pub metadata: ::serde_json::Map<String, ::serde_json::Value>,
                    #[serde(default)]
                    pub object: Inner,
                    pub nullable: Option<Vec<u8>>,
                    pub required_object: Inner,
                    #[serde(default = "defaults::inner")]
                    pub own_default: Inner,
                    #[serde(default)]
                    pub flag: bool,
                    #[serde(deserialize_with = "own")]
                    pub own: Vec<u8>,
                }
            }"#,
        );
        // Three arrays, three maps, one defaulted object; not the Option,
        // the required object, the object with its own default, the
        // scalar, or the field with its own deserializer.
        assert_eq!(null_collections(&mut f), 7);
        let out = text(&f);
        assert_eq!(
            out.matches("deserialize_with=\"regkit_core::runtime::null_as_empty\"")
                .count(),
            7,
            "{out}"
        );
        assert!(
            out.contains("#[serde(default,deserialize_with=\"regkit_core::runtime::null_as_empty\")]pubobject:Inner"),
            "{out}"
        );
        assert!(out.contains("pubrequired_object:Inner"), "{out}");
        assert!(
            !out.contains("null_as_empty\")]pubrequired_object"),
            "{out}"
        );
    }

    #[test]
    fn deletes_that_document_a_body_return_it_optionally() {
        let mut f = file(
            r#"pub mod builder {
                impl<'a> DeleteRepository<'a> {
                    pub async fn send(self) -> Result<ResponseValue<types::Repository>, Error<types::Error>> {
                        let request = client.client.delete(url).build()?;
                    }
                }
                impl<'a> DeleteTag<'a> {
                    pub async fn send(self) -> Result<ResponseValue<()>, Error<types::Error>> {
                        let request = client.client.delete(url).build()?;
                    }
                }
                impl<'a> GetRepository<'a> {
                    pub async fn send(self) -> Result<ResponseValue<types::Repository>, Error<types::Error>> {
                        let request = client.client.get(url).build()?;
                    }
                }
            }"#,
        );
        assert_eq!(optional_deleted(&mut f), 1);
        let out = text(&f);
        assert!(
            out.contains("Result<ResponseValue<::std::option::Option<types::Repository>>,Error<types::Error>>"),
            "{out}"
        );
        assert_eq!(out.matches("Option<").count(), 1, "{out}");
        assert!(out.contains("Result<ResponseValue<()>,"), "{out}");
    }

    #[test]
    fn optional_fields_of_nullable_enums_keep_null() {
        let mut f = file(
            r#"pub mod types {
                pub enum Scalar { Text(String), Null }
                pub enum Plain { A, B }
                #[derive(::serde::Deserialize)]
                pub struct Rule {
                    #[serde(skip_serializing_if = "::std::option::Option::is_none")]
                    pub equals: ::std::option::Option<Scalar>,
                    pub other: ::std::option::Option<Plain>,
                    pub text: Option<String>,
                }
            }"#,
        );
        assert_eq!(null_is_a_value(&mut f), 1);
        let out = text(&f);
        assert!(
            out.contains(r#"deserialize_with="regkit_core::runtime::null_is_a_value""#),
            "{out}"
        );
    }
}
