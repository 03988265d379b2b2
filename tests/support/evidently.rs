//! A real Evidently UI service (from PyPI), started once per test binary on
//! a workspace that `tests/fixtures/evidently/capture.py` fills with four
//! daily drift snapshots — the same script and seed that produced the
//! captured payloads, so the real answers and the fixtures must agree.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use super::server::{Missing, Server, locate, shared};

/// The first start imports pandas, scipy and friends: give it time.
const START_TIMEOUT: Duration = Duration::from_secs(120);
const HOW: &str = "Install it with `python3 -m venv ~/.cache/opsdeck/evidently-venv && \
                   ~/.cache/opsdeck/evidently-venv/bin/pip install evidently \"pandas<3\"`, \
                   or set OPSDECK_EVIDENTLY.";
/// No usage reports: tests reach nothing beyond 127.0.0.1.
const NO_TELEMETRY: [(&str, &str); 2] = [("DO_NOT_TRACK", "1"), ("ITERATIVE_DO_NOT_TRACK", "1")];

pub struct Evidently {
    pub server: Server,
    /// The project `capture.py` created.
    pub project_id: String,
}

static EVIDENTLY: OnceLock<Result<Evidently, Missing>> = OnceLock::new();

/// The shared service, or None (after the calling test said it is skipped,
/// or failed under CI) when Evidently is not installed.
pub fn evidently() -> Option<&'static Evidently> {
    shared(&EVIDENTLY, start, HOW)
}

fn start() -> Result<Evidently, Missing> {
    let venv = dirs::home_dir()
        .map(|h| h.join(".cache/opsdeck/evidently-venv/bin/evidently"))
        .into_iter()
        .collect::<Vec<PathBuf>>();
    let evidently = locate("OPSDECK_EVIDENTLY", "evidently", &venv)?;
    // The venv's own python runs the seeding script.
    let python = evidently
        .parent()
        .map(|bin| bin.join("python"))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("python3"));
    let dir: PathBuf = tempfile::Builder::new()
        .prefix("opsdeck-evidently-")
        .tempdir()
        .expect("temp dir")
        .keep();
    let workspace = dir.join("workspace");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/evidently/capture.py");
    let mut seed = std::process::Command::new(&python);
    seed.arg(&script).arg(&workspace);
    for (k, v) in NO_TELEMETRY {
        seed.env(k, v);
    }
    let out = seed.output().expect("run capture.py");
    assert!(
        out.status.success(),
        "seeding Evidently failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let project_id = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_string();
    let args = vec![
        "ui".to_string(),
        "--host".into(),
        "127.0.0.1".into(),
        // Port 0: uvicorn binds a free port itself and logs which.
        "--port".into(),
        "0".into(),
        "--workspace".into(),
        workspace.display().to_string(),
    ];
    let server = Server::start(&evidently, &args, dir, &NO_TELEMETRY, START_TIMEOUT);
    server.wait_ready("/api/projects", START_TIMEOUT);
    Ok(Evidently { server, project_id })
}
