//! The incident timeline: every change and state change from every source
//! on one time axis, the exact links between them (commit, the runs that
//! built it, the deploys of it, the models those apps serve), each deploy's
//! verdict, and "why?" for any item. Derived data: built from the sources'
//! snapshots (plus opsdeck's audit log and the transitions it saw), once
//! per batch in the dashboard and once per headless command — the same
//! code for both.

pub mod audit;
mod build;
pub mod event;
pub mod extract;
pub mod links;
pub mod observed;
pub mod onset;
pub mod revision;
pub mod verdict;
pub mod why;

use chrono::Duration;

pub use crate::model::Changed;
pub use event::{Event, EventKind, Link, Rel, TargetKind, Verdict, format_time};
pub use links::Configured;
pub use why::{Problem, Suspect, Why};

use crate::model::{Snapshot, Timestamp};

/// The `[timeline]` settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// How far back the timeline reaches (`window`, default 24 h).
    pub window: Duration,
    /// How long a deploy is watched before its verdict (`verdict_window`, 15 min).
    pub verdict_window: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            window: Duration::hours(24),
            verdict_window: Duration::minutes(15),
        }
    }
}

impl From<&crate::config::TimelineConfig> for Settings {
    fn from(c: &crate::config::TimelineConfig) -> Self {
        let d = |d: std::time::Duration| Duration::from_std(d).unwrap_or(Duration::MAX);
        Settings {
            window: d(c.window),
            verdict_window: d(c.verdict_window),
        }
    }
}

/// One source as the timeline reads it.
#[derive(Clone, Copy, Debug)]
pub struct SourceView<'a> {
    pub name: &'a str,
    pub snapshot: &'a Snapshot,
}

/// The built timeline: events newest first, with links and verdicts.
#[derive(Clone, Debug, Default)]
pub struct Timeline {
    pub events: Vec<Event>,
    pub configured: Configured,
    /// The full SHAs in the window (`shas()`), built when first needed.
    shas: std::sync::OnceLock<revision::Shas>,
    pub built_at: Timestamp,
    /// Built once: an update extracts only what changed.
    extracted: bool,
}

impl Timeline {
    /// Build from the sources' snapshots and `extra` events (audit log
    /// lines, observed transitions), with every event's links: what a
    /// headless command prints. The dashboard keeps one and `update`s it
    /// after each batch instead (without links: no view shows them).
    pub fn build(
        sources: &[SourceView],
        extra: &[Event],
        settings: &Settings,
        now: Timestamp,
    ) -> Timeline {
        let mut timeline = Timeline::default();
        timeline.update(sources, &Changed::all(), extra, settings, now);
        timeline.link();
        timeline
    }

    /// The full SHAs in the window: a short one resolves as a unique prefix.
    pub fn shas(&self) -> &revision::Shas {
        self.shas
            .get_or_init(|| revision::Shas::of(self.events.iter().filter_map(build::full_revision)))
    }

    /// Fill every event's `links` from the link index.
    pub fn link(&mut self) {
        links::link(&mut self.events, &self.configured);
    }

    /// Events at or after `since`, of `target` (`SOURCE/NAME`) when given.
    pub fn select<'a>(
        &'a self,
        since: Timestamp,
        target: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Event> + 'a {
        self.events
            .iter()
            .take_while(move |e| e.time >= since)
            .filter(move |e| target.is_none_or(|t| e.target == t))
    }
}

#[cfg(test)]
mod tests;
