//! Live updates: list once, then follow `/api/v1/stream/applications`
//! (one `{"result":{"type","application"}}` per line, each possibly
//! megabytes; or the same as server-sent events, `data: …`). A broken
//! stream is reconnected with backoff; each attempt lists first, so the
//! screen keeps being read (polled) meanwhile and nothing is missed. A
//! stream that stays open but says nothing (no event, no keep-alive) for
//! twice the refresh interval is taken for a half-open connection and
//! reconnected the same way.

use std::collections::BTreeMap;

use reqwest::Method;
use tokio::sync::{Notify, mpsc};

use super::{ArgoCdSource, api};
use crate::model::{GitOpsApp, Snapshot};
use crate::sources::{AppChanges, FETCH_TIMEOUT, SourceError, SourceEvent, Update, http};

/// The stream's field selection: the list's, under `result.application`.
fn stream_fields() -> String {
    let mut fields = vec!["result.type".to_string()];
    fields.extend(
        api::LIST_FIELDS
            .iter()
            .filter_map(|f| f.strip_prefix("items."))
            .map(|f| format!("result.application.{f}")),
    );
    fields.join(",")
}

/// Send what was read; false when nobody listens any more.
async fn send(
    tx: &mpsc::Sender<SourceEvent>,
    index: usize,
    result: Result<Update, String>,
) -> bool {
    tx.send(SourceEvent {
        source: index,
        at: chrono::Utc::now(),
        result,
    })
    .await
    .is_ok()
}

/// The whole set, as listed (moved: the watch keeps no copy).
fn whole(apps: Vec<GitOpsApp>) -> Update {
    Update::Whole(Snapshot {
        apps,
        ..Snapshot::default()
    })
}

/// What the stream changed since the last send, by app name: the app as
/// it is now, or None when it was deleted. The watch holds nothing else:
/// the app side has the set.
#[derive(Default)]
struct Touched(BTreeMap<String, Option<GitOpsApp>>);

impl Touched {
    /// The news for the app side.
    fn take(&mut self) -> Update {
        let mut changes = AppChanges::default();
        for (name, app) in std::mem::take(&mut self.0) {
            match app {
                Some(app) => changes.changed.push(app),
                None => changes.removed.push(name),
            }
        }
        Update::Apps(changes)
    }
}

/// How a stream ended.
enum Ended {
    /// The receiver is gone: stop.
    Closed,
    /// The stream broke (or never opened): reconnect after a wait.
    Broken(String),
}

pub(super) async fn run(
    source: &ArgoCdSource,
    index: usize,
    tx: &mpsc::Sender<SourceEvent>,
    wake: &Notify,
) {
    let ceiling = source.poll.max(source.stream_retry);
    let mut retry = source.stream_retry;
    loop {
        // List first: the starting point of the stream, and the fallback
        // read while it is down.
        let listed = match tokio::time::timeout(FETCH_TIMEOUT, source.list()).await {
            Ok(r) => r,
            Err(_) => Err(SourceError::Timeout(FETCH_TIMEOUT)),
        };
        let ended = match listed {
            Ok((list, version)) => {
                if !send(tx, index, Ok(whole(list))).await {
                    return;
                }
                follow(source, index, tx, wake, version, &mut retry).await
            }
            Err(e) => {
                if !send(tx, index, Err(e.to_string())).await {
                    return;
                }
                Ended::Broken(e.to_string())
            }
        };
        match ended {
            Ended::Closed => return,
            Ended::Broken(why) => {
                tracing::warn!(source = source.name, %why, "watch stream down; reading again in {:?}", retry);
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(retry) => {}
            _ = wake.notified() => {}
        }
        retry = (retry * 2).min(ceiling);
    }
}

/// At most one send this often while events stream in: each send costs a
/// rebuild of the app side's rows, so a storm of events (100/s over 10,000
/// apps) goes out as the apps it changed once per interval, never one send
/// per event. A change after a quiet interval goes out at once.
pub const SEND_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Follow the stream until it breaks. Every line is applied as it comes;
/// the apps it changed are sent at once when nothing was sent for
/// [`SEND_EVERY`], else when that interval is up, and before the stream
/// is left (so no applied event waits for the next list). While it is
/// open, an empty change goes out at the poll interval (the data is live,
/// so it is current) and an action's wake-up lists and sends the whole set
/// again. Lines that cannot be read are the source's problem, in words.
async fn follow(
    source: &ArgoCdSource,
    index: usize,
    tx: &mpsc::Sender<SourceEvent>,
    wake: &Notify,
    version: Option<String>,
    retry: &mut std::time::Duration,
) -> Ended {
    let client = match &source.stream_client {
        Ok(c) => c,
        Err(e) => return Ended::Broken(e.to_string()),
    };
    let request = match source
        .request(client, Method::GET, "/api/v1/stream/applications")
        .await
    {
        Ok(r) => r,
        Err(e) => return Ended::Broken(e.to_string()),
    };
    let mut query = source.scope();
    query.push(("fields", stream_fields()));
    if let Some(v) = version {
        query.push(("resourceVersion", v));
    }
    let mut response = match http::send(request.query(&query)).await {
        Ok(r) => r,
        Err(e) => return Ended::Broken(e.to_string()),
    };
    // No fixed buffer: a line is as long as it is.
    let mut buffer: Vec<u8> = Vec::new();
    let mut scanned = 0;
    let mut heartbeat = tokio::time::interval(source.poll);
    heartbeat.tick().await;
    let silence = silence_limit(source.poll);
    let mut last_heard = tokio::time::Instant::now();
    let mut unreadable = Unreadable::default();
    // The list was just sent; `touched`: applied but not sent yet.
    let mut sent_at = tokio::time::Instant::now();
    let mut touched = Touched::default();
    let mut relisted: Option<Vec<GitOpsApp>> = None;
    let mut unreadable_sent = 0;
    loop {
        let due = sent_at + SEND_EVERY;
        let ended = tokio::select! {
            chunk = response.chunk() => match chunk {
                Ok(Some(bytes)) => {
                    last_heard = tokio::time::Instant::now();
                    buffer.extend_from_slice(&bytes);
                    let mut start = 0;
                    while let Some(end) = buffer[start + scanned..].iter().position(|b| *b == b'\n') {
                        let line = start..start + scanned + end + 1;
                        scanned = 0;
                        if apply(source, &mut touched, &buffer[line.clone()], &mut unreadable) {
                            // It works again: the next break starts from a short wait.
                            *retry = source.stream_retry;
                        }
                        start = line.end;
                    }
                    buffer.drain(..start);
                    scanned = buffer.len();
                    let pending = !touched.0.is_empty() || unreadable.count > unreadable_sent;
                    if pending && tokio::time::Instant::now() >= due {
                        None
                    } else {
                        continue;
                    }
                }
                Ok(None) => Some(Ended::Broken("the server closed the stream".into())),
                Err(e) => Some(Ended::Broken(http::transport_error(e).to_string())),
            },
            _ = tokio::time::sleep_until(due), if !touched.0.is_empty() || unreadable.count > unreadable_sent => None,
            _ = heartbeat.tick() => {
                if last_heard.elapsed() >= silence {
                    Some(Ended::Broken(format!(
                        "no event or keep-alive on the stream for {}: reconnecting",
                        humantime::format_duration(silence)
                    )))
                } else {
                    None
                }
            }
            _ = wake.notified() => {
                if let Ok((list, _)) = source.list().await {
                    relisted = Some(list);
                }
                None
            }
        };
        // Send what is current: when due, on the heartbeat, after a wake-up,
        // and what was applied before leaving a broken stream.
        if ended.is_none() || !touched.0.is_empty() {
            let update = match relisted.take() {
                Some(list) => {
                    touched.0.clear();
                    whole(list)
                }
                None => touched.take(),
            };
            let update = with_problems(update, &unreadable, &mut unreadable_sent);
            if !send(tx, index, Ok(update)).await {
                return Ended::Closed;
            }
            sent_at = tokio::time::Instant::now();
        }
        if let Some(ended) = ended {
            return ended;
        }
    }
}

/// Unreadable lines, once some were seen, ride along as the source's
/// problem (the apps read are still shown).
fn with_problems(mut update: Update, unreadable: &Unreadable, sent: &mut u64) -> Update {
    if unreadable.count == 0 {
        return update;
    }
    let problem = format!(
        "{} stream event{} could not be read and {} skipped (the last: {})",
        unreadable.count,
        if unreadable.count == 1 { "" } else { "s" },
        if unreadable.count == 1 { "was" } else { "were" },
        unreadable.last.as_deref().unwrap_or("unknown")
    );
    *sent = unreadable.count;
    match &mut update {
        Update::Whole(snapshot) => snapshot.problems = vec![problem],
        Update::Apps(changes) => changes.problems = Some(vec![problem]),
    }
    update
}

/// How long the stream may say nothing before it counts as dead: twice
/// the refresh interval.
pub fn silence_limit(poll: std::time::Duration) -> std::time::Duration {
    2 * poll
}

/// Stream lines that could not be read, counted: one bad event must not
/// end the stream, and none is skipped without a word.
#[derive(Debug, Default)]
pub struct Unreadable {
    pub count: u64,
    pub last: Option<String>,
}

/// The JSON of one stream line: the line itself, or the payload of a
/// server-sent `data:` field. None for what carries no event (blank lines,
/// SSE comments such as keep-alives, `event:`/`id:`/`retry:` fields).
pub fn event_json(line: &[u8]) -> Option<&[u8]> {
    let line = line.trim_ascii();
    if line.is_empty() || line.starts_with(b":") {
        return None;
    }
    if let Some(data) = line.strip_prefix(b"data:") {
        let data = data.trim_ascii();
        return (!data.is_empty()).then_some(data);
    }
    for field in [&b"event:"[..], b"id:", b"retry:"] {
        if line.starts_with(field) {
            return None;
        }
    }
    Some(line)
}

/// Apply one stream line; true when it changed an app.
fn apply(
    source: &ArgoCdSource,
    touched: &mut Touched,
    line: &[u8],
    unreadable: &mut Unreadable,
) -> bool {
    let Some(json) = event_json(line) else {
        return false;
    };
    let parsed: api::StreamLine = match serde_json::from_slice(json) {
        Ok(l) => l,
        Err(e) => {
            unreadable.count += 1;
            unreadable.last = Some(e.to_string());
            tracing::warn!(
                source = source.name,
                error = %e,
                unreadable = unreadable.count,
                "an unreadable stream event (the others are applied)"
            );
            return false;
        }
    };
    if let Some(error) = parsed.error {
        tracing::warn!(source = source.name, %error, "the stream reported an error");
        return false;
    }
    let Some(event) = parsed.result else {
        return false;
    };
    let app = api::to_app(&source.name, event.application);
    if app.name.is_empty() {
        return false;
    }
    let name = app.name.clone();
    let now = (event.kind != "DELETED").then_some(app);
    touched.0.insert(name, now);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_framings_give_the_event_and_nothing_else() {
        let event = br#"{"result":{"type":"ADDED"}}"#;
        assert_eq!(event_json(event), Some(&event[..]));
        assert_eq!(
            event_json(b"data: {\"result\":{}}\r"),
            Some(&b"{\"result\":{}}"[..])
        );
        assert_eq!(event_json(b"data:{}"), Some(&b"{}"[..]));
        for nothing in [
            &b""[..],
            b"  ",
            b": keep-alive",
            b"event: message",
            b"id: 7",
            b"retry: 1000",
            b"data:",
        ] {
            assert_eq!(
                event_json(nothing),
                None,
                "{:?}",
                String::from_utf8_lossy(nothing)
            );
        }
    }

    #[test]
    fn silence_is_twice_the_refresh() {
        assert_eq!(
            silence_limit(std::time::Duration::from_secs(30)),
            std::time::Duration::from_secs(60)
        );
    }
}
