//! A small harness that runs the real `opsdeck` binary in a pseudo-terminal,
//! types keys into it and reads the screen back through a vt100 parser.
//!
//! Every wait is for an observable condition (text on the screen, the process
//! having exited, the output having ended), never a fixed sleep.
//!
//! Frames: Rust's stdout buffers little (up to a newline or 1 KiB), so one
//! frame reaches the pty in several writes and a reader can catch half of it. ratatui ends every frame
//! by setting the cursor's visibility (`ESC[?25l`, or `ESC[?25h` when a frame
//! places the cursor), so the reader keeps a copy of the screen as it was at
//! the end of the last complete frame, and [`Pty::wait_until`] judges that
//! copy: a condition is never met, or missed, on a half-drawn screen.
//! [`Pty::wait_until_live`] judges the screen as parsed so far (for output
//! that is not a frame: error messages, the restored terminal).
//!
//! Shared by the integration tests (`tests/pty.rs`) and the idle benchmark
//! (`benches/idle.rs`), so not every item is used by both.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, ExitStatus, MasterPty, PtySize, native_pty_system};

/// The binary under test, built by cargo for this test or bench run.
pub const BINARY: &str = env!("CARGO_BIN_EXE_opsdeck");

/// The value of `$USER` inside the pty, so the audit log's `user` is known.
pub const TEST_USER: &str = "pty-tester";

/// `Result<T, String>` → `T`, panicking with the message as written (with its
/// screen dump), not `Debug`-escaped as `unwrap` would print it.
pub trait Must<T> {
    fn must(self) -> T;
}

impl<T> Must<T> for Result<T, String> {
    #[track_caller]
    fn must(self) -> T {
        match self {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        }
    }
}

/// Raw bytes a terminal sends for a key.
pub mod keys {
    pub const ENTER: &str = "\r";
    pub const ESC: &str = "\x1b";
    pub const TAB: &str = "\t";
    pub const SHIFT_TAB: &str = "\x1b[Z";
    pub const BACKSPACE: &str = "\x7f";
    pub const UP: &str = "\x1b[A";
    pub const DOWN: &str = "\x1b[B";
    pub const RIGHT: &str = "\x1b[C";
    pub const LEFT: &str = "\x1b[D";
    pub const CTRL_C: &str = "\x03";
}

/// How to start opsdeck.
#[derive(Clone, Debug)]
pub struct Spawn {
    pub cols: u16,
    pub rows: u16,
    /// Arguments after the binary name (the audit-log flag is added unless `audit_flag` is false).
    pub args: Vec<String>,
    /// Written to `<tempdir>/config.toml` and passed with `--config`.
    pub config: Option<String>,
    /// Pass `--audit-log <tempdir>/audit.jsonl`.
    pub audit_flag: bool,
    /// Extra environment variables (on top of the clean, controlled set).
    pub env: Vec<(String, String)>,
    /// Keep every byte the program writes (`Pty::raw_output`).
    pub record: bool,
}

impl Default for Spawn {
    fn default() -> Self {
        Spawn {
            cols: 80,
            rows: 24,
            args: Vec::new(),
            config: None,
            audit_flag: true,
            env: Vec::new(),
            record: false,
        }
    }
}

impl Spawn {
    /// `opsdeck --demo` at 80×24.
    pub fn demo() -> Self {
        Spawn::default().args(["--demo"])
    }

    pub fn size(mut self, cols: u16, rows: u16) -> Self {
        self.cols = cols;
        self.rows = rows;
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn config(mut self, toml: impl Into<String>) -> Self {
        self.config = Some(toml.into());
        self
    }

    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Keep the raw output, for what the screen does not show (BEL, OSC).
    pub fn record_output(mut self) -> Self {
        self.record = true;
        self
    }

    pub fn start(self) -> Result<Pty, String> {
        Pty::spawn(self)
    }
}

/// The directories opsdeck sees as home, config and state, all inside one tempdir.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Result<Self, String> {
        let dir = tempfile::Builder::new()
            .prefix("opsdeck-pty-")
            .tempdir()
            .map_err(|e| format!("cannot create a tempdir: {e}"))?;
        for sub in ["home", "config", "state"] {
            std::fs::create_dir_all(dir.path().join(sub))
                .map_err(|e| format!("cannot create {sub}: {e}"))?;
        }
        Ok(Sandbox { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn home(&self) -> PathBuf {
        self.path().join("home")
    }

    pub fn config_home(&self) -> PathBuf {
        self.path().join("config")
    }

    pub fn state_home(&self) -> PathBuf {
        self.path().join("state")
    }

    pub fn audit_log(&self) -> PathBuf {
        self.path().join("audit.jsonl")
    }

    /// The clean environment every run gets: nothing inherited from the
    /// developer's or CI's shell except `PATH`.
    pub fn env(&self) -> Vec<(String, String)> {
        let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
        let s = |p: PathBuf| p.display().to_string();
        vec![
            ("PATH".into(), path),
            ("TERM".into(), "xterm-256color".into()),
            ("LANG".into(), "C.UTF-8".into()),
            ("LC_ALL".into(), "C.UTF-8".into()),
            ("HOME".into(), s(self.home())),
            ("XDG_CONFIG_HOME".into(), s(self.config_home())),
            ("XDG_STATE_HOME".into(), s(self.state_home())),
            ("USER".into(), TEST_USER.into()),
            ("LOGNAME".into(), TEST_USER.into()),
            ("RUST_BACKTRACE".into(), "1".into()),
        ]
    }
}

/// What the reader thread keeps up to date.
struct Term {
    parser: vt100::Parser,
    /// The screen at the end of the last complete frame.
    frame: vt100::Screen,
    /// Complete frames seen.
    frames: u64,
    /// Every byte opsdeck wrote to the terminal.
    bytes: u64,
    /// The pty reached end of file (every writer, i.e. the child, is gone).
    eof: bool,
    /// How much of [`FRAME_END`] the bytes so far end with.
    marker: usize,
    /// The first complete frame with anything on it, and when it was complete.
    first_drawn: Option<(vt100::Screen, Instant)>,
    /// Every byte, when the spawn asked for it.
    raw: Option<Vec<u8>>,
}

/// A frame ends with `ESC [ ? 2 5` then `l` (hide the cursor) or `h` (show it).
const FRAME_END: &[u8] = b"\x1b[?25";

impl Term {
    fn new(rows: u16, cols: u16, record: bool) -> Term {
        let parser = vt100::Parser::new(rows, cols, 0);
        let frame = parser.screen().clone();
        Term {
            parser,
            frame,
            frames: 0,
            bytes: 0,
            eof: false,
            marker: 0,
            first_drawn: None,
            raw: record.then(Vec::new),
        }
    }

    /// Parse `bytes`, taking a copy of the screen at each frame's end.
    fn feed(&mut self, bytes: &[u8]) {
        self.bytes += bytes.len() as u64;
        if let Some(raw) = &mut self.raw {
            raw.extend_from_slice(bytes);
        }
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if self.marker == FRAME_END.len() {
                self.marker = 0;
                if b == b'l' || b == b'h' {
                    self.parser.process(&bytes[start..=i]);
                    start = i + 1;
                    self.frame = self.parser.screen().clone();
                    self.frames += 1;
                    if self.first_drawn.is_none() && !self.frame.contents().trim().is_empty() {
                        self.first_drawn = Some((self.frame.clone(), Instant::now()));
                    }
                    continue;
                }
            }
            self.marker = if b == FRAME_END[self.marker] {
                self.marker + 1
            } else if b == FRAME_END[0] {
                1
            } else {
                0
            };
        }
        self.parser.process(&bytes[start..]);
    }
}

struct Shared {
    term: Mutex<Term>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Term> {
        self.term.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running opsdeck in a pseudo-terminal.
pub struct Pty {
    pub sandbox: Sandbox,
    master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    status: Option<ExitStatus>,
    shared: Arc<Shared>,
    reader: Option<JoinHandle<()>>,
    pid: u32,
    started: Instant,
    size: (u16, u16),
}

impl Pty {
    pub fn spawn(spec: Spawn) -> Result<Pty, String> {
        let sandbox = Sandbox::new()?;
        let mut cmd = CommandBuilder::new(BINARY);
        cmd.env_clear();
        for (k, v) in sandbox.env().into_iter().chain(spec.env.iter().cloned()) {
            cmd.env(k, v);
        }
        cmd.cwd(sandbox.path());
        if let Some(toml) = &spec.config {
            let path = sandbox.path().join("config.toml");
            std::fs::write(&path, toml)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            cmd.arg("--config");
            cmd.arg(&path);
        }
        if spec.audit_flag {
            cmd.arg("--audit-log");
            cmd.arg(sandbox.audit_log());
        }
        for a in &spec.args {
            cmd.arg(a);
        }

        let pair = native_pty_system()
            .openpty(PtySize {
                rows: spec.rows,
                cols: spec.cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .map_err(|e| format!("cannot open a pty: {e}"))?;
        let shared = Arc::new(Shared {
            term: Mutex::new(Term::new(spec.rows, spec.cols, spec.record)),
            changed: Condvar::new(),
        });
        let mut reader = pair
            .master
            .try_clone_reader()
            .map_err(|e| format!("cannot read the pty: {e}"))?;
        let writer = pair
            .master
            .take_writer()
            .map_err(|e| format!("cannot write the pty: {e}"))?;
        let started = Instant::now();
        let child = pair
            .slave
            .spawn_command(cmd)
            .map_err(|e| format!("cannot start {BINARY}: {e}"))?;
        // Only the child holds the slave side now, so its exit ends the output.
        drop(pair.slave);
        let pid = child.process_id().ok_or("the child has no process id")?;

        let feed = shared.clone();
        let reader = std::thread::Builder::new()
            .name(format!("pty-reader-{pid}"))
            .spawn(move || {
                let mut buf = [0u8; 16 * 1024];
                loop {
                    match reader.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => {
                            feed.lock().feed(&buf[..n]);
                            feed.changed.notify_all();
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        // EIO: the slave side closed (the child exited).
                        Err(_) => break,
                    }
                }
                feed.lock().eof = true;
                feed.changed.notify_all();
            })
            .map_err(|e| format!("cannot start the reader thread: {e}"))?;

        Ok(Pty {
            sandbox,
            master: pair.master,
            writer,
            child,
            status: None,
            shared,
            reader: Some(reader),
            pid,
            started,
            size: (spec.cols, spec.rows),
        })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// When the child was spawned.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Bytes opsdeck has written to the terminal so far.
    pub fn bytes_written(&self) -> u64 {
        self.shared.lock().bytes
    }

    pub fn audit_log(&self) -> PathBuf {
        self.sandbox.audit_log()
    }

    /// Type raw bytes, as a terminal would send them.
    pub fn send(&mut self, text: &str) {
        self.writer
            .write_all(text.as_bytes())
            .and_then(|()| self.writer.flush())
            .unwrap_or_else(|e| panic!("cannot type {text:?} into the pty: {e}"));
    }

    /// Alias of [`send`](Self::send) for the constants in [`keys`].
    pub fn send_key(&mut self, key: &str) {
        self.send(key);
    }

    /// Complete frames drawn so far.
    pub fn frames(&self) -> u64 {
        self.shared.lock().frames
    }

    /// Wait for the first complete frame with anything on it (entering the
    /// alternate screen makes an empty one before it): its text, and how long
    /// after the spawn it was complete.
    pub fn first_drawn_frame(&self, timeout: Duration) -> Result<(String, Duration), String> {
        self.wait("a first frame with something on it", timeout, |term| {
            term.first_drawn.is_some()
        })?;
        let term = self.shared.lock();
        let (screen, at) = term.first_drawn.as_ref().ok_or("no first frame")?;
        Ok((screen.contents(), at.duration_since(self.started)))
    }

    /// Every byte written so far (empty unless spawned with `record_output`).
    pub fn raw_output(&self) -> Vec<u8> {
        self.shared.lock().raw.clone().unwrap_or_default()
    }

    /// Wait until `done` holds for the raw output so far.
    pub fn wait_raw(
        &self,
        what: &str,
        timeout: Duration,
        mut done: impl FnMut(&[u8]) -> bool,
    ) -> Result<(), String> {
        self.wait(what, timeout, |term| {
            done(term.raw.as_deref().unwrap_or(&[]))
        })
    }

    /// The text of the last complete frame, one line per row.
    pub fn screen(&self) -> String {
        self.shared.lock().frame.contents()
    }

    /// The text of the screen as parsed so far (mid-frame, or after exit).
    pub fn live_screen(&self) -> String {
        self.shared.lock().parser.screen().contents()
    }

    /// Read anything from the last complete frame.
    pub fn with_screen<R>(&self, f: impl FnOnce(&vt100::Screen) -> R) -> R {
        f(&self.shared.lock().frame)
    }

    /// Read anything from the screen as parsed so far.
    pub fn with_live_screen<R>(&self, f: impl FnOnce(&vt100::Screen) -> R) -> R {
        f(self.shared.lock().parser.screen())
    }

    /// Wait until `done` holds for a complete frame; on timeout the error
    /// names `what` and shows the screen.
    pub fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        mut done: impl FnMut(&vt100::Screen) -> bool,
    ) -> Result<(), String> {
        self.wait(what, timeout, |term| done(&term.frame))
    }

    /// Wait until `done` holds for the screen as parsed so far.
    pub fn wait_until_live(
        &self,
        what: &str,
        timeout: Duration,
        mut done: impl FnMut(&vt100::Screen) -> bool,
    ) -> Result<(), String> {
        self.wait(what, timeout, |term| done(term.parser.screen()))
    }

    fn wait(
        &self,
        what: &str,
        timeout: Duration,
        mut done: impl FnMut(&Term) -> bool,
    ) -> Result<(), String> {
        let begun = Instant::now();
        let deadline = begun + timeout;
        let mut term = self.shared.lock();
        loop {
            if done(&term) {
                return Ok(());
            }
            let now = Instant::now();
            if now >= deadline || term.eof {
                let why = if term.eof {
                    "the program's output ended"
                } else {
                    "timed out"
                };
                return Err(format!(
                    "{why} after {:?} waiting for {what}\n{}",
                    begun.elapsed(),
                    describe(&term),
                ));
            }
            term = self
                .shared
                .changed
                .wait_timeout(term, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Wait until a complete frame contains `text`.
    pub fn wait_for(&self, text: &str, timeout: Duration) -> Result<(), String> {
        self.wait_until(&format!("{text:?} on screen"), timeout, |s| {
            s.contents().contains(text)
        })
    }

    /// Wait until a complete frame contains every one of `texts`.
    pub fn wait_for_all(&self, texts: &[&str], timeout: Duration) -> Result<(), String> {
        self.wait_until(&format!("all of {texts:?} on screen"), timeout, |s| {
            let c = s.contents();
            texts.iter().all(|t| c.contains(t))
        })
    }

    /// Wait until a complete frame no longer contains `text`.
    pub fn wait_gone(&self, text: &str, timeout: Duration) -> Result<(), String> {
        self.wait_until(&format!("{text:?} to leave the screen"), timeout, |s| {
            !s.contents().contains(text)
        })
    }

    /// Wait until the pty's output has ended (the child and every process
    /// holding the terminal are gone) and every byte has been parsed.
    pub fn wait_for_eof(&self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let mut term = self.shared.lock();
        while !term.eof {
            let now = Instant::now();
            if now >= deadline {
                return Err(format!(
                    "the pty output did not end within {timeout:?}\n{}",
                    describe(&term)
                ));
            }
            term = self
                .shared
                .changed
                .wait_timeout(term, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        Ok(())
    }

    /// The exit status if the child has exited.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status.clone()
    }

    /// Wait for the child to exit and for every byte it wrote to be parsed.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<ExitStatus, String> {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = self.try_status() {
                break status;
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "opsdeck did not exit within {timeout:?}\n{}",
                    self.dump()
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_secs(5));
        self.wait_for_eof(left)?;
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        Ok(status)
    }

    /// Send a signal (`TERM`, `HUP`, …) to the child with `kill(1)`.
    pub fn signal(&self, name: &str) -> Result<(), String> {
        let out = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid.to_string())
            .output()
            .map_err(|e| format!("cannot run kill: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "kill -{name} {} failed: {}",
                self.pid,
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// Resize the terminal (the child gets SIGWINCH) and the parser with it.
    pub fn resize(&mut self, cols: u16, rows: u16) -> Result<(), String> {
        if cols == 0 || rows == 0 {
            return Err(format!(
                "cannot resize to {cols}x{rows}: the screen model needs at least 1x1"
            ));
        }
        let mut term = self.shared.lock();
        self.master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .map_err(|e| format!("cannot resize the pty to {cols}x{rows}: {e}"))?;
        term.parser.screen_mut().set_size(rows, cols);
        self.size = (cols, rows);
        Ok(())
    }

    pub fn size(&self) -> (u16, u16) {
        self.size
    }

    /// The screen, framed, with the cursor and mode flags, for failure messages.
    pub fn dump(&self) -> String {
        describe(&self.shared.lock())
    }

    /// User and system CPU time the child has used, from `/proc/<pid>/stat`,
    /// in clock ticks.
    pub fn cpu_ticks(&self) -> Result<u64, String> {
        cpu_ticks(self.pid)
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if self.try_status().is_none() {
            // SIGHUP, then SIGKILL after a short grace period (portable-pty).
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The last complete frame and, when it differs, the screen as parsed so far.
fn describe(term: &Term) -> String {
    let frame = dump(&term.frame);
    let live = dump(term.parser.screen());
    let head = format!("{} bytes, {} complete frames", term.bytes, term.frames);
    if frame == live {
        format!("{head}; the screen:\n{frame}")
    } else {
        format!("{head}; the last complete frame:\n{frame}\nthe screen as parsed so far:\n{live}")
    }
}

/// A screen framed for a failure message.
pub fn dump(screen: &vt100::Screen) -> String {
    let (rows, cols) = screen.size();
    let rule = "-".repeat(usize::from(cols));
    let mut out = format!(
        "screen {cols}x{rows}, alternate screen: {}, cursor hidden: {}\n+{rule}+\n",
        screen.alternate_screen(),
        screen.hide_cursor()
    );
    for line in screen.rows(0, cols) {
        let pad = usize::from(cols).saturating_sub(line.chars().count());
        out.push('|');
        out.push_str(&line);
        out.push_str(&" ".repeat(pad));
        out.push_str("|\n");
    }
    out.push('+');
    out.push_str(&rule);
    out.push('+');
    out
}

/// utime + stime of a process, in clock ticks (fields 14 and 15 of `/proc/<pid>/stat`).
pub fn cpu_ticks(pid: u32) -> Result<u64, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("/proc/{pid}/stat: {e}"))?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or("unexpected /proc stat format")?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3 (state), so utime (14) and stime (15) are at 11 and 12.
    let parse = |i: usize| -> Result<u64, String> {
        fields
            .get(i)
            .ok_or("short /proc stat line")?
            .parse::<u64>()
            .map_err(|e| e.to_string())
    };
    Ok(parse(11)? + parse(12)?)
}

/// Clock ticks per second (`getconf CLK_TCK`), 100 when it cannot be asked.
pub fn clock_ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}
