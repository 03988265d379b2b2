//! `opsdeck watch` through the real binary against the demo fleet: its JSON
//! lines follow the contract, the problems present at start come once as
//! `new` (the same ones `status` lists), a moving fleet brings new and
//! resolved ones, `--exec` receives every line on its stdin, a failing
//! `--exec` is reported and the watch goes on, SIGTERM/SIGINT exit 0.
//!
//! Every wait is for a condition with a deadline, never a fixed sleep.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Generous: CI runs a debug build on two slow cores.
const DEADLINE: Duration = Duration::from_secs(60);

/// The fleet never moves: what `watch` sees at start is what `status` sees.
const PAUSED_DEMO: &str =
    "[[source]]\nname = \"demo\"\nkind = \"demo\"\nseed = 42\npaused = true\n";

/// The fleet moves every 100 ms and is read as often, so new problems and
/// fixed ones come within seconds.
const MOVING_DEMO: &str = "[[source]]\nname = \"demo\"\nkind = \"demo\"\nseed = 42\nstep = \"100ms\"\nrefresh = \"100ms\"\n";

fn opsdeck(dir: &Path, config: &str) -> Command {
    let path = dir.join("opsdeck.toml");
    std::fs::write(&path, config).expect("write config");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_opsdeck"));
    cmd.env_remove("OPSDECK_CONFIG")
        .env_remove("OPSDECK_AUDIT_LOG")
        .env("XDG_STATE_HOME", dir)
        .arg("--config")
        .arg(path)
        .stdin(Stdio::null());
    cmd
}

/// A running `watch`: its stdout and stderr lines as they come.
struct Watch {
    child: Child,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
    lines: Vec<String>,
    errors: Vec<String>,
}

fn lines_of(stream: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Watch {
    fn start(mut cmd: Command) -> Watch {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start opsdeck watch");
        let stdout = lines_of(child.stdout.take().expect("stdout"));
        let stderr = lines_of(child.stderr.take().expect("stderr"));
        Watch {
            child,
            stdout,
            stderr,
            lines: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Read lines until `done` holds for what was read, or fail at the deadline.
    fn until(&mut self, what: &str, done: impl Fn(&[String], &[String]) -> bool) {
        let end = Instant::now() + DEADLINE;
        loop {
            while let Ok(line) = self.stderr.try_recv() {
                self.errors.push(line);
            }
            if done(&self.lines, &self.errors) {
                return;
            }
            let left = end.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "waited {DEADLINE:?} for {what}; stdout:\n{}\nstderr:\n{}",
                self.lines.join("\n"),
                self.errors.join("\n")
            );
            if let Ok(line) = self
                .stdout
                .recv_timeout(left.min(Duration::from_millis(200)))
            {
                self.lines.push(line);
            }
        }
    }

    /// Send `signal` and wait for the exit status.
    fn stop(&mut self, signal: i32) -> Option<i32> {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: signalling a child this test started and has not reaped.
        unsafe {
            libc::kill(pid, signal);
        }
        let end = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code();
            }
            assert!(
                Instant::now() < end,
                "watch did not exit on signal {signal}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn parse(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
}

fn assert_contract(doc: &Value) {
    let mut keys: Vec<&str> = doc
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["event", "kind", "status", "summary", "target", "time"],
        "{doc}"
    );
    assert!(["new", "resolved"].contains(&doc["event"].as_str().expect("event")));
    assert!(["run", "app", "model"].contains(&doc["kind"].as_str().expect("kind")));
    let time = doc["time"].as_str().expect("time");
    chrono::DateTime::parse_from_rfc3339(time).unwrap_or_else(|e| panic!("{time}: {e}"));
    assert!(time.ends_with('Z'), "UTC: {time}");
    assert!(doc["target"].as_str().expect("target").starts_with("demo/"));
    let status = doc["status"].as_str().expect("status");
    assert!(
        !status.is_empty() && status.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
        "lower snake case: {status}"
    );
    assert!(!doc["summary"].as_str().expect("summary").is_empty());
}

/// The (kind, target) pairs `opsdeck status` lists under NEEDS ATTENTION.
fn status_attention(dir: &Path, config: &str) -> Vec<(String, String)> {
    let out = opsdeck(dir, config).arg("status").output().expect("status");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut items: Vec<(String, String)> = text
        .lines()
        .skip_while(|l| !l.starts_with("NEEDS ATTENTION"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            Some((words.next()?.to_string(), words.next()?.to_string()))
        })
        .collect();
    items.sort();
    items
}

fn file_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn problems_at_start_are_printed_once_as_new_and_exec_receives_each() {
    let dir = tempfile::tempdir().expect("tempdir");
    let expected = status_attention(dir.path(), PAUSED_DEMO);
    assert!(
        expected.len() >= 3,
        "the demo opens with problems: {expected:?}"
    );
    let received = dir.path().join("received.jsonl");
    let mut cmd = opsdeck(dir.path(), PAUSED_DEMO);
    cmd.args(["watch", "--exec"])
        .arg(format!("cat >> '{}'", received.display()));
    let mut watch = Watch::start(cmd);
    watch.until("one line per problem at start", |lines, _| {
        lines.len() >= expected.len()
    });
    let end = Instant::now() + DEADLINE;
    while file_lines(&received).len() < expected.len() {
        assert!(
            Instant::now() < end,
            "--exec received {:?}",
            file_lines(&received)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let code = watch.stop(libc::SIGTERM);
    assert_eq!(code, Some(0), "SIGTERM ends the watch with 0");

    let mut seen: Vec<(String, String)> = Vec::new();
    for line in &watch.lines {
        let doc = parse(line);
        assert_contract(&doc);
        assert_eq!(doc["event"], "new", "{line}");
        seen.push((
            doc["kind"].as_str().unwrap_or("").to_string(),
            doc["target"].as_str().unwrap_or("").to_string(),
        ));
    }
    seen.sort();
    assert_eq!(seen, expected, "once each, the problems `status` lists");
    assert_eq!(
        file_lines(&received),
        watch.lines,
        "--exec got every line on its stdin, in order"
    );
}

#[test]
fn a_moving_fleet_brings_new_and_resolved_problems_and_a_failing_exec_never_stops_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let received = dir.path().join("received.jsonl");
    let mut cmd = opsdeck(dir.path(), MOVING_DEMO);
    cmd.args(["watch", "--format", "json", "--exec"])
        .arg(format!("cat >> '{}'; exit 3", received.display()));
    let mut watch = Watch::start(cmd);
    watch.until("a resolved problem and a new one after it", |lines, _| {
        let docs: Vec<Value> = lines.iter().map(|l| parse(l)).collect();
        let resolved = docs.iter().position(|d| d["event"] == "resolved");
        resolved.is_some_and(|at| docs[at..].iter().any(|d| d["event"] == "new"))
    });
    watch.until("the failing --exec reported on stderr", |_, errors| {
        errors.iter().any(|e| e.contains("failed (exit status: 3)"))
    });
    let seen = watch.lines.len();
    let end = Instant::now() + DEADLINE;
    while file_lines(&received).len() < seen {
        assert!(Instant::now() < end, "--exec fell behind: {received:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let code = watch.stop(libc::SIGINT);
    assert_eq!(code, Some(0), "SIGINT ends the watch with 0");
    for line in &watch.lines {
        assert_contract(&parse(line));
    }
    // Each failure was reported and the watch kept going: --exec ran for
    // every line, the later ones after the earlier ones had failed.
    assert_eq!(file_lines(&received)[..seen], watch.lines[..]);
    let report = &watch.errors[0];
    assert!(
        report.contains("--exec `cat >>") && report.contains("(for new demo/"),
        "says which command and which event: {report}"
    );
    // A problem resolved was new before (at start or later).
    for (i, line) in watch.lines.iter().enumerate() {
        let doc = parse(line);
        if doc["event"] == "resolved" {
            let target = &doc["target"];
            assert!(
                watch.lines[..i]
                    .iter()
                    .any(|l| parse(l)["target"] == *target && parse(l)["event"] == "new"),
                "{target} resolved before it was new"
            );
        }
    }
}
