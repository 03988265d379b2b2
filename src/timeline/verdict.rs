//! Deploy verdicts: once a deploy's settle window has passed (or earlier
//! when it goes bad) — `failed` (the operation failed), `degraded` (health
//! went degraded or missing within the window), `drift` (a model it serves
//! began drifting within the window), `healthy`, or `pending` while the
//! window runs.

use std::collections::HashSet;

use rustc_hash::FxHashMap;

use chrono::Duration;

use super::event::{Event, EventKind, Verdict};
use super::links::Configured;
use crate::model::{Health, Timestamp};

/// The times a target's verdicts look at.
#[derive(Default)]
struct Times {
    /// Its deploys, oldest first.
    deploys: Vec<Timestamp>,
    /// When its health went degraded or missing.
    bad_health: Vec<Timestamp>,
    /// When it (a model) began drifting.
    onsets: Vec<Timestamp>,
}

/// Give every deploy event its verdict. `unhealthy_untimed` are apps
/// unhealthy now whose backend gave no time for it: their newest deploy is
/// taken as the one that went bad. One pass groups the times by target
/// (one lookup per event that matters), then each deploy is judged from
/// its target's group.
pub fn judge(
    events: &mut [Event],
    configured: &Configured,
    unhealthy_untimed: &HashSet<String>,
    window: Duration,
    now: Timestamp,
) {
    let degraded = Health::Degraded.to_string();
    let missing = Health::Missing.to_string();
    let mut groups: FxHashMap<&str, usize> = FxHashMap::default();
    let mut times: Vec<Times> = Vec::new();
    let mut deploys: Vec<(usize, usize)> = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let bad = e.kind == EventKind::Health && (e.status == degraded || e.status == missing);
        if !(bad || matches!(e.kind, EventKind::Deploy | EventKind::DriftOnset)) {
            continue;
        }
        let g = *groups.entry(e.target.as_str()).or_insert_with(|| {
            times.push(Times::default());
            times.len() - 1
        });
        let t = &mut times[g];
        match e.kind {
            EventKind::Deploy => {
                t.deploys.push(e.began());
                deploys.push((i, g));
            }
            EventKind::DriftOnset => t.onsets.push(e.time),
            _ => t.bad_health.push(e.time),
        }
    }
    times.iter_mut().for_each(|t| t.deploys.sort_unstable());
    // Per target deployed: whether it is unhealthy with no time given, and
    // the onsets of the models it serves (looked up once per target).
    let mut served: Vec<Option<(bool, Vec<Timestamp>)>> = Vec::new();
    served.resize_with(times.len(), || None);
    let verdicts: Vec<(usize, Verdict)> = deploys
        .iter()
        .map(|&(i, g)| {
            let e = &events[i];
            let (untimed, onsets) = served[g].get_or_insert_with(|| {
                let onsets = configured
                    .models_of(&e.target)
                    .filter_map(|m| groups.get(m))
                    .flat_map(|&m| times[m].onsets.iter().copied())
                    .collect();
                (unhealthy_untimed.contains(&e.target), onsets)
            });
            let t = &times[g];
            // The next deploy's start ends this one's watch.
            let after = t.deploys.partition_point(|&d| d <= e.began());
            let next = t.deploys.get(after).copied();
            let newest = next.is_none();
            let end = next.map_or(e.time + window, |n| n.min(e.time + window));
            // From the deploy's start: health lost during the sync counts.
            let within = |t: &Timestamp| *t >= e.began() && *t <= end;
            let verdict = match e.status.as_str() {
                "failed" => Verdict::Failed,
                "running" => Verdict::Pending,
                _ if t.bad_health.iter().any(within) || (newest && *untimed) => Verdict::Degraded,
                _ if onsets.iter().any(within) => Verdict::Drift,
                _ if newest && now < e.time + window => Verdict::Pending,
                _ => Verdict::Healthy,
            };
            (i, verdict)
        })
        .collect();
    events.iter_mut().for_each(|e| e.verdict = None);
    for (i, v) in verdicts {
        events[i].verdict = Some(v);
    }
}
