//! `opsdeck watch`: the dashboard without a screen. The sources are read as
//! the dashboard reads them (streams and polls) into the same `State`; each
//! new or resolved problem of the Overview's attention list becomes one
//! line on stdout and, with `--exec`, one run of a shell command with that
//! line (JSON) on its stdin.

use std::process::Stdio;

use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use super::{EXIT_OK, Globals, fail};
use crate::app::problems::{Change, ProblemEvent, ProblemKind};
use crate::app::state::SourceState;
use crate::app::{Keymap, Msg, State, update_batch};
use crate::config::ConfigErrors;
use crate::model::Timestamp;
use crate::sources::{self, SourceEvent};

/// How `watch` prints each event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchFormat {
    Json,
    Text,
}

/// `--exec` commands waiting to run, at most this many (the rest are
/// dropped with a message: a pager that hangs must not grow memory).
const EXEC_QUEUE: usize = 256;

/// One event as `watch --format json` prints it (the README's contract).
#[derive(Serialize)]
pub struct WatchLine<'a> {
    pub event: Change,
    pub time: String,
    pub kind: ProblemKind,
    pub target: &'a str,
    pub status: &'a str,
    pub summary: &'a str,
}

impl<'a> WatchLine<'a> {
    pub fn of(event: &'a ProblemEvent) -> Self {
        WatchLine {
            event: event.change,
            time: rfc3339(event.time),
            kind: event.problem.kind,
            target: &event.problem.target,
            status: &event.problem.status,
            summary: &event.problem.summary,
        }
    }

    pub fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

fn rfc3339(t: Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Stay running until SIGTERM or SIGINT (exit 0), printing each new and
/// resolved problem.
pub async fn watch(globals: Globals, exec: Option<String>, format: WatchFormat) -> u8 {
    let config = match globals.load_config() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let keymap = match Keymap::from_config(&config.keys) {
        Ok(k) => k,
        Err(e) => return fail(ConfigErrors(e)),
    };
    let (Ok(mut term), Ok(mut interrupt)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return fail("cannot listen for SIGTERM and SIGINT");
    };
    let sources = sources::build_all(&config);
    let states: Vec<SourceState> = sources
        .iter()
        .zip(&config.sources)
        .map(|(s, c)| SourceState::of(s.as_ref(), c.production))
        .collect();
    let read_only = globals.read_only || config.read_only;
    let mut state = State::new(states, keymap, read_only, chrono::Utc::now());
    let (tx, mut events) = mpsc::channel::<SourceEvent>(64);
    let (_wakes, _pollers) = sources::spawn_all(&sources, tx);
    let runner = exec.map(|command| {
        let (tx, rx) = mpsc::channel::<(String, String)>(EXEC_QUEUE);
        tokio::spawn(run_each(command, rx));
        tx
    });

    loop {
        let first = tokio::select! {
            Some(event) = events.recv() => event,
            _ = term.recv() => return EXIT_OK,
            _ = interrupt.recv() => return EXIT_OK,
            else => return fail("every source stopped"),
        };
        let mut msgs = vec![Msg::Source(first)];
        while let Ok(event) = events.try_recv() {
            msgs.push(Msg::Source(event));
        }
        state.now = chrono::Utc::now();
        update_batch(&mut state, msgs);
        for event in state.problems.take_events() {
            let line = WatchLine::of(&event);
            let json = line.json();
            match format {
                WatchFormat::Json => println!("{json}"),
                WatchFormat::Text => println!("{}", text(&event)),
            }
            if let Some(runner) = &runner {
                let about = format!("{} {}", event.change, event.problem.target);
                if runner.try_send((json, about)).is_err() {
                    eprintln!(
                        "opsdeck watch: --exec is {EXEC_QUEUE} events behind; skipped it for {} {}",
                        event.change, event.problem.target
                    );
                }
            }
        }
    }
}

/// "2026-12-04T18:30:00Z new run demo/4136 failure: CI on acme/web main failed".
fn text(event: &ProblemEvent) -> String {
    let p = &event.problem;
    format!(
        "{} {:<8} {:<5} {} {}: {}",
        rfc3339(event.time),
        event.change,
        p.kind,
        p.target,
        p.status,
        p.summary
    )
}

/// Run `command` through `sh -c` once per line, in order, the line on its
/// stdin. A failure is reported on stderr; the watch goes on.
async fn run_each(command: String, mut lines: mpsc::Receiver<(String, String)>) {
    while let Some((line, about)) = lines.recv().await {
        if let Err(e) = run_one(&command, &line).await {
            eprintln!("opsdeck watch: --exec `{command}` {e} (for {about})");
        }
    }
}

async fn run_one(command: &str, line: &str) -> Result<(), String> {
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        .kill_on_drop(false)
        .spawn()
        .map_err(|e| format!("could not start: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A command that does not read its stdin is not a failure.
        let _ = stdin.write_all(format!("{line}\n").as_bytes()).await;
        drop(stdin);
    }
    let status = child
        .wait()
        .await
        .map_err(|e| format!("could not be waited for: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("failed ({status})"))
    }
}
