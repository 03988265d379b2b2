//! When drift began and ended, computed from the stored samples: the first
//! sample at or past the threshold from which the metric stayed past it
//! for at least five minutes (or until now, if that is sooner), so a lone
//! spike is not an onset. Recovery is the same rule the other way.
//! A gap in the samples longer than the hold time breaks a run: what
//! happened in the gap is unknown, so it never counts as staying.

use chrono::Duration;

use super::{Metric, Timestamp, Worse};

/// How long a metric must stay past its threshold to count as an onset.
pub const HOLD: Duration = Duration::minutes(5);

/// One drift episode: onset, and recovery when it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Episode {
    pub onset: Timestamp,
    pub recovery: Option<Timestamp>,
}

/// Whether `v` is at or past `threshold` on the bad side.
pub fn past(v: f64, threshold: f64, worse: Worse) -> bool {
    match worse {
        Worse::Above => v >= threshold,
        Worse::Below => v <= threshold,
    }
}

/// The episodes of `series` (oldest first) against `threshold`.
pub fn episodes(
    series: &[(Timestamp, f64)],
    threshold: f64,
    worse: Worse,
    now: Timestamp,
) -> Vec<Episode> {
    let points: Vec<(Timestamp, bool)> = series
        .iter()
        .filter(|(_, v)| v.is_finite())
        .map(|&(t, v)| (t, past(v, threshold, worse)))
        .collect();
    let mut out: Vec<Episode> = Vec::new();
    let mut state = false;
    let mut i = 0;
    while i < points.len() {
        let (t0, p) = points[i];
        if p == state {
            i += 1;
            continue;
        }
        // A run of samples on the other side starts at i: how long it held.
        let mut j = i;
        while j + 1 < points.len() && points[j + 1].1 == p && points[j + 1].0 - points[j].0 <= HOLD
        {
            j += 1;
        }
        let held_until = match points.get(j + 1) {
            // The next sample is on the other side again, within the hold.
            Some(&(t, q)) if q != p && t - points[j].0 <= HOLD => t,
            // A gap: known only up to the run's last sample.
            Some(_) => points[j].0,
            None => now,
        };
        let is_last = j + 1 == points.len();
        if held_until - t0 >= HOLD || is_last {
            state = p;
            if p {
                out.push(Episode {
                    onset: t0,
                    recovery: None,
                });
            } else if let Some(last) = out.last_mut() {
                last.recovery = Some(t0);
            }
        }
        i = j + 1;
    }
    out
}

/// A model's episodes: its metrics' episodes past their critical threshold,
/// overlapping ones merged.
pub fn model_episodes(metrics: &[Metric], now: Timestamp) -> Vec<Episode> {
    merged(
        metrics
            .iter()
            .flat_map(|m| episodes(&m.series, m.critical, m.worse, now))
            .collect(),
    )
}

/// Episodes of several metrics as the model's: overlapping ones merged.
pub fn merged(mut all: Vec<Episode>) -> Vec<Episode> {
    all.sort_by_key(|e| e.onset);
    let mut merged: Vec<Episode> = Vec::new();
    for e in all {
        match merged.last_mut() {
            Some(last) if last.recovery.is_none_or(|r| e.onset <= r) => {
                last.recovery = match (last.recovery, e.recovery) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    _ => None,
                };
            }
            _ => merged.push(e),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(min: i64) -> Timestamp {
        chrono::Utc
            .with_ymd_and_hms(2026, 3, 1, 3, 0, 0)
            .single()
            .expect("valid time")
            + Duration::minutes(min)
    }

    fn series(values: &[(i64, f64)]) -> Vec<(Timestamp, f64)> {
        values.iter().map(|&(m, v)| (t(m), v)).collect()
    }

    #[test]
    fn a_lone_spike_in_a_noisy_series_is_no_onset() {
        let s = series(&[
            (0, 0.1),
            (1, 0.3),
            (2, 0.12),
            (3, 0.09),
            (4, 0.31),
            (5, 0.1),
            (6, 0.1),
            (20, 0.1),
        ]);
        assert_eq!(episodes(&s, 0.25, Worse::Above, t(30)), vec![]);
    }

    #[test]
    fn the_onset_is_the_first_sample_of_a_run_that_held_five_minutes() {
        let s: Vec<_> = (0..20)
            .map(|m| (t(m), if (8..).contains(&m) { 0.4 } else { 0.1 }))
            .collect();
        let e = episodes(&s, 0.25, Worse::Above, t(20));
        assert_eq!(
            e,
            vec![Episode {
                onset: t(8),
                recovery: None
            }]
        );
    }

    #[test]
    fn a_value_exactly_at_the_threshold_counts_as_past_it() {
        let s: Vec<_> = (0..10)
            .map(|m| (t(m), if m >= 2 { 0.25 } else { 0.2 }))
            .collect();
        assert_eq!(episodes(&s, 0.25, Worse::Above, t(10))[0].onset, t(2));
        // p-values: lower is worse.
        let p: Vec<_> = (0..10)
            .map(|m| (t(m), if m >= 3 { 0.01 } else { 0.5 }))
            .collect();
        assert_eq!(episodes(&p, 0.01, Worse::Below, t(10))[0].onset, t(3));
    }

    #[test]
    fn a_run_still_going_counts_until_now_even_under_five_minutes() {
        let s = series(&[(0, 0.1), (1, 0.1), (2, 0.4), (3, 0.4)]);
        assert_eq!(episodes(&s, 0.25, Worse::Above, t(3))[0].onset, t(2));
    }

    #[test]
    fn a_gap_is_not_staying_past() {
        // Past at 0..=2, then nothing until 30 (back to normal): not 5 minutes known.
        let s = series(&[(0, 0.4), (1, 0.4), (2, 0.4), (30, 0.1), (31, 0.1)]);
        assert_eq!(episodes(&s, 0.25, Worse::Above, t(40)), vec![]);
        // Past across a gap, then held past for 5 minutes after it: onset after the gap.
        let s = series(&[(0, 0.4), (30, 0.4), (31, 0.4), (36, 0.4), (37, 0.4)]);
        assert_eq!(episodes(&s, 0.25, Worse::Above, t(40))[0].onset, t(30));
    }

    #[test]
    fn recovery_needs_the_same_five_minutes() {
        let s: Vec<_> = (0..40)
            .map(|m| {
                let v = match m {
                    5..=14 => 0.4,
                    15 => 0.1, // a dip is not a recovery
                    16..=24 => 0.4,
                    _ => 0.1,
                };
                (t(m), v)
            })
            .collect();
        assert_eq!(
            episodes(&s, 0.25, Worse::Above, t(40)),
            vec![Episode {
                onset: t(5),
                recovery: Some(t(25))
            }]
        );
    }

    #[test]
    fn overlapping_metrics_make_one_episode() {
        let metric = |onset: i64| Metric {
            name: "psi".into(),
            feature: None,
            value: Some(0.4),
            warn: 0.1,
            critical: 0.25,
            worse: Worse::Above,
            series: (0..30)
                .map(|m| (t(m), if m >= onset { 0.4 } else { 0.1 }))
                .collect(),
        };
        let e = model_episodes(&[metric(12), metric(7)], t(30));
        assert_eq!(
            e,
            vec![Episode {
                onset: t(7),
                recovery: None
            }]
        );
    }
}
