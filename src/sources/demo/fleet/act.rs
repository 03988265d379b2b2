//! The demo's side of each action: what a real backend would do and refuse.

use rand::Rng;

use super::DemoFleet;
use super::cast::{PROJECTS, URL_BASE};
use crate::model::{Health, RunStatus, Worse, short_rev};

fn app_index(fleet: &DemoFleet, name: &str) -> Result<usize, String> {
    fleet
        .apps
        .iter()
        .position(|a| a.app.name == name)
        .ok_or_else(|| format!("app {name} not found"))
}

pub(super) fn run_index(fleet: &DemoFleet, id: &str) -> Result<usize, String> {
    fleet
        .runs
        .iter()
        .position(|r| r.run.id == id)
        .ok_or_else(|| format!("run {id} not found"))
}

pub fn sync(fleet: &mut DemoFleet, app: &str, who: &str) -> Result<String, String> {
    let i = app_index(fleet, app)?;
    if fleet.apps[i].app.suspended {
        return Err(format!("{app} is suspended: resume it before syncing"));
    }
    let target = fleet.apps[i]
        .app
        .target_revision
        .clone()
        .ok_or("no target revision")?;
    let id = fleet.deploy(i, target.clone(), "sync".into(), who);
    Ok(format!(
        "sync to {} started (history #{id})",
        short_rev(&target)
    ))
}

pub fn refresh(fleet: &mut DemoFleet, app: &str) -> Result<String, String> {
    let i = app_index(fleet, app)?;
    fleet.apps[i].app.last_change = Some(fleet.now);
    Ok(format!("{app} refreshed"))
}

pub fn rollback(fleet: &mut DemoFleet, app: &str, to: &str, who: &str) -> Result<String, String> {
    let i = app_index(fleet, app)?;
    if fleet.apps[i].app.auto_sync {
        // Argo CD's own words.
        return Err(
            "FailedPrecondition: rollback cannot be initiated when auto-sync is enabled".into(),
        );
    }
    let entry = fleet.apps[i]
        .app
        .history
        .iter()
        .find(|d| d.id == to)
        .cloned();
    let entry = entry.ok_or_else(|| format!("history id {to} not found for {app}"))?;
    let id = fleet.deploy(i, entry.revision.clone(), format!("rollback to #{to}"), who);
    Ok(format!(
        "rolled back to {} (history #{to}, now #{id})",
        short_rev(&entry.revision)
    ))
}

pub fn set_suspended(fleet: &mut DemoFleet, app: &str, suspend: bool) -> Result<String, String> {
    let i = app_index(fleet, app)?;
    let sim = &mut fleet.apps[i];
    if sim.app.suspended == suspend {
        return Err(format!(
            "{app} is already {}",
            if suspend { "suspended" } else { "running" }
        ));
    }
    sim.app.suspended = suspend;
    if suspend {
        sim.health_before_suspend = Some(sim.app.health);
        sim.app.health = Health::Suspended;
        Ok(format!("{app} suspended"))
    } else {
        sim.app.health = sim
            .health_before_suspend
            .take()
            .unwrap_or(Health::Progressing);
        Ok(format!("{app} resumed"))
    }
}

pub fn rerun(fleet: &mut DemoFleet, id: &str, only_failed: bool) -> Result<String, String> {
    let i = run_index(fleet, id)?;
    let step_len = fleet.step_len;
    let now = fleet.now;
    let fail_again = fleet.incidents && fleet.rng.random_bool(0.3);
    let sim = &mut fleet.runs[i];
    if sim.run.status.is_active() {
        return Err(format!(
            "run {id} is still {}: cancel it or wait",
            sim.run.status
        ));
    }
    if only_failed && sim.run.status != RunStatus::Failure {
        return Err(format!(
            "run {id} has no failed jobs (it is {})",
            sim.run.status
        ));
    }
    sim.run.attempt += 1;
    sim.run.status = RunStatus::Queued;
    sim.run.started_at = None;
    sim.run.duration = None;
    sim.run.updated_at = Some(now);
    sim.remaining = sim.total;
    sim.fails_at = if fail_again { sim.fails_at } else { None };
    DemoFleet::lay_out_jobs(sim, step_len);
    if let Some(jobs) = sim.run.jobs.as_mut() {
        for job in jobs {
            job.status = RunStatus::Queued;
            job.steps
                .iter_mut()
                .for_each(|s| s.status = RunStatus::Queued);
        }
    }
    let what = if only_failed {
        "failed jobs of run"
    } else {
        "run"
    };
    Ok(format!(
        "{what} {id} queued again (attempt {})",
        sim.run.attempt
    ))
}

pub fn cancel(fleet: &mut DemoFleet, id: &str, force: bool) -> Result<String, String> {
    let i = run_index(fleet, id)?;
    let now = fleet.now;
    let step_len = fleet.step_len;
    let sim = &mut fleet.runs[i];
    if !sim.run.status.is_active() {
        return Err(format!(
            "run {id} is not queued or running (it is {})",
            sim.run.status
        ));
    }
    // A running Release publish hangs on its upload and ignores a cancel.
    if !force && sim.run.status == RunStatus::Running && sim.run.pipeline == "Release" {
        sim.cancel_requested = true;
        return Ok(format!("cancel of run {id} requested"));
    }
    if force && !sim.cancel_requested {
        return Err(format!(
            "run {id} was not sent a cancel yet: cancel it first (force-cancel skips cleanup)"
        ));
    }
    sim.run.status = RunStatus::Cancelled;
    sim.run.duration = sim.run.started_at.and_then(|s| (now - s).to_std().ok());
    sim.run.updated_at = Some(now);
    DemoFleet::lay_out_jobs(sim, step_len);
    Ok(format!(
        "run {id} {}",
        if force {
            "force-cancelled"
        } else {
            "cancelled"
        }
    ))
}

/// A new run of `pipeline` (`project:Pipeline`), queued on `git_ref`.
pub fn dispatch(
    fleet: &mut DemoFleet,
    pipeline: &str,
    git_ref: Option<&str>,
    who: &str,
) -> Result<String, String> {
    let Some((project, name)) = pipeline.split_once(':') else {
        return Err(format!("no pipeline {pipeline} in the demo fleet"));
    };
    let Some((project, _)) = PROJECTS
        .iter()
        .find(|(p, pipelines)| *p == project && pipelines.contains(&name))
    else {
        return Err(format!("no pipeline {pipeline} in the demo fleet"));
    };
    let now = fleet.now;
    let mut sim = fleet.new_run(now);
    sim.run.project = project.to_string();
    sim.run.pipeline = name.to_string();
    sim.run.pipeline_id = pipeline.to_string();
    sim.run.branch = git_ref.unwrap_or("main").to_string();
    sim.run.actor = who.to_string();
    sim.run.event = "workflow_dispatch".into();
    sim.run.jobs = Some(DemoFleet::make_jobs(name, &sim.run.id, project));
    sim.run.url = Some(format!("{URL_BASE}/{project}/runs/{}", sim.run.id));
    let id = sim.run.id.clone();
    fleet.runs.push(sim);
    Ok(format!(
        "run {id} of {name} queued on {}",
        git_ref.unwrap_or("main")
    ))
}

pub fn set_alias(fleet: &mut DemoFleet, model: &str, version: &str) -> Result<String, String> {
    let now = fleet.now;
    let sim = fleet
        .models
        .iter_mut()
        .find(|m| m.model.model == model)
        .ok_or_else(|| format!("model {model} not found"))?;
    let known = sim.model.versions.iter().find(|v| v.version == version);
    match known {
        None => return Err(format!("model {model} has no version {version}")),
        Some(v) if !v.status.eq_ignore_ascii_case("ready") => {
            return Err(format!(
                "version {version} of {model} is {}, not READY",
                v.status
            ));
        }
        Some(_) => {}
    }
    let from = sim
        .model
        .version
        .replace(version.to_string())
        .unwrap_or_default();
    // The older model's reference data matches today's traffic better:
    // the drift the demo was creeping towards is reset.
    for (metric, creep) in sim.model.metrics.iter_mut().zip(sim.creep.iter_mut()) {
        *creep = 0.0;
        let calm = match metric.worse {
            Worse::Above => metric.warn * 0.4,
            Worse::Below => (metric.warn * 6.0).min(0.9),
        };
        metric.value = Some(calm);
        metric.series.push((now, calm));
    }
    sim.model.drifting_since = None;
    Ok(format!(
        "alias {} of {model} moved from {from} to {version}",
        sim.model.alias
    ))
}
