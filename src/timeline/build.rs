//! How the timeline is built, whole or again after a batch: only what
//! changed is extracted again. A source whose snapshot was replaced is
//! re-extracted; a live feed's changed apps are re-extracted app by app;
//! every other event stays where it is, already sorted. Then what depends
//! on everything is recomputed from the events (the configured links, each
//! deploy's verdict) — cheap passes without a string copied per event.
//!
//! Events older than the window are dropped first: nothing in the window
//! depends on them (a deploy's verdict looks only at what came after it).

use std::collections::HashSet;

use super::event::{Event, EventKind};
use super::links::Configured;
use super::revision::{Shas, is_full_sha};
use super::{Settings, SourceView, Timeline, event, extract, verdict};
use crate::model::{Changed, Scope, Timestamp};

/// Extracted from a snapshot, `e` is extracted again after `changed`.
fn covers(changed: &Changed, e: &Event) -> bool {
    if changed.covers_source(&e.source) {
        return true;
    }
    matches!(
        e.target_kind,
        event::TargetKind::App | event::TargetKind::Repo
    ) && changed.covers_app(&e.source, e.name())
}

/// Events only the caller knows (audit-log lines, transitions seen live),
/// passed in `extra` on every build, never extracted from a snapshot.
fn is_extra(e: &Event) -> bool {
    e.observed || e.kind == EventKind::Action
}

impl Timeline {
    /// Bring the timeline up to date with `sources` after `changed`: what
    /// changed is extracted again, `extra` replaces the previous extra
    /// events, the window moves to `now`, verdicts are given again. Links
    /// are not filled (`link` does, for the headless contract). The first
    /// update of a timeline builds it whole.
    pub fn update(
        &mut self,
        sources: &[SourceView],
        changed: &Changed,
        extra: &[Event],
        settings: &Settings,
        now: Timestamp,
    ) {
        let all = changed.is_all() || !self.extracted;
        let since = now - settings.window;
        if all {
            self.events.clear();
        } else {
            self.events
                .retain(|e| e.time >= since && !is_extra(e) && !covers(changed, e));
        }
        let mut fresh = Vec::with_capacity(if all {
            sources.iter().map(|s| expected_events(s.snapshot)).sum()
        } else {
            0
        });
        for s in sources {
            let scope = if all {
                Scope::Whole
            } else {
                changed.scope(s.name)
            };
            match scope {
                Scope::Whole => extract::snapshot_events(s.name, s.snapshot, now, &mut fresh),
                Scope::Apps(names) => {
                    for app in s.snapshot.apps.iter().filter(|a| names.contains(&a.name)) {
                        extract::app_item_events(s.name, app, &mut fresh);
                    }
                }
                Scope::Unchanged => {}
            }
        }
        fresh.retain(|e| e.time >= since);
        fresh.extend(extra.iter().filter(|e| e.time >= since).cloned());
        // A short SHA resolves when it is a unique prefix of a full one in
        // the window. The index of full SHAs is built for that, or when
        // "why?" first asks (most backends give full SHAs: then never).
        self.shas = std::sync::OnceLock::new();
        let short = |e: &Event| e.revision.as_deref().is_some_and(|r| !is_full_sha(r));
        if fresh.iter().any(short) {
            let shas = Shas::of(self.events.iter().chain(&fresh).filter_map(full_revision));
            for e in fresh.iter_mut().filter(|e| short(e)) {
                if let Some(full) = e.revision.as_deref().and_then(|r| shas.resolve(r)) {
                    e.revision = Some(full.to_string());
                }
            }
            let _ = self.shas.set(shas);
        }
        let (configured, unhealthy_untimed) = configured(sources);
        self.configured = configured;
        // Newest first; same time: changes before the states they caused.
        // The new events are sorted by key (each moved once), then merged
        // with the kept ones, sorted already (one pass).
        fresh.sort_by_cached_key(|e| (std::cmp::Reverse(e.time), e.kind.is_change()));
        if self.events.is_empty() {
            self.events = fresh;
        } else {
            self.events.append(&mut fresh);
            self.events.sort_by(newest_first);
        }
        verdict::judge(
            &mut self.events,
            &self.configured,
            &unhealthy_untimed,
            settings.verdict_window,
            now,
        );
        self.extracted = true;
        self.built_at = now;
    }
}

/// About how many events a snapshot gives (room made once, not grown).
fn expected_events(s: &crate::model::Snapshot) -> usize {
    2 * s.pipelines.len()
        + s.apps.iter().map(|a| a.history.len() + 2).sum::<usize>()
        + s.models.iter().map(|m| m.versions.len() + 2).sum::<usize>()
}

fn newest_first(a: &Event, b: &Event) -> std::cmp::Ordering {
    b.time
        .cmp(&a.time)
        .then(a.kind.is_change().cmp(&b.kind.is_change()))
}

pub(super) fn full_revision(e: &Event) -> Option<&str> {
    e.revision.as_deref().filter(|r| is_full_sha(r))
}

/// The configured links (`serving`, app ↔ repository app), indexed, and
/// the apps unhealthy now whose backend gave no time for it.
fn configured(sources: &[SourceView]) -> (Configured, HashSet<String>) {
    let mut configured = Configured::default();
    let mut unhealthy_untimed = HashSet::new();
    for s in sources {
        for m in &s.snapshot.models {
            if let Some(app) = &m.serving {
                configured
                    .serving
                    .push((event::target(s.name, &m.model), app.clone()));
            }
        }
        for a in s.snapshot.apps.iter().filter(|a| a.repo.is_none()) {
            if let Some(l) = &a.linked {
                configured
                    .repo
                    .push((event::target(s.name, &a.name), l.to_string()));
            }
            if a.health.is_unhealthy() && a.health_since.is_none() {
                unhealthy_untimed.insert(event::target(s.name, &a.name));
            }
        }
    }
    configured.index();
    (configured, unhealthy_untimed)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::model::Snapshot;
    use crate::sources::demo::DemoFleet;

    /// Events as a set: the order of events at the same time (and the same
    /// change-ness) is not part of the contract.
    fn keyed(t: &Timeline) -> Vec<String> {
        let mut v: Vec<String> = t.events.iter().map(|e| format!("{e:?}")).collect();
        v.sort();
        v
    }

    fn views<'a>(sources: &'a [(&'a str, Snapshot)]) -> Vec<SourceView<'a>> {
        sources
            .iter()
            .map(|(name, snapshot)| SourceView { name, snapshot })
            .collect()
    }

    #[test]
    fn an_update_after_changes_gives_what_a_whole_build_gives() {
        let start = chrono::Utc
            .with_ymd_and_hms(2026, 3, 14, 9, 0, 0)
            .single()
            .expect("time");
        let mut fleet = DemoFleet::new(7, start, true);
        fleet.advance_to(start + chrono::Duration::minutes(10));
        let before = fleet.snapshot("demo");
        fleet.advance_to(start + chrono::Duration::minutes(40));
        let after = fleet.snapshot("demo");
        let settings = Settings::default();
        let mut sources = vec![("demo", before.clone()), ("other", before.clone())];
        let mut timeline = Timeline::default();
        timeline.update(
            &views(&sources),
            &Changed::all(),
            &[],
            &settings,
            fleet.now(),
        );
        assert!(!timeline.events.is_empty());

        // "demo" changes some apps in place (as a live feed sends them);
        // "other" is replaced whole.
        let mut changed = Changed::default();
        let demo = &mut sources[0].1;
        let mut names = Vec::new();
        for app in &after.apps {
            if let Some(old) = demo.apps.iter_mut().find(|a| a.name == app.name)
                && old != app
            {
                *old = app.clone();
                names.push(app.name.clone());
            }
        }
        assert!(!names.is_empty(), "the demo's apps changed");
        changed.apps("demo", names.iter().map(String::as_str));
        sources[1].1 = after.clone();
        changed.whole("other");
        let seen = crate::timeline::observed::transitions("demo", &before, &after, fleet.now());
        timeline.update(&views(&sources), &changed, &seen, &settings, fleet.now());

        let mut whole = Timeline::default();
        whole.update(
            &views(&sources),
            &Changed::all(),
            &seen,
            &settings,
            fleet.now(),
        );
        assert_eq!(keyed(&timeline), keyed(&whole));
        assert!(
            timeline
                .events
                .windows(2)
                .all(|w| newest_first(&w[0], &w[1]).is_le()),
            "newest first"
        );
        // Nothing changed: the same again; later, the window moves on.
        timeline.update(
            &views(&sources),
            &Changed::default(),
            &seen,
            &settings,
            fleet.now(),
        );
        assert_eq!(keyed(&timeline), keyed(&whole));
        let in_window = timeline.events.len();
        let later = fleet.now() + chrono::Duration::hours(23) + chrono::Duration::minutes(50);
        timeline.update(
            &views(&sources),
            &Changed::default(),
            &seen,
            &settings,
            later,
        );
        let mut whole = Timeline::default();
        whole.update(&views(&sources), &Changed::all(), &seen, &settings, later);
        assert_eq!(keyed(&timeline), keyed(&whole));
        assert!(timeline.events.len() < in_window, "the window moved on");
    }
}
