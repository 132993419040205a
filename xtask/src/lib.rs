//! The code generator behind `cargo xtask codegen`, as a library so the
//! binary and the codegen benchmark (`cargo bench -p xtask`) run the same code.

pub mod bench_build;
mod cli;
mod crate_root;
mod generate;
pub mod manifest;
mod naming;
mod pagination;
mod passes;
mod provider_table;
mod spec;
mod syntax;

use std::path::{Path, PathBuf};

pub use manifest::{Manifest, Provider};

/// One provider's generated sources, in memory.
#[derive(Debug)]
pub struct Generated {
    /// Operations in the generated client.
    pub operations: usize,
    /// `(path relative to the workspace root, contents)` for every generated file.
    pub files: Vec<(PathBuf, String)>,
}

/// The workspace root (the directory holding `specs/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}

/// Every `operationId` of a provider's spec, as the spec spells them
/// (hand-written operations included), read with codegen's own loader.
pub fn operation_ids(root: &Path, provider: &Provider) -> Result<Vec<String>, String> {
    let display = provider.spec.display().to_string();
    let spec = spec::load(&root.join(&provider.spec), &display)?;
    let mut ids: Vec<String> = spec
        .openapi
        .paths
        .paths
        .values()
        .filter_map(openapiv3::ReferenceOr::as_item)
        .flat_map(|item| item.iter())
        .filter_map(|(_, op)| op.operation_id.clone())
        .chain(spec.handwritten.iter().map(|h| h.operation_id.clone()))
        .collect();
    ids.sort();
    Ok(ids)
}

/// One operation of a spec: its `operationId`, method (upper case) and
/// path template.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Operation {
    /// The `operationId`.
    pub id: String,
    /// `GET`, `POST`, …
    pub method: String,
    /// The path template, `{param}`s included.
    pub path: String,
}

/// Every operation of a provider's spec (hand-written ones included),
/// sorted by `operationId`.
pub fn operations(root: &Path, provider: &Provider) -> Result<Vec<Operation>, String> {
    let display = provider.spec.display().to_string();
    let spec = spec::load(&root.join(&provider.spec), &display)?;
    let mut ops: Vec<Operation> = spec
        .openapi
        .paths
        .paths
        .iter()
        .filter_map(|(path, item)| item.as_item().map(|item| (path, item)))
        .flat_map(|(path, item)| {
            item.iter().filter_map(move |(method, op)| {
                Some(Operation {
                    id: op.operation_id.clone()?,
                    method: method.to_uppercase(),
                    path: path.clone(),
                })
            })
        })
        .chain(spec.handwritten.iter().map(|h| Operation {
            id: h.operation_id.clone(),
            method: h.method.clone(),
            path: h.path.clone(),
        }))
        .collect();
    ops.sort();
    Ok(ops)
}

/// A provider's spec as codegen reads it (hand-written operations taken
/// out, regkit's markers added), as JSON, so tests can walk its operations
/// and schemas with codegen's own loader.
pub fn spec_document(root: &Path, provider: &Provider) -> Result<serde_json::Value, String> {
    let display = provider.spec.display().to_string();
    let spec = spec::load(&root.join(&provider.spec), &display)?;
    serde_json::to_value(&spec.openapi).map_err(|e| format!("{display}: {e}"))
}

/// Generates one provider's code from its spec without touching the disk.
/// Errors name the spec file and, where one is at fault, the operation.
pub fn generate_provider(root: &Path, provider: &Provider) -> Result<Generated, String> {
    let display = provider.spec.display().to_string();
    let spec = spec::load(&root.join(&provider.spec), &display)?;
    let output = generate::generate(provider, &spec, &display)?;
    let lib = crate_root::lib_rs(root, provider, &spec, &display)?;
    let src = provider.crate_dir.join("src");
    Ok(Generated {
        operations: output.operations,
        files: vec![
            (src.join("generated.rs"), output.client),
            (src.join("generated_mock.rs"), output.mock),
            (src.join("lib.rs"), lib),
        ],
    })
}

/// `crates/cli/src/generated_calls/` (`regkit <provider> call …`): a file
/// per provider, from its spec alone, and the index `mod.rs`:
/// `(path relative to the workspace root, contents)` each.
pub fn generate_calls(
    root: &Path,
    providers: &[&Provider],
) -> Result<Vec<(PathBuf, String)>, String> {
    cli::generate(root, providers)
}

/// `crates/core/src/providers.rs`: every provider's facts, emitted once
/// into regkit-core (`Provider` and a `ProviderInfo` constant each):
/// `(path relative to the workspace root, contents)`.
pub fn generate_provider_table(
    root: &Path,
    manifest: &Manifest,
) -> Result<(PathBuf, String), String> {
    provider_table::generate(root, manifest)
}

#[cfg(test)]
mod tests {
    /// The committed generated code is what the specs, the manifest and
    /// this generator produce now (like `cargo xtask codegen --check`, but
    /// inside `cargo test`).
    #[test]
    fn generated_code_is_up_to_date() {
        let root = super::workspace_root();
        let manifest = super::Manifest::load(&root).unwrap();
        let mut stale = Vec::new();
        let mut outputs = Vec::new();
        for provider in &manifest.providers {
            let output = super::generate_provider(&root, provider).unwrap();
            outputs.push((provider, output));
        }
        let providers: Vec<_> = manifest.providers.iter().collect();
        let calls = super::generate_calls(&root, &providers).unwrap();
        let table = super::generate_provider_table(&root, &manifest).unwrap();
        let files = outputs.iter().flat_map(|(_, o)| o.files.iter().cloned());
        for (rel, code) in files.chain(calls).chain([table]) {
            let current = std::fs::read_to_string(root.join(&rel)).unwrap_or_default();
            if current != code {
                stale.push(rel.display().to_string());
            }
        }
        assert!(
            stale.is_empty(),
            "stale generated code; run `cargo xtask codegen` and commit: {stale:?}"
        );
    }

    /// Provider facts live in `specs/providers.toml` and in what codegen
    /// emits from it: no hand-written code of any crate writes a registry
    /// host or a credential variable (comments may name them for readers).
    #[test]
    fn no_crate_writes_a_provider_host_or_token_variable_by_hand() {
        use crate::manifest::AuthScheme;
        let root = super::workspace_root();
        let manifest = super::Manifest::load(&root).unwrap();
        let mut facts: Vec<String> = Vec::new();
        for p in &manifest.providers {
            facts.extend(p.registry.host.clone());
            if let Some(pattern) = &p.registry.host_pattern {
                // The literal tail after the last part: `.ionos.com`.
                let tail = pattern.rsplit('}').next().unwrap_or_default();
                assert!(
                    tail.len() > 4,
                    "{pattern}: too short a literal tail to look for"
                );
                facts.push(tail.to_string());
            }
            facts.extend(p.base_url_env.clone());
            for scheme in &p.auth {
                match scheme {
                    AuthScheme::Bearer { env } | AuthScheme::ApiKey { env, .. } => {
                        facts.extend(env.iter().cloned())
                    }
                    AuthScheme::Basic {
                        username_env,
                        password_env,
                        ..
                    } => facts.extend(username_env.iter().chain(password_env).cloned()),
                }
            }
        }
        let mut found = Vec::new();
        let mut files = Vec::new();
        let mut dirs = vec![root.join("crates")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    // Source only: tests and examples state expected facts.
                    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    if !matches!(name, "tests" | "examples" | "benches" | "target") {
                        dirs.push(path);
                    }
                } else if path.extension().is_some_and(|e| e == "rs")
                    && path.components().any(|c| c.as_os_str() == "src")
                {
                    files.push(path);
                }
            }
        }
        assert!(files.len() > 20, "found {} source files", files.len());
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap();
            if text
                .lines()
                .next()
                .is_some_and(|l| l.contains("@generated"))
            {
                continue;
            }
            for (n, line) in text.lines().enumerate() {
                let code = line.trim_start();
                if code.starts_with("//") {
                    continue;
                }
                for fact in &facts {
                    if code.contains(fact.as_str()) {
                        let rel = path.strip_prefix(&root).unwrap_or(&path);
                        found.push(format!("{}:{}: {fact}", rel.display(), n + 1));
                    }
                }
            }
        }
        assert!(
            found.is_empty(),
            "provider facts written by hand (read them from regkit_core::Provider / PROVIDER instead):\n{}",
            found.join("\n")
        );
    }
}
