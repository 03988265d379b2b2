//! The tail of one job's log. GitHub answers `302` to a short-lived signed
//! URL on its log storage; reqwest follows it and drops `Authorization` on
//! the way to another host, so the token never reaches the storage. Only
//! the end is asked for (`Range: bytes=-N`, kept across the redirect): the
//! storage, a blob store, answers `206` with just that. A storage that
//! ignores the range answers `200` with the whole log, which is streamed
//! keeping only its end: a log can be hundreds of MB.

use reqwest::{Method, StatusCode};

use super::{GithubSource, Read};
use crate::model::LogTail;
use crate::sources::SourceError;
use crate::sources::http::{self, TailBuffer, transport_error};

/// The most of a log's end that is kept (far more than `LOG_TAIL_LINES`
/// lines of any sane log).
pub const LOG_TAIL_BYTES: usize = 256 * 1024;

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
        let (mut response, token) =
            http::renewing(
                token,
                |token| {
                    let request = self
                        .request(Method::GET, asked.as_str(), &token)
                        .map(|r| http::ask_for_tail(r, LOG_TAIL_BYTES));
                    async move {
                        (request?.send().await).map_err(|e| self.own_timeout(transport_error(e)))
                    }
                },
                |response| response.status(),
                |rejected| self.renewed(rejected),
            )
            .await?;
        let status = response.status();
        let redirected = response.url() != &asked;
        if !redirected {
            // GitHub's own answer (not the log storage's) carries its rate limit.
            self.polite
                .observe(status, response.headers(), asked.path())?;
        }
        if redirected && status == StatusCode::RANGE_NOT_SATISFIABLE {
            // No byte to end with: the log is empty.
            return Ok(LogTail::from_text(job_id, "", false));
        }
        let mut tail = TailBuffer::new(LOG_TAIL_BYTES);
        tail.read_tail(&mut response)
            .await
            .map_err(|e| self.own_timeout(transport_error(e)))?;
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
