//! The git source against real repositories in temp dirs: a bare remote over
//! `file://` and over `git daemon` on 127.0.0.1 (skipped, or failed under
//! CI=true, where git has no daemon). Reverts pushed, concurrent
//! pushes, conflicts, dirty clones, `push = "branch"`, read-only, and the
//! linked app refreshed after the push.

#[allow(dead_code)] // this binary uses only the skip rule
#[path = "../support/server.rs"]
mod server;

mod links;
mod remote;

use std::net::TcpListener;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opsdeck::app::audit::AuditLog;
use opsdeck::app::executor::Executor;
use opsdeck::config::{GitApp, GitConfig, PushMode, RepoLocation};
use opsdeck::model::{Action, ActionKind, Outcome, Snapshot, Target, TargetKind};
use opsdeck::sources::Source;
use opsdeck::sources::git::GitSource;
use opsdeck::sources::git::repo::{self, RevertRequest};

const DEPLOYMENT: &str = "apps/payments/deployment.yaml";

/// Run git with a fixed identity and no user or system config.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Alice Deployer")
        .env("GIT_AUTHOR_EMAIL", "alice@example.com")
        .env("GIT_COMMITTER_NAME", "Alice Deployer")
        .env("GIT_COMMITTER_EMAIL", "alice@example.com")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn write(dir: &Path, file: &str, text: &str) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn commit(dir: &Path, file: &str, text: &str, message: &str) -> String {
    write(dir, file, text);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

fn deployment(image: &str) -> String {
    format!(
        "kind: Deployment\nmetadata:\n  name: payments-api\nspec:\n  replicas: 3\n  image: payments:{image}\n"
    )
}

/// A bare remote with history, a seeding work tree, and opsdeck's clone.
struct Repos {
    dir: tempfile::TempDir,
    /// SHAs by what they did.
    v2: String,
    v3: String,
}

impl Repos {
    fn new() -> Repos {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        git(root, &["init", "-q", "--bare", "-b", "main", "remote.git"]);
        git(root, &["clone", "-q", "remote.git", "seed"]);
        let seed = root.join("seed");
        git(&seed, &["checkout", "-q", "-b", "main"]);
        write(&seed, "apps/search/values.yaml", "replicas: 2\n");
        commit(&seed, DEPLOYMENT, &deployment("v1"), "add payments");
        let v2 = commit(&seed, DEPLOYMENT, &deployment("v2"), "bump payments to v2");
        commit(
            &seed,
            "apps/search/values.yaml",
            "replicas: 3\n",
            "scale search to 3",
        );
        let v3 = commit(&seed, DEPLOYMENT, &deployment("v3"), "bump payments to v3");
        git(&seed, &["push", "-q", "origin", "main"]);
        git(root, &["clone", "-q", "remote.git", "clone"]);
        let clone = root.join("clone");
        git(&clone, &["config", "user.name", "On Call"]);
        git(&clone, &["config", "user.email", "oncall@example.com"]);
        Repos { dir, v2, v3 }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn clone_dir(&self) -> PathBuf {
        self.root().join("clone")
    }

    fn remote(&self) -> PathBuf {
        self.root().join("remote.git")
    }

    fn config(&self, push: PushMode) -> GitConfig {
        GitConfig {
            location: RepoLocation::Path(self.clone_dir()),
            branch: Some("main".into()),
            remote: "origin".into(),
            push,
            token: None,
            follow: Duration::from_secs(1),
            apps: vec![
                GitApp {
                    name: "payments".into(),
                    path: "apps/payments".into(),
                    link: None,
                },
                GitApp {
                    name: "search".into(),
                    path: "apps/search".into(),
                    link: None,
                },
            ],
        }
    }

    fn remote_head(&self) -> String {
        git(&self.remote(), &["rev-parse", "main"])
    }

    fn remote_file(&self, rev: &str) -> String {
        // Whole file: the trailing newline matters.
        format!(
            "{}\n",
            git(&self.remote(), &["show", &format!("{rev}:{DEPLOYMENT}")])
        )
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn rollback(app: &str, to: &str) -> Action {
    Action {
        kind: ActionKind::Rollback,
        target: Target::new("repo", TargetKind::App, app),
        to: Some(to.to_string()),
        effect: format!("revert {to} in repo/{app}"),
        production: false,
        follow: None,
        sync: Default::default(),
        inputs: Vec::new(),
    }
}

fn read(source: &GitSource) -> Snapshot {
    rt().block_on(source.fetch()).expect("the repository reads")
}

#[test]
fn each_app_shows_the_commits_touching_its_folder_and_the_newest_diff() {
    let repos = Repos::new();
    let source = GitSource::new(
        "repo",
        repos.config(PushMode::Direct),
        Duration::from_secs(30),
    );
    let snapshot = read(&source);
    let payments = snapshot
        .apps
        .iter()
        .find(|a| a.name == "payments")
        .expect("payments");
    let subjects: Vec<&str> = payments
        .history
        .iter()
        .filter_map(|d| d.message.as_deref())
        .collect();
    assert_eq!(
        subjects,
        vec!["bump payments to v3", "bump payments to v2", "add payments"]
    );
    assert_eq!(payments.history[0].revision, repos.v3);
    assert_eq!(
        payments.history[0].author.as_deref(),
        Some("Alice Deployer")
    );
    assert_eq!(
        payments.revision.as_deref(),
        Some(repos.remote_head().as_str())
    );
    assert_eq!(payments.cluster, "main");
    let info = payments.repo.as_ref().expect("repo info");
    let newest = &info.diffs[0];
    assert_eq!(newest.sha, repos.v3);
    assert!(
        newest.lines.iter().any(|l| l == "-  image: payments:v2"),
        "{:#?}",
        newest.lines
    );
    assert!(
        newest.lines.iter().any(|l| l == "+  image: payments:v3"),
        "{:#?}",
        newest.lines
    );
    let diffs: Vec<&str> = info.diffs.iter().map(|d| d.sha.as_str()).collect();
    let history: Vec<&str> = payments.history.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(diffs, history, "one diff per commit touching the folder");
    let search = snapshot
        .apps
        .iter()
        .find(|a| a.name == "search")
        .expect("search");
    let subjects: Vec<&str> = search
        .history
        .iter()
        .filter_map(|d| d.message.as_deref())
        .collect();
    assert_eq!(
        subjects,
        vec!["scale search to 3", "add payments"],
        "created with payments, then scaled"
    );
}

#[test]
fn a_revert_is_pushed_with_the_right_message_and_the_clone_follows() {
    let repos = Repos::new();
    let source = GitSource::new(
        "repo",
        repos.config(PushMode::Direct),
        Duration::from_secs(30),
    );
    let message = rt()
        .block_on(source.execute(&rollback("payments", &repos.v3)))
        .expect("reverted");
    assert!(message.contains("pushed to main"), "{message}");

    let head = repos.remote_head();
    let body = git(&repos.remote(), &["log", "-1", "--format=%B", &head]);
    assert!(body.starts_with("Revert \"bump payments to v3\""), "{body}");
    assert!(
        body.contains(&format!("This reverts commit {}.", repos.v3)),
        "{body}"
    );
    assert!(body.contains("App: payments (apps/payments)"), "{body}");
    assert!(body.contains("through opsdeck"), "{body}");
    assert_eq!(
        git(&repos.remote(), &["log", "-1", "--format=%an", &head]),
        "On Call"
    );
    assert_eq!(repos.remote_file("main"), deployment("v2"));
    // Never forced: the old head is the parent.
    assert_eq!(git(&repos.remote(), &["rev-parse", "main~1"]), repos.v3);
    // The clone is on the new head and clean.
    assert_eq!(git(&repos.clone_dir(), &["rev-parse", "HEAD"]), head);
    assert_eq!(git(&repos.clone_dir(), &["status", "--porcelain"]), "");
}

#[test]
fn a_concurrent_push_makes_opsdeck_redo_the_revert_once_on_the_new_head() {
    let repos = Repos::new();
    let config = repos.config(PushMode::Direct);
    // Someone else pushes between opsdeck's fetch and its push.
    git(repos.root(), &["clone", "-q", "remote.git", "other"]);
    let other = repos.root().join("other");
    let mut pushed = false;
    let mut concurrent = || {
        if !pushed {
            pushed = true;
            commit(
                &other,
                "apps/search/values.yaml",
                "replicas: 4\n",
                "scale search to 4",
            );
            git(&other, &["push", "-q", "origin", "main"]);
        }
    };
    let repository = git2::Repository::open(repos.clone_dir()).expect("open");
    let app = &config.apps[0];
    let request = RevertRequest {
        app,
        commit: &repos.v3,
        user: "oncall",
        host: "jump-1",
    };
    let done = repo::revert_and_push(
        &repository,
        &config,
        "main",
        None,
        &request,
        &mut concurrent,
    )
    .expect("pushed");
    assert!(done.retried, "the first push was refused and redone");
    let head = repos.remote_head();
    assert_eq!(done.new_sha, head);
    // Both changes are there: the colleague's and the revert on top of it.
    assert_eq!(
        git(&repos.remote(), &["log", "-1", "--format=%s", "main~1"]),
        "scale search to 4"
    );
    assert_eq!(
        git(&repos.remote(), &["show", "main:apps/search/values.yaml"]),
        "replicas: 4"
    );
    assert_eq!(repos.remote_file("main"), deployment("v2"));
}

#[test]
fn a_conflicting_revert_leaves_the_clone_and_the_remote_untouched() {
    let repos = Repos::new();
    // v4 changes the same line again: reverting v3 now conflicts.
    let seed = repos.root().join("seed");
    let v4 = commit(&seed, DEPLOYMENT, &deployment("v4"), "bump payments to v4");
    git(&seed, &["push", "-q", "origin", "main"]);
    git(&repos.clone_dir(), &["pull", "-q", "--ff-only"]);
    let before_head = git(&repos.clone_dir(), &["rev-parse", "HEAD"]);
    let before_file = std::fs::read_to_string(repos.clone_dir().join(DEPLOYMENT)).expect("read");

    let source = GitSource::new(
        "repo",
        repos.config(PushMode::Direct),
        Duration::from_secs(30),
    );
    let error = rt()
        .block_on(source.execute(&rollback("payments", &repos.v3)))
        .expect_err("conflict");
    let text = error.to_string();
    assert!(
        text.contains("conflicts in apps/payments/deployment.yaml"),
        "{text}"
    );
    assert!(text.contains("nothing was changed"), "{text}");
    assert_eq!(git(&repos.clone_dir(), &["rev-parse", "HEAD"]), before_head);
    assert_eq!(
        std::fs::read_to_string(repos.clone_dir().join(DEPLOYMENT)).expect("read"),
        before_file
    );
    assert_eq!(git(&repos.clone_dir(), &["status", "--porcelain"]), "");
    assert_eq!(repos.remote_head(), v4);
}

#[test]
fn a_dirty_clone_or_another_branch_is_refused() {
    let repos = Repos::new();
    let source = GitSource::new(
        "repo",
        repos.config(PushMode::Direct),
        Duration::from_secs(30),
    );
    write(&repos.clone_dir(), DEPLOYMENT, "edited by hand\n");
    let text = rt()
        .block_on(source.execute(&rollback("payments", &repos.v3)))
        .expect_err("dirty")
        .to_string();
    assert!(
        text.contains("has uncommitted changes (apps/payments/deployment.yaml)"),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(repos.clone_dir().join(DEPLOYMENT)).expect("read"),
        "edited by hand\n"
    );

    git(&repos.clone_dir(), &["checkout", "-q", "--", DEPLOYMENT]);
    git(&repos.clone_dir(), &["checkout", "-q", "-b", "experiment"]);
    let text = rt()
        .block_on(source.execute(&rollback("payments", &repos.v3)))
        .expect_err("branch")
        .to_string();
    assert!(text.contains("is on `experiment`, not on `main`"), "{text}");
    assert_eq!(repos.remote_head(), repos.v3, "nothing was pushed");
}

#[test]
fn push_branch_leaves_the_deployed_branch_alone() {
    let repos = Repos::new();
    let source = GitSource::new(
        "repo",
        repos.config(PushMode::Branch),
        Duration::from_secs(30),
    );
    let message = rt()
        .block_on(source.execute(&rollback("payments", &repos.v3)))
        .expect("pushed");
    assert_eq!(repos.remote_head(), repos.v3, "main is untouched");
    let branches = git(
        &repos.remote(),
        &[
            "for-each-ref",
            "--format=%(refname:short)",
            "refs/heads/opsdeck/",
        ],
    );
    let short = &repos.v3[..7];
    assert!(
        branches.starts_with(&format!("opsdeck/rollback-payments-{short}-")),
        "{branches}"
    );
    assert!(
        message.contains(&format!("pushed to {branches}")),
        "{message}"
    );
    assert!(
        message.contains("open a merge request from it"),
        "{message}"
    );
    assert_eq!(repos.remote_file(&branches), deployment("v2"));
    assert_eq!(
        git(&repos.clone_dir(), &["rev-parse", "main"]),
        repos.v3,
        "the local branch is untouched too"
    );
}

#[test]
fn read_only_refuses_the_revert_and_audits_nothing() {
    let repos = Repos::new();
    let source = GitSource::new(
        "repo",
        repos.config(PushMode::Direct),
        Duration::from_secs(30),
    );
    let audit = repos.root().join("audit.jsonl");
    let executor = Executor::new(
        vec![std::sync::Arc::new(source)],
        AuditLog::new(audit.clone(), "test"),
        true,
    );
    let outcome = rt().block_on(executor.execute(1, &rollback("payments", &repos.v3)));
    let Outcome::Failed(why) = outcome else {
        panic!("refused expected, got {outcome:?}")
    };
    assert!(
        why.starts_with("read-only: roll back repo/payments refused"),
        "{why}"
    );
    assert_eq!(repos.remote_head(), repos.v3);
    assert!(!audit.exists());
}

#[test]
fn an_unknown_commit_is_refused_by_name() {
    let repos = Repos::new();
    let source = GitSource::new(
        "repo",
        repos.config(PushMode::Direct),
        Duration::from_secs(30),
    );
    let text = rt()
        .block_on(source.execute(&rollback(
            "payments",
            "0123456789abcdef0123456789abcdef01234567",
        )))
        .expect_err("unknown")
        .to_string();
    assert!(
        text.contains("commit 0123456789abcdef0123456789abcdef01234567 is not in the clone"),
        "{text}"
    );
}
