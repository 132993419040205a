//! `regkit <provider> call`: the generated operation tables against the
//! specs, and calls through the library against the in-process emulator.

use regkit_cli::call::{self, CallError, CallOutput, Location, Method, ParamType};
use regkit_cli::call_table;
use regkit_emulator::{Emulator, Provider};

/// Parses `argv` (after `call`) with the provider's `call` command.
fn parse(provider: &str, argv: &[&str]) -> Result<clap::ArgMatches, clap::Error> {
    let ops = call_table::operations(provider).expect("known provider");
    call::command(provider, ops)
        .try_get_matches_from(std::iter::once("call").chain(argv.iter().copied()))
}

async fn run(emu: &Emulator, provider: &str, argv: &[&str]) -> Result<CallOutput, CallError> {
    let matches = parse(provider, argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    let (op, args) = matches.subcommand().expect("an operation");
    match provider {
        "digitalocean" => call_table::call_digitalocean(&emu.digitalocean(), op, args).await,
        "ionos" => call_table::call_ionos(&emu.ionos(), op, args).await,
        "humanitec" => call_table::call_humanitec(&emu.humanitec(), op, args).await,
        "buildkite" => call_table::call_buildkite(&emu.buildkite(), op, args).await,
        "abeja" => call_table::call_abeja(&emu.abeja(), op, args).await,
        other => panic!("no provider {other}"),
    }
}

async fn demo() -> Emulator {
    Emulator::builder()
        .demo(true)
        .start()
        .await
        .expect("emulator starts")
}

#[test]
fn every_operation_of_every_spec_is_in_the_table_with_its_parameters() {
    let root = xtask::workspace_root();
    let manifest = xtask::Manifest::load(&root).unwrap();
    assert_eq!(
        call_table::PROVIDERS
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>(),
        manifest
            .providers
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
    );
    for provider in &manifest.providers {
        let table = call_table::operations(&provider.name).unwrap();
        let spec = xtask::operations(&root, provider).unwrap();
        let ours: Vec<(&str, &str, &str)> = table
            .iter()
            .map(|op| (op.id, op.method.as_str(), op.path))
            .collect();
        let theirs: Vec<(&str, &str, &str)> = spec
            .iter()
            .map(|op| (op.id.as_str(), op.method.as_str(), op.path.as_str()))
            .collect();
        assert_eq!(ours, theirs, "{}", provider.name);
        for op in table {
            // Every `{param}` of the path is a required path parameter.
            let in_path: Vec<&str> = op
                .path
                .split('{')
                .skip(1)
                .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
                .collect();
            let path_params: Vec<&str> = op
                .params
                .iter()
                .filter(|p| p.location == Location::Path)
                .map(|p| p.name)
                .collect();
            assert_eq!(path_params, in_path, "{} {}", provider.name, op.id);
            assert!(
                op.params
                    .iter()
                    .filter(|p| p.location == Location::Path)
                    .all(|p| p.required)
            );
            assert!(
                op.params
                    .iter()
                    .all(|p| !p.flag.is_empty() && !p.flag.contains('_'))
            );
        }
        // The command is valid clap and has one subcommand per operation.
        let cmd = call::command(&provider.name, table);
        cmd.clone().debug_assert();
        let subcommands: Vec<&str> = cmd.get_subcommands().map(|c| c.get_name()).collect();
        assert_eq!(
            subcommands,
            table.iter().map(|op| op.id).collect::<Vec<_>>()
        );
    }
    // The one hand-written operation is listed, and marked.
    let handwritten: Vec<&str> = call_table::PROVIDERS
        .iter()
        .flat_map(|(_, ops)| ops.iter())
        .filter(|op| op.handwritten)
        .map(|op| op.id)
        .collect();
    assert_eq!(handwritten, ["publish_package"]);
}

#[tokio::test]
async fn a_get_answers_with_the_spec_type_as_json() {
    let emu = demo().await;
    let out = run(&emu, "digitalocean", &["registry_get"]).await.unwrap();
    assert_eq!(out.status, 200);
    let info: regkit_digitalocean::types::RegistryInfo = serde_json::from_value(out.body).unwrap();
    assert_eq!(info.registry.unwrap().name.as_deref(), Some("demo"));

    let out = run(
        &emu,
        "digitalocean",
        &[
            "registries_list_repositoryTags",
            "--registry-name",
            "demo",
            "--repository-name",
            "web",
            "--per-page",
            "5",
        ],
    )
    .await
    .unwrap();
    let tags: regkit_digitalocean::types::RepositoryTagList =
        serde_json::from_value(out.body).unwrap();
    assert_eq!(tags.tags.len(), 5);
}

#[tokio::test]
async fn every_operation_without_required_parameters_answers_on_every_provider() {
    let emu = demo().await;
    let mut called = 0;
    for (provider, ops) in call_table::PROVIDERS {
        for op in ops.iter().filter(|op| {
            op.method == Method::Get && !op.handwritten && op.params.iter().all(|p| !p.required)
        }) {
            let out = run(&emu, provider, &[op.id])
                .await
                .unwrap_or_else(|e| panic!("{provider} {}: {e}", op.id));
            assert!((200..300).contains(&out.status), "{provider} {}", op.id);
            called += 1;
        }
    }
    assert!(called >= 5, "only {called} parameterless listings");
}

#[tokio::test]
async fn a_create_takes_its_json_body_from_a_file() {
    let emu = demo().await;
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("registry.json");
    std::fs::write(&body, r#"{"name": "second", "region": "fra1"}"#).unwrap();
    let out = run(
        &emu,
        "digitalocean",
        &["registries_create", "--body", body.to_str().unwrap()],
    )
    .await
    .unwrap();
    assert_eq!(out.status, 201);
    let created: regkit_digitalocean::types::MultiregistryInfo =
        serde_json::from_value(out.body).unwrap();
    assert_eq!(created.registry.unwrap().name.as_deref(), Some("second"));
    // It is there.
    let out = run(
        &emu,
        "digitalocean",
        &["registries_get", "--registry-name", "second"],
    )
    .await
    .unwrap();
    assert_eq!(out.body["registry"]["name"], "second");

    // A body that is not the operation's type: the file and serde's
    // message, without the quoted value.
    std::fs::write(&body, r#"{"name": 5, "region": "hunter2-secret"}"#).unwrap();
    let err = run(
        &emu,
        "digitalocean",
        &["registries_create", "--body", body.to_str().unwrap()],
    )
    .await
    .unwrap_err();
    assert!(matches!(err, CallError::InvalidBody { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("registry.json") && text.contains("invalid type"),
        "{text}"
    );
    // A missing file.
    let err = run(
        &emu,
        "digitalocean",
        &["registries_create", "--body", "/nonexistent/body.json"],
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("cannot read"), "{err}");
}

/// A bad value is clap's usage error (exit 2 in the binary), naming the
/// flag and the value, before anything is sent.
fn assert_bad_value(err: &clap::Error, flag: &str, value: &str) {
    assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation, "{err}");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("error: invalid value '{value}' for '--{flag} ")),
        "{message}"
    );
    assert!(!message.contains("floating point"), "{message}");
}

#[test]
fn bad_and_missing_parameters_name_the_flag() {
    let err = parse(
        "digitalocean",
        &[
            "registries_list_repositoryTags",
            "--registry-name",
            "demo",
            "--repository-name",
            "web",
            "--per-page",
            "zero",
        ],
    )
    .unwrap_err();
    assert_bad_value(&err, "per-page", "zero");

    let err = parse("digitalocean", &["registries_get"]).unwrap_err();
    assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
    assert!(err.to_string().contains("--registry-name"), "{err}");

    let err = parse("digitalocean", &["no_such_operation"]).unwrap_err();
    assert_eq!(err.kind(), clap::error::ErrorKind::InvalidSubcommand);
}

#[tokio::test]
async fn api_errors_keep_the_status_and_the_provider_message() {
    let emu = demo().await;
    let err = run(
        &emu,
        "digitalocean",
        &["registries_get", "--registry-name", "nope"],
    )
    .await
    .unwrap_err();
    match &err {
        CallError::Api(e) => {
            let message = e.to_string();
            assert_eq!(e.status().map(|s| s.as_u16()), Some(404));
            assert_eq!(e.operation(), Some("registries_get"));
            assert!(message.starts_with("404 Not Found"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn secrets_in_answers_are_redacted_unless_asked() {
    let emu = demo().await;
    let argv = [
        "registries_get_dockerCredentials",
        "--registry-name",
        "demo",
    ];
    let out = run(&emu, "digitalocean", &argv).await.unwrap();
    assert!(out.redacted);
    let auths = out.body["auths"].as_object().unwrap();
    assert!(!auths.is_empty());
    for auth in auths.values() {
        assert_eq!(auth["auth"], "[REDACTED]");
    }
    let token = emu.token(Provider::DigitalOcean);
    assert!(!out.body.to_string().contains(token.expose_secret()));

    let shown = run(
        &emu,
        "digitalocean",
        &[&argv[..], &["--show-secrets"]].concat(),
    )
    .await
    .unwrap();
    assert!(!shown.redacted);
    let creds: regkit_digitalocean::types::DockerCredentials =
        serde_json::from_value(shown.body).unwrap();
    let auth = creds.auths.values().next().unwrap().auth.as_ref().unwrap();
    assert!(!auth.is_empty() && auth.expose_secret() != "[REDACTED]");
}

#[tokio::test]
async fn hand_written_operations_are_listed_but_not_callable() {
    let emu = demo().await;
    let err = run(
        &emu,
        "buildkite",
        &[
            "publish_package",
            "--org-slug",
            "acme",
            "--registry-slug",
            "gems",
        ],
    )
    .await
    .unwrap_err();
    assert!(matches!(err, CallError::Unavailable { .. }), "{err:?}");
    assert!(err.to_string().contains("Client::publish_package"), "{err}");
}

/// Every integer parameter of every callable operation of every provider:
/// `abc` and a number too large for 64 bits are clap errors naming the
/// flag (exit 2 in the binary), and `-1` reaches the parameter as its value
/// (an error naming the flag where the type is unsigned), never clap's
/// "unexpected argument '-1'".
#[tokio::test]
async fn every_integer_parameter_names_its_flag_on_a_bad_value() {
    let emu = demo().await;
    let mut checked = 0;
    for (provider, ops) in call_table::PROVIDERS {
        for op in ops.iter().filter(|op| !op.handwritten) {
            for param in op.params.iter().filter(|p| p.ty.is_integer()) {
                // The operation's other required parameters are strings
                // (the table test above would show otherwise).
                let mut argv = vec![op.id.to_string()];
                for other in op
                    .params
                    .iter()
                    .filter(|o| o.required && o.name != param.name)
                {
                    argv.extend([format!("--{}", other.flag), "x".to_string()]);
                }
                for bad in ["abc", "99999999999999999999999", "-1"] {
                    let mut argv = argv.clone();
                    argv.extend([format!("--{}", param.flag), bad.to_string()]);
                    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
                    match parse(provider, &argv) {
                        Err(err) => assert_bad_value(&err, param.flag, bad),
                        Ok(_) => {
                            // Only a signed parameter takes -1; it is sent
                            // and the API answers.
                            assert!(
                                bad == "-1"
                                    && !matches!(param.ty, ParamType::U64 | ParamType::NonZeroU64),
                                "{provider} {argv:?} parsed"
                            );
                            let answer = run(&emu, provider, &argv).await;
                            assert!(
                                matches!(answer, Ok(_) | Err(CallError::Api(_))),
                                "{provider} {argv:?}: {answer:?}"
                            );
                        }
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(
        checked >= 3 * 20,
        "only {checked} integer parameters checked"
    );

    // Unsigned parameters reject -1, naming the flag.
    let unsigned: [(&str, &[&str]); 2] = [
        (
            "expiry-seconds",
            &[
                "registries_get_dockerCredentials",
                "--registry-name",
                "demo",
            ],
        ),
        (
            "per-page",
            &[
                "registries_list_repositoryTags",
                "--registry-name",
                "demo",
                "--repository-name",
                "web",
            ],
        ),
    ];
    for (flag, argv) in unsigned {
        let option = format!("--{flag}");
        let mut argv = argv.to_vec();
        argv.extend([option.as_str(), "-1"]);
        let err = parse("digitalocean", &argv).unwrap_err();
        assert_bad_value(&err, flag, "-1");
    }
}
