//! Typed edits of progenitor's output, made on the syntax tree before it is
//! formatted. Each pass counts what it changed, and codegen fails, naming
//! the provider and the pass, when the count is not what the spec implies:
//! if progenitor changes the shape of its output, a pass cannot silently
//! stop applying.
//!
//! | pass | why progenitor needs it | retired by |
//! |---|---|---|
//! | `unlisted_status` | progenitor turns every status the spec does not list into `Error::UnexpectedResponse`, so a 204 for a documented 200 fails a call that worked; regkit makes any 2xx a success and decodes unlisted 4xx/5xx as the provider's error | progenitor accepting a custom catch-all (or a `2XX` fallback per operation) |
//! | `null_arrays` | typify's `Vec<T>` fields reject a JSON `null`, which real services send for empty lists | typify mapping nullable-by-default arrays, or a per-field deserializer setting |

use syn::visit_mut::VisitMut;

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

/// Every `Vec<T>` field of a deserialisable struct in the `types` module
/// reads `null` (and a missing field) as empty. Returns how many fields it
/// changed.
pub fn null_arrays(file: &mut syn::File) -> usize {
    let mut count = 0;
    for item in &mut file.items {
        let syn::Item::Mod(module) = item else {
            continue;
        };
        if module.ident != "types" {
            continue;
        }
        for item in module.content.iter_mut().flat_map(|(_, items)| items) {
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
                if is_vec(&field.ty) && add_null_as_empty(&mut field.attrs) {
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

fn is_vec(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Vec"))
}

const NULL_AS_EMPTY: &str = "regkit_core::runtime::null_as_empty";

/// Adds `default` and `deserialize_with = null_as_empty` to a field's
/// `#[serde(...)]`, creating the attribute when there is none. A field that
/// already has its own deserializer is left alone (returns false).
fn add_null_as_empty(attrs: &mut Vec<syn::Attribute>) -> bool {
    let serde = attrs.iter_mut().find(|a| a.path().is_ident("serde"));
    let Some(attr) = serde else {
        attrs.push(syn::parse_quote!(#[serde(default, deserialize_with = #NULL_AS_EMPTY)]));
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
    metas.push(syn::parse_quote!(deserialize_with = #NULL_AS_EMPTY));
    list.tokens = quote::quote!(#metas);
    true
}
