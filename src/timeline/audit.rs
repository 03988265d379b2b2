//! opsdeck's own audit log as timeline events: each action, once — its
//! outcome line (`done`, `failed`, `unknown`), or its request line when no
//! outcome was written (still in flight, or opsdeck stopped).

use std::collections::HashSet;
use std::path::Path;

use serde::Deserialize;

use super::event::{Event, EventKind, TargetKind, target};
use crate::model::{ActionKind, Target, TargetKind as ItemKind, Timestamp};

#[derive(Debug, Deserialize)]
struct Line {
    time: Timestamp,
    id: String,
    user: String,
    source: String,
    target_kind: ItemKind,
    target: String,
    action: ActionKind,
    to: Option<String>,
    outcome: String,
}

/// The action events in the audit log at `path` since `since`. A missing
/// file has none; a line that is not an audit record is skipped.
pub fn read(path: &Path, since: Timestamp) -> std::io::Result<Vec<Event>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(parse(&text, since)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The action events of audit-log text.
pub fn parse(text: &str, since: Timestamp) -> Vec<Event> {
    let lines: Vec<Line> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|l: &Line| l.time >= since)
        .collect();
    let finished: HashSet<&str> = lines
        .iter()
        .filter(|l| l.outcome != "requested")
        .map(|l| l.id.as_str())
        .collect();
    lines
        .iter()
        .filter(|l| l.outcome != "requested" || !finished.contains(l.id.as_str()))
        .map(|l| {
            action_event(
                &l.user,
                &Target::new(&l.source, l.target_kind, &l.target),
                l.action,
                l.to.as_deref(),
                &l.outcome,
                l.time,
            )
        })
        .collect()
}

/// One action as an event: `alice rollback demo/payments to 41: done`.
pub fn action_event(
    user: &str,
    acted: &Target,
    action: ActionKind,
    to: Option<&str>,
    outcome: &str,
    time: Timestamp,
) -> Event {
    let target_kind = match acted.kind {
        ItemKind::Run => TargetKind::Run,
        ItemKind::App => TargetKind::App,
        ItemKind::Model => TargetKind::Model,
        ItemKind::Pipeline => TargetKind::Pipeline,
    };
    Event {
        time,
        source: acted.source.clone(),
        kind: EventKind::Action,
        target: target(&acted.source, &acted.id),
        target_kind,
        revision: None,
        status: outcome.to_string(),
        verdict: None,
        summary: format!(
            "{user} {action} {acted}{}: {outcome}",
            to.map(|t| format!(" to {t}")).unwrap_or_default()
        ),
        observed: false,
        links: Vec::new(),
        item_kind: Some(acted.kind),
        place: None,
        deploy_id: None,
        started_at: None,
        images: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_action_is_one_event_its_outcome_or_its_request() {
        let text = r#"{"time":"2026-03-01T03:12:00Z","id":"a1","user":"alice","host":"h","via":"tui","source":"prod","target_kind":"app","target":"payments","action":"rollback","to":"41","effect":"roll back","production":true,"outcome":"requested","detail":null}
{"time":"2026-03-01T03:12:04Z","id":"a1","user":"alice","host":"h","via":"tui","source":"prod","target_kind":"app","target":"payments","action":"rollback","to":"41","effect":"roll back","production":true,"outcome":"done","detail":"ok"}
not json
{"time":"2026-03-01T03:20:00Z","id":"a2","user":"bob","host":"h","via":"cli","source":"ci","target_kind":"run","target":"77","action":"rerun","to":null,"effect":"re-run","production":false,"outcome":"requested","detail":null}
{"time":"2026-02-01T03:20:00Z","id":"a0","user":"old","host":"h","via":"cli","source":"ci","target_kind":"run","target":"1","action":"rerun","to":null,"effect":"re-run","production":false,"outcome":"done","detail":null}
"#;
        let since = "2026-03-01T00:00:00Z".parse().expect("time");
        let events = parse(text, since);
        assert_eq!(events.len(), 2);
        assert_eq!(
            events[0].summary,
            "alice rollback prod/payments to 41: done"
        );
        assert_eq!(events[0].status, "done");
        assert_eq!(events[0].target, "prod/payments");
        assert_eq!(events[0].target_kind, TargetKind::App);
        assert_eq!(
            events[0].time,
            "2026-03-01T03:12:04Z".parse::<Timestamp>().expect("t")
        );
        assert_eq!(events[1].status, "requested");
        assert_eq!(events[1].target_kind, TargetKind::Run);
    }
}
