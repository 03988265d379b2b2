//! What the fleet shows on request beyond its snapshot: a job's log, shaped
//! like a CI log, and the form a new run of a pipeline asks for.

use super::DemoFleet;
use super::act::run_index;
use super::cast::PROJECTS;
use crate::model::RunStatus;

/// The log of one job as far as it got: made up, but shaped like a CI
/// log (timestamps, steps, the error that failed it).
pub fn job_log(fleet: &DemoFleet, run: &str, job: &str) -> Result<String, String> {
    let i = run_index(fleet, run)?;
    let sim = &fleet.runs[i];
    let Some(j) = sim.run.jobs.iter().flatten().find(|j| j.id == job) else {
        return Err(format!("run {run} has no job {job}"));
    };
    let start = j.started_at.or(sim.run.started_at).unwrap_or(fleet.now);
    let mut out = String::new();
    let mut t = start;
    for (n, step) in j.steps.iter().enumerate() {
        if step.status == RunStatus::Queued {
            break;
        }
        out.push_str(&format!(
            "{} ##[group]{}\n",
            t.format("%H:%M:%S"),
            step.name
        ));
        let lines = 12 + (n * 7 + sim.run.id.len() * 3) % 40;
        for k in 0..lines {
            t += chrono::Duration::milliseconds(350);
            out.push_str(&format!(
                "{} {} [{}/{}] {}\n",
                t.format("%H:%M:%S"),
                j.name,
                k + 1,
                lines,
                match k % 4 {
                    0 => "resolving dependencies",
                    1 => "compiling",
                    2 => "running checks",
                    _ => "ok",
                }
            ));
        }
        if step.status == RunStatus::Failure {
            out.push_str(&format!(
                "{} ##[error]{} failed: assertion `left == right` failed in payments::ledger::tests::settles_twice\n",
                t.format("%H:%M:%S"),
                j.name
            ));
            out.push_str(&format!(
                "{} ##[error]Process completed with exit code 101.\n",
                t.format("%H:%M:%S")
            ));
            break;
        }
        out.push_str(&format!("{} ##[endgroup]\n", t.format("%H:%M:%S")));
    }
    Ok(out)
}

/// What a new run of a demo pipeline asks for.
pub fn dispatch_form(pipeline: &str) -> Result<crate::model::DispatchForm, String> {
    let Some((project, name)) = pipeline.split_once(':') else {
        return Err(format!("no pipeline {pipeline} in the demo fleet"));
    };
    if !PROJECTS
        .iter()
        .any(|(p, pipelines)| *p == project && pipelines.contains(&name))
    {
        return Err(format!("no pipeline {pipeline} in the demo fleet"));
    }
    let mut inputs = Vec::new();
    if name == "Deploy" {
        inputs.push(crate::model::FormInput {
            name: "environment".into(),
            default: "staging".into(),
            description: "where to deploy".into(),
            choices: vec!["staging".into(), "production".into()],
            required: true,
        });
    }
    inputs.push(crate::model::FormInput {
        name: "debug".into(),
        default: "false".into(),
        description: "verbose logs".into(),
        choices: vec!["false".into(), "true".into()],
        required: false,
    });
    Ok(crate::model::DispatchForm {
        pipeline: pipeline.to_string(),
        name: name.to_string(),
        git_ref: Some("main".into()),
        inputs,
        free_inputs: false,
    })
}
