//! regkit-emulator's framework: every operation of every spec is served at
//! its method and path, credentials are checked, faults hit what they name,
//! snapshots round-trip. Provider behaviour lives in `emulator_<provider>.rs`.

use std::collections::BTreeSet;
use std::time::Duration;

use regkit_core::RetryPolicy;
use regkit_emulator::{Emulator, FaultRule, Provider};
use regkit_tests::prism::repo_root;

fn spec_operations(p: Provider) -> BTreeSet<(String, String, String)> {
    let root = repo_root();
    let manifest = xtask::Manifest::load(&root).expect("specs/providers.toml loads");
    let entry = manifest
        .providers
        .iter()
        .find(|e| e.name == p.name())
        .expect("every emulated provider is in the manifest");
    xtask::operations(&root, entry)
        .expect("the spec loads")
        .into_iter()
        .map(|o| (o.id, o.method, o.path))
        .collect()
}

#[test]
fn every_operation_of_every_spec_is_served_at_its_method_and_path() {
    let mut problems = Vec::new();
    for p in Provider::ALL {
        let spec = spec_operations(p);
        let served: BTreeSet<(String, String, String)> = regkit_emulator::served_operations(p)
            .into_iter()
            .map(|(id, method, path)| (id.to_string(), method, path.to_string()))
            .collect();
        for missing in spec.difference(&served) {
            problems.push(format!("{p}: not served: {missing:?}"));
        }
        for extra in served.difference(&spec) {
            problems.push(format!("{p}: served but not in the spec: {extra:?}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
