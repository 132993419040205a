//! The code generator behind `cargo xtask codegen`, as a library so the
//! binary and the codegen benchmark (`cargo bench -p xtask`) run the same code.

pub mod bench_build;
mod crate_root;
mod generate;
pub mod manifest;
mod naming;
mod pagination;
mod passes;
mod spec;

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
        for provider in &manifest.providers {
            let output = super::generate_provider(&root, provider).unwrap();
            for (rel, code) in output.files {
                let current = std::fs::read_to_string(root.join(&rel)).unwrap_or_default();
                if current != code {
                    stale.push(rel.display().to_string());
                }
            }
        }
        assert!(
            stale.is_empty(),
            "stale generated code; run `cargo xtask codegen` and commit: {stale:?}"
        );
    }
}
