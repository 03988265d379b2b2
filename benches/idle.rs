//! How calm an idle dashboard is: the real release binary in a 120×40
//! pseudo-terminal over a demo fleet that never moves by itself. Reports the
//! time to the first frame, then over an idle window the bytes written to the
//! terminal per second and the CPU used (from /proc, as % of one core), each
//! against its target. It reports; it does not gate (exit 0 unless opsdeck
//! could not be started).
//!
//! `cargo bench --bench idle` measures a 10 s window; run as a test
//! (`cargo test --benches`, no `--bench` argument) it takes a 1 s window, to
//! check that it still works.

#[path = "../tests/common/pty.rs"]
mod pty;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use pty::{Pty, Spawn};

/// One demo source, frozen: nothing changes unless someone acts.
const PAUSED_DEMO: &str = r#"
[[source]]
name = "demo"
kind = "demo"
seed = 42
paused = true
"#;

const COLS: u16 = 120;
const ROWS: u16 = 40;
const IDLE_WINDOW: Duration = Duration::from_secs(10);
const SMOKE_WINDOW: Duration = Duration::from_secs(1);
const START_TIMEOUT: Duration = Duration::from_secs(30);
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

const FIRST_FRAME_TARGET: Duration = Duration::from_millis(100);
const OUTPUT_TARGET_BYTES_PER_S: f64 = 1024.0;
const CPU_TARGET_PERCENT: f64 = 1.0;

fn verdict(pass: bool) -> &'static str {
    if pass { "ok" } else { "OVER TARGET" }
}

fn main() -> ExitCode {
    let window = if std::env::args().any(|a| a == "--bench") {
        IDLE_WINDOW
    } else {
        SMOKE_WINDOW
    };
    println!(
        "opsdeck idle: {} in a {COLS}x{ROWS} pty, paused demo fleet",
        pty::BINARY
    );

    let p = match Spawn::default()
        .size(COLS, ROWS)
        .config(PAUSED_DEMO)
        .start()
    {
        Ok(p) => p,
        Err(e) => {
            eprintln!("idle: cannot start opsdeck: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (first, first_frame) = match p.first_drawn_frame(START_TIMEOUT) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("idle: opsdeck drew no first frame: {e}");
            return ExitCode::FAILURE;
        }
    };
    let tab_bar = ["1 Overview", "2 Pipelines", "3 GitOps", "4 Drift"];
    if !tab_bar.iter().all(|t| first.contains(t)) {
        println!("note: the first frame has no tab bar:\n{first}");
    }

    // Idle means loaded: wait until the source has been read, then measure.
    if let Err(e) = p.wait_until("the demo source read", START_TIMEOUT, |s| {
        let c = s.contents();
        c.contains("demo ✓") && !c.contains("loading")
    }) {
        eprintln!("idle: the demo source was never read: {e}");
        return ExitCode::FAILURE;
    }
    let loaded = p.started().elapsed();

    match measure(&p, window) {
        Ok(idle) => report(first_frame, loaded, window, &idle),
        Err(e) => eprintln!("idle: cannot measure: {e}"),
    }
    stop(p);
    ExitCode::SUCCESS
}

struct Idle {
    bytes: u64,
    frames: u64,
    cpu_ticks: u64,
    ticks_per_s: u64,
    elapsed: Duration,
}

/// Bytes, frames and CPU ticks over `window` of doing nothing.
fn measure(p: &Pty, window: Duration) -> Result<Idle, String> {
    let ticks_per_s = pty::clock_ticks_per_second();
    let (bytes0, frames0, cpu0) = (p.bytes_written(), p.frames(), p.cpu_ticks()?);
    let t0 = Instant::now();
    // The window is the measurement itself, not a wait for something.
    std::thread::sleep(window);
    let (bytes1, frames1, cpu1) = (p.bytes_written(), p.frames(), p.cpu_ticks()?);
    Ok(Idle {
        bytes: bytes1 - bytes0,
        frames: frames1 - frames0,
        cpu_ticks: cpu1.saturating_sub(cpu0),
        ticks_per_s,
        elapsed: t0.elapsed(),
    })
}

fn report(first_frame: Duration, loaded: Duration, window: Duration, idle: &Idle) {
    let secs = idle.elapsed.as_secs_f64();
    let bytes_per_s = idle.bytes as f64 / secs;
    let frames_per_s = idle.frames as f64 / secs;
    let cpu_percent = idle.cpu_ticks as f64 / idle.ticks_per_s as f64 / secs * 100.0;
    let resolution = 100.0 / idle.ticks_per_s as f64 / secs;

    println!(
        "first frame: {} ms (target < {} ms: {})",
        first_frame.as_millis(),
        FIRST_FRAME_TARGET.as_millis(),
        verdict(first_frame < FIRST_FRAME_TARGET)
    );
    println!("data on screen: {} ms", loaded.as_millis());
    println!(
        "idle window: {:.1} s{}",
        secs,
        if window < IDLE_WINDOW {
            " (smoke run: pass --bench for 10 s)"
        } else {
            ""
        }
    );
    println!(
        "idle output: {bytes_per_s:.0} B/s ({} bytes, {frames_per_s:.1} frames/s) (target < 1 KB/s: {})",
        idle.bytes,
        verdict(bytes_per_s < OUTPUT_TARGET_BYTES_PER_S)
    );
    println!(
        "idle cpu: {cpu_percent:.2} % of a core ({} ticks at {}/s, resolution {resolution:.2} %) (target < {CPU_TARGET_PERCENT} %: {})",
        idle.cpu_ticks,
        idle.ticks_per_s,
        verdict(cpu_percent < CPU_TARGET_PERCENT)
    );
}

/// Quit the way a person does, and say if that did not work.
fn stop(mut p: Pty) {
    p.send("q");
    match p.wait_exit(EXIT_TIMEOUT) {
        Ok(status) if status.success() => {}
        Ok(status) => eprintln!("idle: opsdeck exited with {status:?} after q"),
        Err(e) => eprintln!("idle: {e}"),
    }
}
