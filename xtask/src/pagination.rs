//! `x-regkit-pagination`: a list operation's paging scheme, declared in the
//! spec, turned into a `stream()` method on its request builder.
//!
//! ```yaml
//! x-regkit-pagination:
//!   items: tags              # response field holding the items (omit: the body is the array)
//!   param: page              # request parameter the next-page marker is sent in
//!   # exactly one of (all omitted, with `param`, for a listing of one page):
//!   link: /links/pages/next  # marker = `param` in the query of the URL at this pointer
//!                            #   (`header` = the Link header's rel="next")
//!   cursor: /pagination/token  # marker = the value at this pointer
//!   offset: /offset          # marker = the value at this pointer + items on this page,
//!   has_more: /has_next      #   while this is true …
//!   total: /total            #   … or while offset + items < the value here
//! ```
//! Pointers are RFC 6901 pointers into the response body. Paging ends when
//! the marker is absent or empty (or, for offsets, when a page is empty).

use crate::syntax::{client_method_builder, generic_args, last_ident, module};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pagination {
    #[serde(default)]
    pub items: Option<String>,
    #[serde(default)]
    pub param: Option<String>,
    #[serde(default)]
    pub link: Option<String>,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub offset: Option<String>,
    #[serde(default)]
    pub has_more: Option<String>,
    #[serde(default)]
    pub total: Option<String>,
}

/// Emits `impl Builder { pub fn stream(self) -> … }` into `builder`, for the
/// operation `operation_id`, reading names and types from progenitor's output.
pub fn stream_impl(
    file: &syn::File,
    operation_id: &str,
    p: &Pagination,
) -> Result<syn::Item, String> {
    let at = |what: &str| format!("operation {operation_id}: x-regkit-pagination: {what}");
    let kinds = [&p.link, &p.cursor, &p.offset]
        .iter()
        .filter(|k| k.is_some())
        .count();
    if kinds != usize::from(p.param.is_some()) {
        return Err(at(
            "give `param` and exactly one of `link`, `cursor`, `offset` (or none of them for a single page)",
        ));
    }
    if p.offset.is_some() && p.has_more.is_none() && p.total.is_none() {
        return Err(at("`offset` needs `has_more` or `total`"));
    }

    let method = crate::naming::snake(operation_id);
    let builder_name = client_method_builder(file, &method)
        .ok_or_else(|| at(&format!("no client method `{method}`")))?;
    let builder_mod = module(file, "builder").ok_or_else(|| at("no builder module"))?;
    let types_mod = module(file, "types").ok_or_else(|| at("no types module"))?;
    let (page_ty, error_ty) =
        send_types(builder_mod, &builder_name).ok_or_else(|| at("cannot read send()'s types"))?;

    let page_struct = last_ident(&page_ty);
    let field = |json_name: &str| -> Result<syn::Ident, String> {
        struct_field(types_mod, &page_struct, json_name)
            .ok_or_else(|| at(&format!("`{page_struct}` has no field `{json_name}`")))
    };
    // A pointer is followed through the generated types, field by field, so
    // reading a marker never re-serialises the page; only where the schema
    // leaves a field untyped (free-form JSON) is the rest of the pointer
    // read from that value.
    let read = |pointer: &str| -> Result<TokenStream, String> {
        typed_read(types_mod, &page_struct, pointer).ok_or_else(|| {
            at(&format!(
                "`{pointer}` does not name a field of `{page_struct}`"
            ))
        })
    };

    let (items, item_ty) = match &p.items {
        Some(name) => {
            let ident = field(name)?;
            let ty = struct_field_type(types_mod, &page_struct, name)
                .and_then(|t| vec_item(&t))
                .ok_or_else(|| at(&format!("`{page_struct}.{name}` is not a list")))?;
            (
                quote! { p::IntoItems::into_items(page.#ident) },
                qualify(ty),
            )
        }
        None => {
            let ty = vec_item(&page_ty).ok_or_else(|| at("the response is not a list"))?;
            (quote! { page }, qualify(ty))
        }
    };

    let header_marker = p.link.as_deref() == Some("header");
    let next = match &p.param {
        None => quote! { None },
        Some(param) => {
            let marker = if header_marker {
                quote! { header_link.and_then(|url| p::query_param(&url, #param)) }
            } else if let Some(link) = &p.link {
                let value = read(link)?;
                quote! { #value.and_then(|url| p::query_param(&url, #param)) }
            } else if let Some(cursor) = &p.cursor {
                read(cursor)?
            } else {
                let offset = read(p.offset.as_deref().unwrap_or_default())?;
                let more = match (&p.has_more, &p.total) {
                    (Some(flag), _) => {
                        let flag = read(flag)?;
                        quote! { #flag.as_deref() == Some("true") }
                    }
                    (None, Some(total)) => {
                        let total = read(total)?;
                        quote! {
                            #total
                                .and_then(|t| t.parse::<u64>().ok())
                                .is_some_and(|t| offset + count < t)
                        }
                    }
                    (None, None) => unreachable!("checked above"),
                };
                quote! {{
                    let count = items.len() as u64;
                    let offset = #offset.and_then(|o| o.parse::<u64>().ok()).unwrap_or(0);
                    (count > 0 && #more).then(|| (offset + count).to_string())
                }}
            };
            let param_ident = format_ident!("{}", crate::naming::snake(param));
            let param_ty = builder_field_type(builder_mod, &builder_name, &param_ident.to_string())
                .ok_or_else(|| at(&format!("the request has no parameter `{param}`")))?;
            quote! {{
                let marker: Option<String> = #marker;
                match marker {
                    Some(marker) => {
                        let value: #param_ty = p::parse_marker(&marker, #param)?;
                        Some((marker, request.clone().#param_ident(value)))
                    }
                    None => None,
                }
            }}
        }
    };
    let header_link =
        header_marker.then(|| quote! { let header_link = p::link_next(response.headers()); });

    let builder_ident = format_ident!("{}", builder_name);
    let doc = match &p.param {
        Some(param) => format!(
            "Every item of every page, as a stream that sends one request per page, \
             lazily, as it is consumed. The next page is named by `{param}`; other \
             parameters you set (page size, filters) are kept on every page. An error \
             is yielded once and ends the stream. Collect everything with \
             `futures::TryStreamExt::try_collect`."
        ),
        None => "The items of this listing (the API returns them in one page), as a \
                 stream, like the paginated listings of this crate."
            .to_owned(),
    };
    let tokens = quote! {
        impl<'a> #builder_ident<'a> {
            #[doc = #doc]
            pub fn stream(
                self,
            ) -> impl futures::Stream<Item = Result<#item_ty, Error<#error_ty>>> + Unpin + 'a {
                use regkit_core::pagination as p;
                p::paginate(self, |request| request.send(), |request, response| {
                    let _ = request;
                    #header_link
                    let page = response.into_inner();
                    let items: Vec<#item_ty> = #items;
                    let next = #next;
                    Ok(p::Page { items, next })
                })
            }
        }
    };
    syn::parse2(tokens).map_err(|e| at(&format!("generated code does not parse: {e}")))
}

/// `send()` returns `Result<ResponseValue<P>, Error<E>>`: P and E.
fn send_types(builder: &[syn::Item], name: &str) -> Option<(syn::Type, syn::Type)> {
    builder.iter().find_map(|item| {
        let syn::Item::Impl(imp) = item else {
            return None;
        };
        if last_ident(&imp.self_ty) != name {
            return None;
        }
        imp.items.iter().find_map(|i| {
            let syn::ImplItem::Fn(f) = i else { return None };
            if f.sig.ident != "send" {
                return None;
            }
            let syn::ReturnType::Type(_, ty) = &f.sig.output else {
                return None;
            };
            let args = generic_args(ty)?;
            let [ok, err] = &args[..] else { return None };
            Some((
                generic_args(ok)?.first()?.clone(),
                generic_args(err)?.first()?.clone(),
            ))
        })
    })
}

fn builder_field_type(builder: &[syn::Item], name: &str, field: &str) -> Option<syn::Type> {
    let ty = builder.iter().find_map(|item| match item {
        syn::Item::Struct(s) if s.ident == name => s
            .fields
            .iter()
            .find_map(|f| (f.ident.as_ref()? == field).then(|| f.ty.clone())),
        _ => None,
    })?;
    // `Result<Option<T>, String>` or `Result<T, String>`.
    let inner = generic_args(&ty)?.first()?.clone();
    if last_ident(&inner) == "Option" {
        generic_args(&inner)?.first().cloned()
    } else {
        Some(inner)
    }
}

/// `Option<String>`: the marker at `pointer` inside `page`, read through
/// the page's generated types.
fn typed_read(types: &[syn::Item], page_struct: &str, pointer: &str) -> Option<TokenStream> {
    let segments: Vec<&str> = pointer.strip_prefix('/')?.split('/').collect();
    let mut current = page_struct.to_owned();
    let mut expr: Option<TokenStream> = None;
    for (i, segment) in segments.iter().enumerate() {
        let Some(field) = find_field(types, &current, segment) else {
            // Not a generated struct here (free-form JSON): read the rest of
            // the pointer from this value.
            let value = expr?;
            let rest = format!("/{}", segments[i..].join("/"));
            return Some(quote! { #value.and_then(|v| p::pointer(v, #rest)) });
        };
        let ident = field.ident.clone()?;
        let (inner, optional) = match last_ident(&field.ty).as_str() {
            "Option" => (generic_args(&field.ty)?.first()?.clone(), true),
            _ => (field.ty.clone(), false),
        };
        expr = Some(match (expr, optional) {
            (None, true) => quote! { page.#ident.as_ref() },
            (None, false) => quote! { Some(&page.#ident) },
            (Some(e), true) => quote! { #e.and_then(|v| v.#ident.as_ref()) },
            (Some(e), false) => quote! { #e.map(|v| &v.#ident) },
        });
        current = last_ident(&inner);
    }
    let value = expr?;
    Some(quote! { #value.and_then(p::Marker::marker) })
}

fn find_field<'t>(types: &'t [syn::Item], name: &str, json: &str) -> Option<&'t syn::Field> {
    types.iter().find_map(|item| match item {
        syn::Item::Struct(s) if s.ident == name => s.fields.iter().find(|f| {
            let renamed = f.attrs.iter().any(|a| {
                a.path().is_ident("serde")
                    && quote!(#a)
                        .to_string()
                        .contains(&format!("rename = \"{json}\""))
            });
            let ident = f
                .ident
                .as_ref()
                .map(|i| i.to_string().trim_start_matches("r#").to_owned());
            renamed || ident.as_deref() == Some(json)
        }),
        _ => None,
    })
}

fn struct_field(types: &[syn::Item], name: &str, json: &str) -> Option<syn::Ident> {
    find_field(types, name, json)?.ident.clone()
}

fn struct_field_type(types: &[syn::Item], name: &str, json: &str) -> Option<syn::Type> {
    Some(find_field(types, name, json)?.ty.clone())
}

/// `Vec<T>` or `Option<Vec<T>>`: T.
fn vec_item(ty: &syn::Type) -> Option<syn::Type> {
    match last_ident(ty).as_str() {
        "Vec" => generic_args(ty)?.first().cloned(),
        "Option" => vec_item(generic_args(ty)?.first()?),
        _ => None,
    }
}

/// Types of the `types` module named by their bare name there are named
/// `types::X` from the builder module.
fn qualify(ty: syn::Type) -> TokenStream {
    match &ty {
        syn::Type::Path(p)
            if p.qself.is_none()
                && p.path.leading_colon.is_none()
                && p.path.segments.len() == 1 =>
        {
            quote! { types::#ty }
        }
        _ => quote! { #ty },
    }
}
