//! Shared harness of the drift-backend tests: real servers (Prometheus,
//! MLflow, Evidently) started once per test binary on 127.0.0.1 (each binds
//! port 0 itself) in temp dirs, and small helpers for configs and the real
//! binary.
//!
//! A server binary that cannot be found makes each test that needs it print
//! `skipped: <what> is not installed` (visible in plain `cargo test`), or
//! fail when `CI=true`: in CI an absent server is a failure.
#![allow(dead_code)] // each test binary uses its own part

pub mod airflow;
pub mod evidently;
pub mod mlflow;
pub mod prometheus;
pub mod server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The real binary, with the user's environment kept out.
pub fn opsdeck(state_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_opsdeck"));
    cmd.env_remove("OPSDECK_CONFIG")
        .env_remove("OPSDECK_AUDIT_LOG")
        .env("XDG_STATE_HOME", state_dir)
        .env("XDG_CONFIG_HOME", state_dir.join("config"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    cmd
}

/// Exit code, stdout, stderr.
pub fn run(cmd: &mut Command) -> (Option<i32>, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("run opsdeck");
    (
        status.code(),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// Write `text` as a config file in `dir`.
pub fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("opsdeck.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// Parse config text as if read from `dir/opsdeck.toml`.
pub fn parse_config(text: &str) -> opsdeck::config::Config {
    opsdeck::config::parse(text, Path::new("opsdeck.toml"))
        .unwrap_or_else(|e| panic!("test config does not parse:\n{e}\n---\n{text}"))
}

/// Build the one source of a config.
pub fn source_of(text: &str) -> std::sync::Arc<dyn opsdeck::sources::Source> {
    let config = parse_config(text);
    let first = config.sources.first().expect("a source");
    opsdeck::sources::build(first, config.refresh)
}

/// A test fixture file's text.
pub fn fixture(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// Lines of the audit log, parsed.
pub fn audit_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("audit log {}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).expect("audit line is JSON"))
        .collect()
}
