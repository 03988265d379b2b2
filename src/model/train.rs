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
            let within = if tail.len() == template.len() {
                String::new()
            } else {
                format!(" in `{template}`")
            };
            return Err(format!(
                "`{tail}`{within} has no closing `}}` (write `{{{{` for a brace)"
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
            Piece::Placeholder("metric") => {
                model.worst_metric().map(Metric::label).unwrap_or_default()
            }
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
        v.run_id
            .as_deref()
            .is_some_and(|r| r == run.id || r == native)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RunStatus;

    fn model() -> ModelDrift {
        ModelDrift {
            source: "registry".into(),
            model: "fraud".into(),
            alias: "champion".into(),
            version: Some("3".into()),
            versions: [("5", 50), ("4", 40), ("3", 30)]
                .iter()
                .map(|(v, minute)| ModelVersion {
                    version: v.to_string(),
                    created_at: Some(at(*minute)),
                    status: "READY".into(),
                    description: None,
                    run_id: None,
                    revision: None,
                })
                .collect(),
            metrics: vec![Metric {
                name: "psi".into(),
                feature: Some("amount".into()),
                value: Some(0.31),
                warn: 0.1,
                critical: 0.25,
                worse: Worse::Above,
                series: Vec::new(),
            }],
            drifting_since: None,
            episodes: None,
            sample_count: None,
            production: false,
            serving: None,
            train: None,
            error: None,
        }
    }

    fn at(minute: i64) -> Timestamp {
        chrono::DateTime::from_timestamp(1_780_000_000 + minute * 60, 0).expect("time")
    }

    fn run(started_minute: i64) -> PipelineRun {
        PipelineRun {
            source: "airflow".into(),
            id: "retrain_fraud/manual__1".into(),
            pipeline: "retrain_fraud".into(),
            pipeline_id: "retrain_fraud".into(),
            project: String::new(),
            branch: String::new(),
            commit: String::new(),
            actor: String::new(),
            event: "manual".into(),
            status: RunStatus::Success,
            raw_status: None,
            awaiting_approval: None,
            attempt: 1,
            created_at: None,
            started_at: Some(at(started_minute)),
            updated_at: None,
            duration: None,
            url: None,
            jobs: None,
            paused: false,
            details: Vec::new(),
            error: None,
        }
    }

    #[test]
    fn placeholders_fill_in_from_the_model_and_braces_escape() {
        let m = model();
        assert_eq!(fill("{model}@{version}", &m), "fraud@3");
        assert_eq!(fill("{metric}", &m), "psi[amount]");
        assert_eq!(fill("{reason}", &m), "psi[amount] 0.31 ≥ 0.25");
        assert_eq!(fill("{{x}} {model}", &m), "{x} fraud");
        assert!(check_template("{threshold}").is_err_and(|e| e.contains("`{threshold}`")));
        assert!(check_template("{model").is_err());
        assert!(check_template("a } b").is_err());
    }

    #[test]
    fn the_produced_version_is_named_exactly_else_the_first_registered_after_the_start() {
        let mut m = model();
        // By time: 4 (minute 40) is the first after a start at minute 35.
        assert_eq!(
            produced_version(&m, &run(35)).map(|(v, how)| (v.version.as_str(), how)),
            Some(("4", Produced::RegisteredAfter))
        );
        // Nothing registered after the start; the serving version never counts.
        assert_eq!(produced_version(&m, &run(55)), None);
        m.version = Some("4".into());
        assert_eq!(
            produced_version(&m, &run(35)).map(|(v, _)| v.version.as_str()),
            Some("5")
        );
        // Exactly: the version whose run_id is the run's (native) id, even
        // if another was registered after the start first.
        m.version = Some("3".into());
        m.versions[0].run_id = Some("manual__1".into());
        assert_eq!(
            produced_version(&m, &run(35)).map(|(v, how)| (v.version.as_str(), how)),
            Some(("5", Produced::Exactly))
        );
        // Or whose source commit is the commit the run built.
        m.versions[0].run_id = None;
        m.versions[1].revision = Some("a".repeat(40));
        let mut built = run(10);
        built.commit = "a".repeat(40);
        assert_eq!(
            produced_version(&m, &built).map(|(v, how)| (v.version.as_str(), how)),
            Some(("4", Produced::Exactly))
        );
    }
}
