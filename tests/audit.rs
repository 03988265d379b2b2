//! The audit log under concurrency: several opsdeck processes acting at
//! once, and many actions at once inside one, append to the same file
//! without losing or tearing a line.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use opsdeck::app::audit::AuditLog;
use opsdeck::model::{Action, ActionKind, Outcome, Target, TargetKind};
use serde_json::Value;

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("the audit log")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("a torn line {l:?}: {e}")))
        .collect()
}

fn action(i: usize) -> Action {
    Action {
        kind: ActionKind::Sync,
        target: Target::new("demo", TargetKind::App, format!("app-{i}")),
        to: None,
        // Long enough that a line takes more than one small write.
        effect: format!("sync demo/app-{i} to {}", "f".repeat(4000)),
        production: false,
        follow: None,
        sync: Default::default(),
        inputs: Vec::new(),
    }
}

#[test]
fn threads_and_separate_handles_appending_at_once_lose_no_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    // Two logs on one file: as two opsdeck processes would hold it.
    let logs = [
        Arc::new(AuditLog::new(path.clone(), "tui")),
        Arc::new(AuditLog::new(path.clone(), "cli")),
    ];
    const THREADS: usize = 8;
    const EACH: usize = 50;
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let log = logs[t % 2].clone();
            std::thread::spawn(move || {
                for i in 0..EACH {
                    let n = t * EACH + i;
                    let a = action(n);
                    log.requested(&n.to_string(), &a).expect("requested");
                    log.outcome(&n.to_string(), &a, &Outcome::Done("ok".into()))
                        .expect("outcome");
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("a writer");
    }
    let written = lines(&path);
    assert_eq!(written.len(), THREADS * EACH * 2);
    for n in 0..THREADS * EACH {
        let id = n.to_string();
        let of = |outcome: &str| {
            written
                .iter()
                .filter(|l| l["id"] == id.as_str() && l["outcome"] == outcome)
                .count()
        };
        assert_eq!((of("requested"), of("done")), (1, 1), "action {n}");
    }
}

#[test]
fn opsdeck_processes_acting_at_once_each_append_both_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let audit = dir.path().join("audit.jsonl");
    const PROCESSES: usize = 6;
    let apps = ["web", "inventory", "search"];
    let children: Vec<_> = (0..PROCESSES)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_opsdeck"))
                .env_remove("OPSDECK_CONFIG")
                .env("XDG_STATE_HOME", dir.path())
                .env("XDG_CONFIG_HOME", dir.path().join("config"))
                .args(["--demo", "--audit-log"])
                .arg(&audit)
                .args(["refresh", &format!("demo/{}", apps[i % apps.len()])])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start opsdeck")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("opsdeck ends");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let written = lines(&audit);
    assert_eq!(written.len(), PROCESSES * 2, "{written:#?}");
    let requested = written
        .iter()
        .filter(|l| l["outcome"] == "requested")
        .count();
    assert_eq!(requested, PROCESSES);
    // Each process's pair shares its id; no id is used twice.
    let mut ids: Vec<&str> = written.iter().filter_map(|l| l["id"].as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), PROCESSES);
}
