//! The Flux source against the test Kubernetes API server in
//! tests/support_kube (list, watch, 410, merge patch, 403, exec
//! credentials), through the real kube-rs client and a kubeconfig written
//! here: mapping, a malformed object among good ones, live changes, a
//! relist after 410 Gone, a cut watch resuming, reconcile / reconcile with
//! source / suspend / resume and their refusals, RBAC and credential
//! failures, two clusters at once, and a rollback that is the linked
//! repository's revert, alike in the dashboard and the real binary.

#[path = "../support_kube/mod.rs"]
mod support_kube;

#[path = "../common/dashboard.rs"]
mod dashboard;
#[path = "../common/feed.rs"]
mod feed;
#[path = "../common/git.rs"]
mod git_cmd;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dashboard::dashboard_of;
use git_cmd::git;
use opsdeck::config::{FluxConfig, KubeTarget};
use opsdeck::model::{
    Action, ActionKind, GitOpsApp, Health, Snapshot, SyncStatus, Target, TargetKind,
};
use opsdeck::sources::flux::FluxSource;
use opsdeck::sources::{ActionError, Source, SourceEvent};
use serde_json::json;
use support_kube::objects::{
    REPO_URL, SHA_A, SHA_B, git_repository, helm_release, kustomization, oci_repository, ready,
};
use support_kube::{KubeServer, User, credential_plugin, write_kubeconfig};
use tokio::sync::{Notify, mpsc};

mod access;
mod act;
mod read;
mod rollback;

/// How long a test waits for a condition before failing.
const WAIT_TIMEOUT: Duration = Duration::from_secs(30);

const TOKEN: &str = "cluster-token";

/// How often a test looks at the server's state while waiting on it.
const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// A server with the `fleet` GitRepository at SHA_B and three
/// Kustomizations: `web` (applied SHA_B, Ready), `api` (applied SHA_A:
/// behind its source) and `jobs` (Ready=False).
async fn cluster() -> KubeServer {
    let server = KubeServer::start().await;
    server.apply(git_repository("flux-system", "fleet", SHA_B));
    server.apply(kustomization(
        "flux-system",
        "web",
        SHA_B,
        ready(
            "True",
            "ReconciliationSucceeded",
            "Applied revision: main@sha1:bbbb",
        ),
    ));
    server.apply(kustomization(
        "flux-system",
        "api",
        SHA_A,
        ready(
            "True",
            "ReconciliationSucceeded",
            "Applied revision: main@sha1:aaaa",
        ),
    ));
    server.apply(kustomization(
        "flux-system",
        "jobs",
        SHA_B,
        ready(
            "False",
            "HealthCheckFailed",
            "Deployment/jobs/worker: timeout waiting for rollout",
        ),
    ));
    server
}

struct Fixture {
    _dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

/// A kubeconfig with one token-authenticated context per (name, server).
fn kubeconfig(servers: &[(&str, &KubeServer)]) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let contexts: Vec<(&str, String, User)> = servers
        .iter()
        .map(|(name, s)| (*name, s.url(), User::Token(TOKEN.into())))
        .collect();
    let kubeconfig = write_kubeconfig(dir.path(), &contexts);
    Fixture {
        _dir: dir,
        kubeconfig,
    }
}

fn source(name: &str, fixture: &Fixture, context: &str) -> FluxSource {
    FluxSource::new(
        name,
        FluxConfig {
            cluster: KubeTarget {
                context: Some(context.into()),
                kubeconfig: Some(fixture.kubeconfig.clone()),
                namespaces: Vec::new(),
            },
        },
        Duration::from_secs(60),
    )
}

fn app<'a>(snapshot: &'a Snapshot, name: &str) -> &'a GitOpsApp {
    snapshot
        .apps
        .iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| {
            let names: Vec<&str> = snapshot.apps.iter().map(|a| a.name.as_str()).collect();
            panic!("no app {name} in {names:?}")
        })
}

/// A running watch of one source.
struct Watching {
    rx: mpsc::Receiver<SourceEvent>,
    task: tokio::task::JoinHandle<()>,
    /// The state the events so far leave (what the app side shows).
    current: Snapshot,
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn watch(source: Arc<FluxSource>, index: usize) -> Watching {
    let (tx, rx) = mpsc::channel(64);
    let task = tokio::spawn(async move {
        let wake = Notify::new();
        source.watch(index, &tx, &wake).await;
    });
    Watching {
        rx,
        task,
        current: Snapshot::default(),
    }
}

impl Watching {
    /// The first event satisfying `cond`, within WAIT_TIMEOUT.
    async fn until(
        &mut self,
        what: &str,
        cond: impl Fn(&Result<Snapshot, String>) -> bool,
    ) -> Result<Snapshot, String> {
        let mut last = None;
        let found = tokio::time::timeout(WAIT_TIMEOUT, async {
            while let Some(event) = self.rx.recv().await {
                let result = feed::fold(&mut self.current, event.result);
                if cond(&result) {
                    return Some(result);
                }
                last = Some(format!("{:?}", result.as_ref().map(|s| s.apps.len())));
            }
            None
        })
        .await;
        match found {
            Ok(Some(result)) => result,
            _ => panic!("waited {WAIT_TIMEOUT:?} for {what}; last event: {last:?}"),
        }
    }

    /// The first snapshot in which `name` satisfies `cond`.
    async fn until_app(&mut self, name: &str, cond: impl Fn(&GitOpsApp) -> bool) -> Snapshot {
        let result = self
            .until(name, |r| {
                r.as_ref()
                    .is_ok_and(|s| s.apps.iter().any(|a| a.name == name && cond(a)))
            })
            .await;
        result.expect("a snapshot")
    }
}

fn action(kind: ActionKind, source: &str, app: &str) -> Action {
    Action {
        kind,
        target: Target::new(source, TargetKind::App, app),
        to: None,
        effect: format!("{kind} {app}"),
        production: false,
        follow: None,
        sync: Default::default(),
        inputs: Vec::new(),
    }
}

/// The dashboard with this Flux source's apps and a desired-state
/// repository app for `apps/web` of the same repository (linked by URL and
/// path, as the link pass does for a `git` source).
async fn dashboard_with_repository(flux: &FluxSource) -> opsdeck::app::State {
    use opsdeck::app::state::SourceState;
    use opsdeck::app::{Keymap, Msg, State, update};
    use opsdeck::model::{Commit, Deployment, Provides, RepoInfo};
    let snapshot = flux.fetch().await.expect("fetch");
    let mut repo_app = app(&snapshot, "flux-system/web").clone();
    repo_app.source = "fleet".into();
    repo_app.name = "web".into();
    // A repository app's history: the commits touching its folder.
    repo_app.history = [(SHA_B, "web: 3 replicas"), (SHA_A, "web: first version")]
        .into_iter()
        .map(|(sha, subject)| Deployment {
            id: sha.into(),
            revision: sha.into(),
            deployed_at: None,
            started_at: None,
            failed: false,
            author: Some("Ada".into()),
            message: Some(subject.into()),
        })
        .collect();
    repo_app.repo = Some(RepoInfo {
        branch: "main".into(),
        head: SHA_B.into(),
        commits: [(SHA_B, "web: 3 replicas"), (SHA_A, "web: first version")]
            .into_iter()
            .map(|(sha, subject)| Commit {
                sha: sha.into(),
                author: "Ada".into(),
                time: None,
                subject: subject.into(),
                touches_app: true,
            })
            .collect(),
        push: "direct".into(),
        link: None,
        diffs: Vec::new(),
        follow: Duration::from_secs(60),
    });
    let gitops = Provides {
        gitops: true,
        ..Provides::default()
    };
    let flux_state = SourceState::new("flux-prod", "flux", gitops, false).with_actions(
        [
            ActionKind::Reconcile,
            ActionKind::Sync,
            ActionKind::Suspend,
            ActionKind::Resume,
        ]
        .into_iter()
        .filter(|k| flux.supports(*k)),
    );
    let repo_state =
        SourceState::new("fleet", "git", gitops, false).with_actions([ActionKind::Rollback]);
    let now = chrono::Utc::now();
    let mut state = State::new(vec![flux_state, repo_state], Keymap::default(), false, now);
    for (source, apps) in [(0, snapshot.apps), (1, vec![repo_app])] {
        update(
            &mut state,
            Msg::Source(SourceEvent {
                source,
                at: now,
                result: Ok(Snapshot {
                    apps,
                    ..Snapshot::default()
                }
                .into()),
            }),
        );
    }
    state
}

fn select(state: &mut opsdeck::app::State, source: &str, name: &str) {
    use opsdeck::app::{Command, Msg, update};
    update(state, Msg::Command(Command::TabGitops));
    update(state, Msg::Command(Command::Top));
    let tab = opsdeck::app::state::Tab::GitOps;
    let index = state
        .pane(tab)
        .rows
        .iter()
        .position(|r| {
            state
                .app(*r)
                .is_some_and(|a| a.source == source && a.name == name)
        })
        .unwrap_or_else(|| panic!("{source}/{name} is not in the GitOps tab"));
    for _ in 0..index {
        update(state, Msg::Command(Command::Down));
    }
}

/// A Flux source on the "prod" context that refreshes every `refresh`.
fn flux_with_refresh(fixture: &Fixture, refresh: Duration) -> FluxSource {
    FluxSource::new(
        "flux-prod",
        FluxConfig {
            cluster: KubeTarget {
                context: Some("prod".into()),
                kubeconfig: Some(fixture.kubeconfig.clone()),
                namespaces: Vec::new(),
            },
        },
        refresh,
    )
}

/// The real binary on `config`, its state under `state_dir`, no terminal.
fn binary(
    config: &std::path::Path,
    state_dir: &std::path::Path,
    args: &[&str],
) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"));
    cmd.arg("--config")
        .arg(config)
        .args(args)
        .env("XDG_STATE_HOME", state_dir)
        .env_remove("KUBECONFIG")
        .stdin(std::process::Stdio::null());
    cmd
}

/// A bare remote whose `apps/web` went from 2 to 3 replicas, and the clone
/// a `git` source works in. Returns the clone.
fn fleet_repository(root: &std::path::Path) -> PathBuf {
    git(root, &["init", "-q", "--bare", "-b", "main", "remote.git"]);
    git(root, &["clone", "-q", "remote.git", "seed"]);
    let seed = root.join("seed");
    git(&seed, &["checkout", "-q", "-b", "main"]);
    for (replicas, subject) in [(2, "web: first version"), (3, "web: 3 replicas")] {
        std::fs::create_dir_all(seed.join("apps/web")).expect("mkdir");
        std::fs::write(
            seed.join("apps/web/values.yaml"),
            format!("replicas: {replicas}\n"),
        )
        .expect("write");
        git(&seed, &["add", "-A"]);
        git(&seed, &["commit", "-q", "-m", subject]);
    }
    git(&seed, &["push", "-q", "origin", "main"]);
    git(root, &["clone", "-q", "remote.git", "clone"]);
    let clone = root.join("clone");
    git(&clone, &["config", "user.name", "On Call"]);
    git(&clone, &["config", "user.email", "oncall@example.com"]);
    clone
}
