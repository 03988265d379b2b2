//! opsdeck as a person uses it: the real binary in a pseudo-terminal, keys
//! typed, the screen read back, the audit log read from disk.
//!
//! Every wait is for something visible (a complete frame showing a text, the
//! process exiting); the timeouts are generous because CI runs a debug build
//! on two slow cores, and a passing test never waits for them.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::pty::{BINARY, Must, Pty, Sandbox, Spawn, TEST_USER, keys};
use serde_json::Value;

/// From spawn to the first frame with data (debug build, busy CI).
const START: Duration = Duration::from_secs(60);
/// From a key to the frame that shows its effect.
const STEP: Duration = Duration::from_secs(20);
/// From `q` or a signal to the process being gone.
const EXIT: Duration = Duration::from_secs(20);

/// One demo source that never moves by itself: the screen changes only when
/// a test acts, so what a test reads between two keys stays true.
const PAUSED_DEMO: &str = r#"
[[source]]
name = "demo"
kind = "demo"
seed = 42
paused = true
"#;

/// The demo fleet's apps, in the order the GitOps tab lists them.
const APPS: [&str; 6] = [
    "billing-worker",
    "checkout",
    "inventory",
    "payments",
    "search",
    "web",
];

/// The words of the drawing code (src/ui) these tests read, in one place.
/// Status messages and effects come from src/app and are written inline.
mod ui {
    /// Something each tab draws and no other does: a column header or heading.
    pub const TAB_MARKERS: [(&str, &str); 5] = [
        ("Overview", "Sources ("),
        ("Pipelines", "duration"),
        ("GitOps", "cluster/namespace"),
        ("Drift", "worst metric"),
        ("Timeline", "what happened"),
    ];
    /// The footer while the filter is being typed.
    pub const FILTER_PROMPT: &str = "type to filter";
    /// The confirmation dialog's title for a rollback.
    pub const CONFIRM: &str = "Confirm: roll back";
    /// The keys of a y/N confirmation.
    pub const YES_NO: &str = "[y/Enter]";
    /// The typed confirmation of a production target.
    pub fn production(target: &str) -> String {
        format!("{target} is a production target")
    }
    pub fn type_to_confirm(name: &str) -> String {
        format!("Type \"{name}\" to confirm:")
    }
    pub fn typed(n: usize, of: usize) -> String {
        format!("{n}/{of} typed")
    }
    pub const MATCHES: &str = "✓ matches";
    /// The picker marks the running entry and points at the selected one.
    pub const RUNNING: &str = "(running)";
    pub const POINTER: char = '▶';
    pub const READ_ONLY_BADGE: &str = "READ-ONLY";
    pub const TOO_SMALL: &str = "terminal too small";
}

// ---- helpers ------------------------------------------------------------------

/// The tab bar: each tab's key and name.
const TAB_BAR: [&str; 5] = [
    "1 Overview",
    "2 Pipelines",
    "3 GitOps",
    "4 Drift",
    "5 Timeline",
];

/// Wait for a frame with the tab bar.
fn wait_first_frame(p: &Pty) {
    p.wait_for_all(&TAB_BAR, START).must();
}

/// The pane: from its top border (which holds its title and filter) to its
/// bottom border; the tab bar and the status line left out.
fn pane(screen: &str) -> String {
    let rows: Vec<&str> = screen.lines().collect();
    let top = rows
        .iter()
        .position(|r| r.starts_with('╭'))
        .unwrap_or(rows.len());
    let bottom = rows
        .iter()
        .skip(top)
        .position(|r| r.starts_with('╰'))
        .map_or(rows.len(), |b| top + b + 1);
    rows[top..bottom].join("\n")
}

/// The pane's top border: its title, sources, filter and row count.
fn pane_title(screen: &str) -> String {
    screen
        .lines()
        .find(|r| r.starts_with('╭'))
        .unwrap_or_default()
        .to_string()
}

/// Wait until `tab` is the one drawn: its pane title and marker, no other tab's marker.
fn wait_tab(p: &Pty, tab: &str) {
    let title = format!("╭ {tab} ");
    p.wait_until(&format!("the {tab} tab (and only it)"), STEP, |s| {
        let c = s.contents();
        c.contains(&title)
            && ui::TAB_MARKERS
                .iter()
                .all(|(t, marker)| c.contains(marker) == (*t == tab))
    })
    .must();
}

/// Go to the GitOps tab and wait until every app is listed.
fn open_gitops(p: &mut Pty) {
    p.send("3");
    wait_tab(p, "GitOps");
    p.wait_for_all(&APPS, START).must();
}

/// Filter the GitOps tab down to `app` alone and keep the filter (Enter), so
/// the app is the selected row.
fn select_app(p: &mut Pty, app: &str) {
    p.send("/");
    p.wait_for(ui::FILTER_PROMPT, STEP).must();
    p.send(app);
    p.send(keys::ENTER);
    let kept = format!("/{app} ");
    p.wait_until(
        &format!("the filter /{app} kept, showing {app} alone"),
        STEP,
        |s| {
            let c = s.contents();
            let title = pane_title(&c);
            title.contains(&kept)
                && title.contains(" 1/1 ")
                && !c.contains(ui::FILTER_PROMPT)
                && only_app(&c, app)
        },
    )
    .must();
}

/// The pane lists `app` and no other app.
fn only_app(screen: &str, app: &str) -> bool {
    let pane = pane(screen);
    pane.contains(app)
        && APPS
            .iter()
            .filter(|a| **a != app)
            .all(|other| !pane.contains(other))
}

/// The pane lists every app and its title shows no filter.
fn all_apps_unfiltered(screen: &str) -> bool {
    let pane = pane(screen);
    APPS.iter().all(|a| pane.contains(a))
        && !pane_title(screen).contains(" /")
        && !screen.contains(ui::FILTER_PROMPT)
}

/// Quit with `q`: exit status 0, the terminal given back.
fn quit(p: &mut Pty) {
    p.send("q");
    let status = p.wait_exit(EXIT).must();
    assert!(
        status.success(),
        "`q` should exit with status 0, got {status:?}\n{}",
        p.dump()
    );
    assert_restored(p);
}

/// The alternate screen is left and the cursor shown again.
fn assert_restored(p: &Pty) {
    let (alternate, hidden) = p.with_live_screen(|s| (s.alternate_screen(), s.hide_cursor()));
    assert!(
        !alternate,
        "the terminal is still on the alternate screen after exit\n{}",
        p.dump()
    );
    assert!(
        !hidden,
        "the cursor is still hidden after exit\n{}",
        p.dump()
    );
}

/// The running dashboard owns the terminal: alternate screen, hidden cursor.
fn assert_took_terminal(p: &Pty) {
    let (alternate, hidden) = p.with_live_screen(|s| (s.alternate_screen(), s.hide_cursor()));
    assert!(
        alternate && hidden,
        "the dashboard should draw on the alternate screen with the cursor hidden\n{}",
        p.dump()
    );
}

/// The short revisions (7 hex digits) on a line, left to right.
fn short_revs(line: &str) -> Vec<String> {
    line.split(|c: char| c.is_whitespace() || "│▶▸>".contains(c))
        .filter(|w| {
            w.len() == 7
                && w.chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        })
        .map(str::to_string)
        .collect()
}

/// The rollback picker titled `title`: (the revision running now, the selected entry's revision).
fn picker_choice(p: &Pty, title: &str) -> (String, String) {
    p.with_screen(|s| {
        let (_, cols) = s.size();
        let rows: Vec<String> = s.rows(0, cols).collect();
        let screen = rows.join("\n");
        let top = rows
            .iter()
            .position(|r| r.contains(title))
            .unwrap_or_else(|| panic!("no picker {title:?}:\n{screen}"));
        let body: Vec<&String> = rows[top + 1..]
            .iter()
            .take_while(|r| !r.contains('╰'))
            .collect();
        let revision_of = |what: &str, row: Option<&&String>| {
            row.and_then(|r| short_revs(r).into_iter().next())
                .unwrap_or_else(|| {
                    panic!("the picker has no {what} entry with a revision:\n{screen}")
                })
        };
        let running = revision_of("running", body.iter().find(|r| r.contains(ui::RUNNING)));
        let chosen = revision_of("selected", body.iter().find(|r| r.contains(ui::POINTER)));
        (running, chosen)
    })
}

/// The confirmation dialog's effect line for `target` ("roll back demo/x from … (history #N)")
/// and the history id in it.
fn dialog_effect(p: &Pty, target: &str) -> (String, String) {
    let start = format!("roll back {target} from ");
    let screen = p.screen();
    let line = screen
        .lines()
        .find(|l| l.contains(&start))
        .unwrap_or_else(|| panic!("no {start:?} in the dialog:\n{}", p.dump()));
    let from = line.find(&start).unwrap_or_default();
    let effect = match line[from..].find(')') {
        Some(end) => line[from..=from + end].to_string(),
        None => panic!("the effect line is cut short: {line:?}\n{}", p.dump()),
    };
    let id = effect
        .rsplit_once("(history #")
        .map(|(_, rest)| rest.trim_end_matches(')').to_string())
        .unwrap_or_else(|| panic!("no history id in {effect:?}"));
    (effect, id)
}

/// The audit log's lines, each parsed as JSON; none when the file does not exist.
fn audit_records(path: &Path) -> Vec<Value> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => panic!("cannot read the audit log {}: {e}", path.display()),
    };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("audit line is not JSON ({e}): {l}"))
        })
        .collect()
}

fn assert_audit_empty(p: &Pty, when: &str) {
    let records = audit_records(&p.audit_log());
    assert!(
        records.is_empty(),
        "{when}, the audit log should hold no line, it holds {records:#?}"
    );
}

/// This machine's name as the kernel reports it (what gethostname returns).
fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
}

/// What one audit line of a TUI rollback must say.
struct Expected<'a> {
    outcome: &'a str,
    target: &'a str,
    to: &'a str,
    effect: &'a str,
    production: bool,
}

fn assert_record(record: &Value, want: &Expected) {
    let field = |name: &str| {
        record
            .get(name)
            .unwrap_or_else(|| panic!("audit line without `{name}`: {record}"))
    };
    let text = |name: &str| {
        field(name)
            .as_str()
            .unwrap_or_else(|| panic!("`{name}` is not a string: {record}"))
    };
    assert_eq!(text("user"), TEST_USER, "user: {record}");
    match hostname() {
        Some(host) => assert_eq!(text("host"), host, "host: {record}"),
        None => assert!(!text("host").is_empty(), "host: {record}"),
    }
    assert_eq!(text("via"), "tui", "via: {record}");
    assert_eq!(text("source"), "demo", "source: {record}");
    assert_eq!(text("target_kind"), "app", "target_kind: {record}");
    assert_eq!(text("target"), want.target, "target: {record}");
    assert_eq!(text("action"), "rollback", "action: {record}");
    assert_eq!(text("to"), want.to, "to: {record}");
    assert_eq!(
        text("effect"),
        want.effect,
        "effect (as the dialog stated it): {record}"
    );
    assert_eq!(
        field("production").as_bool(),
        Some(want.production),
        "production: {record}"
    );
    assert_eq!(text("outcome"), want.outcome, "outcome: {record}");
    assert!(!text("id").is_empty(), "id: {record}");
    if let Err(e) = chrono::DateTime::parse_from_rfc3339(text("time")) {
        panic!("time is not RFC 3339 ({e}): {record}");
    }
}

/// The audit log holds exactly a `requested` and a `done` line for this rollback.
fn assert_rollback_audited(
    p: &Pty,
    target: &str,
    to: &str,
    effect: &str,
    chosen: &str,
    production: bool,
) {
    let records = audit_records(&p.audit_log());
    assert_eq!(
        records.len(),
        2,
        "one `requested` and one `done` line expected, got {records:#?}"
    );
    let want = |outcome| Expected {
        outcome,
        target,
        to,
        effect,
        production,
    };
    assert_record(&records[0], &want("requested"));
    assert_record(&records[1], &want("done"));
    assert_eq!(
        records[0]["id"], records[1]["id"],
        "the outcome line must carry its request's id"
    );
    let detail = records[1]["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(&format!("rolled back to {chosen}")),
        "the done line's detail: {}",
        records[1]
    );
}

// ---- 1. start and tabs ------------------------------------------------------------

#[test]
fn demo_starts_with_the_tab_bar_and_keys_switch_tabs() {
    let mut p = Spawn::demo().start().must();
    let (first, _) = p.first_drawn_frame(START).must();
    for tab in TAB_BAR {
        assert!(
            first.contains(tab),
            "the first frame should show the tab bar ({tab:?} missing):\n{first}"
        );
    }
    assert_took_terminal(&p);
    wait_tab(&p, "Overview");
    let steps = [
        ("2", "Pipelines"),
        ("3", "GitOps"),
        ("4", "Drift"),
        ("1", "Overview"),
        (keys::TAB, "Pipelines"),
        (keys::TAB, "GitOps"),
        (keys::SHIFT_TAB, "Pipelines"),
        (keys::SHIFT_TAB, "Overview"),
        (keys::SHIFT_TAB, "Timeline"),
        (keys::SHIFT_TAB, "Drift"),
        (keys::TAB, "Timeline"),
        (keys::TAB, "Overview"),
        ("5", "Timeline"),
    ];
    for (key, tab) in steps {
        p.send(key);
        wait_tab(&p, tab);
    }
    quit(&mut p);
}

// ---- 2. filter -------------------------------------------------------------------

#[test]
fn filter_narrows_the_gitops_tab_and_esc_clears_it() {
    let mut p = Spawn::demo().start().must();
    wait_first_frame(&p);
    open_gitops(&mut p);

    // Esc while typing clears the filter.
    p.send("/");
    p.wait_for(ui::FILTER_PROMPT, STEP).must();
    p.send("inv");
    p.wait_until("only inventory under the filter /inv", STEP, |s| {
        let c = s.contents();
        let title = pane_title(&c);
        title.contains("/inv") && title.contains(" 1/1 ") && only_app(&c, "inventory")
    })
    .must();
    p.send(keys::ESC);
    p.wait_until("every app back, no filter", STEP, |s| {
        all_apps_unfiltered(&s.contents())
    })
    .must();

    // A kept filter (Enter) is cleared by Esc too.
    select_app(&mut p, "inventory");
    p.send(keys::ESC);
    p.wait_until("every app back after Esc on a kept filter", STEP, |s| {
        all_apps_unfiltered(&s.contents())
    })
    .must();
    quit(&mut p);
}

// ---- 3. rollback through the picker and the confirmation --------------------------

#[test]
fn rollback_of_a_staging_app_through_picker_and_confirmation_is_audited() {
    let mut p = Spawn::default().config(PAUSED_DEMO).start().must();
    wait_first_frame(&p);
    open_gitops(&mut p);
    select_app(&mut p, "inventory");

    // Esc on the dialog cancels: nothing is sent, nothing is audited.
    p.send("b");
    p.wait_for("Roll back demo/inventory to…", STEP).must();
    p.send(keys::ENTER);
    p.wait_for(ui::CONFIRM, STEP).must();
    p.send(keys::ESC);
    p.wait_until("the dialog gone and the cancellation said", STEP, |s| {
        let c = s.contents();
        !c.contains(ui::CONFIRM) && c.contains("cancelled: roll back demo/inventory")
    })
    .must();
    assert_audit_empty(&p, "after a cancelled confirmation");

    p.send("b");
    p.wait_for("Roll back demo/inventory to…", STEP).must();
    let (running, chosen) = picker_choice(&p, "Roll back demo/inventory to…");
    assert_ne!(
        running,
        chosen,
        "the picker should preselect an entry other than the running one\n{}",
        p.dump()
    );
    p.send(keys::ENTER);
    p.wait_for_all(&[ui::CONFIRM, ui::YES_NO], STEP).must();
    let (effect, id) = dialog_effect(&p, "demo/inventory");
    assert_eq!(
        effect,
        format!("roll back demo/inventory from {running} to {chosen} (history #{id})")
    );
    let production = ui::production("demo/inventory");
    assert!(
        !p.screen().contains(&production),
        "inventory is staging: no production warning\n{}",
        p.dump()
    );
    assert_audit_empty(&p, "before the confirmation");

    p.send("y");
    p.wait_for(&format!("rolled back to {chosen}"), STEP).must();
    assert_rollback_audited(&p, "inventory", &id, &effect, &chosen, false);

    // The dashboard reads the source again: inventory now runs the chosen revision.
    p.wait_until("inventory redeploying", STEP, |s| {
        s.contents().contains("progressing")
    })
    .must();
    p.send("b");
    p.wait_for("Roll back demo/inventory to…", STEP).must();
    let (now_running, _) = picker_choice(&p, "Roll back demo/inventory to…");
    assert_eq!(
        now_running,
        chosen,
        "after the rollback the running revision should be the chosen one\n{}",
        p.dump()
    );
    p.send(keys::ESC);
    p.wait_gone("Roll back demo/inventory to…", STEP).must();
    quit(&mut p);
    assert_eq!(
        audit_records(&p.audit_log()).len(),
        2,
        "nothing more was audited after the rollback"
    );
}

#[test]
fn rollback_of_a_production_app_acts_only_once_its_name_is_typed() {
    let mut p = Spawn::default().config(PAUSED_DEMO).start().must();
    wait_first_frame(&p);
    open_gitops(&mut p);
    select_app(&mut p, "payments");

    p.send("b");
    p.wait_for("Roll back demo/payments to…", STEP).must();
    let (running, chosen) = picker_choice(&p, "Roll back demo/payments to…");
    assert_ne!(running, chosen);
    p.send(keys::ENTER);
    p.wait_for_all(
        &[
            ui::CONFIRM,
            &ui::production("demo/payments"),
            &ui::type_to_confirm("payments"),
        ],
        STEP,
    )
    .must();
    assert!(
        !p.screen().contains(ui::YES_NO),
        "production must not take y/Enter alone\n{}",
        p.dump()
    );
    let (effect, id) = dialog_effect(&p, "demo/payments");
    assert_eq!(
        effect,
        format!("roll back demo/payments from {running} to {chosen} (history #{id})")
    );

    // Part of the name and Enter: refused, the dialog stays, nothing sent.
    p.send("pay");
    p.wait_for(&ui::typed(3, 8), STEP).must();
    p.send(keys::ENTER);
    p.wait_until("the refusal, the dialog still open", STEP, |s| {
        let c = s.contents();
        c.contains("type \"payments\" exactly to confirm") && c.contains(ui::CONFIRM)
    })
    .must();
    assert_audit_empty(&p, "after Enter on a partly typed name");

    // The rest of the name and Enter: it acts.
    p.send("ments");
    p.wait_for(ui::MATCHES, STEP).must();
    p.send(keys::ENTER);
    p.wait_for(&format!("rolled back to {chosen}"), STEP).must();
    assert_rollback_audited(&p, "payments", &id, &effect, &chosen, true);
    quit(&mut p);
}

#[test]
fn why_then_rollback_of_the_suspect_deploy_asks_for_confirmation() {
    let mut p = Spawn::default().config(PAUSED_DEMO).start().must();
    wait_first_frame(&p);
    open_gitops(&mut p);
    select_app(&mut p, "payments");
    p.send("w");
    p.wait_for_all(&["Why? demo/payments", "suspects", "deploy of"], STEP)
        .must();
    // b on the first suspect (payments' newest deploy): the picker, then
    // the usual confirmation; nothing is sent without it.
    p.send("b");
    p.wait_for("Roll back demo/payments to…", STEP).must();
    let (running, chosen) = picker_choice(&p, "Roll back demo/payments to…");
    assert_ne!(running, chosen);
    p.send(keys::ENTER);
    p.wait_for_all(&[ui::CONFIRM, &ui::type_to_confirm("payments")], STEP)
        .must();
    assert_audit_empty(&p, "before confirming");
    p.send(keys::ESC);
    p.wait_gone(ui::CONFIRM, STEP).must();
    p.wait_for("Why? demo/payments", STEP).must();
    p.send(keys::ESC);
    p.wait_gone("Why? demo/payments", STEP).must();
    quit(&mut p);
}

// ---- 4. read-only ------------------------------------------------------------------

#[test]
fn read_only_refuses_actions_visibly_and_audits_nothing() {
    let mut p = Spawn::default()
        .config(PAUSED_DEMO)
        .args(["--read-only"])
        .start()
        .must();
    wait_first_frame(&p);
    p.wait_for(ui::READ_ONLY_BADGE, STEP).must();
    open_gitops(&mut p);
    select_app(&mut p, "inventory");

    p.send("b");
    p.wait_for("read-only: roll back demo/inventory refused", STEP)
        .must();
    let screen = p.screen();
    assert!(
        !screen.contains("Roll back demo/inventory to…"),
        "read-only must not offer the picker\n{}",
        p.dump()
    );
    assert!(
        !screen.contains(ui::CONFIRM),
        "read-only must not ask for confirmation\n{}",
        p.dump()
    );

    p.send("s");
    p.wait_for("read-only: sync demo/inventory refused", STEP)
        .must();
    quit(&mut p);
    assert_audit_empty(&p, "after a read-only session");
}

// ---- 5. auto-sync refusal -------------------------------------------------------------

#[test]
fn rollback_of_an_auto_synced_app_is_explained_not_offered() {
    // Wide enough for the whole explanation on the status line.
    let mut p = Spawn::default()
        .config(PAUSED_DEMO)
        .size(200, 30)
        .start()
        .must();
    wait_first_frame(&p);
    open_gitops(&mut p);
    for app in ["checkout", "search"] {
        select_app(&mut p, app);
        p.send("b");
        let explanation = format!(
            "demo/{app} has auto-sync on: Argo CD refuses a history rollback then. Turn auto-sync off first, \
             or roll back by reverting the commit in Git"
        );
        p.wait_for(&explanation, STEP).must();
        let screen = p.screen();
        assert!(
            !screen.contains(&format!("Roll back demo/{app} to…")),
            "no picker for {app}\n{}",
            p.dump()
        );
        assert!(
            !screen.contains(ui::CONFIRM),
            "no confirmation for {app}\n{}",
            p.dump()
        );
        // Esc clears the filter for the next app.
        p.send(keys::ESC);
        p.wait_until("every app back", STEP, |s| {
            all_apps_unfiltered(&s.contents())
        })
        .must();
    }
    quit(&mut p);
    assert_audit_empty(&p, "after refused rollbacks");
}

// ---- 6. quit -------------------------------------------------------------------------

#[test]
fn q_quits_with_status_0_and_restores_the_terminal() {
    let mut p = Spawn::demo().start().must();
    wait_first_frame(&p);
    assert_took_terminal(&p);
    quit(&mut p);
}

#[test]
fn ctrl_c_quits_like_q() {
    // In raw mode Ctrl-C is a key, not SIGINT: the keymap binds it to quit.
    let mut p = Spawn::demo().start().must();
    wait_first_frame(&p);
    p.send(keys::CTRL_C);
    let status = p.wait_exit(EXIT).must();
    assert!(
        status.success(),
        "Ctrl-C should exit with status 0, got {status:?}\n{}",
        p.dump()
    );
    assert_restored(&p);
}

// ---- 7. signals ----------------------------------------------------------------------

fn signal_exits_and_restores(signal: &str) {
    let mut p = Spawn::demo().start().must();
    wait_first_frame(&p);
    assert_took_terminal(&p);
    p.signal(signal).must();
    let status = p.wait_exit(EXIT).must();
    assert!(
        status.signal().is_none(),
        "SIG{signal} should be handled (restore, then exit), but it killed the process: {status:?}\n{}",
        p.dump()
    );
    assert_restored(&p);
}

#[test]
fn sigterm_exits_and_restores_the_terminal() {
    signal_exits_and_restores("TERM");
}

#[test]
fn sighup_exits_and_restores_the_terminal() {
    signal_exits_and_restores("HUP");
}

// ---- 8. resize -------------------------------------------------------------------------

#[test]
fn resizing_to_tiny_and_back_redraws_without_crashing() {
    let mut p = Spawn::demo().start().must();
    wait_first_frame(&p);
    open_gitops(&mut p);

    p.resize(20, 5).must();
    p.wait_for(ui::TOO_SMALL, STEP).must();
    assert!(
        p.try_status().is_none(),
        "opsdeck exited at 20x5\n{}",
        p.dump()
    );

    p.resize(100, 30).must();
    // The pane's corners can only be where they are at 100x30: the top-right
    // one in column 100, the bottom-left one on row 29.
    p.wait_until("the GitOps pane redrawn filling 100x30", STEP, |s| {
        let rows: Vec<String> = s.rows(0, 100).collect();
        let c = s.contents();
        s.size() == (30, 100)
            && rows.get(1).is_some_and(|r| r.chars().nth(99) == Some('╮'))
            && rows.get(28).is_some_and(|r| r.starts_with('╰'))
            && !c.contains(ui::TOO_SMALL)
            && APPS.iter().all(|a| c.contains(a))
    })
    .must();
    quit(&mut p);
}

// ---- 9. no terminal ---------------------------------------------------------------------

#[test]
fn without_a_terminal_it_refuses_and_points_to_opsdeck_status() {
    use std::process::{Command, Stdio};
    let sandbox = Sandbox::new().must();
    let mut child = Command::new(BINARY)
        .arg("--demo")
        .env_clear()
        .envs(sandbox.env())
        .current_dir(sandbox.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {BINARY}: {e}"));
    // Held open (never written) so a dashboard waiting for keys would hang, not see EOF.
    let stdin = child.stdin.take();
    let deadline = Instant::now() + EXIT;
    while child.try_wait().ok().flatten().is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("opsdeck --demo without a terminal did not exit within {EXIT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(stdin);
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("cannot collect the output: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "it should fail without a terminal: {:?}\nstderr: {stderr}",
        out.status
    );
    assert!(
        stderr.contains("needs a terminal"),
        "stderr should say it needs a terminal: {stderr}"
    );
    assert!(
        stderr.contains("opsdeck status"),
        "stderr should point to `opsdeck status`: {stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "nothing (no escape codes) should reach a piped stdout: {:?}",
        out.stdout
    );
}

// ---- 10. no config ------------------------------------------------------------------------

#[test]
fn without_a_config_file_it_says_where_it_looked_and_what_to_try() {
    // Wide, so the message's lines are not wrapped.
    let mut p = Spawn::default().size(200, 24).start().must();
    let status = p.wait_exit(EXIT).must();
    let screen = p.live_screen();
    assert_eq!(
        status.exit_code(),
        2,
        "exit status 2 expected without a config, got {status:?}\n{screen}"
    );
    let looked = p.sandbox.config_home().join("opsdeck").join("config.toml");
    for want in [
        format!("looked at {}", looked.display()),
        "opsdeck --demo".into(),
        "opsdeck init".into(),
    ] {
        assert!(
            screen.contains(&want),
            "the message should contain {want:?}:\n{}",
            p.dump()
        );
    }
    assert_eq!(
        p.frames(),
        0,
        "no dashboard frame should be drawn without a config\n{}",
        p.dump()
    );
    assert_restored(&p);
}

// ---- new run and job logs ---------------------------------------------------

/// Go to the Pipelines tab and keep a filter, so its first run is selected.
fn filter_runs(p: &mut Pty, filter: &str) {
    p.send("2");
    wait_tab(p, "Pipelines");
    p.send("/");
    p.wait_for(ui::FILTER_PROMPT, STEP).must();
    p.send(filter);
    p.send(keys::ENTER);
    p.wait_until(&format!("the runs filtered by /{filter}"), STEP, |s| {
        let c = s.contents();
        pane_title(&c).contains(&format!("/{filter}")) && !c.contains(ui::FILTER_PROMPT)
    })
    .must();
}

#[test]
fn a_new_run_goes_from_the_form_through_the_confirmation_to_the_audit_log() {
    let mut p = Spawn::default().config(PAUSED_DEMO).start().must();
    wait_first_frame(&p);
    filter_runs(&mut p, "Deploy acme/web");
    p.send("n");
    p.wait_for("Start a new run of Deploy (demo)", STEP).must();
    p.wait_for("branch or tag to run on", STEP).must();
    // Past the ref to the environment (its hint shows); → picks the next choice.
    p.send(keys::TAB);
    p.wait_for("where to deploy — one of: staging, production", STEP)
        .must();
    p.send(keys::RIGHT);
    p.wait_until("environment set to production", STEP, |s| {
        s.contents()
            .lines()
            .any(|l| l.contains("environment*") && l.contains("production"))
    })
    .must();
    p.send(keys::ENTER);
    p.wait_for("Confirm: start a new run of", STEP).must();
    p.wait_for("start a new run of Deploy (demo/acme/web:Deploy) on ", STEP)
        .must();
    p.send("y");
    p.wait_for("of Deploy queued", STEP).must();
    quit(&mut p);
    let records = audit_records(&p.audit_log());
    assert_eq!(records.len(), 2, "{records:#?}");
    for record in &records {
        assert_eq!(record["action"], "dispatch");
        assert_eq!(record["via"], "tui");
        assert_eq!(record["target"], "acme/web:Deploy");
        assert!(
            record["effect"]
                .as_str()
                .is_some_and(|e| e.contains("with environment=production, debug=false")),
            "{record}"
        );
    }
    assert_eq!(records[1]["outcome"], "done");
}

#[test]
fn the_failed_jobs_log_opens_on_its_last_lines() {
    let mut p = Spawn::default().config(PAUSED_DEMO).start().must();
    wait_first_frame(&p);
    filter_runs(&mut p, "failure");
    p.send("l");
    p.wait_for("##[error]Process completed with exit code 101.", STEP)
        .must();
    let screen = p.screen();
    assert!(screen.contains(" log "), "{}", p.dump());
    assert!(screen.contains("back to the run"), "{}", p.dump());
    // Esc: back to the run's jobs.
    p.send(keys::ESC);
    p.wait_for("Jobs (", STEP).must();
    quit(&mut p);
    assert_audit_empty(&p, "after reading logs");
}
