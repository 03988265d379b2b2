//! When a model began (and stopped) drifting, to the raw sample: the trend
//! (`query_range` at about 120 points) finds each crossing of the critical
//! threshold to within one step, with the hold rule of `model::onset`;
//! then an instant query of a range selector over just that step
//! (`query[Ns]` at the trend point; `(query)[Ns:1s]` when the query is an
//! expression rather than a selector) gives the raw samples there, at the
//! series' own resolution, and the crossing is the first sample past the
//! threshold after the last one short of it. Trend points are aligned to
//! the step, so a crossing is asked about once and kept; at most
//! `MAX_LOOKUPS_PER_READ` are asked per model and read (the trend's time
//! stands in for the rest until a later read).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use super::wire::{Api, QueryData, SeriesKey};
use crate::config::PrometheusModel;
use crate::model::onset::{Episode, episodes, merged, past};
use crate::model::{Metric, Timestamp};
use crate::sources::drift::{from_seconds, sample_value};

/// Crossings asked about per model and read at most.
pub const MAX_LOOKUPS_PER_READ: usize = 8;

/// Where the trend crossed: between `before` and `at` (two trend points).
#[derive(Clone, Debug)]
struct Crossing {
    series: SeriesKey,
    before: Timestamp,
    at: Timestamp,
    /// Into drift (past the threshold), or out of it.
    into: bool,
}

/// (model, series, trend point in unix seconds).
type CrossingKey = (String, SeriesKey, i64);

/// The exact crossings found so far, by trend point.
#[derive(Debug, Default)]
pub struct Crossings {
    known: Mutex<HashMap<CrossingKey, Option<Timestamp>>>,
}

/// Whether `query` is a plain vector selector (`name{labels}`), which a
/// range selector can follow; anything else is read through a subquery.
pub fn is_selector(query: &str) -> bool {
    let q = query.trim();
    let (name, rest) = match q.find('{') {
        Some(i) => (&q[..i], &q[i..]),
        None => (q, ""),
    };
    let name = name.trim();
    let name_ok = name.chars().enumerate().all(|(i, c)| {
        c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
    });
    let rest_ok = rest.is_empty()
        || (rest.starts_with('{') && rest.ends_with('}') && rest.matches('}').count() == 1);
    name_ok && rest_ok && !(name.is_empty() && rest.is_empty())
}

/// The raw samples of `query` in the `seconds` before the evaluation time.
fn raw_query(query: &str, seconds: i64) -> String {
    if is_selector(query) {
        format!("{}[{seconds}s]", query.trim())
    } else {
        format!("({query})[{seconds}s:1s]")
    }
}

/// The first sample on the new side after the last one on the old side.
pub fn exact(samples: &[(Timestamp, f64)], metric: &Metric, into: bool) -> Option<Timestamp> {
    let new_side = |v: f64| past(v, metric.critical, metric.worse) == into;
    let finite: Vec<&(Timestamp, f64)> = samples.iter().filter(|(_, v)| v.is_finite()).collect();
    let from = finite
        .iter()
        .rposition(|(_, v)| !new_side(*v))
        .map_or(0, |i| i + 1);
    finite.get(from).map(|(t, _)| *t)
}

impl Crossings {
    /// The model's drift episodes over its trend, each crossing moved to
    /// its raw sample where Prometheus says.
    pub async fn episodes(
        &self,
        api: &Api<'_>,
        model: &PrometheusModel,
        metrics: &BTreeMap<SeriesKey, Metric>,
        step: Duration,
        now: Timestamp,
        key: impl Fn(&BTreeMap<String, String>) -> SeriesKey,
    ) -> Vec<Episode> {
        let step = chrono::Duration::from_std(step).unwrap_or(chrono::Duration::minutes(3));
        let mut per_metric: Vec<(&SeriesKey, &Metric, Vec<Episode>)> = Vec::new();
        let mut crossings: Vec<Crossing> = Vec::new();
        for (series, metric) in metrics {
            let found = episodes(&metric.series, metric.critical, metric.worse, now);
            let bracket = |t: Timestamp, into: bool| {
                let i = metric.series.iter().position(|(at, _)| *at == t)?;
                let before = match i {
                    0 => t - step,
                    i => metric.series[i - 1].0,
                };
                Some(Crossing {
                    series: series.clone(),
                    before,
                    at: t,
                    into,
                })
            };
            for e in &found {
                crossings.extend(bracket(e.onset, true));
                crossings.extend(e.recovery.and_then(|r| bracket(r, false)));
            }
            per_metric.push((series, metric, found));
        }
        self.forget_before(&model.name, metrics);
        let mut ask: Vec<&Crossing> = crossings
            .iter()
            .filter(|c| self.known(&model.name, c).is_none())
            .collect();
        ask.sort_by_key(|c| std::cmp::Reverse(c.at));
        ask.truncate(MAX_LOOKUPS_PER_READ);
        let answers = futures::future::join_all(ask.iter().map(|c| async {
            let seconds = (c.at - c.before).num_seconds().max(1);
            let params = [
                ("query", raw_query(&model.query, seconds)),
                (
                    "time",
                    format!("{:.3}", c.at.timestamp_millis() as f64 / 1000.0),
                ),
            ];
            (*c, api.get("/api/v1/query", &params).await)
        }))
        .await;
        for (c, answer) in answers {
            match answer {
                Ok(QueryData::Matrix(series)) => {
                    let samples: Vec<(Timestamp, f64)> = series
                        .iter()
                        .filter(|s| key(&s.metric) == c.series)
                        .flat_map(|s| &s.values)
                        .filter_map(|(t, v)| Some((from_seconds(*t)?, sample_value(v)?)))
                        .collect();
                    let metric = &metrics[&c.series];
                    self.remember(&model.name, c, exact(&samples, metric, c.into));
                }
                // Not a matrix: nothing finer to learn for this query.
                Ok(_) => self.remember(&model.name, c, None),
                Err(e) => tracing::debug!(model = %model.name, error = %e, "raw samples unread"),
            }
        }
        let refined = |series: &SeriesKey, t: Timestamp| {
            self.known_at(&model.name, series, t).flatten().unwrap_or(t)
        };
        merged(
            per_metric
                .into_iter()
                .flat_map(|(series, _, found)| {
                    found.into_iter().map(move |e| Episode {
                        onset: refined(series, e.onset),
                        recovery: e.recovery.map(|r| refined(series, r)),
                    })
                })
                .collect(),
        )
    }

    fn known(&self, model: &str, c: &Crossing) -> Option<Option<Timestamp>> {
        self.known_at(model, &c.series, c.at)
    }

    fn known_at(
        &self,
        model: &str,
        series: &SeriesKey,
        at: Timestamp,
    ) -> Option<Option<Timestamp>> {
        let known = self.known.lock().ok()?;
        known
            .get(&(model.to_string(), series.clone(), at.timestamp()))
            .copied()
    }

    fn remember(&self, model: &str, c: &Crossing, exact: Option<Timestamp>) {
        if let Ok(mut known) = self.known.lock() {
            known.insert(
                (model.to_string(), c.series.clone(), c.at.timestamp()),
                exact,
            );
        }
    }

    /// Forget the model's crossings older than its trend: the cache stays
    /// the size of what is on screen.
    fn forget_before(&self, model: &str, metrics: &BTreeMap<SeriesKey, Metric>) {
        let oldest = metrics
            .values()
            .filter_map(|m| m.series.first().map(|(t, _)| t.timestamp()))
            .min();
        if let (Some(oldest), Ok(mut known)) = (oldest, self.known.lock()) {
            known.retain(|(m, _, at), _| m != model || *at >= oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Worse;

    #[test]
    fn selectors_take_a_range_and_expressions_a_subquery() {
        assert!(is_selector("model_feature_psi{model=\"churn\"}"));
        assert!(is_selector("drift:psi:max"));
        assert!(is_selector("{__name__=\"psi\"}"));
        assert!(!is_selector("max by (feature) (psi{model=\"churn\"})"));
        assert!(!is_selector("psi{a=\"b\"} > 0.1"));
        assert!(!is_selector("psi offset 5m"));
        assert_eq!(raw_query("psi{a=\"b\"}", 180), "psi{a=\"b\"}[180s]");
        assert_eq!(raw_query("max(psi)", 180), "(max(psi))[180s:1s]");
    }

    #[test]
    fn the_crossing_is_the_first_sample_past_after_the_last_short_of_it() {
        let t = |s: i64| chrono::DateTime::from_timestamp(1_700_000_000 + s, 0).expect("time");
        let metric = Metric {
            name: "psi".into(),
            feature: None,
            value: None,
            warn: 0.1,
            critical: 0.25,
            worse: Worse::Above,
            series: Vec::new(),
        };
        // A dip back under inside the step: the later crossing counts.
        let samples = [
            (t(0), 0.2),
            (t(15), 0.26),
            (t(30), 0.24),
            (t(45), f64::NAN),
            (t(60), 0.25),
            (t(75), 0.3),
        ];
        assert_eq!(exact(&samples, &metric, true), Some(t(60)));
        assert_eq!(exact(&samples, &metric, false), None, "it ends past");
        assert_eq!(exact(&samples[..3], &metric, false), Some(t(30)));
        // All past within the step: its first sample.
        assert_eq!(exact(&samples[4..], &metric, true), Some(t(60)));
        assert_eq!(exact(&[], &metric, true), None);
    }
}
