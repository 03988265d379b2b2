//! Running custom commands: a foreground one gets the real terminal (the
//! dashboard leaves the alternate screen and raw mode, stops reading keys,
//! and comes back when it exits); a background one runs detached with its
//! output sent back, bounded by the state that keeps it. Both are audited
//! before they start and when they end, and both pass the read-only gate.

use std::process::Stdio;
use std::time::Duration;

use color_eyre::eyre::Result;
use crossterm::event::EventStream;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;

use crate::app::Msg;
use crate::app::audit::AuditLog;
use crate::app::custom::{CommandRun, Exit, check_allowed};
use crate::term;

/// The shell every template is run by.
const SHELL: &str = "sh";

/// A background command's output is sent in reads of at most this much.
const READ_CHUNK: usize = 8 * 1024;

/// The audit log's id for a run: unique across opsdeck processes.
fn audit_id(run: &CommandRun) -> String {
    format!(
        "{}-{}-cmd-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_millis(),
        run.id
    )
}

/// Gate and audit a run before it starts; Err: it must not run.
fn admit(audit: &AuditLog, read_only: bool, run: &CommandRun) -> Result<String, Exit> {
    check_allowed(&run.name, run.mutating, &run.target, read_only).map_err(Exit::NotStarted)?;
    let id = audit_id(run);
    audit.command_requested(&id, run).map_err(|e| {
        Exit::NotStarted(format!(
            "cannot write the audit log {}: {e}; not run",
            audit.path().display()
        ))
    })?;
    Ok(id)
}

fn record(audit: &AuditLog, id: &str, run: &CommandRun, exit: &Exit) {
    if let Err(e) = audit.command_outcome(id, run, exit) {
        tracing::error!(error = %e, command = %run.name, "cannot write the audit log");
    }
}

/// Hand the terminal to `run` and take it back when it exits. The key
/// reader is stopped first, so it never takes the command's input; a
/// Ctrl-C meant for the command does not end the dashboard.
pub(super) async fn foreground(
    terminal: &mut term::Term,
    keys: &mut EventStream,
    audit: &AuditLog,
    read_only: bool,
    run: &CommandRun,
) -> Result<Exit> {
    let id = match admit(audit, read_only, run) {
        Ok(id) => id,
        Err(exit) => return Ok(exit),
    };
    pause_keys(keys);
    term::restore()?;
    let exit = match IgnoreInterrupts::new() {
        Ok(_ignoring) => {
            let mut command = tokio::process::Command::new(SHELL);
            command.arg("-c").arg(&run.line);
            // SAFETY: only `signal`, which is async-signal-safe, runs between
            // fork and exec; SIG_DFL is a valid disposition.
            unsafe {
                command.pre_exec(|| {
                    libc::signal(libc::SIGINT, libc::SIG_DFL);
                    libc::signal(libc::SIGQUIT, libc::SIG_DFL);
                    Ok(())
                });
            }
            match command.status().await {
                Ok(status) => Exit::from_status(status),
                Err(e) => Exit::NotStarted(format!("{SHELL}: {e}")),
            }
        }
        Err(e) => Exit::NotStarted(format!("cannot set signals aside: {e}")),
    };
    term::resume()?;
    // Both of ratatui's buffers blank, so the next frame is drawn whole on
    // the cleared screen (its `clear` would ask the terminal where the
    // cursor is, and wait for the answer).
    terminal.swap_buffers();
    terminal.swap_buffers();
    *keys = EventStream::new();
    record(audit, &id, run, &exit);
    Ok(exit)
}

/// While a foreground command runs the dashboard ignores SIGINT and
/// SIGQUIT, as `system(3)` does: the terminal sends them to its whole
/// foreground process group, and they are meant for the command (which
/// gets the default dispositions back before it starts). Dropping it puts
/// the dashboard's own handlers back.
struct IgnoreInterrupts {
    saved: Vec<(libc::c_int, libc::sigaction)>,
}

impl IgnoreInterrupts {
    fn new() -> std::io::Result<IgnoreInterrupts> {
        let mut ignoring = IgnoreInterrupts { saved: Vec::new() };
        for signal in [libc::SIGINT, libc::SIGQUIT] {
            // SAFETY: sigaction is plain data; all-zero is a valid value.
            let mut ignore: libc::sigaction = unsafe { std::mem::zeroed() };
            ignore.sa_sigaction = libc::SIG_IGN;
            // SAFETY: as above.
            let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
            // SAFETY: both pointers are to valid sigaction values; SIG_IGN
            // is a valid disposition for these signals.
            if unsafe { libc::sigaction(signal, &ignore, &mut old) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
            ignoring.saved.push((signal, old));
        }
        Ok(ignoring)
    }
}

impl Drop for IgnoreInterrupts {
    fn drop(&mut self) {
        for (signal, old) in &self.saved {
            // SAFETY: `old` is the disposition sigaction returned for it.
            unsafe {
                libc::sigaction(*signal, old, std::ptr::null_mut());
            }
        }
    }
}

/// Stop reading keys: the stream's reader thread sits in a read of the
/// terminal until its stream is dropped. Taking the reader's lock (a
/// zero-timeout poll) waits until that thread has let go of it; no one
/// reads the terminal after that until a new stream is polled.
fn pause_keys(keys: &mut EventStream) {
    // A new stream starts its reader only when first polled.
    drop(std::mem::replace(keys, EventStream::new()));
    if let Err(e) = crossterm::event::poll(Duration::ZERO) {
        tracing::warn!(error = %e, "cannot take the terminal's key reader");
    }
}

/// Start `run` detached (its own process group, no terminal input) and
/// send its output and its end back through `msgs`.
pub(super) fn background(
    executor: std::sync::Arc<crate::app::executor::Executor>,
    read_only: bool,
    run: CommandRun,
    msgs: mpsc::Sender<Msg>,
) {
    tokio::spawn(async move {
        let audit = executor.audit();
        let exit = match admit(audit, read_only, &run) {
            Err(exit) => exit,
            Ok(id) => {
                let exit = run_detached(&run, &msgs).await;
                record(audit, &id, &run, &exit);
                exit
            }
        };
        let _ = msgs
            .send(Msg::CommandExited {
                id: run.id,
                name: run.name.clone(),
                exit,
            })
            .await;
    });
}

async fn run_detached(run: &CommandRun, msgs: &mpsc::Sender<Msg>) -> Exit {
    let child = tokio::process::Command::new(SHELL)
        .arg("-c")
        .arg(&run.line)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Keys and Ctrl-C in the dashboard never reach it.
        .process_group(0)
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return Exit::NotStarted(format!("{SHELL}: {e}")),
    };
    let out = pump(child.stdout.take(), run.id, msgs);
    let err = pump(child.stderr.take(), run.id, msgs);
    let (_, _, status) = tokio::join!(out, err, child.wait());
    match status {
        Ok(status) => Exit::from_status(status),
        Err(e) => Exit::NotStarted(format!("cannot wait for it: {e}")),
    }
}

/// Send what a pipe gives until it closes (or the dashboard is gone).
async fn pump(pipe: Option<impl AsyncRead + Unpin>, id: u64, msgs: &mpsc::Sender<Msg>) {
    let Some(mut pipe) = pipe else { return };
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let bytes = buf[..n].to_vec();
                if msgs.send(Msg::CommandOutput { id, bytes }).await.is_err() {
                    return;
                }
            }
        }
    }
}
