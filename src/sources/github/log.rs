//! The tail of one job's log. GitHub answers `302` to a short-lived signed
//! URL on its log storage; reqwest follows it and drops `Authorization` on
//! the way to another host, so the token never reaches the storage. The
//! body is streamed and only its end is kept: a log can be hundreds of MB.

use reqwest::Method;

use super::{GithubSource, Read};
use crate::model::LogTail;
use crate::sources::SourceError;
use crate::sources::http::transport_error;

/// The most of a log's end that is kept (far more than `LOG_TAIL_LINES`
/// lines of any sane log).
pub const LOG_TAIL_BYTES: usize = 256 * 1024;

/// The end of a byte stream, in bounded memory.
#[derive(Debug, Default)]
pub struct TailBuffer {
    bytes: Vec<u8>,
    dropped: bool,
}

impl TailBuffer {
    /// Add a chunk; the buffer never grows past twice the tail plus a chunk.
    pub fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
        if self.bytes.len() > 2 * LOG_TAIL_BYTES {
            self.cut();
        }
    }

    fn cut(&mut self) {
        let excess = self.bytes.len().saturating_sub(LOG_TAIL_BYTES);
        if excess > 0 {
            self.bytes.drain(..excess);
            self.dropped = true;
        }
    }

    /// Bytes held now.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The kept text (from the first whole line when the start was cut),
    /// and whether anything was left out.
    pub fn finish(mut self) -> (String, bool) {
        self.cut();
        if self.dropped {
            match self.bytes.iter().position(|&b| b == b'\n') {
                Some(i) => drop(self.bytes.drain(..=i)),
                None => self.bytes.clear(),
            }
        }
        (
            String::from_utf8_lossy(&self.bytes).into_owned(),
            self.dropped,
        )
    }
}

impl GithubSource {
    pub(super) async fn load_log(
        &self,
        run_id: &str,
        job_id: &str,
    ) -> Result<LogTail, SourceError> {
        // Rate limited: not one request before the reset.
        self.polite.check(chrono::Utc::now())?;
        let token = self.token().await?;
        let path = format!("/actions/jobs/{}/logs", super::http::path_segment(job_id));
        let url = self.repo_url(&path);
        let asked = url::Url::parse(&url).map_err(|e| {
            SourceError::Unreachable(format!("{}: `{url}` is not a URL: {e}", self.name))
        })?;
        let response = self
            .request(Method::GET, asked.as_str(), &token)?
            .send()
            .await
            .map_err(|e| self.own_timeout(transport_error(e)))?;
        let status = response.status();
        let redirected = response.url() != &asked;
        if !redirected {
            // GitHub's own answer (not the log storage's) carries its rate limit.
            self.polite
                .observe(status, response.headers(), asked.path())?;
        }
        let mut response = response;
        let mut tail = TailBuffer::default();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.own_timeout(transport_error(e)))?
        {
            tail.push(&chunk);
        }
        let (text, truncated) = tail.finish();
        if !status.is_success() {
            if redirected {
                return Err(SourceError::Backend(format!(
                    "{}: GitHub's log storage answered {} for the log of job {job_id}: {} — \
                     the download link expires after a minute: try again",
                    self.name,
                    status.as_u16(),
                    super::api::message(text.as_bytes())
                )));
            }
            let read = Read::new(
                "job logs",
                format!(
                    "the log of job {job_id} (run {run_id}) in {}",
                    self.config.repo
                ),
                "logs are deleted after the repository's retention period",
            );
            return Err(self.read_error(status, asked.path(), text.as_bytes(), &token, &read));
        }
        Ok(LogTail::from_text(job_id, &text, truncated))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_stream_is_held_in_bounded_memory_and_cut_at_a_line() {
        let mut tail = TailBuffer::default();
        let line = b"2026-11-20T10:00:00.0000000Z some build output that goes on\n";
        for _ in 0..200_000 {
            tail.push(line);
            assert!(tail.len() <= 2 * LOG_TAIL_BYTES + line.len());
        }
        let (text, truncated) = tail.finish();
        assert!(truncated);
        assert!(text.len() <= LOG_TAIL_BYTES);
        assert!(
            text.starts_with("2026-11-20T10:00:00"),
            "cut at a whole line"
        );
        let mut small = TailBuffer::default();
        small.push(b"one\ntwo\n");
        assert_eq!(small.finish(), ("one\ntwo\n".to_string(), false));
    }
}
