//! Deploy verdicts: once a deploy's settle window has passed (or earlier
//! when it goes bad) — `failed` (the operation failed), `degraded` (health
//! went degraded or missing within the window), `drift` (a model it serves
//! began drifting within the window), `healthy`, or `pending` while the
//! window runs.

use std::collections::{HashMap, HashSet};

use chrono::Duration;

use super::event::{Event, EventKind, Verdict};
use super::links::Configured;
use crate::model::{Health, Timestamp};

/// Give every deploy event its verdict. `unhealthy_untimed` are apps
/// unhealthy now whose backend gave no time for it: their newest deploy is
/// taken as the one that went bad.
pub fn judge(
    events: &mut [Event],
    configured: &Configured,
    unhealthy_untimed: &HashSet<String>,
    window: Duration,
    now: Timestamp,
) {
    let mut deploys: HashMap<&str, Vec<Timestamp>> = HashMap::new();
    let mut bad_health: HashMap<&str, Vec<Timestamp>> = HashMap::new();
    let mut onsets: HashMap<&str, Vec<Timestamp>> = HashMap::new();
    for e in events.iter() {
        match e.kind {
            EventKind::Deploy => deploys.entry(&e.target).or_default().push(e.began()),
            EventKind::Health if is_bad(&e.status) => {
                bad_health.entry(&e.target).or_default().push(e.time)
            }
            EventKind::DriftOnset => onsets.entry(&e.target).or_default().push(e.time),
            _ => {}
        }
    }
    let verdicts: Vec<Option<Verdict>> = events
        .iter()
        .map(|e| {
            if e.kind != EventKind::Deploy {
                return None;
            }
            let times = &deploys[e.target.as_str()];
            // The next deploy's start ends this one's watch.
            let next = times.iter().filter(|&&t| t > e.began()).min().copied();
            let newest = next.is_none();
            let end = next.map_or(e.time + window, |n| n.min(e.time + window));
            // From the deploy's start: health lost during the sync counts.
            let within = |t: &Timestamp| *t >= e.began() && *t <= end;
            Some(match e.status.as_str() {
                "failed" => Verdict::Failed,
                "running" => Verdict::Pending,
                _ if bad_health
                    .get(e.target.as_str())
                    .is_some_and(|ts| ts.iter().any(within))
                    || (newest && unhealthy_untimed.contains(&e.target)) =>
                {
                    Verdict::Degraded
                }
                _ if configured
                    .models_of(&e.target)
                    .any(|m| onsets.get(m).is_some_and(|ts| ts.iter().any(within))) =>
                {
                    Verdict::Drift
                }
                _ if newest && now < e.time + window => Verdict::Pending,
                _ => Verdict::Healthy,
            })
        })
        .collect();
    for (e, v) in events.iter_mut().zip(verdicts) {
        e.verdict = v;
    }
}

fn is_bad(status: &str) -> bool {
    status == Health::Degraded.to_string() || status == Health::Missing.to_string()
}
