//! Config validation through the real binary: one fixture per failure under
//! tests/fixtures/config/invalid, each naming the line, column and message
//! it expects in its first line (`# expect: LINE:COL: message`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn opsdeck() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_opsdeck"));
    // Keep the user's environment out of it.
    cmd.env_remove("OPSDECK_CONFIG").env("NO_COLOR", "1");
    cmd
}

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_invalid_fixture_fails_with_its_file_line_column_and_message() {
    let files = fixtures("invalid");
    assert!(files.len() >= 10, "fixtures missing");
    let mut failures = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("fixture");
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{} lacks its `# expect:` line", file.display()));
        let out = opsdeck()
            .arg("--config")
            .arg(&file)
            .args(["config", "check"])
            .output()
            .expect("run opsdeck");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let want = format!("{}:{expect}", file.display());
        if out.status.code() != Some(2) || !stderr.contains(&want) {
            failures.push(format!(
                "{}\n  exit: {:?}\n  wanted: {want}\n  stderr: {stderr}",
                file.display(),
                out.status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_valid_fixture_passes() {
    let files = fixtures("valid");
    // An empty folder would pass without checking anything.
    assert!(
        !files.is_empty(),
        "no .toml fixtures in tests/fixtures/config/valid: nothing was checked"
    );
    for file in files {
        let out = opsdeck()
            .arg("--config")
            .arg(&file)
            .args(["config", "check"])
            .output()
            .expect("run opsdeck");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains(": ok ("));
    }
}

#[test]
fn several_errors_in_one_file_are_all_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("config.toml");
    std::fs::write(
        &file,
        "refresh = \"later\"\n\n[[source]]\nname = \"a\"\nkind = \"demo\"\ncolour = 1\n\n[[source]]\nname = \"b\"\nkind = \"nope\"\n",
    )
    .expect("write");
    let out = opsdeck()
        .arg("--config")
        .arg(&file)
        .args(["config", "check"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains(":6:1: unknown field `colour`"), "{stderr}");
    assert!(
        stderr.contains(":10:8: unknown source kind `nope`"),
        "{stderr}"
    );
    assert!(
        stderr.contains(":1:11: refresh: `later` is not a duration"),
        "{stderr}"
    );
}

#[test]
fn init_writes_a_starter_config_that_checks_and_never_overwrites() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("nested/opsdeck/config.toml");
    let out = opsdeck()
        .args(["init", "--path"])
        .arg(&file)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read_to_string(&file).expect("written");
    assert!(written.contains("[[source]]"));

    let check = opsdeck()
        .arg("--config")
        .arg(&file)
        .args(["config", "check"])
        .output()
        .expect("run");
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    std::fs::write(&file, "# my edits\n").expect("edit");
    let again = opsdeck()
        .args(["init", "--path"])
        .arg(&file)
        .output()
        .expect("run");
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert_eq!(
        std::fs::read_to_string(&file).expect("kept"),
        "# my edits\n"
    );
}

#[test]
fn without_a_config_opsdeck_says_where_it_looked_and_how_to_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = opsdeck()
        .env("XDG_CONFIG_HOME", dir.path())
        .env("HOME", dir.path())
        .args(["status"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains(&dir.path().join("opsdeck/config.toml").display().to_string()),
        "{stderr}"
    );
    assert!(
        stderr.contains("opsdeck --demo") && stderr.contains("opsdeck init"),
        "{stderr}"
    );
}

#[test]
fn a_missing_config_file_is_named() {
    let out = opsdeck()
        .args(["--config", "/nonexistent/opsdeck.toml", "config", "check"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("/nonexistent/opsdeck.toml: cannot read the config file"),
        "{stderr}"
    );
}

#[test]
fn an_inline_secret_is_refused_without_being_repeated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("config.toml");
    std::fs::write(
        &file,
        "[[source]]\nname = \"repo\"\nkind = \"git\"\npath = \"/srv/deploy\"\ntoken = \"ghp_s3cr3tvalue\"\n\n[[source.app]]\nname = \"a\"\npath = \"apps/a\"\n",
    )
    .expect("write");
    let out = opsdeck()
        .arg("--config")
        .arg(&file)
        .args(["config", "check"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains(":5:9: a secret is never written inline"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("ghp_s3cr3tvalue"),
        "the secret was echoed: {stderr}"
    );
}
