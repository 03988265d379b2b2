//! `opsdeck status`: read every source once and print. The JSON is a stable
//! contract (see README): every field present, `null` when unknown.

use serde::Serialize;

use super::images::{ImageStatus, RegistryStatus};
use super::{EXIT_ATTENTION, EXIT_ERROR, EXIT_OK, Globals, fail};
use crate::app::attention;
use crate::model::{DriftStatus, Health, RunStatus, Snapshot, SyncStatus, Timestamp, short_rev};
use crate::sources;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusFormat {
    Table,
    Json,
}

#[derive(Debug, Serialize)]
pub struct SourceStatus {
    pub name: String,
    pub kind: String,
    pub ok: bool,
    pub error: Option<String>,
    pub updated_at: Option<Timestamp>,
}

#[derive(Debug, Serialize)]
pub struct PipelineStatus {
    pub source: String,
    pub id: String,
    pub pipeline: String,
    pub project: String,
    pub branch: String,
    pub commit: String,
    pub actor: String,
    pub status: RunStatus,
    pub started_at: Option<Timestamp>,
    pub duration_s: Option<u64>,
    pub url: Option<String>,
    /// Why this run could not be read (fully); `null` when fine.
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ResourceStatus {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct GitOpsStatus {
    pub source: String,
    pub app: String,
    /// `null` where the backend has none (a Terraform workspace outside a project).
    pub namespace: Option<String>,
    pub cluster: String,
    pub sync: SyncStatus,
    pub health: Health,
    pub revision: Option<String>,
    pub target_revision: Option<String>,
    pub auto_sync: bool,
    pub suspended: bool,
    pub out_of_sync: Vec<ResourceStatus>,
    pub message: Option<String>,
    /// The images it runs (always present; `[]` when none are known).
    pub images: Vec<ImageStatus>,
    /// Why this app could not be read (fully); `null` when fine.
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct MetricStatus {
    pub name: String,
    pub feature: Option<String>,
    pub value: Option<f64>,
    pub warn: f64,
    pub critical: f64,
    pub status: DriftStatus,
}

#[derive(Debug, Serialize)]
pub struct DriftStatusRow {
    pub source: String,
    pub model: String,
    pub version: Option<String>,
    pub status: DriftStatus,
    pub metrics: Vec<MetricStatus>,
    /// Why this model could not be read (fully), in the backend's words;
    /// `null` when fine.
    pub error: Option<String>,
}

/// The whole `status --format json` document.
#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub sources: Vec<SourceStatus>,
    pub pipelines: Vec<PipelineStatus>,
    pub gitops: Vec<GitOpsStatus>,
    pub drift: Vec<DriftStatusRow>,
    pub registries: Vec<RegistryStatus>,
}

impl StatusReport {
    /// Map what each source answered into the contract.
    pub fn build(
        names: &[(String, String)],
        reads: Vec<(Timestamp, Result<Snapshot, String>)>,
    ) -> StatusReport {
        let mut report = StatusReport {
            sources: Vec::new(),
            pipelines: Vec::new(),
            gitops: Vec::new(),
            drift: Vec::new(),
            registries: Vec::new(),
        };
        for ((name, kind), (at, result)) in names.iter().zip(reads) {
            let snapshot = match result {
                // Configured items it could not read make the source's
                // error; what it did read is still reported below.
                Ok(s) => {
                    report.sources.push(SourceStatus {
                        name: name.clone(),
                        kind: kind.clone(),
                        ok: s.problems.is_empty(),
                        error: s.problems_text(),
                        updated_at: Some(at),
                    });
                    s
                }
                Err(e) => {
                    report.sources.push(SourceStatus {
                        name: name.clone(),
                        kind: kind.clone(),
                        ok: false,
                        error: Some(e),
                        updated_at: None,
                    });
                    continue;
                }
            };
            let mut runs = snapshot.pipelines;
            runs.sort_by_key(|r| std::cmp::Reverse(r.sort_time()));
            report
                .pipelines
                .extend(runs.into_iter().map(|r| PipelineStatus {
                    duration_s: r.elapsed(at).map(|d| d.as_secs()),
                    source: r.source,
                    id: r.id,
                    pipeline: r.pipeline,
                    project: r.project,
                    branch: r.branch,
                    commit: r.commit,
                    actor: r.actor,
                    status: r.status,
                    started_at: r.started_at,
                    url: r.url,
                    error: r.error,
                }));
            report.gitops.extend(snapshot.apps.into_iter().map(|a| {
                GitOpsStatus {
                    message: a.health_message.clone().or_else(|| {
                        a.last_operation
                            .as_ref()
                            .map(|o| o.message.clone())
                            .filter(|m| !m.is_empty())
                    }),
                    source: a.source,
                    app: a.name,
                    namespace: (!a.namespace.is_empty()).then_some(a.namespace),
                    cluster: a.cluster,
                    sync: a.sync,
                    health: a.health,
                    revision: a.revision,
                    target_revision: a.target_revision,
                    auto_sync: a.auto_sync,
                    suspended: a.suspended,
                    error: a.error,
                    images: a.images.into_iter().map(ImageStatus::of).collect(),
                    out_of_sync: a
                        .out_of_sync
                        .into_iter()
                        .map(|r| ResourceStatus {
                            kind: r.kind,
                            namespace: r.namespace,
                            name: r.name,
                        })
                        .collect(),
                }
            }));
            report
                .registries
                .extend(snapshot.registries.into_iter().map(RegistryStatus::of));
            report.drift.extend(snapshot.models.into_iter().map(|m| {
                DriftStatusRow {
                    status: m.status(),
                    metrics: m
                        .metrics_by_severity()
                        .into_iter()
                        .map(|x| MetricStatus {
                            name: x.name.clone(),
                            feature: x.feature.clone(),
                            value: x.value.filter(|v| v.is_finite()),
                            warn: x.warn,
                            critical: x.critical,
                            status: x.status(),
                        })
                        .collect(),
                    source: m.source,
                    model: m.model,
                    version: m.version,
                    error: m.error,
                }
            }));
        }
        report
    }

    /// 2 when a source could not be read (fully: a configured item it
    /// could not read at all counts), 1 when something needs attention
    /// (an item carrying its own error among them), else 0.
    /// `needing_attention`: failing runs and apps that need attention, as
    /// counted on the domain objects.
    pub fn exit_code(&self, needing_attention: usize) -> u8 {
        let item_errors = self.pipelines.iter().any(|r| r.error.is_some())
            || self.gitops.iter().any(|a| a.error.is_some())
            || self.drift.iter().any(|m| m.error.is_some())
            || self.registries.iter().any(|r| r.error.is_some());
        if self.sources.iter().any(|s| !s.ok) {
            EXIT_ERROR
        } else if needing_attention > 0
            || item_errors
            || self.drift.iter().any(|m| m.status == DriftStatus::Drifting)
        {
            EXIT_ATTENTION
        } else {
            EXIT_OK
        }
    }
}

/// `opsdeck status [--format table|json]`.
pub async fn status(globals: Globals, format: StatusFormat) -> u8 {
    let config = match globals.load_config() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let sources = sources::build_all(&config);
    let names: Vec<(String, String)> = sources
        .iter()
        .map(|s| (s.name().to_string(), s.kind().to_string()))
        .collect();
    let reads = super::read_linked(&sources, &config.sources).await;
    // Attention is judged on the domain objects, as the Overview does:
    // failing runs are the newest per pipeline and branch, and a
    // repository's view of an app defers to the app it deploys to.
    let snapshots = || reads.iter().filter_map(|(_, r)| r.as_ref().ok());
    let failing = snapshots()
        .map(|s| attention::failing_runs(&s.pipelines).len())
        .sum::<usize>();
    let apps = snapshots()
        .flat_map(|s| &s.apps)
        .filter(|a| attention::app_needs_attention(a))
        .count();
    let failing_ids: Vec<(String, String)> = reads
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok())
        .flat_map(|s| {
            attention::failing_runs(&s.pipelines)
                .into_iter()
                .map(|r| (r.source.clone(), r.id.clone()))
        })
        .collect();
    let report = StatusReport::build(&names, reads);
    match format {
        StatusFormat::Json => match serde_json::to_string_pretty(&report) {
            Ok(json) => println!("{json}"),
            Err(e) => return fail(format!("cannot encode the report: {e}")),
        },
        StatusFormat::Table => print_table(&report, &failing_ids),
    }
    report.exit_code(failing + apps)
}

fn print_table(report: &StatusReport, failing: &[(String, String)]) {
    println!("SOURCES");
    for s in &report.sources {
        let state = if s.ok {
            "ok".to_string()
        } else {
            format!("ERROR: {}", s.error.as_deref().unwrap_or(""))
        };
        println!("  {:<16} {:<10} {state}", s.name, s.kind);
    }
    println!("\nNEEDS ATTENTION");
    let mut any = false;
    for r in report
        .pipelines
        .iter()
        .filter(|r| failing.contains(&(r.source.clone(), r.id.clone())))
    {
        any = true;
        let what = match &r.error {
            Some(e) => format!("cannot be read: {e}"),
            None => "failed".to_string(),
        };
        println!(
            "  run    {}/{:<8} {}{}{} {what}  {}",
            r.source,
            r.id,
            r.pipeline,
            if r.branch.is_empty() {
                String::new()
            } else {
                format!(" on {}", r.branch)
            },
            if r.commit.is_empty() {
                String::new()
            } else {
                format!(" @ {}", short_rev(&r.commit))
            },
            r.url.as_deref().unwrap_or("")
        );
    }
    for a in report
        .gitops
        .iter()
        .filter(|a| a.sync == SyncStatus::OutOfSync || a.health.is_unhealthy() || a.error.is_some())
    {
        any = true;
        println!(
            "  app    {}/{:<16} {} · {}  {}",
            a.source,
            a.app,
            a.sync,
            a.health,
            a.error.as_deref().or(a.message.as_deref()).unwrap_or("")
        );
    }
    for m in report
        .drift
        .iter()
        .filter(|m| m.status >= DriftStatus::Warning || m.error.is_some())
    {
        any = true;
        let worst = match &m.error {
            Some(e) => format!("cannot be read: {e}"),
            None => worst_metric(m),
        };
        println!(
            "  model  {}/{:<16} {}  {worst}",
            m.source, m.model, m.status
        );
    }
    if !any {
        println!("  nothing");
    }
    println!(
        "\n{} runs, {} apps, {} models",
        report.pipelines.len(),
        report.gitops.len(),
        report.drift.len()
    );
}

/// "psi[age] = 0.310" for a model's worst metric.
fn worst_metric(m: &DriftStatusRow) -> String {
    m.metrics.first().map_or(String::new(), |x| {
        let label = x
            .feature
            .as_ref()
            .map_or(x.name.clone(), |f| format!("{}[{f}]", x.name));
        format!(
            "{label} = {}",
            x.value.map_or("no data".into(), |v| format!("{v:.3}"))
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::demo::DemoFleet;

    fn demo(incidents: bool) -> (Timestamp, Snapshot) {
        let start = chrono::DateTime::from_timestamp(1_773_478_800, 0).expect("time");
        let fleet = DemoFleet::new(7, start, incidents);
        (fleet.now(), fleet.snapshot("demo"))
    }

    #[test]
    fn a_partial_read_is_the_sources_error_with_its_data_and_item_errors_shown() {
        let (at, mut snapshot) = demo(true);
        snapshot.pipelines[0].error = Some("its jobs could not be read".into());
        snapshot.apps[0].error = Some("its detail could not be read".into());
        snapshot.models[0].error = Some("bad_data: parse error".into());
        snapshot.problems = vec!["ci: job team/gone not found".into()];
        let (runs, apps, models) = (
            snapshot.pipelines.len(),
            snapshot.apps.len(),
            snapshot.models.len(),
        );
        let names = [("demo".to_string(), "demo".to_string())];
        let report = StatusReport::build(&names, vec![(at, Ok(snapshot))]);
        let json = serde_json::to_value(&report).expect("json");

        let source = &json["sources"][0];
        assert_eq!(source["ok"], serde_json::json!(false));
        assert_eq!(source["error"], "ci: job team/gone not found");
        assert!(source["updated_at"].is_string(), "it was read: {source}");
        // What it did read is all there, each entry with its `error`.
        for (list, count) in [("pipelines", runs), ("gitops", apps), ("drift", models)] {
            let items = json[list].as_array().expect("list");
            assert_eq!(items.len(), count, "{list}");
            assert_eq!(
                items.iter().filter(|i| i["error"].is_string()).count(),
                1,
                "{list}: one item in error"
            );
            assert!(
                items
                    .iter()
                    .all(|i| i.as_object().is_some_and(|o| o.contains_key("error"))),
                "{list}: `error` always present"
            );
        }
        assert_eq!(report.exit_code(0), EXIT_ERROR);
    }

    #[test]
    fn an_item_in_error_needs_attention_and_a_full_read_is_ok() {
        // A calm fleet: nothing else needs attention.
        let (at, snapshot) = demo(false);
        let names = [("demo".to_string(), "demo".to_string())];
        let calm = StatusReport::build(&names, vec![(at, Ok(snapshot.clone()))]);
        assert_eq!(calm.exit_code(0), EXIT_OK);
        let mut snapshot = snapshot;
        snapshot.models[0].error = Some("bad_data: parse error".into());
        let report = StatusReport::build(&names, vec![(at, Ok(snapshot))]);
        assert!(report.sources[0].ok);
        assert_eq!(report.sources[0].error, None);
        assert_eq!(
            report.drift[0].error.as_deref(),
            Some("bad_data: parse error")
        );
        assert_eq!(report.exit_code(0), EXIT_ATTENTION);
    }
}
