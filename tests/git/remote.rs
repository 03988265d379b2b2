//! Remotes for real: a revert pushed over `git daemon`, a url source cloned into
//! the cache, the headless rollback that reverts then follows, git errors naming the clone.

use super::*;

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
