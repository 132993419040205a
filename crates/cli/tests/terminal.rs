//! A terminal session (a pseudo-terminal through `expectrl`): a slow
//! listing shows its progress indicator on the terminal, then the table;
//! `prune --apply` asks before deleting and stops on "no".
#![cfg(unix)]

use std::process::Command;
use std::time::Duration;

use expectrl::{Eof, Session};
use regkit_emulator::{Emulator, FaultRule, Provider};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn start() -> Result<(tokio::runtime::Runtime, Emulator), Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let emu = rt.block_on(Emulator::builder().demo(true).start())?;
    Ok((rt, emu))
}

fn regkit(emu: &Emulator, home: &std::path::Path, args: &[&str]) -> Command {
    let p = Provider::DigitalOcean;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_regkit"));
    cmd.env_clear()
        .env("HOME", home)
        .env("TERM", "xterm")
        .env(p.token_env(), emu.token(p).expose_secret())
        .arg("--base-url")
        .arg(emu.url(p))
        .arg(p.name())
        .args(args);
    cmd
}

#[test]
fn a_slow_listing_shows_progress_then_the_table() -> TestResult {
    let (_rt, emu) = start()?;
    let home = tempfile::tempdir()?;
    // Each page of tags takes a while: longer than the moment after which
    // the progress indicator appears.
    emu.inject(
        FaultRule::latency(Duration::from_millis(1500))
            .operation("registries_list_repositoryTags")
            .times(1),
    );
    let mut session = Session::spawn(regkit(&emu, home.path(), &["tags", "web"]))?;
    session.set_expect_timeout(Some(Duration::from_secs(60)));
    session.expect("listing images of web")?;
    session.expect("TAG")?;
    session.expect("latest")?;
    session.expect(Eof)?;
    Ok(())
}

#[test]
fn prune_apply_asks_on_a_terminal() -> TestResult {
    let (_rt, emu) = start()?;
    let home = tempfile::tempdir()?;
    let mut session = Session::spawn(regkit(
        &emu,
        home.path(),
        &["prune", "--no-graph", "--keep", "3", "--apply"],
    ))?;
    session.set_expect_timeout(Some(Duration::from_secs(60)));
    session.expect("Retention plan for digitalocean registry demo")?;
    session.expect("Delete 11 tags and 11 manifests from digitalocean registry demo? [y/N]")?;
    session.send_line("n")?;
    session.expect("cancelled: nothing deleted")?;
    session.expect(Eof)?;
    // Nothing was deleted: still 13 tags.
    let out = regkit(&emu, home.path(), &["--output", "json", "tags", "web"])
        .stdin(std::process::Stdio::null())
        .output()?;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 13);
    Ok(())
}
