//! Drill-downs open on one item: the detail view and what it loads on
//! demand (an app's drill-down, a job's log).

use crate::model::{AppDetail, LogTail, Target};

/// An app's drill-down, loaded when its detail view opens.
#[derive(Clone, Debug, PartialEq)]
pub enum AppDetailState {
    Loading,
    Loaded(Box<AppDetail>),
    Failed(String),
}

/// A job's log tail, loaded when its log view opens.
#[derive(Clone, Debug, PartialEq)]
pub enum LogState {
    Loading,
    Loaded(LogTail),
    Failed(String),
}

/// A run's detail view shows this job's log instead of the run.
#[derive(Clone, Debug, PartialEq)]
pub struct LogView {
    pub job_id: String,
    pub job_name: String,
}

/// A detail view open on one item, found again by key after each refresh.
#[derive(Clone, Debug, PartialEq)]
pub struct Detail {
    pub target: Target,
    /// First visible line of the scrollable body.
    pub scroll: usize,
    /// A job's log is shown (runs only); its own scroll is `scroll`.
    pub log: Option<LogView>,
    /// `logs` was asked for before the run's jobs were loaded: open the
    /// log of the job that failed once they are.
    pub log_pending: bool,
}

impl Detail {
    pub fn new(target: Target) -> Self {
        Detail {
            target,
            scroll: 0,
            log: None,
            log_pending: false,
        }
    }
}
