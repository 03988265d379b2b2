//! The timeline as the dashboard keeps it: built from the snapshots once
//! per batch (in `settle`), plus what only the dashboard knows — the audit
//! log read at start, each action's outcome, the transitions it saw — and
//! the "why?" view open on one item.

use std::collections::VecDeque;

use crate::model::Target;
use crate::timeline::{Changed, Event, Settings, Timeline, Why};

/// Extra events kept at most (observed transitions, action outcomes).
pub const MAX_EXTRA: usize = 2_000;

#[derive(Clone, Debug, Default)]
pub struct TimelineState {
    pub timeline: Timeline,
    pub settings: Settings,
    /// Audit-log lines, action outcomes and observed transitions, oldest first.
    pub extra: VecDeque<Event>,
    /// Something it is built from changed since the last build.
    pub stale: bool,
    /// What the sources changed since the last build (extracted again).
    pub changed: Changed,
    /// Times it was built (once per batch that changed something).
    pub builds: u64,
    /// The open "why?" view.
    pub why: Option<WhyView>,
    /// Who acts from this dashboard (for action events).
    pub user: String,
}

impl TimelineState {
    /// Add events only the dashboard knows; the oldest go past `MAX_EXTRA`.
    pub fn add(&mut self, events: impl IntoIterator<Item = Event>) {
        for e in events {
            self.extra.push_back(e);
            self.stale = true;
        }
        while self.extra.len() > MAX_EXTRA {
            self.extra.pop_front();
        }
    }
}

/// "Why?" on one item: the answer and the suspect under the cursor.
#[derive(Clone, Debug, PartialEq)]
pub struct WhyView {
    pub target: Target,
    pub why: Why,
    pub selected: usize,
}

impl WhyView {
    /// The suspect under the cursor.
    pub fn suspect(&self) -> Option<&crate::timeline::Suspect> {
        self.why.suspects.get(self.selected)
    }
}
