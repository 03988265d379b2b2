//! One fault matrix (issue 13): every backend kind against every fault of
//! the fault proxy in tests/support_fault, through the same `config::parse`
//! + `sources::build_all` the app uses. Each cell checks that the faulted
//! read fails with words a person understands (where, what, no query, no
//! token), in time, without a panic, and that the source reads again by
//! itself once the fault ends. Cells opsdeck does not pass yet are listed in
//! `KNOWN_GAPS`; the matrix asserts they still fail, so a fix shows up as a
//! failure that asks for the entry to be removed. Plus: a silent source
//! next to a healthy one, `opsdeck status` with a faulted source, and
//! actions under faults (never a false `done`).

#![recursion_limit = "256"]

mod support_fault;
#[allow(dead_code)]
mod support_github;
#[allow(dead_code)]
mod support_gitlab;
#[allow(dead_code)]
mod support_kube;

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use opsdeck::sources::{Source, SourceEvent, fetch_with_timeout, spawn_all};
use support_fault::backends::{KINDS, Kind, Upstream, config};
use support_fault::{Fault, FaultProxy};
use tokio::sync::mpsc;

/// A host name that never resolves (RFC 2606) and fails fast here.
const UNRESOLVABLE: &str = "http://opsdeck-fault.invalid:1";
/// How long a rate-limited backend asks us to wait.
const RATE_LIMIT_WAIT: Duration = Duration::from_secs(2);
/// Slack on top of a source's own timeout.
const MARGIN: Duration = Duration::from_secs(5);
/// A source must read again this soon after its fault ends.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(45);
/// A stream fault must be noticed this soon (a few poll intervals).
const STREAM_NOTICE_TIMEOUT: Duration = Duration::from_secs(12);

/// One fault of the matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Case {
    Refused,
    Silent,
    Trickle,
    Status500,
    Html502,
    Unauthorized,
    Forbidden,
    NotFound,
    TooMany,
    GithubLimit,
    Malformed,
    Truncated,
    WrongType,
    StreamCut,
    StreamSilent,
    TlsToPlain,
    Unresolvable,
}

const CASES: [Case; 17] = [
    Case::Refused,
    Case::Silent,
    Case::Trickle,
    Case::Status500,
    Case::Html502,
    Case::Unauthorized,
    Case::Forbidden,
    Case::NotFound,
    Case::TooMany,
    Case::GithubLimit,
    Case::Malformed,
    Case::Truncated,
    Case::WrongType,
    Case::StreamCut,
    Case::StreamSilent,
    Case::TlsToPlain,
    Case::Unresolvable,
];

impl Case {
    fn name(self) -> &'static str {
        match self {
            Case::Refused => "refused",
            Case::Silent => "silent",
            Case::Trickle => "trickle",
            Case::Status500 => "500-json",
            Case::Html502 => "502-html",
            Case::Unauthorized => "401",
            Case::Forbidden => "403",
            Case::NotFound => "404",
            Case::TooMany => "429",
            Case::GithubLimit => "github-403-limit",
            Case::Malformed => "malformed-json",
            Case::Truncated => "truncated",
            Case::WrongType => "wrong-type",
            Case::StreamCut => "stream-cut",
            Case::StreamSilent => "stream-silent",
            Case::TlsToPlain => "tls-to-plain",
            Case::Unresolvable => "unresolvable",
        }
    }

    /// What the proxy does (the URL faults leave it forwarding).
    fn fault(self) -> Fault {
        match self {
            Case::Refused => Fault::Refused,
            Case::Silent => Fault::Silent,
            Case::Trickle => Fault::Trickle,
            Case::Status500 => Fault::internal_error_json(),
            Case::Html502 => Fault::bad_gateway_html(),
            Case::Unauthorized => Fault::plain(401, "Bad credentials"),
            Case::Forbidden => Fault::plain(403, "Forbidden"),
            Case::NotFound => Fault::plain(404, "Not Found"),
            Case::TooMany => Fault::too_many_requests(RATE_LIMIT_WAIT),
            Case::GithubLimit => Fault::github_rate_limited(RATE_LIMIT_WAIT),
            Case::Malformed => Fault::Malformed,
            Case::Truncated => Fault::Truncated,
            Case::WrongType => Fault::WrongType,
            Case::StreamCut => Fault::StreamCut,
            Case::StreamSilent => Fault::StreamSilent,
            Case::TlsToPlain | Case::Unresolvable => Fault::None,
        }
    }

    /// The base URL the source is configured with.
    fn base(self, proxy: &FaultProxy) -> String {
        match self {
            Case::TlsToPlain => proxy.url().replacen("http://", "https://", 1),
            Case::Unresolvable => UNRESOLVABLE.to_string(),
            _ => proxy.url(),
        }
    }

    /// Words of which the error must hold one (lower case): what went wrong.
    fn what_words(self) -> &'static [&'static str] {
        match self {
            Case::Refused => &["refused", "cannot reach", "connect"],
            Case::Silent | Case::Trickle => &["no answer", "timed out", "timeout", "within"],
            Case::Status500 => &["500"],
            Case::Html502 => &["502"],
            Case::Unauthorized => &["401"],
            Case::Forbidden => &["403"],
            Case::NotFound => &["404", "not found"],
            Case::TooMany | Case::GithubLimit => &["rate limit"],
            Case::Malformed => &["json", "understand", "malformed", "parse"],
            Case::Truncated => &["cut off", "truncat", "incomplete", "ended before", "short"],
            Case::WrongType => &["html", "content type", "content-type", "not json"],
            Case::StreamCut | Case::StreamSilent => &[],
            Case::TlsToPlain => &["tls", "https", "plain http", "handshake", "certificate"],
            Case::Unresolvable => &["resolve", "dns", "lookup", "opsdeck-fault.invalid"],
        }
    }

    fn is_stream(self) -> bool {
        matches!(self, Case::StreamCut | Case::StreamSilent)
    }

    /// A fault of the configuration rather than of the server: the same
    /// source cannot "recover" from it, so recovery is not checked.
    fn is_config(self) -> bool {
        matches!(self, Case::TlsToPlain | Case::Unresolvable)
    }
}

/// Why a (kind, fault) cell is not run, if it is not.
fn not_applicable(kind: Kind, case: Case) -> Option<&'static str> {
    if case.is_stream() && !kind.streams() {
        return Some("reads by polling: no stream to cut or silence");
    }
    if case == Case::GithubLimit && kind != Kind::Github {
        return Some("GitHub's own 403 rate limit");
    }
    if kind == Kind::Git
        && !matches!(
            case,
            Case::Refused | Case::Silent | Case::Unresolvable
        )
    {
        return Some("git:// is not HTTP: statuses, bodies and TLS do not exist on it");
    }
    None
}

/// Cells opsdeck does not pass yet: (kind, fault, what is wrong). The
/// matrix asserts each is still failing; fix one and remove its line.
const KNOWN_GAPS: &[(&str, &str, &str)] = &[];

/// What a cell saw that it should not have.
type Problems = Vec<String>;

/// Lower-case `text` holds one of `words`.
fn says_one_of(text: &str, words: &[&str]) -> bool {
    let lower = text.to_lowercase();
    words.is_empty() || words.iter().any(|w| lower.contains(&w.to_lowercase()))
}

/// A query string (`?key=`) shown in `text`.
fn shows_query(text: &str) -> bool {
    text.match_indices('?').any(|(at, _)| {
        let rest = &text[at + 1..];
        let key: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
            .collect();
        !key.is_empty() && rest[key.len()..].starts_with('=')
    })
}

/// The checks every faulted read's error text must pass.
fn check_error(kind: Kind, case: Case, text: &str, marker: &str, problems: &mut Problems) {
    if text.contains(marker) {
        problems.push(format!("the token shows in the error: {text}"));
    }
    if shows_query(text) {
        problems.push(format!("the error shows a query string: {text}"));
    }
    if !says_one_of(text, case.what_words()) {
        problems.push(format!(
            "the error does not say what went wrong (one of {:?}): {text}",
            case.what_words()
        ));
    }
    // Where: the path for answers, the address for connections.
    let mut where_words: Vec<&str> = kind.where_words().to_vec();
    where_words.extend(["127.0.0.1:", "opsdeck-fault.invalid"]);
    if !says_one_of(text, &where_words) {
        problems.push(format!(
            "the error does not say where (one of {where_words:?}): {text}"
        ));
    }
    if text.contains("<html") || text.contains("<body") {
        problems.push(format!("an HTML page is pasted raw: {text}"));
    }
}

fn build(text: &str) -> Arc<dyn Source> {
    let config = opsdeck::config::parse(text, std::path::Path::new("opsdeck.toml"))
        .unwrap_or_else(|e| panic!("test config does not parse:\n{e}\n---\n{text}"));
    opsdeck::sources::build_all(&config)
        .pop()
        .expect("one source")
}

/// Read until a read succeeds or `within` is over; the last error if not.
async fn reads_again(source: &dyn Source, within: Duration) -> Result<(), String> {
    let deadline = Instant::now() + within;
    loop {
        match fetch_with_timeout(source).await {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() >= deadline => return Err(e.to_string()),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// One (kind, fault) cell, on its own upstream, proxy and temp dir.
async fn cell(kind: Kind, case: Case) -> Problems {
    let dir = tempfile::tempdir().expect("tempdir");
    let upstream = Upstream::start(kind, dir.path()).await;
    let proxy = FaultProxy::start(upstream.addr()).await;
    let marker = format!("opsdeck-marker-{}-{}", kind.name(), case.name());
    let healthy = build(&config(kind, "healthy", &proxy.url(), dir.path(), &marker));
    if let Err(e) = fetch_with_timeout(healthy.as_ref()).await {
        return vec![format!("HARNESS: the healthy read fails: {e}")];
    }
    if case.is_stream() {
        return stream_cell(kind, case, &proxy, healthy).await;
    }
    let mut problems = Problems::new();
    let source = build(&config(kind, "faulted", &case.base(&proxy), dir.path(), &marker));
    proxy.set(case.fault()).await;
    let started = Instant::now();
    let limit = source.fetch_timeout() + MARGIN;
    match fetch_with_timeout(source.as_ref()).await {
        Ok(snapshot) => {
            let item_errors: Vec<String> = snapshot
                .models
                .iter()
                .filter_map(|m| m.error.clone())
                .collect();
            problems.push(format!(
                "the read succeeds under the fault (item errors: {item_errors:?})"
            ));
            for e in item_errors {
                if e.contains(&marker) {
                    problems.push(format!("the token shows in an item error: {e}"));
                }
            }
        }
        Err(e) => check_error(kind, case, &e.to_string(), &marker, &mut problems),
    }
    if started.elapsed() > limit {
        problems.push(format!(
            "the read took {:?}, longer than its timeout + {MARGIN:?}",
            started.elapsed()
        ));
    }
    if matches!(case, Case::TooMany | Case::GithubLimit) {
        let before = proxy.count(&case.fault());
        let again = fetch_with_timeout(source.as_ref()).await;
        if proxy.count(&case.fault()) > before {
            problems.push(format!(
                "a read is sent while rate limited (it gave {:?})",
                again.err().map(|e| e.to_string())
            ));
        }
    }
    proxy.set(Fault::None).await;
    if !case.is_config() {
        if let Err(e) = reads_again(source.as_ref(), RECOVERY_TIMEOUT).await {
            problems.push(format!("no recovery after the fault ended: {e}"));
        }
    }
    problems
}

/// Next event of the channel, or None at the deadline.
async fn next(rx: &mut mpsc::Receiver<SourceEvent>, until: Instant) -> Option<SourceEvent> {
    tokio::time::timeout_at(until.into(), rx.recv())
        .await
        .ok()
        .flatten()
}

/// Stream requests the proxy has seen under `fault`.
fn streams_under(proxy: &FaultProxy, fault: &Fault) -> usize {
    proxy
        .seen()
        .iter()
        .filter(|s| {
            s.fault == fault.name()
                && (s.target.contains("watch=true")
                    || s.target.contains("watch=1")
                    || s.target.contains("/stream/"))
        })
        .count()
}

/// A stream fault: the feed must notice within a few poll intervals (it
/// opens its stream again, with or without an error event on the way), and
/// once the fault ends, read live again.
async fn stream_cell(
    kind: Kind,
    case: Case,
    proxy: &FaultProxy,
    source: Arc<dyn Source>,
) -> Problems {
    let mut problems = Problems::new();
    let marker = format!("opsdeck-marker-{}-{}", kind.name(), case.name());
    let fault = case.fault();
    proxy.set(fault.clone()).await;
    let (tx, mut rx) = mpsc::channel(64);
    let (_wakes, tasks) = spawn_all(std::slice::from_ref(&source), tx);
    let deadline = Instant::now() + STREAM_NOTICE_TIMEOUT;
    // Noticed: a second stream opened under the fault (the first is the
    // faulted one).
    while streams_under(proxy, &fault) < 2 {
        match next(&mut rx, deadline).await {
            Some(event) => {
                if let Err(e) = event.result {
                    if e.contains(&marker) {
                        problems.push(format!("the token shows in the error: {e}"));
                    }
                }
            }
            None if Instant::now() >= deadline => {
                problems.push(format!(
                    "the feed does not notice within {STREAM_NOTICE_TIMEOUT:?}: {} stream(s) opened",
                    streams_under(proxy, &fault)
                ));
                break;
            }
            None => {}
        }
    }
    proxy.set(Fault::None).await;
    let deadline = Instant::now() + RECOVERY_TIMEOUT;
    let mut live = false;
    while !live {
        match next(&mut rx, deadline).await {
            Some(event) => live = event.result.is_ok() && streams_under(proxy, &Fault::None) > 0,
            None => break,
        }
    }
    if !live {
        problems.push("no live stream after the fault ended".into());
    }
    for task in tasks {
        task.abort();
    }
    problems
}

fn stderr_line(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_backend_against_every_fault() {
    let started = Instant::now();
    let mut cells = Vec::new();
    for kind in KINDS {
        for case in CASES {
            match not_applicable(kind, case) {
                Some(why) => stderr_line(&format!(
                    "not applicable: {} × {}: {why}",
                    kind.name(),
                    case.name()
                )),
                None => cells.push((kind, case, tokio::spawn(cell(kind, case)))),
            }
        }
    }
    let mut failures = Vec::new();
    let mut seen_gaps = Vec::new();
    for (kind, case, task) in cells {
        let problems = match task.await {
            Ok(p) => p,
            Err(e) => vec![format!("PANIC: {e}")],
        };
        let gap = KNOWN_GAPS
            .iter()
            .find(|(k, c, _)| *k == kind.name() && *c == case.name());
        let cell = format!("{} × {}", kind.name(), case.name());
        let harness = problems.iter().any(|p| p.starts_with("HARNESS") || p.starts_with("PANIC"));
        match (gap, problems.is_empty()) {
            (_, false) if harness => failures.push(format!("{cell}: {problems:#?}")),
            (None, true) => stderr_line(&format!("pass: {cell}")),
            (None, false) => failures.push(format!("{cell}: {problems:#?}")),
            (Some((_, _, what)), false) => {
                seen_gaps.push(cell.clone());
                stderr_line(&format!("known gap: {cell}: {what} (seen: {})", problems.join("; ")));
            }
            (Some(_), true) => failures.push(format!(
                "{cell} passes now: remove it from KNOWN_GAPS in tests/faults.rs"
            )),
        }
    }
    stderr_line(&format!(
        "fault matrix: {} known gaps, {} failures, in {:?}",
        seen_gaps.len(),
        failures.len(),
        started.elapsed()
    ));
    assert!(failures.is_empty(), "fault matrix:\n{}", failures.join("\n"));
}
