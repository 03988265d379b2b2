//! The tofu source against the test Kubernetes API server in
//! tests/support_kube (Terraform objects, infra.contrib.fluxcd.io/v1alpha2,
//! listed and watched through the real kube-rs client): the rows, a live
//! change, reconcile / suspend / resume, and the approval of a pending
//! plan — committed to the manifest in a real bare remote by the `git`
//! source that holds it (found through the owning Kustomization), alike in
//! the dashboard and the real binary; without one, refused with why, and
//! the live patch only when asked for by name.

mod support_kube;

#[path = "common/dashboard.rs"]
mod dashboard;
#[path = "common/feed.rs"]
mod feed;
#[path = "common/git.rs"]
mod git_cmd;

use std::path::{Path, PathBuf};
use std::time::Duration;

use dashboard::dashboard_of;
use git_cmd::git;
use opsdeck::app::state::Overlay;
use opsdeck::app::{Command, Msg, State, update};
use opsdeck::config::{KubeTarget, TofuConfig};
use opsdeck::model::{
    Action, ActionKind, GitOpsApp, Health, Snapshot, SyncStatus, Target, TargetKind,
};
use opsdeck::sources::Source;
use opsdeck::sources::tofu::{NO_GIT, TofuSource};
use serde_json::{Value, json};
use support_kube::objects::{
    SHA_A, SHA_B, condition, git_repository, kustomization, plan_id, ready, terraform,
};
use support_kube::{KubeServer, User, write_kubeconfig};
use tokio::sync::{Notify, mpsc};

const WAIT_TIMEOUT: Duration = Duration::from_secs(30);
const TOKEN: &str = "cluster-token";

/// `infra/vpc` waits for approval of the plan of SHA_B; `infra/dns`
/// drifted; `infra/db` applied what it planned; `infra/queue` failed to
/// apply. All applied by the Kustomization `flux-system/infra`.
async fn cluster() -> KubeServer {
    let server = KubeServer::start().await;
    server.apply(git_repository("flux-system", "fleet", SHA_B));
    server.apply(kustomization(
        "flux-system",
        "infra",
        SHA_A,
        ready(
            "True",
            "ReconciliationSucceeded",
            "Applied revision: main@sha1:aaaa",
        ),
    ));
    let waiting = format!(
        "Plan generated: set approvePlan: \"{}\" to approve this plan.",
        plan_id(SHA_B)
    );
    server.apply(terraform(
        "infra",
        "vpc",
        Some(SHA_A),
        Some(SHA_B),
        &plan_id(SHA_B),
        vec![
            condition("Ready", "Unknown", "TerraformPlannedWithChanges", &waiting),
            condition(
                "Plan",
                "True",
                "TerraformPlannedWithChanges",
                "Plan generated",
            ),
        ],
    ));
    let mut dns = terraform(
        "infra",
        "dns",
        Some(SHA_A),
        Some(SHA_A),
        "",
        vec![condition(
            "Ready",
            "False",
            "DriftDetected",
            "Note: Objects have changed outside of Terraform\n\n  ~ aws_route53_record.www",
        )],
    );
    dns["status"]["lastDriftDetectedAt"] = json!("2026-11-22T09:25:00Z");
    server.apply(dns);
    server.apply(terraform(
        "infra",
        "db",
        Some(SHA_A),
        Some(SHA_A),
        "",
        vec![
            condition(
                "Ready",
                "True",
                "TerraformPlannedNoChanges",
                "Plan no changes",
            ),
            condition(
                "Plan",
                "False",
                "TerraformPlannedNoChanges",
                "Plan no changes",
            ),
        ],
    ));
    server.apply(terraform(
        "infra",
        "queue",
        Some(SHA_A),
        Some(SHA_B),
        "",
        vec![
            condition(
                "Ready",
                "False",
                "TFExecApplyFailed",
                "error applying: quota",
            ),
            condition(
                "Apply",
                "False",
                "TerraformAppliedFail",
                "error applying: quota",
            ),
        ],
    ));
    server
}

fn kubeconfig(dir: &Path, server: &KubeServer) -> PathBuf {
    write_kubeconfig(dir, &[("prod", server.url(), User::Token(TOKEN.into()))])
}

fn source(kubeconfig: &Path) -> TofuSource {
    TofuSource::new(
        "tofu",
        TofuConfig {
            cluster: KubeTarget {
                context: Some("prod".into()),
                kubeconfig: Some(kubeconfig.to_path_buf()),
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
        .unwrap_or_else(|| panic!("no app {name}"))
}

fn action(kind: ActionKind, app: &str, to: Option<&str>) -> Action {
    Action {
        kind,
        target: Target::new("tofu", TargetKind::App, app),
        to: to.map(str::to_string),
        effect: format!("{kind} {app}"),
        production: false,
        follow: None,
        sync: Default::default(),
        inputs: Vec::new(),
    }
}

fn stored(server: &KubeServer, name: &str) -> Value {
    server.get("Terraform", "infra", name).expect("object")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terraform_objects_are_rows_listed_and_followed_live() {
    let server = cluster().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let tofu = std::sync::Arc::new(source(&kubeconfig(dir.path(), &server)));
    let snapshot = tofu.fetch().await.expect("fetch");
    let names: Vec<&str> = snapshot.apps.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["infra/db", "infra/dns", "infra/queue", "infra/vpc"]);

    let vpc = app(&snapshot, "infra/vpc");
    assert_eq!(
        (vpc.sync, vpc.health),
        (SyncStatus::OutOfSync, Health::Healthy)
    );
    assert_eq!(vpc.cluster, "prod");
    assert_eq!(vpc.revision.as_deref(), Some(SHA_A));
    assert_eq!(vpc.target_revision.as_deref(), Some(SHA_B));
    let plan = vpc.plan.as_ref().expect("a pending plan");
    assert_eq!(plan.id, plan_id(SHA_B));
    assert_eq!(plan.owner.as_deref(), Some("flux-system/infra"));
    let message = vpc.health_message.clone().unwrap_or_default();
    assert!(
        message.starts_with(&format!(
            "awaiting approval: plan {} of bbbbbbb (approvePlan is manual)",
            plan_id(SHA_B)
        )),
        "{message}"
    );

    let dns = app(&snapshot, "infra/dns");
    assert_eq!(
        (dns.sync, dns.health),
        (SyncStatus::OutOfSync, Health::Healthy)
    );
    assert!(
        dns.health_message
            .as_deref()
            .is_some_and(|m| m.contains("drift detected at 2026-11-22T09:25:00Z")),
        "{:?}",
        dns.health_message
    );
    let db = app(&snapshot, "infra/db");
    assert_eq!((db.sync, db.health), (SyncStatus::Synced, Health::Healthy));
    let queue = app(&snapshot, "infra/queue");
    assert_eq!(queue.health, Health::Degraded);

    // The detail: approval mode, the plan, drift, every condition.
    let detail = tofu.app_detail("infra/vpc").await.expect("detail");
    let rows: Vec<(String, String)> = detail
        .results
        .iter()
        .map(|r| (r.status.clone(), format!("{}/{}", r.kind, r.name)))
        .collect();
    assert_eq!(rows[0], ("manual".into(), "spec/approvePlan".into()));
    assert!(rows.contains(&("pending".into(), format!("plan/{}", plan_id(SHA_B)))));
    assert!(rows.contains(&(
        "Ready=Unknown".into(),
        "condition/TerraformPlannedWithChanges".into()
    )));

    // Live: the watch sends the rows, then the one that changed.
    let (tx, mut rx) = mpsc::channel(64);
    let watching = tofu.clone();
    let task = tokio::spawn(async move {
        watching.watch(0, &tx, &Notify::new()).await;
    });
    let mut current = Snapshot::default();
    let mut wait = async |cond: &dyn Fn(&Snapshot) -> bool| {
        tokio::time::timeout(WAIT_TIMEOUT, async {
            while let Some(event) = rx.recv().await {
                if let Ok(s) = feed::fold(&mut current, event.result)
                    && cond(&s)
                {
                    return s;
                }
            }
            panic!("the watch ended");
        })
        .await
        .expect("in time")
    };
    wait(&|s| s.apps.len() == 4).await;
    let mut applied = stored(&server, "vpc");
    applied["spec"]["approvePlan"] = json!(plan_id(SHA_B));
    support_kube::objects::tofu_controller_reconciles(&mut applied);
    server.apply(applied);
    let now = wait(&|s| {
        s.apps
            .iter()
            .any(|a| a.name == "infra/vpc" && a.sync == SyncStatus::Synced)
    })
    .await;
    let vpc = app(&now, "infra/vpc");
    assert_eq!(vpc.revision.as_deref(), Some(SHA_B));
    assert_eq!(vpc.plan, None);
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_suspend_and_resume_are_the_flux_annotation_and_spec_suspend() {
    let server = cluster().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let tofu = source(&kubeconfig(dir.path(), &server));
    tofu.fetch().await.expect("fetch");

    let outcome = tofu
        .execute(&action(ActionKind::Reconcile, "infra/db", None))
        .await
        .expect("reconcile");
    let object = stored(&server, "db");
    let requested = object
        .pointer("/metadata/annotations/reconcile.fluxcd.io~1requestedAt")
        .and_then(Value::as_str)
        .expect("the annotation was patched");
    assert_eq!(
        object
            .pointer("/status/lastHandledReconcileAt")
            .and_then(Value::as_str),
        Some(requested)
    );
    assert!(
        outcome.starts_with("Terraform infra/db reconciled: Ready (TerraformPlannedNoChanges"),
        "{outcome}"
    );

    let said = tofu
        .execute(&action(ActionKind::Suspend, "infra/db", None))
        .await
        .expect("suspend");
    assert_eq!(said, "Terraform infra/db suspended (spec.suspend = true)");
    assert_eq!(stored(&server, "db")["spec"]["suspend"], json!(true));
    let refused = tofu
        .execute(&action(ActionKind::Reconcile, "infra/db", None))
        .await
        .expect_err("a suspended object ignores reconcile requests")
        .to_string();
    assert!(refused.contains("is suspended"), "{refused}");
    tofu.execute(&action(ActionKind::Resume, "infra/db", None))
        .await
        .expect("resume");
    assert_eq!(stored(&server, "db")["spec"]["suspend"], json!(false));
    let patches = server
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("PATCH"))
        .collect::<Vec<_>>();
    assert_eq!(patches.len(), 3, "{patches:?}");
    assert!(
        patches
            .iter()
            .all(|p| p
                .contains("/apis/infra.contrib.fluxcd.io/v1alpha2/namespaces/infra/terraforms/db")),
        "{patches:?}"
    );
}

/// The manifest in the repository: comments and another document that
/// must stay as they are.
const MANIFEST: &str = "# Network of the prod cluster.
apiVersion: infra.contrib.fluxcd.io/v1alpha2
kind: Terraform
metadata:
  name: vpc
  namespace: infra
spec:
  interval: 10m # plan every 10 minutes
  path: ./terraform/vpc
  sourceRef:
    kind: GitRepository
    name: fleet
    namespace: flux-system
---
apiVersion: infra.contrib.fluxcd.io/v1alpha2
kind: Terraform
metadata:
  name: dns
  namespace: infra
spec:
  interval: 1h
  approvePlan: auto
  path: ./terraform/dns
  sourceRef:
    kind: GitRepository
    name: fleet
";

/// A bare remote with `apps/infra/terraform.yaml`, and the clone a `git`
/// source works in. Returns the clone.
fn infra_repository(root: &Path) -> PathBuf {
    git(root, &["init", "-q", "--bare", "-b", "main", "remote.git"]);
    git(root, &["clone", "-q", "remote.git", "seed"]);
    let seed = root.join("seed");
    git(&seed, &["checkout", "-q", "-b", "main"]);
    std::fs::create_dir_all(seed.join("apps/infra")).expect("mkdir");
    std::fs::write(seed.join("apps/infra/terraform.yaml"), MANIFEST).expect("write");
    git(&seed, &["add", "-A"]);
    git(&seed, &["commit", "-q", "-m", "infra: vpc and dns"]);
    git(&seed, &["push", "-q", "origin", "main"]);
    git(root, &["clone", "-q", "remote.git", "clone"]);
    let clone = root.join("clone");
    git(&clone, &["config", "user.name", "On Call"]);
    git(&clone, &["config", "user.email", "oncall@example.com"]);
    clone
}

/// Press `command` on the GitOps row of `source/name`.
fn press(state: &mut State, source: &str, name: &str, command: Command) {
    update(state, Msg::Command(Command::TabGitops));
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
    state.pane_mut(tab).selected = index;
    update(state, Msg::Command(command));
}

/// The real binary on `config`, its state under `state_dir`, no terminal.
async fn opsdeck(config: &Path, state_dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("XDG_STATE_HOME", state_dir)
        .env("XDG_CACHE_HOME", state_dir)
        .env_remove("KUBECONFIG")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approving_commits_the_plan_id_to_the_manifest_alike_in_the_dashboard_and_headless() {
    let server = cluster().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = kubeconfig(dir.path(), &server);
    let clone = infra_repository(dir.path());
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[[source]]\nname = \"tofu\"\nkind = \"tofu\"\ncontext = \"prod\"\nkubeconfig = \"{k}\"\n\n\
             [[source]]\nname = \"flux\"\nkind = \"flux\"\ncontext = \"prod\"\nkubeconfig = \"{k}\"\n\n\
             [[source]]\nname = \"fleet\"\nkind = \"git\"\npath = \"{}\"\nbranch = \"main\"\nfollow = \"1s\"\n\n\
             [[source.app]]\nname = \"infra\"\npath = \"apps/infra\"\nlink = \"flux/flux-system/infra\"\n",
            clone.display(),
            k = kubeconfig.display(),
        ),
    )
    .expect("config");
    let plan = plan_id(SHA_B);

    // The dashboard: `s` on the Terraform row, found through its
    // Kustomization's repository.
    let mut state = dashboard_of(&config).await;
    press(&mut state, "tofu", "infra/vpc", Command::Sync);
    let Some(Overlay::Confirm(confirm)) = state.overlay.clone() else {
        panic!(
            "a confirmation, not {:?} ({:?})",
            state.overlay, state.status
        );
    };
    let on_screen = confirm.action;
    assert_eq!(on_screen.kind, ActionKind::Approve);
    assert_eq!(
        on_screen.target,
        Target::new("fleet", TargetKind::App, "infra")
    );
    assert_eq!(on_screen.to.as_deref(), Some(plan.as_str()));
    assert_eq!(
        on_screen.effect,
        format!(
            "approve plan {plan} of tofu/infra/vpc: commit `spec.approvePlan: \"{plan}\"` to the \
             manifest of Terraform infra/vpc in fleet/infra (apps/infra) and push it to main, then \
             refresh flux/flux-system/infra and follow it"
        )
    );

    // Headless: the same action, sent: committed, pushed, followed.
    let (code, stdout, stderr) =
        opsdeck(&config, dir.path(), &["sync", "tofu/infra/vpc", "--yes"]).await;
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert_eq!(
        stdout.lines().next(),
        Some(format!("will {}", on_screen.effect).as_str()),
        "{stdout}"
    );
    assert!(
        stdout
            .contains("approval of plan-main-bbbbbbbbbb in apps/infra/terraform.yaml committed as")
            && stdout.contains("pushed to main"),
        "{stdout}"
    );
    let remote = dir.path().join("remote.git");
    assert_eq!(
        git(&remote, &["show", "main:apps/infra/terraform.yaml"]),
        MANIFEST
            .replace(
                "spec:\n  interval: 10m",
                &format!("spec:\n  approvePlan: \"{plan}\"\n  interval: 10m")
            )
            .trim_end(),
        "the one line added, the rest of the file as it was"
    );
    assert_eq!(
        git(&remote, &["log", "-1", "--format=%s", "main"]),
        format!("Approve Terraform plan {plan} for infra/vpc")
    );
    assert!(
        server
            .get("Kustomization", "flux-system", "infra")
            .and_then(|o| o
                .pointer("/metadata/annotations/reconcile.fluxcd.io~1requestedAt")
                .cloned())
            .is_some(),
        "the Kustomization that applies the manifest was asked to reconcile after the push"
    );
    assert_eq!(
        stored(&server, "vpc").pointer("/spec/approvePlan"),
        None,
        "the live object is not patched"
    );

    // Asked again, the manifest already says so: nothing is committed.
    let (code, _, stderr) =
        opsdeck(&config, dir.path(), &["sync", "tofu/infra/vpc", "--yes"]).await;
    assert_eq!(code, Some(1));
    assert!(stderr.contains("already says `approvePlan:"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_repository_approving_is_refused_and_the_live_patch_is_asked_by_name() {
    let server = cluster().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = kubeconfig(dir.path(), &server);
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[[source]]\nname = \"tofu\"\nkind = \"tofu\"\ncontext = \"prod\"\nkubeconfig = \"{}\"\n",
            kubeconfig.display()
        ),
    )
    .expect("config");
    let plan = plan_id(SHA_B);

    // The same refusal on screen and headless, saying why and what else.
    let mut state = dashboard_of(&config).await;
    press(&mut state, "tofu", "infra/vpc", Command::Sync);
    assert_eq!(state.overlay, None, "nothing offered");
    let said = state
        .status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default();
    let why = format!("tofu/infra/vpc: {NO_GIT}");
    assert_eq!(said, why);
    assert!(why.contains("would be reset by Flux"), "{why}");
    let (code, _, stderr) =
        opsdeck(&config, dir.path(), &["sync", "tofu/infra/vpc", "--yes"]).await;
    assert_eq!(code, Some(1));
    assert_eq!(stderr.trim_end(), format!("opsdeck: {why}"));
    assert_eq!(stored(&server, "vpc").pointer("/spec/approvePlan"), None);

    // Asked for by name: confirmed with what it does and does not do.
    press(&mut state, "tofu", "infra/vpc", Command::ApproveLive);
    let Some(Overlay::Confirm(confirm)) = state.overlay.clone() else {
        panic!(
            "a confirmation, not {:?} ({:?})",
            state.overlay, state.status
        );
    };
    assert_eq!(confirm.action.kind, ActionKind::ApproveLive);
    assert_eq!(
        confirm.action.effect,
        format!(
            "patch Terraform infra/vpc in the cluster (prod): spec.approvePlan = \"{plan}\" — NOT in \
             Git: Kustomization flux-system/infra resets it when it applies the manifest again, and \
             the repository does not record the approval"
        )
    );
    let (code, stdout, stderr) = opsdeck(
        &config,
        dir.path(),
        &["approve-live", "tofu/infra/vpc", "--yes"],
    )
    .await;
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert_eq!(stored(&server, "vpc")["spec"]["approvePlan"], json!(plan));
    let patches: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("PATCH"))
        .collect();
    assert_eq!(patches.len(), 1, "{patches:?}");

    // The controller applies it on its next reconcile.
    let tofu = source(&kubeconfig);
    tofu.execute(&action(ActionKind::Reconcile, "infra/vpc", None))
        .await
        .expect("reconcile");
    let now = tofu.fetch().await.expect("fetch");
    let vpc = app(&now, "infra/vpc");
    assert_eq!(
        (vpc.sync, vpc.revision.as_deref()),
        (SyncStatus::Synced, Some(SHA_B))
    );

    // Nothing waits any more: both approvals say so.
    let refused = tofu
        .execute(&action(ActionKind::ApproveLive, "infra/vpc", Some(&plan)))
        .await
        .expect_err("no plan waits")
        .to_string();
    assert!(refused.contains("no longer waits for plan"), "{refused}");
    let mut state = dashboard_of(&config).await;
    press(&mut state, "tofu", "infra/vpc", Command::Sync);
    assert_eq!(
        state.status.as_ref().map(|s| s.text.clone()),
        Some("tofu/infra/vpc has no plan waiting for approval".into())
    );
}
