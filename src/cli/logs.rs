//! `opsdeck logs`: a job's log tail on stdout.

use std::io::Write;

use super::{EXIT_OK, Globals, fail, named_source};
use crate::sources;

/// `opsdeck logs SOURCE/RUN [--job NAME]`: print the tail of a job's log —
/// the failed job's unless one is named.
pub async fn logs(globals: Globals, target: String, job: Option<String>) -> u8 {
    let config = match globals.load_config() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let (source_config, run_id) =
        match named_source(&config, &target, "SOURCE/RUN (for example ci/1234)") {
            Ok(found) => found,
            Err(e) => return fail(e),
        };
    let source = sources::build(source_config, config.refresh);
    let jobs = match sources::within(source.as_ref(), source.run_jobs(run_id)).await {
        Ok(jobs) => jobs,
        Err(e) => return fail(format!("cannot read the jobs of {target}: {e}")),
    };
    let chosen = match &job {
        Some(wanted) => jobs.iter().find(|j| j.name == *wanted || j.id == *wanted),
        None => jobs
            .iter()
            .find(|j| j.status == crate::model::RunStatus::Failure)
            .or_else(|| {
                jobs.iter()
                    .find(|j| j.status == crate::model::RunStatus::Running)
            })
            .or_else(|| jobs.first()),
    };
    let Some(chosen) = chosen else {
        let names: Vec<&str> = jobs.iter().map(|j| j.name.as_str()).collect();
        return fail(match job {
            Some(wanted) => format!(
                "{target} has no job `{wanted}` (its jobs: {})",
                names.join(", ")
            ),
            None => format!("{target} has no jobs"),
        });
    };
    match sources::within(source.as_ref(), source.job_log(run_id, &chosen.id)).await {
        Ok(tail) => {
            let mut out = std::io::stdout().lock();
            let header = format!(
                "== {target} job {} ({}){} ==",
                chosen.name,
                chosen.status,
                if tail.truncated {
                    format!(", last {} lines", tail.lines.len())
                } else {
                    String::new()
                }
            );
            let mut write = || -> std::io::Result<()> {
                writeln!(out, "{header}")?;
                for line in &tail.lines {
                    writeln!(out, "{line}")?;
                }
                Ok(())
            };
            match write() {
                Ok(()) => EXIT_OK,
                // A closed pipe (`| head`) is not an error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => EXIT_OK,
                Err(e) => fail(e),
            }
        }
        Err(e) => fail(format!(
            "cannot read the log of {target} job {}: {e}",
            chosen.name
        )),
    }
}
