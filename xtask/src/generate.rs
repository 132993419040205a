//! progenitor → post-processing → formatted Rust source.

use std::panic::{AssertUnwindSafe, catch_unwind};

use openapiv3::{OpenAPI, ReferenceOr};
use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote};

use crate::manifest::{AuthScheme, Provider};
use crate::spec::{OpenEnum, PreparedSpec};

pub struct Output {
    pub client: String,
    pub mock: String,
    pub operations: usize,
}

pub fn generate(provider: &Provider, spec: &PreparedSpec, display: &str) -> Result<Output, String> {
    let client_tokens = run_progenitor(provider, spec, display, |g, s| g.generate_tokens(s))?;
    let mut file: syn::File = syn::parse2(client_tokens)
        .map_err(|e| format!("{display}: progenitor produced unparsable code: {e}"))?;
    insert_into_module(&mut file, "types", open_enum_items(&spec.open_enums))?;
    let streams = spec
        .paginated
        .iter()
        .map(|(id, scheme)| crate::pagination::stream_impl(&file, id, scheme))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{display}: {e}"))?;
    insert_into_module(&mut file, "builder", streams)?;
    run_passes(&mut file, Target::Client, spec, provider, display)?;
    file.items.extend(
        syn::parse2::<syn::File>(handwritten_urls(&spec.handwritten))
            .expect("handwritten URL items parse")
            .items,
    );
    file.items.extend(
        syn::parse2::<syn::File>(provider_items(provider))
            .expect("provider items parse")
            .items,
    );
    let sizes = future_sizes_test(&file);
    file.items.extend(
        syn::parse2::<syn::File>(sizes)
            .expect("future size test parses")
            .items,
    );
    let client = finish(
        &prettyplease::unparse(&file),
        display,
        &spec.handwritten,
        false,
    );

    let mock_tokens = run_progenitor(provider, spec, display, |g, s| g.httpmock(s, "crate"))?;
    let mut mock_file: syn::File = syn::parse2(mock_tokens)
        .map_err(|e| format!("{display}: progenitor produced unparsable mock code: {e}"))?;
    run_passes(&mut mock_file, Target::Mock, spec, provider, display)?;
    let mock = finish(&prettyplease::unparse(&mock_file), display, &[], true);

    Ok(Output {
        client,
        mock,
        operations: spec.operations,
    })
}

/// The largest future an operation may have: glibc's allocator serves
/// blocks of up to 1 032 bytes from a per-thread cache, and a spawned
/// future (or one in a `FuturesUnordered`) is allocated with its task's
/// header of about a hundred bytes.
const FUTURE_LIMIT: usize = 900;

/// A unit test, in the generated file, that every operation's `send()`
/// future fits [`FUTURE_LIMIT`]: the operations are the `Client` methods
/// that return a builder.
fn future_sizes_test(file: &syn::File) -> TokenStream {
    let operations: Vec<syn::Ident> = file
        .items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Impl(imp)
                if imp.trait_.is_none()
                    && imp.self_ty.to_token_stream().to_string() == "Client" =>
            {
                Some(imp)
            }
            _ => None,
        })
        .flat_map(|imp| &imp.items)
        .filter_map(|item| match item {
            syn::ImplItem::Fn(f)
                if f.sig.inputs.len() == 1
                    && matches!(&f.sig.output, syn::ReturnType::Type(_, ty)
                        if ty.to_token_stream().to_string().starts_with("builder ::")) =>
            {
                Some(f.sig.ident.clone())
            }
            _ => None,
        })
        .collect();
    let names: Vec<String> = operations.iter().map(ToString::to_string).collect();
    quote! {
        #[cfg(test)]
        mod future_sizes {
            /// Each operation's future, unpolled, is small enough for the
            /// allocator's per-thread cache once a task's header is added
            /// (`FUTURE_LIMIT` in xtask's `generate.rs` says why).
            #[test]
            fn every_operation_future_fits_the_allocators_fast_path() {
                let client = super::Client::builder().build().expect("a default client builds");
                let sizes = [#((#names, ::std::mem::size_of_val(&client.#operations().send()))),*];
                let over: Vec<_> = sizes.iter().filter(|(_, n)| *n > #FUTURE_LIMIT).collect();
                assert!(over.is_empty(), "operations whose future is over {} bytes: {over:?}", #FUTURE_LIMIT);
            }
        }
    }
}

/// `handwritten::<operation>_url(baseurl, params…)` for each operation the
/// crate implements by hand: the URL from the spec's path template, each
/// path parameter through the same checked encoder as generated operations.
fn handwritten_urls(ops: &[crate::spec::Handwritten]) -> TokenStream {
    if ops.is_empty() {
        return TokenStream::new();
    }
    let fns = ops.iter().map(|op| {
        let name = format_ident!("{}_url", crate::naming::snake(&op.operation_id));
        let params = op.path_params();
        let idents: Vec<_> = params
            .iter()
            .map(|p| format_ident!("{}", crate::naming::snake(p)))
            .collect();
        let names: Vec<String> = idents.iter().map(ToString::to_string).collect();
        let mut template = String::from("{}");
        let mut rest = op.path.as_str();
        while let Some((before, after)) = rest.split_once('{') {
            template.push_str(before);
            template.push_str("{}");
            rest = after.split_once('}').map_or("", |(_, tail)| tail);
        }
        template.push_str(rest);
        let doc = format!(
            "The URL of `{}` (`{}`), each path parameter checked and encoded.",
            op.operation_id, op.path
        );
        quote! {
            #[doc = #doc]
            pub(crate) fn #name(
                baseurl: &str,
                #(#idents: &str),*
            ) -> Result<String, regkit_core::runtime::InvalidPathParam> {
                Ok(format!(
                    #template,
                    baseurl,
                    #(regkit_core::runtime::encode_path(#idents, #names)?),*
                ))
            }
        }
    });
    quote! {
        /// URLs of the operations implemented by hand in `extras.rs`.
        pub(crate) mod handwritten {
            #(#fns)*
        }
    }
}

/// Which file a pass list is for.
#[derive(Clone, Copy, PartialEq)]
enum Target {
    Client,
    Mock,
}

/// The typed edits of `crate::passes`, each checked against the count the
/// spec implies, then a check that nothing they exist to remove is left.
fn run_passes(
    file: &mut syn::File,
    target: Target,
    spec: &PreparedSpec,
    provider: &Provider,
    display: &str,
) -> Result<(), String> {
    use crate::passes;
    let fail = |pass: &str, why: String| {
        Err(format!(
            "{display}: codegen pass `{pass}` failed for provider `{}`: {why}",
            provider.name
        ))
    };
    let expect = |pass: &str, got: usize, want: usize, what: &str| {
        if got == want {
            Ok(())
        } else {
            fail(
                pass,
                format!("changed {got} {what}, the spec implies {want}"),
            )
        }
    };
    // The client imports its runtime; the mock helpers may not name it.
    if passes::runtime_path(file) == 0 && target == Target::Client {
        return fail("runtime_path", "found no `progenitor_client` path".into());
    }
    if passes::schemars_behind_feature(file) == 0 && target == Target::Client {
        return fail(
            "schemars_behind_feature",
            "found no `schemars::JsonSchema` derive".into(),
        );
    }
    passes::tidy_conversion_messages(file);
    let renamed = passes::regex_free_patterns(file);
    if !renamed.is_multiple_of(2) || file.to_token_stream().to_string().contains("regress") {
        return fail(
            "regex_free_patterns",
            format!("renamed {renamed} regress paths and left some: each pattern has two"),
        );
    }
    match target {
        Target::Client => {
            expect(
                "checked_path_params",
                passes::checked_path_params(file),
                spec.path_parameters,
                "encode_path calls (one per path parameter per operation)",
            )?;
            expect(
                "no_api_version",
                passes::no_api_version(file),
                spec.operations,
                "api-version headers (one per operation)",
            )?;
            expect(
                "unlisted_status",
                passes::unlisted_status(file),
                spec.catch_all_operations,
                "catch-all arms (one per operation without a `default` response)",
            )?;
            // Counted by its own unit test; the spec implies no number a
            // reader could check (it depends on typify's enum shapes).
            passes::null_is_a_value(file);
            let collections = passes::null_collections(file);
            if collections < spec.component_collections {
                return fail(
                    "null_collections",
                    format!(
                        "changed {collections} `Vec` and map fields, but components.schemas \
                         alone has {} non-nullable array and map properties",
                        spec.component_collections
                    ),
                );
            }
            expect(
                "optional_deleted",
                passes::optional_deleted(file),
                spec.deletes_with_body,
                "DELETE operations (one per DELETE that documents a success body)",
            )?;
            // Last: the passes above read progenitor's `async fn send`.
            expect(
                "prepare_then_send",
                passes::prepare_then_send(file),
                spec.operations,
                "send functions split in two (one per operation)",
            )?;
        }
        Target::Mock => expect(
            "mock_path_matchers",
            passes::mock_path_matchers(file),
            spec.path_parameters,
            "path matchers (one per path parameter per operation)",
        )?,
    }
    let text = file.to_token_stream().to_string();
    for leftover in ["progenitor_client", "\"api-version\""] {
        if text.contains(leftover) {
            return fail("leftovers", format!("`{leftover}` is still in the output"));
        }
    }
    Ok(())
}

fn settings(spec: &PreparedSpec) -> progenitor::GenerationSettings {
    let mut settings = progenitor::GenerationSettings::default();
    settings
        .with_interface(progenitor::InterfaceStyle::Builder)
        .with_tag(progenitor::TagStyle::Merged)
        .with_inner_type(quote! { regkit_core::Inner })
        .with_hooks(progenitor::HooksMode::Expected)
        .with_derive("schemars::JsonSchema")
        .with_crate("regkit-core", progenitor::CrateVers::Any, None::<&String>);
    for e in &spec.open_enums {
        settings.with_replacement(
            &e.rust_name,
            format!("crate::generated::types::{}", e.rust_name),
            [progenitor::TypeImpl::Display, progenitor::TypeImpl::FromStr].into_iter(),
        );
    }
    settings
}

/// Runs progenitor, turning both its errors and its panics into messages
/// naming the spec (and, for panics, the operations that trigger them).
fn run_progenitor(
    provider: &Provider,
    spec: &PreparedSpec,
    display: &str,
    f: impl Fn(&mut progenitor::Generator, &OpenAPI) -> Result<TokenStream, progenitor::Error>,
) -> Result<TokenStream, String> {
    let attempt = |openapi: &OpenAPI| -> Result<Result<TokenStream, String>, String> {
        let mut generator = progenitor::Generator::new(&settings(spec));
        catch_unwind(AssertUnwindSafe(|| f(&mut generator, openapi)))
            .map(|r| r.map_err(|e| e.to_string()))
            .map_err(|panic| {
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "unknown panic".into())
            })
    };

    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = attempt(&spec.openapi);
    let outcome = match result {
        Ok(Ok(tokens)) => Ok(tokens),
        Ok(Err(e)) => Err(format!("{display}: progenitor rejected the spec: {e}")),
        Err(panic) => {
            // Find the operations that make progenitor panic on their own.
            let culprits: Vec<String> = single_operation_specs(&spec.openapi)
                .filter(|(_, one)| attempt(one).is_err())
                .map(|(id, _)| id)
                .collect();
            let which = if culprits.is_empty() {
                "the document as a whole".to_owned()
            } else {
                format!("operation(s) {}", culprits.join(", "))
            };
            Err(format!(
                "{display}: progenitor panicked ({panic}) on {which} of provider `{}`",
                provider.name
            ))
        }
    };
    std::panic::set_hook(previous_hook);
    outcome
}

fn single_operation_specs(spec: &OpenAPI) -> impl Iterator<Item = (String, OpenAPI)> + '_ {
    spec.paths.paths.iter().flat_map(move |(path, item)| {
        let item = item.as_item().cloned().unwrap_or_default();
        item.iter()
            .map(|(method, op)| (method.to_owned(), op.clone()))
            .collect::<Vec<_>>()
            .into_iter()
            .map(move |(method, op)| {
                let mut one = spec.clone();
                let mut single = openapiv3::PathItem {
                    parameters: item.parameters.clone(),
                    ..Default::default()
                };
                let id = op
                    .operation_id
                    .clone()
                    .unwrap_or_else(|| format!("{method} {path}"));
                match method.as_str() {
                    "get" => single.get = Some(op),
                    "put" => single.put = Some(op),
                    "post" => single.post = Some(op),
                    "delete" => single.delete = Some(op),
                    "options" => single.options = Some(op),
                    "head" => single.head = Some(op),
                    "patch" => single.patch = Some(op),
                    _ => single.trace = Some(op),
                }
                one.paths.paths = [(path.clone(), ReferenceOr::Item(single))]
                    .into_iter()
                    .collect();
                (id, one)
            })
    })
}

fn insert_into_module(
    file: &mut syn::File,
    name: &str,
    items: Vec<syn::Item>,
) -> Result<(), String> {
    let module = file
        .items
        .iter_mut()
        .find_map(|item| match item {
            syn::Item::Mod(m) if m.ident == name => m.content.as_mut(),
            _ => None,
        })
        .ok_or_else(|| format!("progenitor output has no `{name}` module"))?;
    module.1.extend(items);
    Ok(())
}

fn open_enum_items(enums: &[OpenEnum]) -> Vec<syn::Item> {
    enums
        .iter()
        .map(|e| {
            let name = format_ident!("{}", e.rust_name);
            let doc = e.description.clone().unwrap_or_else(|| {
                format!("One of the values the API documents for `{}`.", e.rust_name)
            });
            let mut seen = std::collections::BTreeSet::new();
            let variants = e.values.iter().map(|value| {
                let mut ident = crate::naming::pascal(value);
                if ident.is_empty() || ident.starts_with(|c: char| c.is_ascii_digit()) {
                    ident = format!("V{ident}");
                }
                while !seen.insert(ident.clone()) {
                    ident.push('_');
                }
                let ident = format_ident!("{}", ident);
                let vdoc = format!("`{value}`");
                quote! { #[doc = #vdoc] #ident = #value, }
            });
            syn::parse2(quote! {
                regkit_core::open_enum! {
                    #[doc = #doc]
                    pub enum #name { #(#variants)* }
                }
            })
            .expect("open enum item parses")
        })
        .collect()
}

/// `PROVIDER` (facts from providers.toml) and the glue regkit-core's
/// generic builder needs.
fn provider_items(p: &Provider) -> TokenStream {
    let base_url = &p.base_url;
    let facts = crate::provider_table::const_ident(p);
    let error_metadata = error_metadata(p);
    let builder_doc = format!(
        "A builder for a client of `{base_url}` with no credentials yet; finish with `build()`."
    );
    let mut from_env_doc = format!(
        "A client configured from the environment. Credentials, in order of preference: {}.",
        p.auth
            .iter()
            .map(describe_auth)
            .collect::<Vec<_>>()
            .join("; or ")
    );
    if let Some(var) = &p.base_url_env {
        from_env_doc.push_str(&format!(" `{var}` overrides the base URL."));
    }
    from_env_doc.push_str("\n\nA missing credential is an error that names the variables to set.");
    quote! {
        /// What regkit knows about this provider (from `specs/providers.toml`,
        /// emitted once into `regkit_core::providers`), with this crate's version.
        pub const PROVIDER: regkit_core::ProviderInfo = regkit_core::ProviderInfo {
            crate_version: env!("CARGO_PKG_VERSION"),
            ..regkit_core::providers::#facts
        };

        #error_metadata

        /// Builder for a [`Client`]: base URL, credentials, retries, timeouts, middleware.
        pub type ClientBuilder = regkit_core::ClientBuilder<Client>;

        impl Client {
            #[doc = #builder_doc]
            pub fn builder() -> ClientBuilder {
                ClientBuilder::new()
            }

            #[doc = #from_env_doc]
            pub fn from_env() -> ::std::result::Result<Self, regkit_core::ConfigError> {
                Self::builder().from_env().build()
            }
        }

        impl regkit_core::GeneratedClient for Client {
            const PROVIDER: &'static regkit_core::ProviderInfo = &PROVIDER;
            fn from_parts(baseurl: &str, http: reqwest::Client, inner: regkit_core::Inner) -> Self {
                Self::new_with_client(baseurl, http, inner)
            }
            fn inner(&self) -> &regkit_core::Inner {
                &self.inner
            }
        }
    }
}

/// `impl ErrorMetadata for types::<error schema>`: plain field access to the
/// fields the manifest names, through regkit-core's `ErrorText` so a field
/// may be required or optional.
fn error_metadata(p: &Provider) -> TokenStream {
    let ty = format_ident!("{}", crate::naming::pascal(&p.error.schema));
    let field = |name: &str| format_ident!("{}", crate::naming::snake(name));
    let sources = p.error.message.iter().map(|m| {
        let f = field(&m.field);
        match &m.each {
            None => quote! { .or_else(|| self.#f.error_text()) },
            Some(list) => {
                let list = field(list);
                quote! {
                    .or_else(|| regkit_core::runtime::join_texts(
                        self.#list.error_items().iter().map(|item| item.#f.error_text()),
                    ))
                }
            }
        }
    });
    let request_id = p.error.request_id_field.as_deref().map(|name| {
        let f = field(name);
        quote! {
            fn request_id(&self) -> Option<String> {
                use regkit_core::runtime::ErrorText as _;
                self.#f.error_text()
            }
        }
    });
    let doc = format!(
        "What `Error`'s `Display` reads from a {} error body (from `specs/providers.toml`).",
        p.display_name
    );
    quote! {
        #[doc = #doc]
        impl regkit_core::ErrorMetadata for types::#ty {
            fn message(&self) -> Option<String> {
                use regkit_core::runtime::{ErrorItems as _, ErrorText as _};
                None #(#sources)*
            }
            #request_id
        }
    }
}

pub(crate) fn describe_auth(a: &AuthScheme) -> String {
    let vars = |v: &[String]| {
        v.iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(" or ")
    };
    match a {
        AuthScheme::Bearer { env } => format!("a bearer token from {}", vars(env)),
        AuthScheme::Basic {
            username_env,
            password_env,
            username_prefix,
        } => {
            let prefix = username_prefix
                .as_ref()
                .map(|p| format!(" (`{p}` is added to the user name when missing)"))
                .unwrap_or_default();
            format!(
                "HTTP Basic with the user from {} and the password from {}{prefix}",
                vars(username_env),
                vars(password_env)
            )
        }
        AuthScheme::ApiKey { header, env, .. } => {
            format!("an API key in `{header}` from {}", vars(env))
        }
    }
}

/// The do-not-edit header and lint allowances; every edit of the code
/// itself happened on the syntax tree (`crate::passes`).
fn finish(
    code: &str,
    display: &str,
    handwritten: &[crate::spec::Handwritten],
    mock: bool,
) -> String {
    let mut header = format!(
        "// @generated by `cargo xtask codegen` from {display}. DO NOT EDIT.\n\
         // Change the spec, specs/providers.toml or xtask instead;\n\
         // `cargo xtask codegen --check` fails when this file is stale.\n"
    );
    if !handwritten.is_empty() {
        let ids: Vec<&str> = handwritten
            .iter()
            .map(|h| h.operation_id.as_str())
            .collect();
        header.push_str(&format!(
            "// Implemented by hand in src/extras.rs (URLs below, in `handwritten`): {}.\n",
            ids.join(", ")
        ));
    }
    let allow = if mock {
        "#![allow(clippy::all, unused_imports, unused_mut, dead_code, missing_docs, missing_debug_implementations)]\n"
    } else {
        "#![allow(clippy::all, unused_imports, unused_mut, unreachable_patterns, missing_debug_implementations, missing_docs)]\n"
    };
    format!("{header}{allow}\n{code}")
}
