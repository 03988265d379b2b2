//! What the engineer is told (the status line) and the actions still
//! awaiting their outcome.

use crate::model::{Action, Timestamp};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Success,
    Warning,
    Error,
}

/// The one-line message at the bottom (action outcomes, refusals).
#[derive(Clone, Debug, PartialEq)]
pub struct StatusLine {
    pub level: Level,
    pub text: String,
    pub at: Timestamp,
}

/// An action sent and not yet answered.
#[derive(Clone, Debug, PartialEq)]
pub struct InFlight {
    pub id: u64,
    pub action: Action,
    pub started: Timestamp,
}
