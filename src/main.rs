//! opsdeck's command line: the dashboard by default, headless subcommands for
//! scripts and one-off actions.
#![deny(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use opsdeck::cli::{self, ActionRequest, Globals, StatusFormat, TimelineFormat};
use opsdeck::model::{ActionKind, SyncOptions};

#[derive(Parser)]
#[command(
    name = "opsdeck",
    version,
    about = "A terminal dashboard for the engineer on call: pipelines, GitOps and model drift, with safe actions."
)]
struct Cli {
    /// Use the built-in demo fleet (alone, or added to --config's sources)
    #[arg(long, global = true)]
    demo: bool,
    /// Seed of the demo fleet (the same seed gives the same fleet)
    #[arg(long, global = true, value_name = "N")]
    seed: Option<u64>,
    /// Config file [default: $XDG_CONFIG_HOME/opsdeck/config.toml]
    #[arg(
        long,
        short = 'c',
        global = true,
        value_name = "PATH",
        env = "OPSDECK_CONFIG"
    )]
    config: Option<PathBuf>,
    /// Refuse every mutating action
    #[arg(long, global = true)]
    read_only: bool,
    /// Audit log file [default: $XDG_STATE_HOME/opsdeck/audit.jsonl]
    #[arg(long, global = true, value_name = "PATH", env = "OPSDECK_AUDIT_LOG")]
    audit_log: Option<PathBuf>,
    /// Plain ASCII symbols (for terminals without good Unicode)
    #[arg(long, global = true)]
    ascii: bool,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Read every source once and print what needs attention (exit 0 healthy, 1 attention, 2 error)
    Status {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Stay running and print one line per new or resolved problem (exit 0 on SIGTERM or SIGINT)
    Watch {
        /// Run CMD through `sh -c` for each event, the event's JSON line on its stdin
        #[arg(long, value_name = "CMD")]
        exec: Option<String>,
        #[arg(long, value_enum, default_value_t = WatchFormatArg::Json)]
        format: WatchFormatArg,
    },
    /// Every change and state change of every source, newest first (exit 0, 2 when a source could not be read)
    Timeline {
        /// How far back [default: the config's timeline window, 24h]
        #[arg(long, value_name = "DURATION")]
        since: Option<String>,
        /// Only the events of one item: SOURCE/NAME
        #[arg(long, value_name = "SOURCE/NAME")]
        target: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// What is wrong with an item, since when, and the changes before it (exit 0 no problem, 1 problem, 2 error): SOURCE/NAME
    Why {
        /// SOURCE/NAME: a run, an app, a repository app or a model
        target: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Sync an app to its target revision: SOURCE/APP
    Sync(SyncTarget),
    /// Ask an app's controller to look again: SOURCE/APP
    Refresh(Target),
    /// Refresh and drop the controller's manifest cache (Argo CD): SOURCE/APP
    HardRefresh(Target),
    /// Apply the desired state now (Flux reconcile; changes the cluster): SOURCE/APP
    Reconcile(ReconcileTarget),
    /// Roll an app back to a history entry, or a model's alias to a version: SOURCE/APP or SOURCE/MODEL
    Rollback(RollbackTarget),
    /// Stop an app's running sync or rollback (Argo CD): SOURCE/APP
    Terminate(Target),
    /// Turn an app's auto-sync off, so a history rollback is allowed (Argo CD): SOURCE/APP
    DisableAutoSync(Target),
    /// Approve a Terraform object's pending plan by patching the live object, not Git (tofu; `sync` commits it): SOURCE/APP
    ApproveLive(Target),
    /// Suspend reconciliation of an app: SOURCE/APP
    Suspend(Target),
    /// Resume reconciliation of an app: SOURCE/APP
    Resume(Target),
    /// Re-run a pipeline run: SOURCE/RUN
    Rerun(Target),
    /// Re-run only the failed jobs of a run: SOURCE/RUN
    RerunFailed(Target),
    /// Cancel a queued or running run: SOURCE/RUN
    Cancel(Target),
    /// Stop a run that ignored a cancel, skipping its cleanup (GitHub): SOURCE/RUN
    ForceCancel(Target),
    /// Start a new run of a pipeline: SOURCE/PIPELINE (GitHub workflow file or id, GitLab project, Jenkins job path)
    Dispatch(DispatchTarget),
    /// Retrain a model: start a new run of its `train` pipeline, its conf filled in (exit 0 when started): SOURCE/MODEL
    Retrain(RetrainTarget),
    /// Promote a model's version: move its serving alias forward to it: SOURCE/MODEL --to VERSION
    Promote(PromoteTarget),
    /// Print the tail of a job's log (the failed job's by default): SOURCE/RUN
    Logs {
        /// SOURCE/RUN
        target: String,
        /// The job, by name or id [default: the failed one]
        #[arg(long, value_name = "JOB")]
        job: Option<String>,
    },
    /// Work with the config file
    Config {
        #[command(subcommand)]
        command: ConfigCmd,
    },
    /// Write a commented starter config (never overwrites)
    Init {
        /// Where to write it [default: $XDG_CONFIG_HOME/opsdeck/config.toml]
        #[arg(long, value_name = "PATH")]
        path: Option<PathBuf>,
    },
    /// Print the shell completion script for SHELL on stdout
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout
    Man,
}

#[derive(Subcommand)]
enum ConfigCmd {
    /// Validate the config: exit 0, or 2 with file:line:column: message per error
    Check,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum WatchFormatArg {
    Json,
    Text,
}

#[derive(Args)]
struct Target {
    /// SOURCE/NAME
    target: String,
    /// Do it without asking
    #[arg(long, short = 'y')]
    yes: bool,
    /// Print what would be done and stop
    #[arg(long)]
    dry_run: bool,
}

#[derive(Args)]
struct RollbackTarget {
    #[command(flatten)]
    target: Target,
    /// History id (apps) or version (models) [default: the previous one]
    #[arg(long, value_name = "ID")]
    to: Option<String>,
    #[command(flatten)]
    sync: SyncFlags,
}

#[derive(Args)]
struct DispatchTarget {
    #[command(flatten)]
    target: Target,
    /// Branch or tag to run on [default: the one the pipeline's source names]
    #[arg(long = "ref", value_name = "REF")]
    git_ref: Option<String>,
    /// An input (GitHub), variable (GitLab) or parameter (Jenkins); repeat for more
    #[arg(long = "input", value_name = "NAME=VALUE", value_parser = parse_input)]
    inputs: Vec<(String, String)>,
}

#[derive(Args)]
struct RetrainTarget {
    #[command(flatten)]
    target: Target,
    /// A conf value of the new run, over the model's `train` conf; repeat for more
    #[arg(long = "input", value_name = "NAME=VALUE", value_parser = parse_input)]
    inputs: Vec<(String, String)>,
}

#[derive(Args)]
struct PromoteTarget {
    #[command(flatten)]
    target: Target,
    /// The version to serve (newer than the serving one)
    #[arg(long, value_name = "VERSION")]
    to: String,
}

fn parse_input(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not NAME=VALUE")),
    }
}

#[derive(Args)]
struct ReconcileTarget {
    #[command(flatten)]
    target: Target,
    /// Reconcile its source first, so a commit just pushed is fetched now
    /// (`flux reconcile --with-source`)
    #[arg(long)]
    with_source: bool,
}

#[derive(Args)]
struct SyncTarget {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    sync: SyncFlags,
}

/// Options Argo CD takes on a sync or history rollback.
#[derive(Args, Clone, Copy)]
struct SyncFlags {
    /// Delete live resources that are no longer in the desired state
    #[arg(long)]
    prune: bool,
    /// Ask the controller what it would do, changing nothing (not opsdeck's --dry-run)
    #[arg(long)]
    server_dry_run: bool,
}

impl From<SyncFlags> for SyncOptions {
    fn from(f: SyncFlags) -> Self {
        SyncOptions {
            prune: f.prune,
            dry_run: f.server_dry_run,
        }
    }
}

/// The command tree, with the source kinds from the descriptor table in the
/// long help of `opsdeck` and of `opsdeck init` (and so in the man page).
fn command() -> clap::Command {
    let kinds = opsdeck::sources::kinds::help();
    Cli::command()
        .after_long_help(kinds.clone())
        .mut_subcommand("init", |init| init.after_long_help(kinds))
}

fn parse_args() -> Cli {
    Cli::from_arg_matches(&command().get_matches()).unwrap_or_else(|e| e.exit())
}

/// `opsdeck completions SHELL`: the script clap_complete writes for the tree.
fn completions(shell: clap_complete::Shell) -> u8 {
    let mut tree = command();
    clap_complete::generate(shell, &mut tree, "opsdeck", &mut std::io::stdout());
    cli::EXIT_OK
}

/// `opsdeck man`: the roff page clap_mangen renders from the same tree.
fn man_page() -> u8 {
    match clap_mangen::Man::new(command()).render(&mut std::io::stdout()) {
        Ok(()) => cli::EXIT_OK,
        Err(e) => {
            eprintln!("opsdeck: cannot write the man page: {e}");
            cli::EXIT_ERROR
        }
    }
}

fn main() -> ExitCode {
    let _ = color_eyre::install();
    let args = parse_args();
    // Documentation needs no config, log or runtime.
    match args.command {
        Some(Cmd::Completions { shell }) => return ExitCode::from(completions(shell)),
        Some(Cmd::Man) => return ExitCode::from(man_page()),
        _ => {}
    }
    if args.command.is_some() {
        // Headless output piped into `head` ends quietly, like any Unix
        // tool, instead of panicking on a closed pipe.
        // SAFETY: called before any other thread exists; SIG_DFL is a valid disposition.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    // Every command logs to the state dir, never to the terminal.
    opsdeck::term::init_logging(&opsdeck::app::audit::state_dir());
    let globals = Globals {
        demo: args.demo,
        seed: args.seed,
        config: args.config,
        read_only: args.read_only,
        audit_log: args.audit_log,
        ascii: args.ascii.then_some(true),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("opsdeck: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let action =
        |kind: ActionKind, t: Target, to: Option<String>, sync: SyncOptions| ActionRequest {
            kind,
            target: t.target,
            to,
            sync,
            inputs: Vec::new(),
            yes: t.yes,
            dry_run: t.dry_run,
        };
    let plain = SyncOptions::default();
    let code = runtime.block_on(async {
        match args.command {
            None => cli::dashboard(globals).await,
            Some(Cmd::Status { format }) => {
                let format = match format {
                    Format::Table => StatusFormat::Table,
                    Format::Json => StatusFormat::Json,
                };
                cli::status(globals, format).await
            }
            Some(Cmd::Watch { exec, format }) => {
                let format = match format {
                    WatchFormatArg::Json => cli::WatchFormat::Json,
                    WatchFormatArg::Text => cli::WatchFormat::Text,
                };
                cli::watch(globals, exec, format).await
            }
            Some(Cmd::Timeline {
                since,
                target,
                format,
            }) => cli::timeline(globals, since, target, timeline_format(format)).await,
            Some(Cmd::Why { target, format }) => {
                cli::why(globals, target, timeline_format(format)).await
            }
            Some(Cmd::Sync(t)) => {
                cli::act(
                    globals,
                    action(ActionKind::Sync, t.target, None, t.sync.into()),
                )
                .await
            }
            Some(Cmd::Refresh(t)) => {
                cli::act(globals, action(ActionKind::Refresh, t, None, plain)).await
            }
            Some(Cmd::Reconcile(t)) => {
                let kind = if t.with_source {
                    ActionKind::ReconcileWithSource
                } else {
                    ActionKind::Reconcile
                };
                cli::act(globals, action(kind, t.target, None, plain)).await
            }
            Some(Cmd::HardRefresh(t)) => {
                cli::act(globals, action(ActionKind::HardRefresh, t, None, plain)).await
            }
            Some(Cmd::Terminate(t)) => {
                cli::act(globals, action(ActionKind::Terminate, t, None, plain)).await
            }
            Some(Cmd::DisableAutoSync(t)) => {
                cli::act(globals, action(ActionKind::DisableAutoSync, t, None, plain)).await
            }
            Some(Cmd::Rollback(r)) => {
                cli::act(
                    globals,
                    action(ActionKind::Rollback, r.target, r.to, r.sync.into()),
                )
                .await
            }
            Some(Cmd::ApproveLive(t)) => {
                cli::act(globals, action(ActionKind::ApproveLive, t, None, plain)).await
            }
            Some(Cmd::Suspend(t)) => {
                cli::act(globals, action(ActionKind::Suspend, t, None, plain)).await
            }
            Some(Cmd::Resume(t)) => {
                cli::act(globals, action(ActionKind::Resume, t, None, plain)).await
            }
            Some(Cmd::Rerun(t)) => {
                cli::act(globals, action(ActionKind::Rerun, t, None, plain)).await
            }
            Some(Cmd::RerunFailed(t)) => {
                cli::act(globals, action(ActionKind::RerunFailed, t, None, plain)).await
            }
            Some(Cmd::Cancel(t)) => {
                cli::act(globals, action(ActionKind::Cancel, t, None, plain)).await
            }
            Some(Cmd::ForceCancel(t)) => {
                cli::act(globals, action(ActionKind::ForceCancel, t, None, plain)).await
            }
            Some(Cmd::Dispatch(d)) => {
                let mut request = action(ActionKind::Dispatch, d.target, d.git_ref, plain);
                request.inputs = d.inputs;
                cli::act(globals, request).await
            }
            Some(Cmd::Retrain(r)) => {
                let mut request = action(ActionKind::Retrain, r.target, None, plain);
                request.inputs = r.inputs;
                cli::act(globals, request).await
            }
            Some(Cmd::Promote(p)) => {
                cli::act(
                    globals,
                    action(ActionKind::Promote, p.target, Some(p.to), plain),
                )
                .await
            }
            Some(Cmd::Logs { target, job }) => cli::logs(globals, target, job).await,
            Some(Cmd::Config {
                command: ConfigCmd::Check,
            }) => cli::config_check(globals),
            Some(Cmd::Init { path }) => cli::init(path),
            Some(Cmd::Completions { .. } | Cmd::Man) => cli::EXIT_OK,
        }
    });
    // Sources may still be mid-request; don't wait for them.
    runtime.shutdown_background();
    ExitCode::from(code)
}

fn timeline_format(format: Format) -> TimelineFormat {
    match format {
        Format::Table => TimelineFormat::Table,
        Format::Json => TimelineFormat::Json,
    }
}
