//! A task's log tail: the latest try of the task, read as JSON pages
//! (`content` items and a `continuation_token`, followed while it brings
//! more), each item a line pushed through the kit's tail buffer, so memory
//! stays bounded however long the log. A page too large to hold is not
//! held: the log is streamed as NDJSON instead, its end kept.

use reqwest::{Method, RequestBuilder};
use serde::Deserialize;
use serde_json::Value;

use super::api::{self, TaskInstance};
use super::auth::JSON;
use super::{AirflowSource, Reading, segment};
use crate::model::LogTail;
use crate::sources::SourceError;
use crate::sources::http::{self, Reply, TailBuffer, transport_error};

/// How much of the end of a log is kept (the tail shown is the last
/// `LOG_TAIL_LINES` lines of it).
pub const LOG_TAIL_BYTES: usize = 256 * 1024;
/// A JSON page larger than this is not held in memory: the log is streamed
/// as NDJSON instead.
pub const LOG_PAGE_BYTES: usize = 4 * 1024 * 1024;
/// At most this many pages are followed by their continuation token.
pub const MAX_LOG_PAGES: usize = 20;

#[derive(Deserialize)]
struct LogPage {
    #[serde(default)]
    content: Vec<Value>,
    #[serde(default)]
    continuation_token: Option<String>,
}

impl AirflowSource {
    pub(super) async fn log_tail(
        &self,
        run_id: &str,
        job_id: &str,
    ) -> Result<LogTail, SourceError> {
        let (dag, run) = Self::split_run(run_id).map_err(SourceError::Backend)?;
        let (task, map_index) = api::split_job_id(job_id);
        let instance = self.task(dag, run, task, map_index).await?;
        if instance.try_number == 0 {
            let state = instance.state.as_deref().unwrap_or("no status");
            return Ok(LogTail {
                job: job_id.to_string(),
                lines: vec![format!(
                    "{job_id} has not run ({}): there is no log{}",
                    state.replace('_', " "),
                    if state == "upstream_failed" {
                        " — a task it depends on failed: see that task's log"
                    } else {
                        ""
                    }
                )],
                truncated: false,
            });
        }
        let url = self.api(&format!(
            "/dags/{}/dagRuns/{}/taskInstances/{}/logs/{}",
            segment(dag),
            segment(run),
            segment(task),
            instance.try_number
        ));
        let reading = Reading::Log(dag, run, task);
        let mut tail = TailBuffer::new(LOG_TAIL_BYTES);
        let mut token: Option<String> = None;
        for _ in 0..MAX_LOG_PAGES {
            let asked = token.clone();
            let build = |r: RequestBuilder| {
                let mut query = vec![("map_index", map_index.to_string())];
                if let Some(t) = &asked {
                    query.push(("token", t.clone()));
                }
                r.query(&query)
            };
            let mut response = self.read_stream(&url, JSON, &build).await?;
            if !response.status().is_success() {
                let reply = Reply::read(response).await.map_err(|e| self.named(e))?;
                return Err(self.read_error(&reply, &reading));
            }
            let Some(body) = self.bounded_body(&mut response).await? else {
                return self.streamed(&url, map_index, job_id, &reading).await;
            };
            let page: LogPage =
                http::decode(&body, &format!("{}: the log of {job_id}", self.name))?;
            let added = page.content.len();
            for item in &page.content {
                if let Some(line) = line(item) {
                    tail.push(line.as_bytes());
                    tail.push(b"\n");
                }
            }
            // A running task's token says where to go on; a finished
            // task's is null. One that brings nothing new ends the read.
            match page.continuation_token {
                Some(next) if added > 0 && Some(&next) != token.as_ref() => token = Some(next),
                _ => break,
            }
        }
        let (text, truncated) = tail.finish();
        Ok(LogTail::from_text(job_id, &text, truncated))
    }

    /// The task instance (its latest try and state).
    async fn task(
        &self,
        dag: &str,
        run: &str,
        task: &str,
        map_index: i64,
    ) -> Result<TaskInstance, SourceError> {
        let mut path = format!(
            "/dags/{}/dagRuns/{}/taskInstances/{}",
            segment(dag),
            segment(run),
            segment(task)
        );
        if map_index >= 0 {
            path.push_str(&format!("/{map_index}"));
        }
        let reply = self
            .read_reply(Method::GET, &self.api(&path), &|r| r)
            .await?;
        self.decoded(&reply, &Reading::Log(dag, run, task))
    }

    /// The body, unless it grows past `LOG_PAGE_BYTES` (then `None`, and
    /// what was read is dropped).
    async fn bounded_body(
        &self,
        response: &mut reqwest::Response,
    ) -> Result<Option<Vec<u8>>, SourceError> {
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.named(transport_error(e)))?
        {
            if body.len() + chunk.len() > LOG_PAGE_BYTES {
                return Ok(None);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Some(body))
    }

    /// The whole log streamed as NDJSON (one item a line), only its end
    /// kept.
    async fn streamed(
        &self,
        url: &str,
        map_index: i64,
        job_id: &str,
        reading: &Reading<'_>,
    ) -> Result<LogTail, SourceError> {
        let build = |r: RequestBuilder| r.query(&[("map_index", map_index.to_string())]);
        let mut response = self
            .read_stream(url, "application/x-ndjson", &build)
            .await?;
        if !response.status().is_success() {
            let reply = Reply::read(response).await.map_err(|e| self.named(e))?;
            return Err(self.read_error(&reply, reading));
        }
        // NDJSON lines carry their fields: keep more bytes for as many lines.
        let mut tail = TailBuffer::new(4 * LOG_TAIL_BYTES);
        tail.read(&mut response)
            .await
            .map_err(|e| self.named(transport_error(e)))?;
        let (text, truncated) = tail.finish();
        let lines: Vec<String> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|item| line(&item))
            .collect();
        Ok(LogTail::from_text(job_id, &lines.join("\n"), truncated))
    }
}

/// One log item as a line: `18:25:42 ERROR event — ExcType: value`.
/// Group markers are dropped; a plain string is itself.
fn line(item: &Value) -> Option<String> {
    let event = match item {
        Value::String(s) => return Some(s.clone()),
        Value::Object(_) => item.get("event").and_then(Value::as_str).unwrap_or(""),
        _ => return None,
    };
    if event == "::endgroup::" {
        return None;
    }
    let event = event.strip_prefix("::group::").unwrap_or(event);
    let mut line = String::new();
    if let Some(at) = api::time(item.get("timestamp").and_then(Value::as_str)) {
        line.push_str(&at.format("%H:%M:%S ").to_string());
    }
    if let Some(level) = item.get("level").and_then(Value::as_str) {
        line.push_str(&level.to_ascii_uppercase());
        line.push(' ');
    }
    line.push_str(event);
    for error in item
        .get("error_detail")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let kind = error.get("exc_type").and_then(Value::as_str).unwrap_or("");
        let value = error.get("exc_value").and_then(Value::as_str).unwrap_or("");
        line.push_str(&format!(" — {kind}: {value}"));
    }
    Some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_read_as_lines() {
        let item = serde_json::json!({
            "timestamp": "2026-12-04T18:25:42.660117Z", "event": "Task failed with exception",
            "level": "error",
            "error_detail": [{"exc_type": "AirflowException", "exc_value": "Bash command failed."}]
        });
        assert_eq!(
            line(&item).as_deref(),
            Some(
                "18:25:42 ERROR Task failed with exception — AirflowException: Bash command failed."
            )
        );
        assert_eq!(line(&serde_json::json!({"event": "::endgroup::"})), None);
        assert_eq!(
            line(&serde_json::json!({"event": "::group::Pre Execute"})).as_deref(),
            Some("Pre Execute")
        );
        assert_eq!(line(&serde_json::json!("plain")).as_deref(), Some("plain"));
    }
}
