//! `opsdeck completions SHELL` and `opsdeck man` through the real binary:
//! the bash script parses, every shell's script names the subcommands, and
//! the man page renders through man-db and groff without a warning.

use std::io::Write;
use std::process::{Command, Stdio};

fn opsdeck(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args(args)
        .env_remove("OPSDECK_CONFIG")
        .stdin(Stdio::null())
        .output()
        .expect("run opsdeck");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A tool the test needs: missing under CI is a failure, outside CI a
/// visible skip.
fn tool(name: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{name} is not installed (.ci/run installs it)"
        );
        println!("skipped: {name} is not installed");
    }
    found
}

#[test]
fn bash_completion_parses_and_knows_the_subcommands() {
    let (ok, script, stderr) = opsdeck(&["completions", "bash"]);
    assert!(ok, "{stderr}");
    for sub in ["status", "rollback", "completions", "man", "--read-only"] {
        assert!(script.contains(sub), "bash completion lacks {sub}");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("opsdeck.bash");
    std::fs::write(&path, &script).expect("write script");
    let check = Command::new("bash")
        .arg("-n")
        .arg(&path)
        .output()
        .expect("run bash -n");
    assert!(
        check.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn every_shell_gets_a_script_naming_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let (ok, script, stderr) = opsdeck(&["completions", shell]);
        assert!(ok, "{shell}: {stderr}");
        for sub in ["status", "rollback", "hard-refresh"] {
            assert!(script.contains(sub), "{shell} completion lacks {sub}");
        }
    }
    let (ok, _, stderr) = opsdeck(&["completions", "tcsh"]);
    assert!(!ok);
    assert!(stderr.contains("tcsh"), "{stderr}");
}

#[test]
fn man_page_renders_without_warnings() {
    let (ok, page, stderr) = opsdeck(&["man"]);
    assert!(ok, "{stderr}");
    assert!(
        page.starts_with(".ie"),
        "not roff: {}",
        &page[..page.len().min(80)]
    );
    if !tool("man") || !tool("groff") {
        return;
    }
    let mut file = tempfile::Builder::new()
        .suffix(".1")
        .tempfile()
        .expect("tempfile");
    file.write_all(page.as_bytes()).expect("write page");
    let out = Command::new("man")
        .args(["--warnings=w", "-l"])
        .arg(file.path())
        .env("MANWIDTH", "80")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .stdin(Stdio::null())
        .output()
        .expect("run man");
    let text = String::from_utf8_lossy(&out.stdout);
    let warnings = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "man failed: {warnings}");
    assert!(warnings.trim().is_empty(), "man warned: {warnings}");
    for words in [
        "NAME",
        "SYNOPSIS",
        "--read-only",
        "opsdeck-status",
        "Source kinds",
    ] {
        assert!(text.contains(words), "rendered page lacks {words}:\n{text}");
    }
}
