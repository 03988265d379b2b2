//! The append-only audit log: one JSON line per action request and one per
//! outcome, with who, where and what; custom commands the same way. Tokens
//! are never part of an action, so they can never reach it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;

use crate::app::custom::{CommandRun, Exit};
use crate::model::{Action, ActionKind, Operator, Outcome, Target, TargetKind, Timestamp};

/// `$XDG_STATE_HOME/opsdeck/audit.jsonl` (`~/.local/state/…` when unset).
pub fn default_path() -> PathBuf {
    state_dir().join("audit.jsonl")
}

/// opsdeck's state directory (audit log, logs).
pub fn state_dir() -> PathBuf {
    dirs::state_dir()
        .or_else(|| dirs::home_dir().map(|h| h.join(".local").join("state")))
        .unwrap_or_else(std::env::temp_dir)
        .join("opsdeck")
}

/// What every audit line starts with: when, which request, who, from
/// where, and on what.
#[derive(Debug, Serialize)]
pub struct Head<'a> {
    pub time: Timestamp,
    /// Ties a request to its outcome.
    pub id: String,
    pub user: &'a str,
    pub host: &'a str,
    /// "tui" or "cli".
    pub via: &'a str,
    pub source: &'a str,
    pub target_kind: TargetKind,
    pub target: &'a str,
}

/// One line of the audit log.
#[derive(Debug, Serialize)]
pub struct AuditRecord<'a> {
    #[serde(flatten)]
    pub head: Head<'a>,
    pub action: ActionKind,
    pub to: Option<&'a str>,
    pub effect: &'a str,
    pub production: bool,
    /// requested, done, failed or unknown.
    pub outcome: &'a str,
    pub detail: Option<&'a str>,
}

/// One line of the audit log for a custom command run: its name and the
/// exact command line (placeholders filled from the item, never the
/// environment), and how it ended.
#[derive(Debug, Serialize)]
pub struct CommandRecord<'a> {
    #[serde(flatten)]
    pub head: Head<'a>,
    /// Always "command".
    pub action: &'a str,
    pub command: &'a str,
    pub command_line: &'a str,
    pub mutating: bool,
    pub production: bool,
    /// requested, done or failed.
    pub outcome: &'a str,
    /// The exit status, when it exited.
    pub exit: Option<i32>,
    pub detail: Option<&'a str>,
}

/// Where audit lines go.
pub struct AuditLog {
    path: PathBuf,
    file: Mutex<Option<File>>,
    operator: Operator,
    via: &'static str,
}

impl AuditLog {
    /// The file is opened on first write, so a read-only session never creates it.
    pub fn new(path: PathBuf, via: &'static str) -> Self {
        AuditLog {
            path,
            file: Mutex::new(None),
            operator: Operator::current(),
            via,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Record that `action` is about to be sent.
    pub fn requested(&self, id: &str, action: &Action) -> std::io::Result<()> {
        self.write(id, action, "requested", None)
    }

    /// Record how `action` ended.
    pub fn outcome(&self, id: &str, action: &Action, outcome: &Outcome) -> std::io::Result<()> {
        self.write(id, action, outcome.word(), Some(outcome.detail()))
    }

    fn write(
        &self,
        id: &str,
        action: &Action,
        outcome: &str,
        detail: Option<&str>,
    ) -> std::io::Result<()> {
        let record = AuditRecord {
            head: self.head(id, &action.target),
            action: action.kind,
            to: action.to.as_deref(),
            effect: &action.effect,
            production: action.production,
            outcome,
            detail,
        };
        self.append(&record)
    }

    /// Record that a custom command is about to run.
    pub fn command_requested(&self, id: &str, run: &CommandRun) -> std::io::Result<()> {
        self.write_command(id, run, "requested", None, None)
    }

    /// Record how a custom command ended.
    pub fn command_outcome(&self, id: &str, run: &CommandRun, exit: &Exit) -> std::io::Result<()> {
        let code = match exit {
            Exit::Code(c) => Some(*c),
            _ => None,
        };
        self.write_command(id, run, exit.word(), code, Some(&exit.describe()))
    }

    fn write_command(
        &self,
        id: &str,
        run: &CommandRun,
        outcome: &str,
        exit: Option<i32>,
        detail: Option<&str>,
    ) -> std::io::Result<()> {
        self.append(&CommandRecord {
            head: self.head(id, &run.target),
            action: "command",
            command: &run.name,
            command_line: &run.line,
            mutating: run.mutating,
            production: run.production,
            outcome,
            exit,
            detail,
        })
    }

    /// The start of a line about `target`, now.
    fn head<'a>(&'a self, id: &str, target: &'a Target) -> Head<'a> {
        Head {
            time: chrono::Utc::now(),
            id: id.to_string(),
            user: &self.operator.user,
            host: &self.operator.host,
            via: self.via,
            source: &target.source,
            target_kind: target.kind,
            target: &target.id,
        }
    }

    /// Append one record as one line.
    fn append(&self, record: &impl Serialize) -> std::io::Result<()> {
        let mut line = serde_json::to_string(record).map_err(std::io::Error::other)?;
        line.push('\n');
        let mut guard = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            *guard = Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)?,
            );
        }
        let file = guard
            .as_mut()
            .ok_or_else(|| std::io::Error::other("audit log not open"))?;
        // One write per line keeps lines whole even with several opsdecks appending.
        file.write_all(line.as_bytes())?;
        file.sync_data()
    }
}
