//! What can happen to the dashboard (`Msg`) and what `update` asks the
//! event loop to do in return (`Effect`).

use crossterm::event::KeyEvent;

use crate::app::command::Command;
use crate::app::custom::{CommandRun, Exit};
use crate::model::{Action, AppDetail, DispatchForm, Job, LogTail, Outcome, Target, Timestamp};
use crate::sources::SourceEvent;

/// Everything that can happen to the dashboard.
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Command(Command),
    Source(SourceEvent),
    Outcome {
        id: u64,
        action: Action,
        outcome: Outcome,
    },
    Jobs {
        target: Target,
        result: Result<Vec<Job>, String>,
    },
    /// The run a new run started, as its backend named it (sent before
    /// the action's `Outcome`).
    Started {
        id: u64,
        run: String,
    },
    /// An app's drill-down, loaded.
    AppDetail {
        target: Target,
        result: Result<AppDetail, String>,
    },
    /// A job's log tail, loaded.
    Log {
        target: Target,
        job: String,
        result: Result<LogTail, String>,
    },
    /// What a new run of a pipeline asks for, loaded; `git_ref` pre-fills
    /// the form (the branch of the run it was asked from).
    DispatchForm {
        target: Target,
        git_ref: Option<String>,
        result: Result<DispatchForm, String>,
    },
    /// A background custom command wrote this (stdout or stderr).
    CommandOutput {
        id: u64,
        bytes: Vec<u8>,
    },
    /// A custom command ended.
    CommandExited {
        id: u64,
        name: String,
        exit: Exit,
    },
    Tick(Timestamp),
    Resize(u16, u16),
}

/// What the event loop must do after an update.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Send a confirmed action to the executor.
    Run {
        id: u64,
        action: Box<Action>,
    },
    /// Read this source again now.
    Refetch(usize),
    /// Load a run's jobs for its detail view.
    LoadJobs {
        source: usize,
        run_id: String,
    },
    /// Load an app's drill-down for its detail view.
    LoadAppDetail {
        source: usize,
        app: String,
    },
    /// Load the tail of a job's log.
    LoadLog {
        source: usize,
        run_id: String,
        job_id: String,
    },
    /// Load what a new run of a pipeline asks for, then open the form.
    LoadDispatchForm {
        source: usize,
        pipeline: String,
        git_ref: Option<String>,
    },
    /// Copy to the clipboard (OSC 52).
    Copy(String),
    /// Start a confirmed custom command (foreground: it gets the terminal).
    Command(Box<CommandRun>),
    Quit,
}
