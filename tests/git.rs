//! The git source against real repositories in temp dirs: a bare remote over
//! `file://` and over `git daemon` on 127.0.0.1 (skipped, or failed under
//! CI=true, where git has no daemon). Reverts pushed, concurrent
//! pushes, conflicts, dirty clones, `push = "branch"`, read-only, and the
//! linked app refreshed after the push.

#[allow(dead_code)] // this binary uses only the skip rule
#[path = "support/server.rs"]
mod server;

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

/// How to get `git daemon` where it is missing.
const DAEMON_HOW: &str = "It ships with git on Debian and Ubuntu; elsewhere install it \
                          (e.g. `dnf install git-daemon`).";

/// `git daemon` serving `base` on 127.0.0.1, push enabled. The test binds
/// and keeps the listening socket and hands each connection to a
/// `git daemon --inetd`, so no other process can take the port between
/// choosing it and serving on it.
struct Daemon {
    port: u16,
    stop: Arc<AtomicBool>,
    acceptor: Option<std::thread::JoinHandle<()>>,
}

impl Daemon {
    /// None (after the calling test said it is skipped, or failed under
    /// CI) when this git has no daemon.
    fn start(base: &Path) -> Option<Daemon> {
        if let Err(missing) = daemon_installed() {
            missing.skip(DAEMON_HOW);
            return None;
        }
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let base = base.to_path_buf();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let acceptor = std::thread::spawn(move || {
            let mut served: Vec<Child> = Vec::new();
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let reply = stream.try_clone().expect("clone the connection");
                let child = Command::new("git")
                    .args([
                        "daemon",
                        "--inetd",
                        &format!("--base-path={}", base.display()),
                        "--export-all",
                        "--enable=receive-pack",
                    ])
                    .arg(&base)
                    .stdin(Stdio::from(OwnedFd::from(stream)))
                    .stdout(Stdio::from(OwnedFd::from(reply)))
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("git daemon --inetd starts");
                served.push(child);
            }
            for mut child in served {
                let _ = child.kill();
                let _ = child.wait();
            }
        });
        Some(Daemon {
            port,
            stop,
            acceptor: Some(acceptor),
        })
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the acceptor so it sees the stop.
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// Whether `git daemon` exists: it lives in git's exec path, and some
/// distributions package it apart from git.
fn daemon_installed() -> Result<(), server::Missing> {
    let out = Command::new("git")
        .arg("--exec-path")
        .output()
        .map_err(|e| server::Missing::new("git", format!("cannot run git: {e}")))?;
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if dir.join("git-daemon").is_file() {
        Ok(())
    } else {
        Err(server::Missing::new(
            "git daemon",
            format!("no git-daemon in {}", dir.display()),
        ))
    }
}

#[test]
fn a_revert_is_pushed_over_git_daemon() {
    let repos = Repos::new();
    let Some(daemon) = Daemon::start(repos.root()) else {
        return;
    };
    let url = format!("git://127.0.0.1:{}/remote.git", daemon.port);
    git(repos.root(), &["clone", "-q", &url, "over-daemon"]);
    let clone = repos.root().join("over-daemon");
    git(&clone, &["config", "user.name", "On Call"]);
    git(&clone, &["config", "user.email", "oncall@example.com"]);
    let mut config = repos.config(PushMode::Direct);
    config.location = RepoLocation::Path(clone);
    let source = GitSource::new("repo", config, Duration::from_secs(30));
    let snapshot = read(&source);
    assert_eq!(snapshot.apps[0].repo_url.as_deref(), Some(url.as_str()));
    let message = rt()
        .block_on(source.execute(&rollback("payments", &repos.v3)))
        .expect("pushed over git://");
    assert!(message.contains("pushed to main"), "{message}");
    assert_eq!(
        git(&repos.remote(), &["log", "-1", "--format=%s", "main"]),
        "Revert \"bump payments to v3\""
    );
}

#[test]
fn a_url_source_clones_into_the_cache_and_reads() {
    let repos = Repos::new();
    let mut config = repos.config(PushMode::Direct);
    config.location = RepoLocation::Url(format!("file://{}", repos.remote().display()));
    // A unique name: the cache dir is per source name.
    let name = format!("repo-{}", std::process::id());
    let source = GitSource::new(&name, config, Duration::from_secs(30));
    let snapshot = read(&source);
    assert_eq!(snapshot.apps[0].history.len(), 3);
    let cached = dirs::cache_dir()
        .expect("cache dir")
        .join("opsdeck/git")
        .join(&name);
    assert!(
        cached.join(".git").exists(),
        "cloned into {}",
        cached.display()
    );
    std::fs::remove_dir_all(cached).expect("clean up the cache clone");
}

#[test]
fn headless_rollback_reverts_then_refreshes_and_follows_the_linked_app() {
    let repos = Repos::new();
    let config = repos.root().join("opsdeck.toml");
    std::fs::write(
        &config,
        format!(
            "[[source]]\nname = \"demo\"\nkind = \"demo\"\npaused = true\n\n\
             [[source]]\nname = \"repo\"\nkind = \"git\"\npath = \"{}\"\nbranch = \"main\"\nfollow = \"1s\"\n\n\
             [[source.app]]\nname = \"payments\"\npath = \"apps/payments\"\nlink = \"demo/payments\"\n",
            repos.clone_dir().display()
        ),
    )
    .expect("config");
    let audit = repos.root().join("audit.jsonl");
    let out = Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .arg("--config")
        .arg(&config)
        .arg("--audit-log")
        .arg(&audit)
        .env("XDG_STATE_HOME", repos.root())
        .args(["rollback", "repo/payments", "--to", &repos.v3[..8], "--yes"])
        .stdin(Stdio::null())
        .output()
        .expect("run opsdeck");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("will revert"), "{stdout}");
    assert!(
        stdout.contains("then refresh demo/payments and follow it"),
        "{stdout}"
    );
    assert!(stdout.contains("pushed to main"), "{stdout}");
    // The demo's refresh does not change what it runs: following gives up in time, saying so.
    assert!(
        stdout.contains("demo/payments did not converge within 1s"),
        "{stdout}"
    );
    assert_eq!(repos.remote_file("main"), deployment("v2"));

    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&audit)
        .expect("audit log")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let summary: Vec<(String, String, String)> = lines
        .iter()
        .map(|l| {
            (
                l["action"].as_str().unwrap_or("").to_string(),
                format!(
                    "{}/{}",
                    l["source"].as_str().unwrap_or(""),
                    l["target"].as_str().unwrap_or("")
                ),
                l["outcome"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let expected = [
        ("rollback", "repo/payments", "requested"),
        ("rollback", "repo/payments", "done"),
        ("refresh", "demo/payments", "requested"),
        ("refresh", "demo/payments", "done"),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(summary, expected);
    let done = &lines[1]["detail"];
    assert!(
        done.as_str()
            .is_some_and(|d| d.starts_with("revert ") && d.contains("pushed to main")),
        "{done}"
    );
    assert!(
        lines[2]["effect"]
            .as_str()
            .is_some_and(|e| e.starts_with("refresh demo/payments after: revert"))
    );
}

#[test]
fn git_errors_name_the_clone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Repos::new().config(PushMode::Direct);
    config.location = RepoLocation::Path(dir.path().join("missing"));
    let source = GitSource::new("repo", config, Duration::from_secs(30));
    let error = rt().block_on(source.fetch()).expect_err("no repository");
    let text = error.to_string();
    assert!(
        text.contains(&format!(
            "cannot open {} as a git repository",
            dir.path().join("missing").display()
        )),
        "{text}"
    );
}

/// An app as an Argo CD source would report it, running `revision`.
fn deployed_app(repos: &Repos, revision: &str) -> opsdeck::model::GitOpsApp {
    let demo =
        opsdeck::sources::demo::DemoFleet::new(1, chrono::Utc::now(), false).snapshot("argo");
    let mut app = demo
        .apps
        .into_iter()
        .find(|a| a.name == "payments")
        .expect("payments");
    app.revision = Some(revision.to_string());
    app.repo_url = Some(format!("{}/", repos.remote().display()));
    app.path = Some("/apps/payments".into());
    app
}

fn linked_state(repos: &Repos, live: &str) -> opsdeck::app::State {
    use opsdeck::app::state::SourceState;
    use opsdeck::model::Provides;
    let source = GitSource::new(
        "repo",
        repos.config(PushMode::Direct),
        Duration::from_secs(30),
    );
    let repo_snapshot = read(&source);
    let mut state = opsdeck::app::State::new(
        vec![
            SourceState::new("argo", "argocd", Provides::ALL, false),
            SourceState::new("repo", "git", Provides::ALL, false)
                .with_actions([ActionKind::Rollback]),
        ],
        opsdeck::app::Keymap::default(),
        false,
        chrono::Utc::now(),
    );
    let apps = Snapshot {
        apps: vec![deployed_app(repos, live)],
        ..Snapshot::default()
    };
    for (source, snapshot) in [(0, apps), (1, repo_snapshot)] {
        let event = opsdeck::sources::SourceEvent {
            source,
            at: chrono::Utc::now(),
            result: Ok(snapshot.into()),
        };
        opsdeck::app::update(&mut state, opsdeck::app::Msg::Source(event));
    }
    state
}

#[test]
fn a_repository_links_to_the_app_with_its_url_and_path_and_counts_pending_commits() {
    let repos = Repos::new();
    let state = linked_state(&repos, &repos.v2);
    let repo_app = &state.sources[1].snapshot.apps[0];
    assert_eq!(
        repo_app.linked,
        Some(Target::new("argo", TargetKind::App, "payments"))
    );
    assert_eq!(
        repo_app.pending,
        Some(1),
        "v3 touches payments and is not deployed yet"
    );
    assert_eq!(repo_app.sync, opsdeck::model::SyncStatus::OutOfSync);
    assert!(
        repo_app.production,
        "reverting here changes a production app"
    );
    let deployed = &state.sources[0].snapshot.apps[0];
    assert_eq!(
        deployed.linked,
        Some(Target::new("repo", TargetKind::App, "payments"))
    );
    let commit = deployed
        .revision_commit
        .as_ref()
        .expect("the commit it runs");
    assert_eq!(
        (commit.subject.as_str(), commit.author.as_str()),
        ("bump payments to v2", "Alice Deployer")
    );
    // The repository's view does not double the Overview's attention list.
    let overview = &state.pane(opsdeck::app::Tab::Overview).rows;
    assert!(overview.iter().all(|r| r.source == 0), "{overview:?}");

    let in_sync = linked_state(&repos, &repos.v3);
    assert_eq!(in_sync.sources[1].snapshot.apps[0].pending, Some(0));
    assert_eq!(
        in_sync.sources[1].snapshot.apps[0].sync,
        opsdeck::model::SyncStatus::Synced
    );
}

#[test]
fn rollback_on_a_repository_app_offers_a_revert_of_the_running_commit() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use opsdeck::app::state::Overlay;
    use opsdeck::app::{Command, Msg, update};
    let repos = Repos::new();
    let mut state = linked_state(&repos, &repos.v2);
    select_repo_row(&mut state);
    update(&mut state, Msg::Command(Command::Rollback));
    let Some(Overlay::Picker(picker)) = state.overlay.clone() else {
        panic!("picker expected: {:?}", state.status)
    };
    assert!(
        picker
            .title
            .starts_with("Revert which commit of repo/payments"),
        "{}",
        picker.title
    );
    assert!(
        picker.entries.iter().all(|e| !e.current),
        "every commit can be reverted"
    );
    assert_eq!(
        picker.entries[picker.selected].id, repos.v2,
        "the cursor starts on the commit that runs"
    );
    // The picker shows what the commit under the cursor changed.
    let screen = text(&render(&state, (120, 40)));
    assert!(
        screen.contains("+  image: payments:v2") && screen.contains("-  image: payments:v1"),
        "{screen}"
    );
    update(
        &mut state,
        Msg::Key(KeyEvent::new(KeyCode::Char('k'), KeyModifiers::NONE)),
    );
    let screen = text(&render(&state, (120, 40)));
    assert!(screen.contains("+  image: payments:v3"), "{screen}");
    update(
        &mut state,
        Msg::Key(KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE)),
    );
    update(
        &mut state,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    let Some(Overlay::Confirm(confirm)) = state.overlay.clone() else {
        panic!("confirm expected")
    };
    let effect = &confirm.action.effect;
    assert!(
        effect.starts_with(&format!(
            "revert {} \"bump payments to v2\" by Alice Deployer in repo/payments",
            &repos.v2[..7]
        )),
        "{effect}"
    );
    assert!(
        effect.contains("push it to main, then refresh argo/payments and follow it"),
        "{effect}"
    );
    assert_eq!(
        confirm.action.follow.as_ref().map(|f| f.target.clone()),
        Some(Target::new("argo", TargetKind::App, "payments"))
    );
    assert_eq!(
        confirm.required_text(),
        Some("payments"),
        "production: the name must be typed"
    );
}

/// Select the repository's row in the GitOps tab.
fn select_repo_row(state: &mut opsdeck::app::State) {
    use opsdeck::app::{Command, Msg, update};
    update(state, Msg::Command(Command::TabGitops));
    let pane = state.pane(opsdeck::app::Tab::GitOps);
    let row = pane
        .rows
        .iter()
        .position(|r| r.source == 1)
        .expect("repo row");
    for _ in 0..row {
        update(state, Msg::Command(Command::Down));
    }
}

fn render(state: &opsdeck::app::State, (w, h): (u16, u16)) -> ratatui::buffer::Buffer {
    let theme = opsdeck::theme::Theme::builtin("default").expect("theme");
    let mut terminal =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).expect("terminal");
    terminal
        .draw(|f| opsdeck::ui::draw(f, state, &theme))
        .expect("draw");
    terminal.backend().buffer().clone()
}

fn text(buffer: &ratatui::buffer::Buffer) -> String {
    let area = buffer.area;
    (0..area.height)
        .map(|y| {
            (0..area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
                + "\n"
        })
        .collect()
}

#[test]
fn the_repository_detail_shows_the_link_pending_commits_and_a_coloured_diff() {
    use opsdeck::app::{Command, Msg, update};
    let repos = Repos::new();
    let mut state = linked_state(&repos, &repos.v2);
    select_repo_row(&mut state);
    update(&mut state, Msg::Command(Command::Open));
    let theme = opsdeck::theme::Theme::builtin("default").expect("theme");
    let buffer = render(&state, (120, 80));
    let screen = text(&buffer);
    assert!(
        screen
            .lines()
            .any(|l| l.contains("deploys to") && l.contains("argo/payments")),
        "{screen}"
    );
    assert!(
        screen.contains("(running) bump payments to v2"),
        "the deployed commit is marked: {screen}"
    );
    assert!(
        screen.lines().any(|l| l
            .trim_start_matches(['│', ' '])
            .starts_with("--- a/apps/payments/deployment.yaml")),
        "{screen}"
    );
    assert!(screen.contains("1 commit not deployed yet"), "{screen}");
    assert!(
        screen.contains("Commits touching apps/payments (3)"),
        "{screen}"
    );
    assert!(
        screen.contains("Newest change to apps/payments"),
        "{screen}"
    );
    assert!(screen.contains("+  image: payments:v3"), "{screen}");
    // Removed lines are drawn in the error colour, added ones in the ok colour.
    let find = |needle: &str| {
        (0..buffer.area.height).find_map(|y| {
            let line: String = (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect();
            line.find(needle)
                .map(|col| buffer[(line[..col].chars().count() as u16, y)].fg)
        })
    };
    assert_eq!(
        find("+  image: payments:v3"),
        Some(theme.ok().fg.unwrap_or_default())
    );
    assert_eq!(
        find("-  image: payments:v2"),
        Some(theme.error().fg.unwrap_or_default())
    );
}
