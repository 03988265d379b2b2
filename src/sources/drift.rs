//! What the drift backends (prometheus, mlflow, evidently) share: reading
//! numbers that arrive as text, reading every model under its own timeout so
//! one slow or broken model cannot fail the others, and when drift began.

use std::future::Future;
use std::time::Duration;

use super::SourceError;
use super::http::{Credentials, Reply};
use super::polite::Polite;
use crate::config::HttpBackend;
use crate::model::{Metric, ModelDrift, Timestamp, Worse};

/// A sample value as backends send it ("0.31", "NaN", "+Inf"): only a finite
/// number is data; anything else is no data, never a crash.
pub fn sample_value(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Milliseconds since the epoch, as MLflow stamps things.
pub fn from_millis(ms: i64) -> Option<Timestamp> {
    chrono::DateTime::from_timestamp_millis(ms)
}

/// Seconds since the epoch (with a fraction), as Prometheus stamps samples.
pub fn from_seconds(s: f64) -> Option<Timestamp> {
    if !s.is_finite() {
        return None;
    }
    chrono::DateTime::from_timestamp_millis((s * 1000.0).round() as i64)
}

/// Whether an error means the backend itself cannot be read (so the whole
/// source is in error) rather than one model's data.
pub fn is_source_wide(e: &SourceError) -> bool {
    matches!(
        e,
        SourceError::Unreachable(_)
            | SourceError::CutOff(_)
            | SourceError::Auth(_)
            | SourceError::RateLimited { .. }
    )
}

/// Send one request of a drift backend: nothing while the backend's rate
/// limit says to wait, and every answer's rate-limit headers read (a 429
/// blocks the source until its reset, as for the CI backends).
pub async fn send(
    polite: &Polite,
    credentials: &Credentials,
    request: reqwest::RequestBuilder,
) -> Result<Reply, SourceError> {
    polite.check(chrono::Utc::now())?;
    let reply = credentials.reply(request).await?;
    polite.observe(reply.status, &reply.headers, &reply.path)?;
    Ok(reply)
}

/// What to show beside a source that skips certificate checks.
pub fn insecure_warning(http: &HttpBackend) -> Option<String> {
    http.insecure
        .then(|| "TLS NOT VERIFIED (insecure = true)".to_string())
}

/// A model with nothing known yet; readers fill it in.
pub fn empty_model(source: &str, model: &str, alias: &str, production: bool) -> ModelDrift {
    ModelDrift {
        serving: None,
        train: None,
        source: source.to_string(),
        model: model.to_string(),
        alias: alias.to_string(),
        version: None,
        versions: Vec::new(),
        metrics: Vec::new(),
        drifting_since: None,
        episodes: None,
        sample_count: None,
        production,
        error: None,
    }
}

/// Read every model, each under `timeout`. A model whose read fails shows
/// its error; the source fails when the backend cannot be reached or
/// refuses us, or when every model's read failed (5xx, 404, an HTML page,
/// malformed JSON, no answer… to every request: the backend, not a model,
/// is broken), with the first model's cause. A reader returns `Err` only
/// when nothing of the model could be read; a backend's verdict on one
/// query (Prometheus's `bad_data`) is the model's `error`, not an `Err`.
pub async fn read_models<F, Fut>(
    names: Vec<(String, String)>,
    timeout: Duration,
    location: &str,
    source: &str,
    production: bool,
    read: F,
) -> Result<Vec<ModelDrift>, SourceError>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<ModelDrift, SourceError>>,
{
    let reads = (0..names.len()).map(|i| tokio::time::timeout(timeout, read(i)));
    let results = futures::future::join_all(reads).await;
    let mut models = Vec::with_capacity(results.len());
    let mut failed = 0;
    let mut first_cause: Option<SourceError> = None;
    for ((name, alias), result) in names.into_iter().zip(results) {
        let error = match result {
            Ok(Ok(model)) => {
                models.push(model);
                continue;
            }
            Ok(Err(e)) if is_source_wide(&e) => return Err(e),
            Ok(Err(e)) => {
                failed += 1;
                let text = e.to_string();
                first_cause.get_or_insert(e);
                text
            }
            Err(_) => {
                failed += 1;
                format!(
                    "no answer within {} from {} for this model (raise `timeout` in the source's config if it is just slow)",
                    humantime::format_duration(timeout),
                    super::without_secrets(location)
                )
            }
        };
        let mut model = empty_model(source, &name, &alias, production);
        model.error = Some(error);
        models.push(model);
    }
    if failed > 0 && failed == models.len() {
        return Err(first_cause.unwrap_or_else(|| SourceError::NoAnswer {
            within: timeout,
            from: super::without_secrets(location),
        }));
    }
    Ok(models)
}

/// When the model went past a warn threshold and stayed there: the start of
/// the newest unbroken stretch past warn, over every metric whose latest
/// point is past warn. None when nothing is past warn now.
pub fn drifting_since(metrics: &[Metric]) -> Option<Timestamp> {
    metrics
        .iter()
        .filter_map(|m| {
            let past = |v: f64| match m.worse {
                Worse::Above => v >= m.warn,
                Worse::Below => v <= m.warn,
            };
            let mut since = None;
            for (at, v) in m.series.iter().rev() {
                if !v.is_finite() || !past(*v) {
                    break;
                }
                since = Some(*at);
            }
            since
        })
        .min()
}

/// A metric key pattern: `*` matches any run of characters (`psi.*`).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return pattern == text;
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_finite_numbers_are_data() {
        assert_eq!(sample_value("0.31"), Some(0.31));
        assert_eq!(sample_value("1e-3"), Some(0.001));
        for bad in ["NaN", "+Inf", "-Inf", "", "abc", "0.3.1"] {
            assert_eq!(sample_value(bad), None, "{bad}");
        }
        assert_eq!(from_seconds(f64::NAN), None);
        assert_eq!(
            from_seconds(1_700_000_000.5).map(|t| t.timestamp_millis()),
            Some(1_700_000_000_500)
        );
    }

    #[test]
    fn patterns_match_whole_keys() {
        assert!(glob_match("psi.*", "psi.age"));
        assert!(!glob_match("psi.*", "psi_age"));
        assert!(!glob_match("psi.*", "xpsi.age"));
        assert!(glob_match("drift_share", "drift_share"));
        assert!(!glob_match("drift_share", "drift_share_2"));
        assert!(glob_match("*.pvalue", "ks.age.pvalue"));
        assert!(glob_match("a*b*c", "a-b-c"));
        assert!(!glob_match("a*b*c", "a-c"));
        assert!(glob_match("*", "anything"));
    }

    #[test]
    fn drift_began_where_the_newest_stretch_past_warn_began() {
        let t = |m: i64| from_millis(m * 60_000).expect("time");
        let metric = |values: &[f64], worse| Metric {
            name: "m".into(),
            feature: None,
            value: values.last().copied(),
            warn: 0.1,
            critical: 0.25,
            worse,
            series: values
                .iter()
                .enumerate()
                .map(|(i, v)| (t(i as i64), *v))
                .collect(),
        };
        let above = metric(&[0.2, 0.05, 0.12, 0.3], Worse::Above);
        assert_eq!(drifting_since(std::slice::from_ref(&above)), Some(t(2)));
        let calm = metric(&[0.2, 0.05], Worse::Above);
        assert_eq!(drifting_since(std::slice::from_ref(&calm)), None);
        let below = Metric {
            warn: 0.05,
            critical: 0.01,
            ..metric(&[0.04, 0.5, 0.04, 0.001], Worse::Below)
        };
        assert_eq!(drifting_since(&[calm, below, above]), Some(t(2)));
    }
}
