//! Reading progenitor's generated code with syn: the pieces pagination
//! and the CLI's call table both need.

/// The items of module `name` of a generated file.
pub(crate) fn module<'f>(file: &'f syn::File, name: &str) -> Option<&'f [syn::Item]> {
    file.items.iter().find_map(|item| match item {
        syn::Item::Mod(m) if m.ident == name => m.content.as_ref().map(|(_, items)| &items[..]),
        _ => None,
    })
}

/// `Client::<method>` returns `builder::<Name><'_>`: the name.
pub(crate) fn client_method_builder(file: &syn::File, method: &str) -> Option<String> {
    file.items.iter().find_map(|item| {
        let syn::Item::Impl(imp) = item else {
            return None;
        };
        imp.items.iter().find_map(|i| match i {
            syn::ImplItem::Fn(f) if f.sig.ident == method => match &f.sig.output {
                syn::ReturnType::Type(_, ty) => Some(last_ident(ty)),
                _ => None,
            },
            _ => None,
        })
    })
}

pub(crate) fn last_ident(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(p) => p
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default(),
        _ => String::new(),
    }
}

pub(crate) fn generic_args(ty: &syn::Type) -> Option<Vec<syn::Type>> {
    let syn::Type::Path(p) = ty else { return None };
    let syn::PathArguments::AngleBracketed(args) = &p.path.segments.last()?.arguments else {
        return None;
    };
    Some(
        args.args
            .iter()
            .filter_map(|a| match a {
                syn::GenericArgument::Type(t) => Some(t.clone()),
                _ => None,
            })
            .collect(),
    )
}
