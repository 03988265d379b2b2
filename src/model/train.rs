//! The retraining loop's plain rules: the pipeline a model entry names to
//! retrain it (`train`), its conf templates and their placeholders, and
//! which registered version a finished retrain run produced.

use super::{DriftStatus, Metric, ModelDrift, ModelVersion, PipelineRun, Timestamp, Worse};

/// The placeholders a `train` conf template may use.
pub const PLACEHOLDERS: [&str; 4] = ["model", "version", "metric", "reason"];

/// The pipeline that retrains a model (the model entry's `train`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrainLink {
    /// The source the pipeline is in (a configured source that starts runs).
    pub source: String,
    /// The pipeline as its source names it (an Airflow DAG id, a workflow).
    pub pipeline: String,
    /// The new run's inputs: name and template, in the config's order.
    pub conf: Vec<(String, String)>,
}

impl TrainLink {
    /// `SOURCE/PIPELINE`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.source, self.pipeline)
    }

    /// The conf with its placeholders filled in from what `model` shows now.
    pub fn conf_for(&self, model: &ModelDrift) -> Vec<(String, String)> {
        self.conf
            .iter()
            .map(|(name, template)| (name.clone(), fill(template, model)))
            .collect()
    }
}

/// One piece of a template: text as it is, or a placeholder's name.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Placeholder(&'a str),
}

/// Split a template into text and placeholders; `{{` and `}}` stand for a
/// brace. An unknown placeholder or an unclosed brace is an error naming it.
pub fn check_template(template: &str) -> Result<(), String> {
    pieces(template).map(|_| ())
}

fn pieces(template: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push(Piece::Text(&rest[..i]));
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push(Piece::Text(&tail[..1]));
            rest = &tail[2..];
            continue;
        }
        if tail.starts_with('}') {
            return Err(format!(
                "a lone `}}` in `{template}` (write `}}}}` for a brace)"
            ));
        }
        let Some(end) = tail.find('}') else {
            return Err(format!(
                "`{tail}` in `{template}` has no closing `}}` (write `{{{{` for a brace)"
            ));
        };
        let name = &tail[1..end];
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "unknown placeholder `{{{name}}}` (known: {})",
                PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
            ));
        }
        out.push(Piece::Placeholder(name));
        rest = &tail[end + 1..];
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

/// The template with its placeholders filled in (a template the config
/// check let through always parses; anything else is kept as written).
pub fn fill(template: &str, model: &ModelDrift) -> String {
    let Ok(pieces) = pieces(template) else {
        return template.to_string();
    };
    pieces
        .into_iter()
        .map(|p| match p {
            Piece::Text(t) => t.to_string(),
            Piece::Placeholder("model") => model.model.clone(),
            Piece::Placeholder("version") => model.version.clone().unwrap_or_default(),
            Piece::Placeholder("metric") => model
                .worst_metric()
                .map(Metric::label)
                .unwrap_or_default(),
            Piece::Placeholder(_) => drift_reason(model),
        })
        .collect()
}

/// Why the model is up for retraining, in words: its worst metric against
/// the threshold it passed (`psi[amount] 0.31 ≥ 0.25`), else that it has
/// no drift data.
pub fn drift_reason(model: &ModelDrift) -> String {
    match model.worst_metric() {
        Some(m) => m.against_threshold("≥", "≤"),
        None => "no drift data".to_string(),
    }
}

impl Metric {
    /// "psi[age] 0.31 ≥ 0.25": the value against the threshold it has
    /// passed (or the warn threshold it stays under), with the glyphs for
    /// "at least" and "at most" given.
    pub fn against_threshold(&self, at_least: &str, at_most: &str) -> String {
        let Some(value) = self.value.filter(|v| v.is_finite()) else {
            return format!("{} no data", self.label());
        };
        let status = self.status();
        let threshold = if status == DriftStatus::Drifting {
            self.critical
        } else {
            self.warn
        };
        let op = match (self.worse, status) {
            (Worse::Above, DriftStatus::Ok) => "<",
            (Worse::Below, DriftStatus::Ok) => ">",
            (Worse::Above, _) => at_least,
            (Worse::Below, _) => at_most,
        };
        format!(
            "{} {} {op} {}",
            self.label(),
            super::metric_value(value),
            super::metric_value(threshold)
        )
    }
}

/// How a registered version was tied to a retrain run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Produced {
    /// The version's `run_id` is the run's id, or the commit its source
    /// tags record is the commit the run built.
    Exactly,
    /// No version names the run: the first one registered after it started.
    RegisteredAfter,
}

/// The version a successful retrain `run` produced, if the registry has
/// one: exactly by the version's `run_id` or its source commit, else the
/// first READY version registered after the run started. Never the
/// version already serving.
pub fn produced_version<'m>(
    model: &'m ModelDrift,
    run: &PipelineRun,
) -> Option<(&'m ModelVersion, Produced)> {
    let ready = |v: &&ModelVersion| {
        v.status.eq_ignore_ascii_case("ready") && model.version.as_deref() != Some(&v.version)
    };
    let native = run.id.rsplit('/').next().unwrap_or(&run.id);
    let exact = model.versions.iter().filter(ready).find(|v| {
        v.run_id.as_deref().is_some_and(|r| r == run.id || r == native)
            || (!run.commit.is_empty() && v.revision.as_deref() == Some(run.commit.as_str()))
    });
    if let Some(v) = exact {
        return Some((v, Produced::Exactly));
    }
    let started: Timestamp = run.started_at.or(run.created_at)?;
    model
        .versions
        .iter()
        .filter(ready)
        .filter(|v| v.created_at.is_some_and(|t| t >= started))
        .min_by_key(|v| v.created_at)
        .map(|v| (v, Produced::RegisteredAfter))
}
