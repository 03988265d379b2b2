//! How Jenkins' refusals are put into words: who was refused what, and
//! what to do next, with Jenkins' own sentence taken from its error page.

use reqwest::StatusCode;

use super::JenkinsSource;

/// What a request was about, for error messages.
#[derive(Clone, Copy, Debug)]
pub(super) enum Subject<'a> {
    Job(&'a str),
    Build(&'a str, u64),
    Queue,
    QueueItem(u64),
    Crumb,
}

impl Subject<'_> {
    pub(super) fn describe(self) -> String {
        match self {
            Subject::Job(job) => format!("job {job}"),
            Subject::Build(job, n) => format!("build {job} #{n}"),
            Subject::Queue => "the build queue".into(),
            Subject::QueueItem(id) => format!("queue item {id}"),
            Subject::Crumb => "a CSRF crumb".into(),
        }
    }
}

/// Jenkins' own words from an error answer: a JSON message, else the
/// sentence of an HTML error page that says what is missing, else the
/// start of its text.
fn jenkins_message(body: &[u8]) -> String {
    if let Some(m) = crate::sources::http::json_message(body, &["message", "error"]) {
        return m;
    }
    let text = String::from_utf8_lossy(body);
    let lower = text.to_ascii_lowercase();
    let html = match lower.find("<body") {
        Some(i) => &text[i..],
        None => &text[..],
    };
    let segments = text_segments(html);
    let telling = segments.iter().find(|s| {
        let s = s.to_ascii_lowercase();
        s.contains("is missing the")
            || s.contains("no valid crumb")
            || s.contains("invalid password")
    });
    match telling {
        Some(s) => crate::sources::http::snippet(s),
        None => crate::sources::http::snippet(&segments.join(" ")),
    }
}

/// The text between the tags of an HTML page (scripts and styles left out).
fn text_segments(html: &str) -> Vec<String> {
    let mut segments = Vec::new();
    let mut rest = html;
    let mut skip_until: Option<&str> = None;
    while !rest.is_empty() {
        let (text, after) = match rest.find('<') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if skip_until.is_none() {
            let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
            if !words.is_empty() {
                segments.push(words);
            }
        }
        if after.is_empty() {
            break;
        }
        let end = after.find('>').map_or(after.len(), |i| i + 1);
        let tag = after[..end].to_ascii_lowercase();
        match skip_until {
            Some(close) if tag.starts_with(close) => skip_until = None,
            Some(_) => {}
            None if tag.starts_with("<script") => skip_until = Some("</script"),
            None if tag.starts_with("<style") => skip_until = Some("</style"),
            None => {}
        }
        rest = &after[end..];
    }
    segments
}

impl JenkinsSource {
    /// A refused request in words: who was refused what, and what to do.
    pub(super) fn refusal(
        &self,
        status: StatusCode,
        path: &str,
        body: &[u8],
        subject: Subject<'_>,
        verb: &str,
    ) -> String {
        let message = jenkins_message(body);
        let user = self.config.user.as_deref().unwrap_or("anonymous");
        match status {
            StatusCode::UNAUTHORIZED => match &self.config.token {
                Some(token) => format!(
                    "{}: Jenkins rejected the API token of user {user} (401 on {path}): {message} — \
                     the token came from {}: check it, or make a new one on {user}'s Security page in Jenkins",
                    self.name,
                    token.origin()
                ),
                None => format!(
                    "{}: Jenkins wants to know who is asking (401 on {path}): set `user` and `token` (an API token)",
                    self.name
                ),
            },
            StatusCode::FORBIDDEN => format!(
                "{}: no permission to {verb} {} (403 on {path}): {message}",
                self.name,
                subject.describe()
            ),
            StatusCode::NOT_FOUND => match subject {
                Subject::Job(job) => format!(
                    "{}: job {job} not found (404 on {path}): check `jobs` (a job in a folder is \
                     written folder/job) and that {user} may see it",
                    self.name
                ),
                Subject::Build(job, n) => format!(
                    "{}: build {job} #{n} not found (404 on {path}): it may have been discarded",
                    self.name
                ),
                Subject::QueueItem(id) => format!(
                    "{}: queue item {id} is no longer in the queue (404 on {path}): it started or \
                     was cancelled meanwhile — refresh",
                    self.name
                ),
                Subject::Queue | Subject::Crumb => format!(
                    "{}: {} not found (404 on {path}): is `url` the Jenkins root URL?",
                    self.name,
                    subject.describe()
                ),
            },
            s if s.is_redirection() => format!(
                "{}: {} on {path}: Jenkins redirects this request — check `url` (http or https, \
                 context path)",
                self.name,
                s.as_u16()
            ),
            s => format!("{}: {} on {path}: {message}", self.name, s.as_u16()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_access_denied_page_gives_its_one_telling_sentence() {
        let page = br#"<!DOCTYPE html><html><head><title>Access Denied [Jenkins]</title>
            <script>var x = "<b>no</b>";</script><style>p { color: red }</style></head>
            <body><div id="page-header"><a href="/">Jenkins</a></div>
            <h1>Access Denied</h1><p>alice is missing the Job/Build permission</p></body></html>"#;
        assert_eq!(
            jenkins_message(page),
            "alice is missing the Job/Build permission"
        );
        let jetty = b"<html><head><title>Error 500 Server Error</title></head><body><h2>HTTP ERROR 500 java.lang.NullPointerException</h2></body></html>";
        assert_eq!(
            jenkins_message(jetty),
            "HTTP ERROR 500 java.lang.NullPointerException"
        );
        assert_eq!(jenkins_message(b"  "), "no details");
    }
}
