//! Starting a real server for the length of one test binary: find its
//! binary, give it a free port and a temp dir, wait until its health
//! endpoint answers, and make sure it dies with the test binary.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often readiness is checked while waiting for it.
const READY_POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Whether this run is CI, where an absent server is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A program from `$env_var`, else PATH, else one of `extra` paths.
pub fn locate(env_var: &str, name: &str, extra: &[PathBuf]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env_var).filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        // Set but wrong is a mistake to report, not a reason to skip.
        assert!(
            p.is_file(),
            "{env_var}={} does not exist: fix or unset it",
            p.display()
        );
        return Some(p);
    }
    let in_path = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(name))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    in_path
        .into_iter()
        .chain(extra.iter().cloned())
        .find(|p| p.is_file())
}

/// The skip rule: None (with a message) when absent, a panic in CI.
pub fn require(found: Option<PathBuf>, what: &str, how: &str) -> Option<PathBuf> {
    match found {
        Some(p) => Some(p),
        None if in_ci() => panic!("{what} is required in CI (CI=true) but was not found. {how}"),
        None => {
            eprintln!("skipping: {what} not found. {how}");
            None
        }
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

/// A server process that lives as long as the test binary: it runs under a
/// small shell that waits on our end of a pipe; when this process exits for
/// any reason the pipe closes, and the shell kills the server's process
/// group and removes its temp dir.
pub struct Server {
    pub port: u16,
    pub dir: PathBuf,
    pub log: PathBuf,
    child: Mutex<Child>,
    _lifeline: Mutex<ChildStdin>,
}

impl Server {
    /// Start `program args…` with its output in `dir/server.log`.
    pub fn start(
        program: &Path,
        args: &[String],
        dir: PathBuf,
        port: u16,
        env: &[(&str, &str)],
    ) -> Server {
        let log = dir.join("server.log");
        let log_file = std::fs::File::create(&log).expect("server log");
        let script = r#"dir=$1; shift
set -m
"$@" </dev/null &
pid=$!
cat >/dev/null
kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
rm -rf "$dir""#;
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(script)
            .arg("opsdeck-test-server")
            .arg(&dir)
            .arg(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(log_file.try_clone().expect("log"))
            .stderr(log_file);
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let lifeline = child.stdin.take().expect("piped stdin");
        Server {
            port,
            dir,
            log,
            child: Mutex::new(child),
            _lifeline: Mutex::new(lifeline),
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Wait until `GET path` answers 200, or fail with the server's log.
    pub fn wait_ready(&self, path: &str, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            if let Some((200, _)) = http_get(self.port, path) {
                return;
            }
            let exited = self
                .child
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .try_wait()
                .ok()
                .flatten();
            if let Some(status) = exited {
                panic!(
                    "the server exited ({status}) before it was ready:\n{}",
                    self.log_tail()
                );
            }
            assert!(
                Instant::now() < deadline,
                "the server did not answer GET {path} within {within:?}:\n{}",
                self.log_tail()
            );
            std::thread::sleep(READY_POLL_INTERVAL);
        }
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

/// A plain HTTP/1.0 GET on 127.0.0.1: status and body, None if nothing answers.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    Some((status, body))
}

/// Run async setup on a thread of its own (tests call the harness from
/// inside their own runtime, which cannot be blocked on).
pub fn block_on_thread<T: Send>(f: impl std::future::Future<Output = T> + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(f)
        })
        .join()
        .expect("setup thread")
    })
}
