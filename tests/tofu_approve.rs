//! Approving a tofu-controller plan, against the test Kubernetes API
//! server in tests/support_kube: committed to the manifest in a real bare
//! remote by the `git` source that holds it (found through the owning
//! Kustomization), alike in the dashboard and the real binary; without
//! one, refused with why, and the live patch only when asked for by name.

mod support_kube;

#[path = "common/dashboard.rs"]
mod dashboard;
#[path = "common/git.rs"]
mod git_cmd;

use std::path::{Path, PathBuf};

use dashboard::dashboard_of;
use git_cmd::git;
use opsdeck::app::state::Overlay;
use opsdeck::app::{Command, Msg, State, update};
use opsdeck::model::{ActionKind, SyncStatus, Target, TargetKind};
use opsdeck::sources::Source;
use opsdeck::sources::tofu::NO_GIT;
use serde_json::json;
use support_kube::objects::{SHA_B, plan_id};
use support_kube::tofu::{action, app, cluster, kubeconfig, source, stored};

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
    let patched: Vec<String> = server.patches();
    assert!(
        patched.len() >= 2
            && patched[0].contains("/gitrepositories/fleet")
            && patched[1].contains("/kustomizations/infra"),
        "its GitRepository is reconciled first, so the pushed commit is fetched now: {patched:?}"
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

    // A repository app linked to the object itself holds it too (no Flux
    // source needed): the object is what is followed.
    let linked = dir.path().join("linked.toml");
    std::fs::write(
        &linked,
        format!(
            "[[source]]\nname = \"tofu\"\nkind = \"tofu\"\ncontext = \"prod\"\nkubeconfig = \"{}\"\n\n\
             [[source]]\nname = \"fleet\"\nkind = \"git\"\npath = \"{}\"\nbranch = \"main\"\npush = \"branch\"\n\n\
             [[source.app]]\nname = \"vpc\"\npath = \"apps/infra\"\nlink = \"tofu/infra/vpc\"\n",
            kubeconfig.display(),
            clone.display(),
        ),
    )
    .expect("config");
    let (code, stdout, stderr) = opsdeck(
        &linked,
        dir.path(),
        &["sync", "tofu/infra/vpc", "--dry-run"],
    )
    .await;
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.starts_with(&format!(
            "will approve plan {plan} of tofu/infra/vpc: commit `spec.approvePlan: \"{plan}\"` to \
             the manifest of Terraform infra/vpc in fleet/vpc (apps/infra) and push it to a new \
             branch opsdeck/approve-vpc-{plan}-… for review, then refresh tofu/infra/vpc and \
             follow it"
        )),
        "{stdout}"
    );
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
            "[keys]\napprove_live = \"ctrl-a\"\n\n\
             [[source]]\nname = \"tofu\"\nkind = \"tofu\"\ncontext = \"prod\"\nkubeconfig = \"{}\"\n",
            kubeconfig.display()
        ),
    )
    .expect("config");
    let plan = plan_id(SHA_B);

    // The same refusal on screen and headless, saying why and what else
    // (on screen, the key the live patch is bound to in this keymap).
    let mut state = dashboard_of(&config).await;
    press(&mut state, "tofu", "infra/vpc", Command::Sync);
    assert_eq!(state.overlay, None, "nothing offered");
    let said = state
        .status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default();
    let why = format!("tofu/infra/vpc: {NO_GIT}");
    assert_eq!(said, format!("{why}; in the dashboard, key ctrl-a"));
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
    let patches: Vec<String> = server.patches();
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
