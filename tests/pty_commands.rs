//! Custom commands as a person meets them, through the real binary in a
//! pseudo-terminal: a foreground command takes the terminal (its input is
//! its own, a Ctrl-C meant for it does not end the dashboard) and gives it
//! back with its exit status shown and audited; a background command's
//! output appears in its view as it comes.
//!
//! Every wait is for something visible or written, with a deadline.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::pty::{Must, Pty, Spawn, keys};

/// From spawn to the first frame with data (debug build, busy CI).
const START: Duration = Duration::from_secs(60);
/// From a key to what it shows.
const STEP: Duration = Duration::from_secs(30);
/// From `q` to the process being gone.
const EXIT: Duration = Duration::from_secs(20);

/// The demo's apps (any of them may be selected first).
const APPS: [&str; 6] = [
    "payments",
    "checkout",
    "web",
    "billing-worker",
    "search",
    "inventory",
];

fn config(commands: &str) -> String {
    format!("[[source]]\nname = \"demo\"\nkind = \"demo\"\nseed = 42\n\n{commands}")
}

/// The folder opsdeck runs in (its working directory): where commands write.
fn workdir(p: &Pty) -> PathBuf {
    p.audit_log()
        .parent()
        .expect("the audit log is in the sandbox")
        .to_path_buf()
}

/// opsdeck with `commands`, on the Pipelines tab with its runs shown.
fn on_pipelines(commands: &str) -> Pty {
    let mut p = Spawn::default().config(config(commands)).start().must();
    p.wait_for("Overview", START).must();
    p.send("2");
    p.wait_until("the Pipelines tab with runs", START, |s| {
        s.contents().contains("acme/web")
    })
    .must();
    p
}

fn quit(p: &mut Pty) {
    p.send("q");
    let status = p.wait_exit(EXIT).must();
    assert!(status.success(), "q exits 0: {status:?}");
}

#[test]
fn a_foreground_command_takes_the_terminal_reads_its_own_input_and_gives_it_back() {
    let commands = r#"
[[command]]
name = "mark"
key = "M"
scope = ["app", "run"]
run = "printf 'answer? '; read answer; printf '%s %s\\n' {name} \"$answer\" > marker.txt; exit 3"
"#;
    let mut p = Spawn::default()
        .config(config(commands))
        .env("OPSDECK_TEST_SECRET", "s3cr3t-value")
        .record_output()
        .start()
        .must();
    p.wait_for("Overview", START).must();
    p.send("3");
    p.wait_until("the GitOps tab with its apps", START, |s| {
        let text = s.contents();
        APPS.iter().all(|a| text.contains(a))
    })
    .must();
    p.send("M");
    p.wait_for_all(&["Confirm: run mark", "printf 'answer? '"], STEP)
        .must();
    p.send("y");
    // The command has the terminal: its prompt on the normal screen.
    p.wait_until_live("the command's prompt", STEP, |s| {
        !s.alternate_screen() && s.contents().contains("answer?")
    })
    .must();
    p.send("forty-two\r");
    p.wait_for("mark exited with status 3", STEP).must();

    let marker = std::fs::read_to_string(workdir(&p).join("marker.txt")).expect("marker written");
    let (app, answer) = marker
        .trim_end()
        .split_once(' ')
        .unwrap_or_else(|| panic!("marker: {marker:?}"));
    assert!(APPS.contains(&app), "{marker:?}");
    assert_eq!(answer, "forty-two", "the typed line reached the command");
    assert!(
        String::from_utf8_lossy(&p.raw_output()).contains("answer?"),
        "the command wrote to the real terminal"
    );

    // Audited like an action: requested, then how it ended.
    let audit = std::fs::read_to_string(p.audit_log()).expect("audit log");
    let lines: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 2, "{audit}");
    for (line, outcome) in lines.iter().zip(["requested", "failed"]) {
        assert_eq!(line["action"], "command");
        assert_eq!(line["command"], "mark");
        assert_eq!(line["source"], "demo");
        assert_eq!(line["target"], app);
        assert_eq!(line["user"], common::pty::TEST_USER);
        assert_eq!(line["outcome"], outcome);
    }
    assert_eq!(lines[1]["exit"], 3);
    assert_eq!(lines[0]["id"], lines[1]["id"]);
    assert!(
        lines[0]["command_line"]
            .as_str()
            .is_some_and(|l| l.contains(&format!("printf '%s %s\\n' {app} \"$answer\""))),
        "{audit}"
    );
    assert!(
        !audit.contains("s3cr3t-value"),
        "no environment in the audit log"
    );

    // The dashboard is itself again: keys work.
    p.send("?");
    p.wait_for("Help", STEP).must();
    p.send(keys::ESC);
    p.wait_gone("Help", STEP).must();
    quit(&mut p);
}

#[test]
fn ctrl_c_in_a_foreground_command_stops_it_and_not_the_dashboard() {
    let commands = r#"
[[command]]
name = "wait"
key = "V"
scope = "run"
confirm = false
run = "echo ready {name}; read line"
"#;
    let mut p = on_pipelines(commands);
    p.send("V");
    p.wait_until_live("the command running", STEP, |s| {
        !s.alternate_screen() && s.contents().contains("ready ")
    })
    .must();
    // The shell itself waits in `read`: the interrupt is its own (a shell
    // waiting for a child would put it off until the child ends).
    p.send(keys::CTRL_C);
    p.wait_for("wait was killed by signal 2", STEP).must();
    assert!(p.try_status().is_none(), "the dashboard still runs");
    quit(&mut p);
}

#[test]
fn a_background_command_shows_its_output_as_it_comes_and_its_exit() {
    let commands = r#"
[[command]]
name = "count"
key = "C"
scope = "run"
background = true
confirm = false
run = "echo run {name}; for i in 1 2 3; do echo line-$i; done; echo to-stderr >&2; exit 0"
"#;
    let mut p = on_pipelines(commands);
    p.send("C");
    p.wait_for_all(
        &[
            "count on demo/",
            "line-1",
            "line-3",
            "to-stderr",
            "exited with status 0",
        ],
        STEP,
    )
    .must();
    assert!(
        p.with_screen(|s| s.alternate_screen()),
        "the dashboard kept the terminal"
    );
    p.send(keys::ESC);
    p.wait_gone("line-3", STEP).must();
    p.wait_for("count exited with status 0", STEP).must();
    quit(&mut p);
}
