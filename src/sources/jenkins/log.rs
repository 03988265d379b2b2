//! The end of a build's console, and never the whole of it.
//!
//! `logText/progressiveText?start=N` sends the text from byte N and its end
//! offset in `X-Text-Size`. Jenkins has no request for the size alone, and
//! a `start` beyond the end does not answer empty: Jenkins takes it for a
//! log that rolled over and sends everything from 0. So the size is learnt
//! with HEAD requests (headers, no body on the wire), then only the last
//! `TAIL_BYTES` are fetched. While a build runs, Jenkins reads at most
//! 10 000 lines per request, so a long running log takes a few HEADs, each
//! starting where the last one stopped.

use reqwest::StatusCode;

use super::api::job_url_path;
use super::{Auth, JenkinsSource, Subject};
use crate::model::LogTail;
use crate::sources::SourceError;
use crate::sources::http::{self, TailBuffer, transport_error};

/// How much of the end of a console is fetched.
pub const TAIL_BYTES: u64 = 64 * 1024;
/// HEADs spent finding the end of a running build's console.
const MAX_SIZE_PROBES: usize = 16;

pub(super) async fn tail(
    source: &JenkinsSource,
    job: &str,
    number: u64,
    job_id: &str,
) -> Result<LogTail, SourceError> {
    let auth = source.auth().await.map_err(SourceError::Auth)?;
    // A 401 reads the token again (a command runs again) and reads once
    // more, as every other read does (`http::renewing`).
    let (read, _) = http::renewing(
        auth,
        |auth| async move { read_tail(source, job, number, job_id, &auth).await },
        |read| read.as_ref().err().map_or(StatusCode::OK, |r| r.status),
        |rejected| source.renewed(rejected),
    )
    .await?;
    read.map_err(|r| r.error)
}

/// A read Jenkins refused, with its status (a 401 is read again with a
/// renewed token).
struct Refused {
    status: StatusCode,
    error: SourceError,
}

/// One reading of the tail with `auth`: the tail, or Jenkins' refusal.
async fn read_tail(
    source: &JenkinsSource,
    job: &str,
    number: u64,
    job_id: &str,
    auth: &Option<Auth>,
) -> Result<Result<LogTail, Refused>, SourceError> {
    let path = format!("{}/{number}/logText/progressiveText", job_url_path(job));
    let subject = Subject::Build(job, number);
    let mut size = 0;
    for _ in 0..MAX_SIZE_PROBES {
        let (end, more) = match probe(source, &path, size, auth, subject).await? {
            Ok(probed) => probed,
            Err(refused) => return Ok(Err(refused)),
        };
        if end <= size {
            break;
        }
        let read = end - size;
        size = end;
        // A finished log is read to its end at once; a running one in
        // slices of 10 000 lines: a short slice was the last.
        if !more || read < TAIL_BYTES {
            break;
        }
    }
    let start = size.saturating_sub(TAIL_BYTES);
    let request = source
        .client()?
        .get(source.url(&path))
        .query(&[("start", start)]);
    let mut response = JenkinsSource::with_auth(request, auth)
        .send()
        .await
        .map_err(|e| source.transport(transport_error(e)))?;
    let status = response.status();
    let url_path = response.url().path().to_string();
    // A log read from the middle of a line: its start is elsewhere (not so
    // an error page). A log that grew since the probe keeps only its end.
    let offset = if status.is_success() { start } else { 0 };
    let mut tail = TailBuffer::new(TAIL_BYTES as usize).from_offset(offset);
    tail.read(&mut response)
        .await
        .map_err(|e| source.transport(transport_error(e)))?;
    let (text, truncated) = tail.finish();
    if !status.is_success() {
        return Ok(Err(Refused {
            status,
            error: error(source, status, &url_path, text.as_bytes(), subject, auth),
        }));
    }
    Ok(Ok(LogTail::from_text(job_id, &text, truncated)))
}

/// One HEAD from `start`: where the text read from there ends, and whether
/// the build is still writing; or Jenkins' refusal.
async fn probe(
    source: &JenkinsSource,
    path: &str,
    start: u64,
    auth: &Option<Auth>,
    subject: Subject<'_>,
) -> Result<Result<(u64, bool), Refused>, SourceError> {
    let request = source
        .client()?
        .head(source.url(path))
        .query(&[("start", start)]);
    let response = JenkinsSource::with_auth(request, auth)
        .send()
        .await
        .map_err(|e| source.transport(transport_error(e)))?;
    let status = response.status();
    let url_path = response.url().path().to_string();
    if !status.is_success() {
        return Ok(Err(Refused {
            status,
            error: error(source, status, &url_path, &[], subject, auth),
        }));
    }
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let size = header("x-text-size")
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| {
            SourceError::Decode(format!(
                "{}: the console of {} from {url_path}: no X-Text-Size header, so its size is \
                 unknown (and it is not fetched whole)",
                source.name,
                subject.describe()
            ))
        })?;
    let more = header("x-more-data").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    Ok(Ok((size, more)))
}

fn error(
    source: &JenkinsSource,
    status: StatusCode,
    path: &str,
    body: &[u8],
    subject: Subject<'_>,
    auth: &Option<Auth>,
) -> SourceError {
    let words = JenkinsSource::scrub(
        source.refusal(status, path, body, subject, "read the console of"),
        auth,
    );
    crate::sources::http::read_error(status, words)
}
