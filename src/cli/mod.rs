//! Headless commands: `status`, the action commands, `config check`, `init`.
//! They use the same sources, planner, executor and audit log as the TUI.

mod status;

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

pub use status::{StatusFormat, StatusReport, status};

use crate::app::actions::{self, PlanContext};
use crate::app::audit::{self, AuditLog};
use crate::app::executor::Executor;
use crate::app::keymap::Keymap;
use crate::app::links;
use crate::app::state::{FieldRole, Form, SourceState};
use crate::config::{self, Config, ConfigErrors, DemoConfig, SourceConfig, SourceKind};
use crate::model::{ActionKind, Outcome, Target, TargetKind};
use crate::sources;
use crate::theme::{TermCaps, Theme};

/// Exit status: all is well / the action was done.
pub const EXIT_OK: u8 = 0;
/// Something needs attention, or an action was refused, failed or is unknown.
pub const EXIT_ATTENTION: u8 = 1;
/// opsdeck could not do its job: bad config, unreadable source, bad arguments.
pub const EXIT_ERROR: u8 = 2;

/// Flags shared by every command.
#[derive(Clone, Debug, Default)]
pub struct Globals {
    pub demo: bool,
    pub seed: Option<u64>,
    pub config: Option<PathBuf>,
    pub read_only: bool,
    pub audit_log: Option<PathBuf>,
    pub ascii: Option<bool>,
}

impl Globals {
    /// The config to run with: the file, the demo, or both.
    pub fn load_config(&self) -> Result<Config, String> {
        let path = match (&self.config, self.demo) {
            (Some(p), _) => Some(p.clone()),
            (None, true) => None,
            (None, false) => match config::default_path() {
                Some(p) if p.exists() => Some(p),
                looked => {
                    let at = looked.map_or("$XDG_CONFIG_HOME/opsdeck/config.toml".into(), |p| {
                        p.display().to_string()
                    });
                    return Err(format!(
                        "no config file found (looked at {at}).\n\
                         Try the built-in demo fleet:   opsdeck --demo\n\
                         Write a starter config:        opsdeck init\n\
                         Or point at one:               opsdeck --config PATH"
                    ));
                }
            },
        };
        let mut config = match path {
            Some(p) => config::load(&p).map_err(|e| e.to_string())?,
            None => Config::demo(self.seed.unwrap_or(config::DEFAULT_DEMO_SEED)),
        };
        if self.demo && self.config.is_some() && !config.sources.iter().any(|s| s.name == "demo") {
            config.sources.push(SourceConfig {
                name: "demo".into(),
                production: false,
                refresh: None,
                kind: SourceKind::Demo(DemoConfig {
                    seed: self.seed.unwrap_or(config::DEFAULT_DEMO_SEED),
                    ..DemoConfig::default()
                }),
                at: None,
            });
        }
        if let Some(seed) = self.seed {
            for source in &mut config.sources {
                #[allow(irrefutable_let_patterns)] // more kinds than demo will come
                if let SourceKind::Demo(demo) = &mut source.kind {
                    demo.seed = seed;
                }
            }
        }
        Ok(config)
    }

    pub fn audit_path(&self, config: &Config) -> PathBuf {
        self.audit_log
            .clone()
            .or_else(|| config.audit_log.clone())
            .unwrap_or_else(audit::default_path)
    }
}

fn fail(message: impl std::fmt::Display) -> u8 {
    eprintln!("opsdeck: {message}");
    EXIT_ERROR
}

/// The dashboard (no subcommand).
pub async fn dashboard(globals: Globals) -> u8 {
    let config = match globals.load_config() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let options = crate::tui::TuiOptions {
        read_only: globals.read_only,
        audit_log: globals.audit_path(&config),
        ascii: globals.ascii,
    };
    match crate::tui::run(config, options).await {
        Ok(()) => EXIT_OK,
        Err(e) => fail(e),
    }
}

/// `opsdeck config check`: every error of the file, each as file:line:column: message.
pub fn config_check(globals: Globals) -> u8 {
    let config = match globals.load_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_ERROR;
        }
    };
    let mut errors = Vec::new();
    if let Err(e) = Keymap::from_config(&config.keys) {
        errors.extend(e);
    }
    if let Err(e) = Theme::resolve(config.theme.as_ref(), &TermCaps::from_env()) {
        errors.push(e);
    }
    let name = config
        .path
        .as_ref()
        .map_or("the demo config".into(), |p| p.display().to_string());
    if errors.is_empty() {
        println!(
            "{name}: ok ({} source{})",
            config.sources.len(),
            if config.sources.len() == 1 { "" } else { "s" }
        );
        EXIT_OK
    } else {
        eprintln!("{}", ConfigErrors(errors));
        EXIT_ERROR
    }
}

/// `opsdeck init`: write the starter config, never over an existing file.
pub fn init(path: Option<PathBuf>) -> u8 {
    let Some(path) = path.or_else(config::default_path) else {
        return fail("cannot tell where the config directory is: pass --path");
    };
    if let Some(dir) = path.parent() {
        if let Err(e) = std::fs::create_dir_all(dir) {
            return fail(format!("cannot create {}: {e}", dir.display()));
        }
    }
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path);
    match file {
        Ok(mut f) => match f.write_all(config::STARTER_CONFIG.as_bytes()) {
            Ok(()) => {
                println!(
                    "wrote {}\nedit it, then check it with: opsdeck config check",
                    path.display()
                );
                EXIT_OK
            }
            Err(e) => fail(format!("cannot write {}: {e}", path.display())),
        },
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => fail(format!(
            "{} already exists; opsdeck init never overwrites a config",
            path.display()
        )),
        Err(e) => fail(format!("cannot create {}: {e}", path.display())),
    }
}

/// Read every source once and join repositories with the apps they deploy
/// to, as the dashboard does.
pub async fn read_linked(
    sources: &[std::sync::Arc<dyn sources::Source>],
) -> Vec<(
    crate::model::Timestamp,
    Result<crate::model::Snapshot, String>,
)> {
    let reads = sources::fetch_all(sources).await;
    // The snapshots move into the states for the link pass and back out.
    let mut states = Vec::new();
    let mut rest = Vec::new();
    for (source, (at, read)) in sources.iter().zip(reads) {
        let mut state = SourceState::new(source.name(), source.kind(), source.provides(), false);
        let read = match read {
            Ok(snapshot) => {
                state.snapshot = snapshot;
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        };
        states.push(state);
        rest.push((at, read));
    }
    links::link(&mut states);
    rest.into_iter()
        .zip(states)
        .map(|((at, read), state)| (at, read.map(|()| state.snapshot)))
        .collect()
}

/// One action from the command line.
#[derive(Clone, Debug)]
pub struct ActionRequest {
    pub kind: ActionKind,
    /// SOURCE/NAME
    pub target: String,
    pub to: Option<String>,
    /// Prune and server-side dry run, for sources that take them.
    pub sync: crate::model::SyncOptions,
    /// A new run's inputs (`--input NAME=VALUE`), in the order given.
    pub inputs: Vec<(String, String)>,
    pub yes: bool,
    pub dry_run: bool,
}

/// `opsdeck sync|refresh|rollback|suspend|resume|rerun|rerun-failed|cancel SOURCE/NAME`.
pub async fn act(globals: Globals, request: ActionRequest) -> u8 {
    let config = match globals.load_config() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let Some((source_name, id)) = request
        .target
        .split_once('/')
        .filter(|(s, i)| !s.is_empty() && !i.is_empty())
    else {
        return fail(format!(
            "`{}` is not SOURCE/NAME (for example demo/payments)",
            request.target
        ));
    };
    let Some(source_config) = config.sources.iter().find(|s| s.name == source_name) else {
        let names: Vec<&str> = config.sources.iter().map(|s| s.name.as_str()).collect();
        return fail(format!(
            "no source named `{source_name}` (configured: {})",
            names.join(", ")
        ));
    };
    let read_only = globals.read_only || config.read_only;
    // A repository's revert follows the app it deploys to: read every
    // source then, to find the link. Otherwise the target's source alone.
    let (all, index) = if matches!(source_config.kind, SourceKind::Git(_)) {
        let index = config
            .sources
            .iter()
            .position(|s| s.name == source_name)
            .unwrap_or(0);
        (sources::build_all(&config), index)
    } else {
        (vec![sources::build(source_config, config.refresh)], 0)
    };
    let mut reads = read_linked(&all).await;
    let snapshot = match reads.swap_remove(index).1 {
        Ok(s) => s,
        Err(e) => return fail(format!("cannot read {source_name}: {e}")),
    };
    // `rollback` on a model moves its serving alias.
    let kind = match request.kind {
        ActionKind::Rollback
            if !snapshot.apps.iter().any(|a| a.name == id)
                && snapshot.models.iter().any(|m| m.model == id) =>
        {
            ActionKind::SetModelAlias
        }
        k => k,
    };
    // `refresh` on a source that reconciles instead (Flux) is a reconcile.
    let offered: Option<Vec<ActionKind>> = all.get(index).map(|s| {
        <ActionKind as strum::IntoEnumIterator>::iter()
            .filter(|k| s.supports(*k))
            .collect()
    });
    let kind = actions::as_offered(kind, offered.as_deref());
    let target = Target::new(source_name, kind.target_kind(), id);
    // Say what the source cannot do before planning what it would do.
    if let Some(source) = all.get(index).filter(|s| !s.supports(kind)) {
        eprintln!(
            "opsdeck: {} sources cannot {} {target}",
            source.kind(),
            kind.verb()
        );
        return EXIT_ATTENTION;
    }
    let ctx = PlanContext {
        read_only,
        source_production: source_config.production,
        now: chrono::Utc::now(),
        rerun_starts_new: all
            .get(index)
            .is_some_and(|s| s.capabilities().rerun_starts_new),
    };
    let planned = if kind == ActionKind::Dispatch {
        match dispatch_values(all[index].as_ref(), &target, &request).await {
            Ok((git_ref, inputs)) => {
                actions::plan_dispatch(kind, &snapshot, &target, git_ref.as_deref(), inputs, ctx)
            }
            Err(why) => Err(why),
        }
    } else {
        actions::plan(kind, &snapshot, &target, request.to.as_deref(), ctx)
    };
    let mut action = match planned {
        Ok(a) => a,
        Err(why) => {
            eprintln!("opsdeck: {why}");
            return if target_exists(&snapshot, &target) {
                EXIT_ATTENTION
            } else {
                EXIT_ERROR
            };
        }
    };
    if request.sync != crate::model::SyncOptions::default() {
        let takes = all
            .get(index)
            .is_some_and(|s| s.capabilities().sync_options);
        if !takes || !matches!(action.kind, ActionKind::Sync | ActionKind::Rollback) {
            eprintln!(
                "opsdeck: --prune and --server-dry-run apply to an Argo CD sync or rollback, not to {} {}",
                action.kind.verb(),
                action.target
            );
            return EXIT_ERROR;
        }
        action.set_sync_options(request.sync);
    }
    let production = if action.production {
        " [PRODUCTION]"
    } else {
        ""
    };
    println!("will {}{production}", action.effect);
    if request.dry_run {
        println!("dry run: nothing sent");
        return EXIT_OK;
    }
    if action.kind.is_mutating() && !request.yes {
        match confirm(&action) {
            Ok(true) => {}
            Ok(false) => {
                println!("cancelled: nothing sent");
                return EXIT_ATTENTION;
            }
            Err(why) => {
                eprintln!("opsdeck: {why}");
                return EXIT_ATTENTION;
            }
        }
    }
    let executor = Executor::new(
        all,
        AuditLog::new(globals.audit_path(&config), "cli"),
        read_only,
    );
    match executor.execute(1, &action).await {
        Outcome::Done(m) => {
            println!("done: {m}");
            EXIT_OK
        }
        Outcome::Failed(m) => {
            eprintln!("failed: {m}");
            EXIT_ATTENTION
        }
        Outcome::Unknown(m) => {
            eprintln!("outcome unknown: {m}");
            EXIT_ATTENTION
        }
    }
}

/// A headless new run: the form the source asks for, filled with its
/// defaults, then `--ref` and `--input`s; the same checks as the TUI form.
async fn dispatch_values(
    source: &dyn sources::Source,
    target: &Target,
    request: &ActionRequest,
) -> Result<(Option<String>, crate::app::state::Inputs), String> {
    let spec = tokio::time::timeout(source.fetch_timeout(), source.dispatch_form(&target.id))
        .await
        .map_err(|_| {
            format!(
                "{}: no answer within {}s",
                target.source,
                source.fetch_timeout().as_secs()
            )
        })?
        .map_err(|e| format!("cannot start a new run of {target}: {e}"))?;
    let mut form = Form::new(target.clone(), &spec, request.to.as_deref());
    if request.to.is_some() && spec.git_ref.is_none() {
        return Err(format!(
            "{target} takes no ref: {} sources build what the job is configured to (drop --ref)",
            source.kind()
        ));
    }
    let mut extra = Vec::new();
    for (name, value) in &request.inputs {
        match form
            .fields
            .iter_mut()
            .find(|f| f.role == FieldRole::Input && f.name == *name)
        {
            Some(field) => field.value = value.clone(),
            None if spec.free_inputs => extra.push(format!("{name}={value}")),
            None => {
                let known: Vec<&str> = spec.inputs.iter().map(|i| i.name.as_str()).collect();
                return Err(format!(
                    "{target} has no input `{name}` (it takes: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ));
            }
        }
    }
    if let Some(more) = form.fields.iter_mut().find(|f| f.role == FieldRole::More) {
        more.value = extra.join(", ");
    }
    form.values().map_err(|why| format!("{target}: {why}"))
}

fn target_exists(snapshot: &crate::model::Snapshot, target: &Target) -> bool {
    match target.kind {
        TargetKind::Run => snapshot.pipelines.iter().any(|r| r.id == target.id),
        TargetKind::App => snapshot.apps.iter().any(|a| a.name == target.id),
        TargetKind::Model => snapshot.models.iter().any(|m| m.model == target.id),
        // A pipeline that never ran can still be started.
        TargetKind::Pipeline => true,
    }
}

/// Ask on the terminal; refuse without one.
fn confirm(action: &crate::model::Action) -> Result<bool, String> {
    if !std::io::stdin().is_terminal() {
        return Err(
            "refusing to act without confirmation: stdin is not a terminal (pass --yes to confirm)"
                .into(),
        );
    }
    let stdin = std::io::stdin();
    let mut line = String::new();
    if action.production {
        print!(
            "{} is production. Type its name to confirm: ",
            action.target
        );
        std::io::stdout().flush().map_err(|e| e.to_string())?;
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        Ok(line.trim_end_matches(['\n', '\r']) == action.target.id)
    } else {
        print!("proceed? [y/N] ");
        std::io::stdout().flush().map_err(|e| e.to_string())?;
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        Ok(matches!(line.trim(), "y" | "Y" | "yes"))
    }
}

/// `opsdeck logs SOURCE/RUN [--job NAME]`: print the tail of a job's log —
/// the failed job's unless one is named.
pub async fn logs(globals: Globals, target: String, job: Option<String>) -> u8 {
    let config = match globals.load_config() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let Some((source_name, run_id)) = target
        .split_once('/')
        .filter(|(s, i)| !s.is_empty() && !i.is_empty())
    else {
        return fail(format!(
            "`{target}` is not SOURCE/RUN (for example ci/1234)"
        ));
    };
    let Some(source_config) = config.sources.iter().find(|s| s.name == source_name) else {
        let names: Vec<&str> = config.sources.iter().map(|s| s.name.as_str()).collect();
        return fail(format!(
            "no source named `{source_name}` (configured: {})",
            names.join(", ")
        ));
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
