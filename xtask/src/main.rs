//! Maintainer tasks. `cargo xtask codegen [--check]` turns every spec named in
//! `specs/providers.toml` into `crates/<provider>/src/generated.rs` (the
//! client) and `generated_mock.rs` (httpmock helpers behind the `mock`
//! feature).

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "usage: cargo xtask codegen [--check] [PROVIDER...]

  codegen            regenerate every provider's generated*.rs from specs/
  codegen --check    regenerate in memory; fail, naming each stale file, if
                     the committed code differs
  PROVIDER...        only these providers (names from specs/providers.toml)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("codegen") => {
            let check = args.iter().any(|a| a == "--check");
            let only: Vec<&str> = args[1..]
                .iter()
                .filter(|a| !a.starts_with("--"))
                .map(String::as_str)
                .collect();
            if let Some(bad) = args[1..]
                .iter()
                .find(|a| a.starts_with("--") && *a != "--check")
            {
                eprintln!("unknown option {bad}\n\n{USAGE}");
                return ExitCode::from(2);
            }
            match codegen(&xtask::workspace_root(), check, &only) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn codegen(root: &Path, check: bool, only: &[&str]) -> Result<(), String> {
    let manifest = xtask::Manifest::load(root)?;
    if let Some(unknown) = only
        .iter()
        .find(|name| !manifest.providers.iter().any(|p| p.name == **name))
    {
        return Err(format!("no provider `{unknown}` in specs/providers.toml"));
    }
    let started = Instant::now();
    let mut stale = Vec::new();
    let mut failures = Vec::new();
    for provider in manifest
        .providers
        .iter()
        .filter(|p| only.is_empty() || only.contains(&p.name.as_str()))
    {
        let t = Instant::now();
        let output = match xtask::generate_provider(root, provider) {
            Ok(output) => output,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        for (rel, code) in &output.files {
            let path = root.join(rel);
            let current = std::fs::read_to_string(&path).ok();
            if current.as_deref() == Some(code.as_str()) {
                continue;
            }
            if check {
                stale.push(rel.display().to_string());
            } else {
                std::fs::write(&path, code)
                    .map_err(|e| format!("cannot write {}: {e}", rel.display()))?;
            }
        }
        println!(
            "{:<14} {:>3} operations  {:>7.1} ms  {}",
            provider.name,
            output.operations,
            t.elapsed().as_secs_f64() * 1e3,
            provider
                .crate_dir
                .join("src/generated{,_mock}.rs")
                .display()
        );
    }
    println!(
        "codegen: {} in {:.1} ms",
        if check { "checked" } else { "generated" },
        started.elapsed().as_secs_f64() * 1e3
    );
    if !failures.is_empty() {
        return Err(failures.join("\n"));
    }
    if !stale.is_empty() {
        return Err(format!(
            "generated code is stale; run `cargo xtask codegen` and commit:\n  {}",
            stale.join("\n  ")
        ));
    }
    Ok(())
}
