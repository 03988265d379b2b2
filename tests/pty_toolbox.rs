//! The on-call toolbox as a person meets it, through the real binary in a
//! pseudo-terminal: notifications of new problems (the bytes the terminal
//! receives), and what the Overview marks as new.
//!
//! Every wait is for something visible or written, with a deadline; a
//! passing test never waits for the deadline.

mod common;

use std::time::Duration;

use common::pty::{Must, Pty, Spawn};

/// From spawn to the first frame with data (debug build, busy CI).
const START: Duration = Duration::from_secs(60);
/// From a key, or a fleet step, to what it shows.
const STEP: Duration = Duration::from_secs(30);
/// From `q` to the process being gone.
const EXIT: Duration = Duration::from_secs(20);

/// The sequences a notification is made of (`notify = [...]` below).
const BELL: u8 = 0x07;
const OSC9: &[u8] = b"\x1b]9;";
const OSC777: &[u8] = b"\x1b]777;notify;opsdeck;";

fn config(fleet: &str) -> String {
    format!(
        "notify = [\"bell\", \"osc9\", \"osc777\"]\n\
         [[source]]\nname = \"demo\"\nkind = \"demo\"\nseed = 42\n{fleet}"
    )
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The OSC 9 payloads written so far.
fn osc9_texts(raw: &[u8]) -> Vec<String> {
    let mut texts = Vec::new();
    let mut rest = raw;
    while let Some(at) = find(rest, OSC9) {
        let body = &rest[at + OSC9.len()..];
        let end = body.iter().position(|b| *b == BELL).unwrap_or(body.len());
        texts.push(String::from_utf8_lossy(&body[..end]).into_owned());
        rest = &body[end..];
    }
    texts
}

/// The `SOURCE/NAME` items the Overview lists on this screen.
fn overview_items(screen: &str) -> Vec<String> {
    screen
        .split_whitespace()
        .filter(|w| w.starts_with("demo/"))
        .map(str::to_string)
        .collect()
}

fn quit(p: &mut Pty) {
    p.send("q");
    let status = p.wait_exit(EXIT).must();
    assert!(status.success(), "q exits 0: {status:?}");
}

#[test]
fn a_new_failure_rings_and_notifies_and_is_marked_new_on_the_overview() {
    let mut p = Spawn::default()
        .config(config("step = \"200ms\"\nrefresh = \"200ms\"\n"))
        .record_output()
        .start()
        .must();
    p.wait_until("the Overview listing problems", START, |s| {
        !overview_items(&s.contents()).is_empty()
    })
    .must();
    let at_start = overview_items(&p.screen());
    p.wait_raw("a notification", STEP, |raw| find(raw, OSC777).is_some())
        .must();
    let raw = p.raw_output();
    let texts = osc9_texts(&raw);
    assert!(!texts.is_empty(), "OSC 9 beside OSC 777");
    let first = &texts[0];
    assert!(
        find(&raw, &[&[BELL][..], OSC9].concat()).is_some(),
        "the bell rings just before the OSC 9 notification"
    );
    // "new problem demo/4137: …" or "3 new problems: demo/4137: …; and 2 more"
    let named = first
        .split_whitespace()
        .find(|w| w.starts_with("demo/"))
        .map(|w| w.trim_end_matches(':').to_string())
        .unwrap_or_else(|| panic!("the notification names its problem: {first}"));
    // An app or model may leave the list and come back (new again); a
    // failed run there at start stays: it can never be new.
    let old_runs: Vec<&String> = at_start
        .iter()
        .filter(|t| t[5..].chars().all(|c| c.is_ascii_digit()))
        .collect();
    assert!(
        !old_runs.contains(&&named),
        "{named} failed before the start ({old_runs:?}): not new"
    );
    p.wait_for("new demo/", STEP).must();
    quit(&mut p);
}

#[test]
fn problems_there_at_start_never_notify() {
    let mut p = Spawn::default()
        .config(config("paused = true\n"))
        .record_output()
        .start()
        .must();
    p.wait_until("the Overview listing problems", START, |s| {
        !overview_items(&s.contents()).is_empty()
    })
    .must();
    // Two seconds of turns after the first read, then a second read of
    // the same problems (`r` reads the sources again).
    p.wait_for("✓ 2s", STEP).must();
    p.send("r");
    p.wait_until("the second read", STEP, |s| s.contents().contains("✓ 0s"))
        .must();
    let raw = p.raw_output();
    assert!(!raw.contains(&BELL), "no bell for problems there at start");
    assert!(find(&raw, OSC9).is_none() && find(&raw, OSC777).is_none());
    assert!(
        !p.screen().contains("new demo/"),
        "nothing marked new:\n{}",
        p.screen()
    );
    quit(&mut p);
}

#[test]
fn colon_jump_goes_to_the_app_and_selects_it() {
    let mut p = Spawn::default()
        .config("[[source]]\nname = \"demo\"\nkind = \"demo\"\nseed = 42\npaused = true\n")
        .start()
        .must();
    p.wait_until("the Overview listing problems", START, |s| {
        !overview_items(&s.contents()).is_empty()
    })
    .must();
    p.send(":");
    p.wait_for("Jump to", STEP).must();
    p.send("paymnts");
    p.wait_for(":paymnts", STEP).must();
    p.send("\r");
    // The GitOps tab, payments the 4th of its 6 apps, under the cursor.
    p.wait_until("payments selected in GitOps", STEP, |s| {
        let c = s.contents();
        c.contains("╭ GitOps ") && c.contains(" 4/6 ") && !c.contains("Jump to")
    })
    .must();
    p.send(":");
    p.wait_for("Jump to", STEP).must();
    p.send("\x1b");
    p.wait_gone("Jump to", STEP).must();
    assert!(p.screen().contains("╭ GitOps "), "esc went nowhere");
    quit(&mut p);
}
