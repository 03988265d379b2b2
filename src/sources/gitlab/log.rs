//! A job's log tail: `GET /projects/:id/jobs/:job_id/trace` is plain text
//! and may be many megabytes, so it is streamed and only its end is kept.
//! It goes past `Polite`'s cache (which would hold the whole log) but not
//! past its rate limit: checked before, observed after.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use reqwest::Method;

use super::{GitlabSource, Reading};
use crate::model::LogTail;
use crate::sources::SourceError;
use crate::sources::http::transport_error;
use crate::sources::polite::Page;

/// How much of the end of a log is kept while it streams in (the tail
/// shown is the last `LOG_TAIL_LINES` lines of this).
pub const LOG_TAIL_BYTES: usize = 256 * 1024;

/// The end of a stream, at most `LOG_TAIL_BYTES` (plus one chunk while
/// reading).
#[derive(Default)]
struct Tail {
    bytes: Vec<u8>,
    dropped: bool,
}

impl Tail {
    fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
        // Cut in batches, not on every chunk: the copy is then amortised.
        if self.bytes.len() > 2 * LOG_TAIL_BYTES {
            self.cut();
        }
    }

    fn cut(&mut self) {
        let extra = self.bytes.len().saturating_sub(LOG_TAIL_BYTES);
        if extra > 0 {
            self.bytes.drain(..extra);
            self.dropped = true;
        }
    }

    /// The kept text; after a cut, from the first whole line on (the cut
    /// may have split a line or a UTF-8 character).
    fn finish(mut self) -> (String, bool) {
        self.cut();
        let start = if self.dropped {
            self.bytes
                .iter()
                .position(|b| *b == b'\n')
                .map_or(self.bytes.len(), |i| i + 1)
        } else {
            0
        };
        (
            String::from_utf8_lossy(&self.bytes[start..]).into_owned(),
            self.dropped,
        )
    }
}

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
        let request = self.request(Method::GET, &url, &token)?;
        self.log_reads.fetch_add(1, Ordering::Relaxed);
        let mut response = request
            .send()
            .await
            .map_err(|e| self.named(transport_error(e)))?;
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
        let mut tail = Tail::default();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.named(transport_error(e)))?
        {
            tail.push(&chunk);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_end_is_kept_and_it_starts_on_a_whole_line() {
        let mut tail = Tail::default();
        let line = "x".repeat(99) + "\n";
        for _ in 0..(3 * LOG_TAIL_BYTES / 100) {
            tail.push(line.as_bytes());
            assert!(tail.bytes.len() <= 2 * LOG_TAIL_BYTES + 100);
        }
        tail.push(b"last line\n");
        let (text, dropped) = tail.finish();
        assert!(dropped);
        assert!(text.len() <= LOG_TAIL_BYTES);
        assert!(text.starts_with('x') && text.lines().all(|l| l.len() == 99 || l == "last line"));
        assert!(text.ends_with("last line\n"));

        let mut short = Tail::default();
        short.push(b"one\ntwo\n");
        assert_eq!(short.finish(), ("one\ntwo\n".to_string(), false));
    }
}
