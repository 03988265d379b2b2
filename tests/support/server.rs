//! Starting a real server for the length of one test binary: find its
//! binary (or say the test is skipped), let it bind port 0 and read the
//! port it got from its log (nothing can take the port between a probe
//! and the bind), wait until its health endpoint answers, and make sure it
//! dies with the test binary.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How often readiness is checked while waiting for it.
const READY_POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Whether this run is CI, where an absent server is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A program from `$env_var`, else PATH, else one of `extra` paths; when
/// none is there, what to tell the engineer.
pub fn locate(env_var: &str, name: &str, extra: &[PathBuf]) -> Result<PathBuf, Missing> {
    if let Some(p) = std::env::var_os(env_var).filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
        // Said in the skip line, so a typo in the variable is seen.
        return Err(Missing::new(
            name,
            format!("{env_var}={} does not exist", p.display()),
        ));
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
        .ok_or_else(|| Missing::new(name, format!("not on PATH and {env_var} is unset")))
}

/// A tool or server a test needs and this machine lacks.
#[derive(Debug, Clone)]
pub struct Missing {
    what: String,
    why: String,
}

impl Missing {
    pub fn new(what: &str, why: impl Into<String>) -> Missing {
        Missing {
            what: what.to_string(),
            why: why.into(),
        }
    }

    /// The skip rule, for the calling test: say it was skipped where
    /// `cargo test` shows it even when the test passes, or fail under CI.
    pub fn skip(&self, how: &str) {
        let test = std::thread::current()
            .name()
            .unwrap_or("a test")
            .to_string();
        let what = &self.what;
        let why = &self.why;
        assert!(
            !in_ci(),
            "{what} is not installed ({why}), and with CI=true a missing tool fails {test} \
             instead of skipping it. {how}"
        );
        // libtest captures print!/eprint! of passing tests; a write to the
        // process's stderr is not captured, so the skip stays visible.
        let _ = writeln!(
            std::io::stderr().lock(),
            "skipped: {what} is not installed ({why}; in {test}). {how}"
        );
    }
}

/// The server shared by one test binary, started on first use; None (after
/// the calling test said it is skipped) when it is not installed.
pub fn shared<T>(
    cell: &'static OnceLock<Result<T, Missing>>,
    start: fn() -> Result<T, Missing>,
    how: &str,
) -> Option<&'static T> {
    match cell.get_or_init(start) {
        Ok(server) => Some(server),
        Err(missing) => {
            missing.skip(how);
            None
        }
    }
}

/// The port a server announced in its log after binding 127.0.0.1:0, from
/// the lines Prometheus ("Listening on" address=127.0.0.1:N), uvicorn
/// ("running on http://127.0.0.1:N") and gunicorn ("Listening at: …") write.
fn announced_port(log: &str) -> Option<u16> {
    log.lines()
        .filter(|line| {
            let line = line.to_ascii_lowercase();
            ["listening on", "listening at", "running on"]
                .iter()
                .any(|m| line.contains(m))
        })
        .filter_map(|line| {
            let (_, after) = line.rsplit_once("127.0.0.1:")?;
            let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u16>().ok().filter(|&p| p != 0)
        })
        .next()
}

/// A port on 127.0.0.1 where connections are refused, held for as long as
/// the returned socket lives: bound but not listening, so no other server
/// can take the port while a test counts on nobody being there.
pub fn refused_port() -> (tokio::net::TcpSocket, u16) {
    let socket = tokio::net::TcpSocket::new_v4().expect("a TCP socket");
    socket
        .bind("127.0.0.1:0".parse().expect("an address"))
        .expect("bind a free port");
    let port = socket.local_addr().expect("local addr").port();
    (socket, port)
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
    /// Start `program args…` (which make it listen on 127.0.0.1:0) with its
    /// output in `dir/server.log`, and wait up to `within` for the port it
    /// announces there.
    pub fn start(
        program: &Path,
        args: &[String],
        dir: PathBuf,
        env: &[(&str, &str)],
        within: Duration,
    ) -> Server {
        let mut server = Server::spawn(program, args, dir, env);
        server.port = server.wait_for_port(within);
        server
    }

    /// Start `program args…` that listens on no port of its own (a worker
    /// beside a server: Airflow's scheduler), with the same lifeline.
    pub fn spawn(program: &Path, args: &[String], dir: PathBuf, env: &[(&str, &str)]) -> Server {
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
            port: 0,
            dir,
            log,
            child: Mutex::new(child),
            _lifeline: Mutex::new(lifeline),
        }
    }

    /// The port the server bound, once its log says so.
    fn wait_for_port(&self, within: Duration) -> u16 {
        let deadline = Instant::now() + within;
        loop {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            if let Some(port) = announced_port(&text) {
                return port;
            }
            self.assert_running("announced its port");
            assert!(
                Instant::now() < deadline,
                "the server did not say which port it listens on within {within:?}:\n{}",
                self.log_tail()
            );
            std::thread::sleep(READY_POLL_INTERVAL);
        }
    }

    /// Fail with the server's log if it has exited.
    pub fn assert_running(&self, before: &str) {
        let exited = self
            .child
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .try_wait()
            .ok()
            .flatten();
        if let Some(status) = exited {
            panic!(
                "the server exited ({status}) before it {before}:\n{}",
                self.log_tail()
            );
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
            self.assert_running("was ready");
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

#[test]
fn ports_are_read_from_what_each_server_logs() {
    let prometheus = "ts=1 caller=web.go:503 msg=\"Start listening for connections\" address=127.0.0.1:0\n\
                      ts=2 caller=tls_config.go:232 msg=\"Listening on\" address=127.0.0.1:41923\n";
    assert_eq!(announced_port(prometheus), Some(41923));
    let uvicorn = "INFO:     Uvicorn running on http://127.0.0.1:38973 (Press CTRL+C to quit)";
    assert_eq!(announced_port(uvicorn), Some(38973));
    let gunicorn = "[INFO] Listening at: http://127.0.0.1:5001 (123)";
    assert_eq!(announced_port(gunicorn), Some(5001));
    assert_eq!(
        announced_port("INFO: Waiting for application startup."),
        None
    );
}
