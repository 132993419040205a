//! `regkit` behaves like a Unix tool: a reader that closes stdout early
//! (`| head -1`) ends it quietly with exit 0, a bad number names its flag
//! (exit 2), `ls` and `--registry` mean distinct things, and text for people
//! shows values (never Rust's `Debug`) with counts that agree with their
//! nouns. Every case runs the real binary with `--emulator`.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use regkit_emulator::{Emulator, FaultRule, Provider};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `regkit --emulator ARGS` with a clean environment (HOME and
/// DOCKER_CONFIG in `home`) plus `env`.
fn regkit(home: &Path, env: &[(&str, &str)], args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_regkit"));
    cmd.env_clear()
        .env("HOME", home)
        .env("DOCKER_CONFIG", home.join("docker"))
        .envs(env.iter().copied())
        .arg("--emulator")
        .args(args)
        .stdin(Stdio::null());
    cmd
}

fn run(env: &[(&str, &str)], args: &[&str]) -> Result<Output, Box<dyn std::error::Error>> {
    let home = tempfile::tempdir()?;
    Ok(regkit(home.path(), env, args).output()?)
}

/// Every command that prints a listing or a long output, for every
/// provider where the emulator supports it.
const PRINTING: &[&[&str]] = &[
    &["digitalocean", "ls"],
    &["digitalocean", "ls", "demo"],
    &["digitalocean", "tags", "web"],
    &["digitalocean", "login"],
    &["digitalocean", "k8s-secret"],
    &["digitalocean", "prune", "--keep", "3"],
    &["digitalocean", "prune", "--keep", "3", "--apply", "--yes"],
    &["digitalocean", "gc"],
    &["digitalocean", "gc", "--wait"],
    &[
        "digitalocean",
        "call",
        "registries_list_repositoryTags",
        "--registry-name",
        "demo",
        "--repository-name",
        "web",
    ],
    &["ionos", "ls"],
    &["ionos", "ls", "demo"],
    &["ionos", "tags", "web"],
    &["ionos", "login"],
    &["ionos", "k8s-secret"],
    &["ionos", "prune", "--keep", "1"],
    // One repository and one tag: the singular nouns.
    &["ionos", "prune", "--keep", "1", "--repository", "^api$"],
    &["ionos", "call", "registriesGet"],
    &["humanitec", "ls"],
    &["humanitec", "--registry", "ecr-prod", "login"],
    &["humanitec", "--registry", "ecr-prod", "k8s-secret"],
    &[
        "humanitec",
        "call",
        "list_registries",
        "--org-id",
        "demo-org",
    ],
    &["buildkite", "ls"],
    &["buildkite", "tags", "api"],
    &["buildkite", "login"],
    &["buildkite", "k8s-secret"],
    &["buildkite", "prune", "--keep", "1"],
    &["buildkite", "call", "list_registries", "--org-slug", "demo"],
    &["abeja", "ls"],
    &["abeja", "tags", "object-detector"],
    &["abeja", "prune", "--keep", "1"],
    &[
        "abeja",
        "call",
        "list_repositories",
        "--organization-id",
        "1410000000000",
    ],
];

/// Both formats of each printing command.
fn each_printing_command() -> impl Iterator<Item = Vec<&'static str>> {
    PRINTING.iter().flat_map(|args| {
        ["table", "json"].map(|format| {
            let mut all = vec!["--output", format];
            all.extend_from_slice(args);
            all
        })
    })
}

#[test]
fn a_closed_stdout_ends_every_printing_command_quietly_with_exit_0() -> TestResult {
    for args in each_printing_command() {
        // Printing works (so the closed-pipe case below is not vacuous).
        let out = run(&[], &args)?;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(!out.stdout.is_empty(), "{args:?} printed nothing");

        // A pipe whose reader is already gone: the first write fails with
        // EPIPE, whatever the timing.
        let home = tempfile::tempdir()?;
        let (reader, writer) = std::io::pipe()?;
        drop(reader);
        let out = regkit(home.path(), &[], &args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()?;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?} with stdout closed: {}",
            text(&out.stderr)
        );
        assert_eq!(text(&out.stderr), "", "{args:?} with stdout closed");
    }
    Ok(())
}

#[test]
fn a_reader_that_stops_after_one_line_leaves_no_error() -> TestResult {
    // `regkit … tags web | head -1`, for table and JSON lines.
    for format in ["table", "json"] {
        let home = tempfile::tempdir()?;
        let mut child = regkit(
            home.path(),
            &[],
            &["--output", format, "digitalocean", "tags", "web"],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
        let mut first = String::new();
        BufReader::new(child.stdout.take().ok_or("a piped stdout")?).read_line(&mut first)?;
        assert!(!first.is_empty());
        let out = child.wait_with_output()?;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_eq!(text(&out.stderr), "");
    }
    Ok(())
}

#[test]
fn prune_apply_keeps_its_partial_exit_code_when_stdout_is_closed() -> TestResult {
    // An emulator whose third tag deletion keeps failing: `prune --apply`
    // stops part way, and a closed stdout must not turn that exit 3 into 0.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let emu = rt.block_on(Emulator::builder().demo(true).start())?;
    emu.inject(
        FaultRule::status(500)
            .operation("registries_delete_repositoryTag")
            .after(2)
            .times(10),
    );
    let home = tempfile::tempdir()?;
    let (reader, writer) = std::io::pipe()?;
    drop(reader);
    let p = Provider::DigitalOcean;
    let out = Command::new(env!("CARGO_BIN_EXE_regkit"))
        .env_clear()
        .env("HOME", home.path())
        .env(p.token_env(), emu.token(p).expose_secret())
        .args(["--base-url", &emu.url(p), "digitalocean"])
        .args(["prune", "--no-graph", "--keep", "3", "--apply", "--yes"])
        .stdin(Stdio::null())
        .stdout(writer)
        .output()?;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("prune stopped after 2 of 22 deletions"),
        "{}",
        text(&out.stderr)
    );
    Ok(())
}

#[test]
fn every_bad_number_names_its_flag_and_exits_2() -> TestResult {
    let cases: &[&[&str]] = &[
        &["digitalocean", "prune", "--keep"],
        &["ionos", "prune", "--apply", "--keep"],
        // Parameters of `call`, parsed after clap by their spec type.
        &[
            "digitalocean",
            "call",
            "registries_list_repositoryTags",
            "--registry-name",
            "demo",
            "--repository-name",
            "web",
            "--per-page",
        ],
        &[
            "digitalocean",
            "call",
            "registries_get_dockerCredentials",
            "--registry-name",
            "demo",
            "--expiry-seconds",
        ],
    ];
    for args in cases {
        let flag = args.last().copied().unwrap_or_default();
        for bad in ["-1", "abc", "99999999999999999999999"] {
            let mut all = args.to_vec();
            all.push(bad);
            let out = run(&[], &all)?;
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{all:?}: {err}");
            assert!(err.contains(flag), "{all:?} does not name {flag}: {err}");
            assert!(err.contains(bad), "{all:?} does not show {bad}: {err}");
            assert!(!err.contains("unexpected argument"), "{all:?}: {err}");
            assert!(out.stdout.is_empty(), "{all:?}");
        }
    }
    // A signed parameter takes -1 as its value (the API judges it).
    let out = run(&[], &["ionos", "call", "registriesGet", "--limit", "-1"])?;
    assert!(
        !text(&out.stderr).contains("unexpected argument"),
        "{}",
        text(&out.stderr)
    );
    Ok(())
}

/// The first line of a table (its header).
fn header(out: &Output) -> String {
    text(&out.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn ls_lists_registries_whatever_registry_says_and_its_argument_wins() -> TestResult {
    // Without an argument `ls` lists the registries, even when --registry
    // or REGKIT_REGISTRY name one (or one that does not exist).
    for provider in ["digitalocean", "humanitec"] {
        for (env, args) in [
            (vec![], vec![provider, "ls"]),
            (vec![], vec![provider, "--registry", "nope", "ls"]),
            (vec![], vec![provider, "ls", "--registry", "nope"]),
            (vec![("REGKIT_REGISTRY", "nope")], vec![provider, "ls"]),
        ] {
            let out = run(&env, &args)?;
            assert_eq!(
                out.status.code(),
                Some(0),
                "{env:?} {args:?}: {}",
                text(&out.stderr)
            );
            assert!(
                header(&out).starts_with("NAME"),
                "{env:?} {args:?}: {}",
                text(&out.stdout)
            );
        }
    }
    let out = run(&[], &["humanitec", "--registry", "ecr-prod", "ls"])?;
    let listing = text(&out.stdout);
    assert!(
        listing.contains("ecr-prod") && listing.contains("team-pull-secret"),
        "every registry: {listing}"
    );

    // With an argument, `ls REGISTRY` lists that registry's repositories,
    // whatever the flag or the variable say.
    for (env, args) in [
        (vec![], vec!["digitalocean", "ls", "demo"]),
        (
            vec![],
            vec!["digitalocean", "--registry", "nope", "ls", "demo"],
        ),
        (
            vec![("REGKIT_REGISTRY", "nope")],
            vec!["digitalocean", "ls", "demo"],
        ),
    ] {
        let out = run(&env, &args)?;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{env:?} {args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            header(&out).starts_with("REPOSITORY"),
            "{env:?} {args:?}: {}",
            text(&out.stdout)
        );
    }

    // The other commands still take the registry from the flag and the
    // variable.
    for (env, args) in [
        (
            vec![],
            vec!["digitalocean", "--registry", "nope", "tags", "web"],
        ),
        (
            vec![("REGKIT_REGISTRY", "nope")],
            vec!["digitalocean", "tags", "web"],
        ),
    ] {
        let out = run(&env, &args)?;
        assert_eq!(out.status.code(), Some(1), "{env:?} {args:?}");
        assert!(
            text(&out.stderr).contains("has no registry `nope`"),
            "{}",
            text(&out.stderr)
        );
    }
    let out = run(
        &[("REGKIT_REGISTRY", "demo")],
        &["digitalocean", "tags", "web"],
    )?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    Ok(())
}

/// Problems with `text` as text for people: Rust's `Debug` of an option
/// or a string, or a count of one with a plural noun (`1 tags`).
fn debug_or_bad_plural(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for needle in ["Some(", "None", "\\\"", "Ok(", "Err("] {
        if text.contains(needle) {
            problems.push(format!("{needle} in {text:?}"));
        }
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    for pair in words.windows(2) {
        let noun = pair[1].trim_end_matches([',', '.', ';', ')', ':']);
        if pair[0].trim_start_matches('(') == "1" && noun.len() > 2 && noun.ends_with('s') {
            problems.push(format!("`{} {}` in {text:?}", pair[0], pair[1]));
        }
    }
    problems
}

#[test]
fn the_plural_check_catches_what_it_should() {
    assert!(debug_or_bad_plural("Nothing to delete (1 repository, 1 tag seen).").is_empty());
    assert_eq!(
        debug_or_bad_plural("(1 repositories, 2 tags seen)").len(),
        1
    );
    assert_eq!(debug_or_bad_plural("started: Some(Requested)").len(), 1);
    assert!(debug_or_bad_plural("delete 2 tags and 1 manifest").is_empty());
}

#[test]
fn text_for_people_shows_values_and_counts_agree_with_nouns() -> TestResult {
    // The table output of every printing command (not the JSON of `call`
    // and `k8s-secret`, where quotes belong), and its stderr.
    for args in PRINTING
        .iter()
        .filter(|a| !a.contains(&"call") && !a.contains(&"k8s-secret"))
    {
        let out = run(&[], args)?;
        let problems = debug_or_bad_plural(&format!("{}{}", text(&out.stdout), text(&out.stderr)));
        assert!(problems.is_empty(), "{args:?}: {problems:?}");
    }
    // Errors are for people too.
    for args in [
        &["digitalocean", "--registry", "nope", "tags", "web"][..],
        &["digitalocean", "ls", "nope"],
        &["humanitec", "tags", "x"],
        &["ionos", "gc"],
    ] {
        let out = run(&[], args)?;
        assert_ne!(out.status.code(), Some(0));
        let problems = debug_or_bad_plural(&text(&out.stderr));
        assert!(problems.is_empty(), "{args:?}: {problems:?}");
    }
    Ok(())
}
