//! A job's log tail: `GET /projects/:id/jobs/:job_id/trace` is plain text
//! and may be many megabytes, so it is streamed and only its end is kept.
//! It goes past `Polite`'s cache (which would hold the whole log) but not
//! past its rate limit: checked before, observed after. GitLab's API
//! documents no `Range` on this endpoint (api-specs: 200 or an error), so
//! the end is not asked for by range: the trace is streamed whole, in
//! bounded memory.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use reqwest::Method;

use super::{GitlabSource, Reading};
use crate::model::LogTail;
use crate::sources::SourceError;
use crate::sources::http::{self, TailBuffer, transport_error};
use crate::sources::polite::Page;

/// How much of the end of a log is kept while it streams in (the tail
/// shown is the last `LOG_TAIL_LINES` lines of this).
pub const LOG_TAIL_BYTES: usize = 256 * 1024;

impl GitlabSource {
    pub(super) async fn log_tail(
        &self,
        _run_id: &str,
        job_id: &str,
    ) -> Result<LogTail, SourceError> {
        let job: u64 = job_id
            .parse()
            .map_err(|_| SourceError::Backend(format!("`{job_id}` is not a GitLab job id")))?;
        let token = self.token().await?;
        self.polite.check(chrono::Utc::now())?;
        let url = format!("{}/jobs/{job}/trace", self.project_url());
        let (mut response, _) = http::renewing(
            token,
            |token| {
                let request = self.request(Method::GET, &url, &token);
                async move {
                    self.log_reads.fetch_add(1, Ordering::Relaxed);
                    (request?.send().await).map_err(|e| self.named(transport_error(e)))
                }
            },
            |response| response.status(),
            |rejected| self.renewed(rejected),
        )
        .await?;
        let status = response.status();
        let path = response.url().path().to_string();
        self.polite.observe(status, response.headers(), &path)?;
        if !status.is_success() {
            let body = response
                .bytes()
                .await
                .map_err(|e| self.named(transport_error(e)))?;
            let page = Page {
                status,
                path,
                body: Arc::new(body.to_vec()),
                next: None,
                not_modified: false,
            };
            return Err(self.read_error(&page, &Reading::Log(job)));
        }
        let mut tail = TailBuffer::new(LOG_TAIL_BYTES);
        tail.read(&mut response)
            .await
            .map_err(|e| self.named(transport_error(e)))?;
        let (text, truncated) = tail.finish();
        let name = self
            .job_names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(job_id)
            .cloned()
            .unwrap_or_else(|| format!("job #{job}"));
        Ok(LogTail::from_text(name, &text, truncated))
    }
}
