//! Live updates: list once, then follow `/api/v1/stream/applications`
//! (one `{"result":{"type","application"}}` per line, each possibly
//! megabytes). A broken stream is reconnected with backoff; each attempt
//! lists first, so the screen keeps being read (polled) meanwhile.

use std::collections::BTreeMap;

use reqwest::Method;
use tokio::sync::{Notify, mpsc};

use super::{ArgoCdSource, api};
use crate::model::{GitOpsApp, Snapshot};
use crate::sources::{FETCH_TIMEOUT, SourceError, SourceEvent, http};

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

/// Send the whole current set of apps; false when nobody listens any more.
async fn send(
    tx: &mpsc::Sender<SourceEvent>,
    index: usize,
    result: Result<&BTreeMap<String, GitOpsApp>, &SourceError>,
) -> bool {
    let result = match result {
        Ok(apps) => Ok(Snapshot {
            apps: apps.values().cloned().collect(),
            ..Snapshot::default()
        }),
        Err(e) => Err(e.to_string()),
    };
    tx.send(SourceEvent {
        source: index,
        at: chrono::Utc::now(),
        result,
    })
    .await
    .is_ok()
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
                let mut apps: BTreeMap<String, GitOpsApp> =
                    list.into_iter().map(|a| (a.name.clone(), a)).collect();
                if !send(tx, index, Ok(&apps)).await {
                    return;
                }
                follow(source, index, tx, wake, &mut apps, version, &mut retry).await
            }
            Err(e) => {
                if !send(tx, index, Err(&e)).await {
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

/// Follow the stream until it breaks. Each batch of complete lines is
/// applied, then the whole set sent once. While it is open, the set is
/// re-sent at the poll interval (it is live, so it is current) and an
/// action's wake-up lists again.
async fn follow(
    source: &ArgoCdSource,
    index: usize,
    tx: &mpsc::Sender<SourceEvent>,
    wake: &Notify,
    apps: &mut BTreeMap<String, GitOpsApp>,
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
    loop {
        tokio::select! {
            chunk = response.chunk() => match chunk {
                Ok(Some(bytes)) => {
                    buffer.extend_from_slice(&bytes);
                    let mut changed = false;
                    while let Some(end) = buffer[scanned..].iter().position(|b| *b == b'\n') {
                        let line: Vec<u8> = buffer.drain(..=scanned + end).collect();
                        scanned = 0;
                        changed |= apply(source, apps, &line);
                    }
                    scanned = buffer.len();
                    if changed {
                        // It works again: the next break starts from a short wait.
                        *retry = source.stream_retry;
                        if !send(tx, index, Ok(apps)).await {
                            return Ended::Closed;
                        }
                    }
                }
                Ok(None) => return Ended::Broken("the server closed the stream".into()),
                Err(e) => return Ended::Broken(http::transport_error(e).to_string()),
            },
            _ = heartbeat.tick() => {
                if !send(tx, index, Ok(apps)).await {
                    return Ended::Closed;
                }
            }
            _ = wake.notified() => {
                if let Ok((list, _)) = source.list().await {
                    *apps = list.into_iter().map(|a| (a.name.clone(), a)).collect();
                }
                if !send(tx, index, Ok(apps)).await {
                    return Ended::Closed;
                }
            }
        }
    }
}

/// Apply one stream line; true when it changed the set. A line that cannot
/// be read is logged and skipped: one bad event must not end the stream.
fn apply(source: &ArgoCdSource, apps: &mut BTreeMap<String, GitOpsApp>, line: &[u8]) -> bool {
    let line = line.trim_ascii();
    if line.is_empty() {
        return false;
    }
    let parsed: api::StreamLine = match serde_json::from_slice(line) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(source = source.name, error = %e, "skipping an unreadable stream event");
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
    match event.kind.as_str() {
        "DELETED" => apps.remove(&app.name).is_some(),
        _ => {
            apps.insert(app.name.clone(), app);
            true
        }
    }
}
