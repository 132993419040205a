//! Maintainer tasks. `cargo xtask codegen [--check]` turns every spec named in
//! `specs/providers.toml` into `crates/<provider>/src/generated.rs` (the
//! client) and `generated_mock.rs` (httpmock helpers behind the `mock`
//! feature).

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "usage: cargo xtask codegen [--check] [PROVIDER...]
       cargo xtask bench-build [--peer-script PATH] [--scratch DIR] [PROVIDER...]

  codegen            regenerate every provider's generated files from specs/
  codegen --check    regenerate in memory; fail, naming each stale file, if
                     the committed code differs
  bench-build        clean debug and release builds of provider crates (default
                     TLS and native-tls), each from an empty target dir, beside
                     the OpenAPI Generator peer when its recipe is found
                     (default ../shared/bench/openapi_generator_peer.sh);
                     prints a Markdown table. Takes minutes; not run by CI.
  PROVIDER...        only these providers (names from specs/providers.toml;
                     bench-build defaults to digitalocean)";

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
        Some("bench-build") => match bench_build(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
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

fn bench_build(args: &[String]) -> Result<(), String> {
    let root = xtask::workspace_root();
    let mut providers = Vec::new();
    let default_peer = root.join("../shared/bench/openapi_generator_peer.sh");
    let mut peer_script = default_peer.exists().then_some(default_peer);
    let mut scratch = std::env::temp_dir().join("regkit-bench-build");
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--peer-script" => {
                peer_script = Some(args.next().ok_or("--peer-script needs a path")?.into())
            }
            "--scratch" => scratch = args.next().ok_or("--scratch needs a directory")?.into(),
            other if other.starts_with("--") => {
                return Err(format!("unknown option {other}\n\n{USAGE}"));
            }
            name => providers.push(name.to_owned()),
        }
    }
    if providers.is_empty() {
        providers.push("digitalocean".into());
    }
    xtask::bench_build::run(
        &root,
        &xtask::bench_build::Options {
            providers,
            peer_script,
            scratch,
        },
    )
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
    let mut outputs = Vec::new();
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
            write_or_check(root, rel, code, check, &mut stale)?;
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
        outputs.push((provider, output));
    }
    // `regkit <provider> call` covers every provider, so it is generated
    // only when all of them are.
    if only.is_empty() && failures.is_empty() {
        let providers: Vec<_> = outputs.iter().map(|(p, _)| *p).collect();
        for (rel, code) in xtask::generate_calls(root, &providers)? {
            write_or_check(root, &rel, &code, check, &mut stale)?;
            println!("{:<14} {}", "cli", rel.display());
        }
        let (rel, code) = xtask::generate_provider_table(root, &manifest)?;
        write_or_check(root, &rel, &code, check, &mut stale)?;
        println!("{:<14} {}", "core", rel.display());
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

fn write_or_check(
    root: &Path,
    rel: &Path,
    code: &str,
    check: bool,
    stale: &mut Vec<String>,
) -> Result<(), String> {
    let path = root.join(rel);
    if std::fs::read_to_string(&path).ok().as_deref() == Some(code) {
        return Ok(());
    }
    if check {
        stale.push(rel.display().to_string());
        Ok(())
    } else {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        std::fs::write(&path, code).map_err(|e| format!("cannot write {}: {e}", rel.display()))
    }
}
