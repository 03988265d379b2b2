//! Jenkins actions: a new build (with parameters), a re-run with the same
//! parameters, stopping a build, cancelling a queued one. A new build is
//! followed through the queue to its number. POSTs carry no CSRF crumb:
//! requests made with an API token are exempt; only when Jenkins answers
//! "No valid crumb" is one fetched (with its session cookie) and the
//! request sent once more.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, HeaderMap, LOCATION, SET_COOKIE};

use super::api::{self, BuildActions, CrumbJson, QueueItemState, job_url_path};
use super::{Auth, JenkinsSource, RunRef, Subject, map, parse_run_id};
use crate::config::SecretValue;
use crate::model::{Action, ActionKind};
use crate::sources::ActionError;
use crate::sources::http::{self, transport_error};

/// A CSRF crumb and the session it belongs to. Debug never shows them.
#[derive(Clone, Debug)]
pub(super) struct Crumb {
    field: String,
    value: SecretValue,
    cookie: Option<SecretValue>,
}

/// One answer to a POST.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
    path: String,
}

impl Answer {
    fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok())
    }

    fn asks_for_crumb(&self) -> bool {
        let says = |text: &str| text.to_ascii_lowercase().contains("no valid crumb");
        self.status == StatusCode::FORBIDDEN
            && (says(&String::from_utf8_lossy(&self.body))
                || self.headers.values().any(|v| v.to_str().is_ok_and(says)))
    }
}

pub(super) async fn execute(
    source: &JenkinsSource,
    action: &Action,
) -> Result<String, ActionError> {
    match action.kind {
        ActionKind::Dispatch => dispatch(source, action).await,
        ActionKind::Rerun => rerun(source, action).await,
        ActionKind::Cancel => cancel(source, action).await,
        other => Err(ActionError::Unsupported(other.verb())),
    }
}

fn rejected(e: impl ToString) -> ActionError {
    ActionError::Rejected(e.to_string())
}

/// A new build of a job: `build`, or `buildWithParameters` with the inputs
/// as form fields when the job declares parameters. Inputs the job does not
/// declare are refused (Jenkins would ignore them without a word).
async fn dispatch(source: &JenkinsSource, action: &Action) -> Result<String, ActionError> {
    let job = action.target.id.as_str();
    if let Some(r) = &action.to {
        return Err(rejected(format!(
            "{}: a Jenkins job builds what it is configured to and takes no ref (`{r}`): \
             pass the branch as one of its parameters",
            source.name
        )));
    }
    let definition = source.read_parameters(job).await.map_err(rejected)?;
    if definition.buildable == Some(false) {
        return Err(rejected(format!(
            "{}: {job} is disabled in Jenkins: enable it before building",
            source.name
        )));
    }
    let declared: Vec<&str> = definition.parameters().map(|p| p.name.as_str()).collect();
    if let Some((name, _)) = action
        .inputs
        .iter()
        .find(|(name, _)| !declared.contains(&name.as_str()))
    {
        return Err(rejected(if declared.is_empty() {
            format!(
                "{}: {job} takes no parameters, and `{name}` was given",
                source.name
            )
        } else {
            format!(
                "{}: {job} has no parameter `{name}` (it has {})",
                source.name,
                declared.join(", ")
            )
        }));
    }
    let answer = if definition.is_parameterized() {
        post_build(source, job, Some(&action.inputs)).await?
    } else {
        post_build(source, job, None).await?
    };
    follow(source, job, &answer).await
}

/// The same job again with the parameters the build had (from its
/// ParametersAction). Values Jenkins does not export (passwords, files)
/// cannot be sent again: the job's defaults apply to them, and it says so.
async fn rerun(source: &JenkinsSource, action: &Action) -> Result<String, ActionError> {
    let (job, run) = parse_run_id(&action.target.id).map_err(rejected)?;
    let RunRef::Build(number) = run else {
        return Err(rejected(format!(
            "{} is still queued: there is nothing to re-run yet",
            action.target
        )));
    };
    let build: BuildActions = source
        .get_json(
            &format!("{}/{number}/api/json", job_url_path(job)),
            api::BUILD_PARAMETERS_TREE,
            Subject::Build(job, number),
        )
        .await
        .map_err(rejected)?;
    let (answer, unsent) = match map::parameters(&build.actions) {
        None => (post_build(source, job, None).await?, Vec::new()),
        Some(parameters) => {
            let mut fields = Vec::new();
            let mut unsent = Vec::new();
            for p in parameters {
                let Some(name) = p.name.clone() else { continue };
                match p.text() {
                    Some(value) => fields.push((name, value)),
                    None => unsent.push(name),
                }
            }
            (post_build(source, job, Some(&fields)).await?, unsent)
        }
    };
    let started = follow(source, job, &answer).await?;
    let note = if unsent.is_empty() {
        String::new()
    } else {
        format!(
            " ({} not sent again: Jenkins does not show their values, so the defaults apply)",
            unsent.join(", ")
        )
    };
    Ok(format!(
        "re-ran #{number} with its parameters: {started}{note}"
    ))
}

/// Stop a running build, or take a queued one out of the queue.
async fn cancel(source: &JenkinsSource, action: &Action) -> Result<String, ActionError> {
    let (job, run) = parse_run_id(&action.target.id).map_err(rejected)?;
    match run {
        RunRef::Build(number) => {
            post(
                source,
                &format!("{}/{number}/stop", job_url_path(job)),
                &[],
                None,
                Subject::Build(job, number),
                "stop",
            )
            .await?;
            Ok(format!(
                "stop requested for {job} #{number}: Jenkins aborts it"
            ))
        }
        RunRef::Queued(item) => {
            post(
                source,
                "/queue/cancelItem",
                &[("id", item.to_string())],
                None,
                Subject::QueueItem(item),
                "cancel",
            )
            .await?;
            Ok(format!("queue item {item} of {job} cancelled"))
        }
    }
}

/// `POST {job}/build`, or `{job}/buildWithParameters` with form fields.
async fn post_build(
    source: &JenkinsSource,
    job: &str,
    fields: Option<&[(String, String)]>,
) -> Result<Answer, ActionError> {
    let endpoint = if fields.is_some() {
        "buildWithParameters"
    } else {
        "build"
    };
    post(
        source,
        &format!("{}/{endpoint}", job_url_path(job)),
        &[],
        fields,
        Subject::Job(job),
        "build",
    )
    .await
}

/// Send one POST; on "No valid crumb", get a crumb and send it once more.
async fn post(
    source: &JenkinsSource,
    path: &str,
    query: &[(&str, String)],
    form: Option<&[(String, String)]>,
    subject: Subject<'_>,
    verb: &str,
) -> Result<Answer, ActionError> {
    let auth = source.auth().await.map_err(rejected)?;
    let kept = source
        .crumb
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let mut answer = send(source, path, query, form, &auth, kept.as_ref()).await?;
    if answer.asks_for_crumb() {
        let crumb = fetch_crumb(source, &auth).await.map_err(|e| {
            rejected(format!(
                "{}: Jenkins asked for a CSRF crumb (403 on {}: No valid crumb), and getting one \
                 failed: {e}",
                source.name, answer.path
            ))
        })?;
        *source.crumb.lock().unwrap_or_else(|e| e.into_inner()) = Some(crumb.clone());
        answer = send(source, path, query, form, &auth, Some(&crumb)).await?;
    }
    source
        .polite
        .observe(answer.status, &answer.headers, &answer.path)
        .map_err(rejected)?;
    if answer.status.is_success() {
        return Ok(answer);
    }
    if answer.status.is_redirection() {
        // Jenkins answers a stop (and older ones a cancel) with a redirect
        // to a page: done. A redirect to the login page is a refusal.
        let to_login = answer
            .location()
            .is_some_and(|l| l.contains("/login") || l.contains("commenceLogin"));
        if !to_login {
            return Ok(answer);
        }
        return Err(rejected(format!(
            "{}: Jenkins sent the request to its login page ({} on {}): check `user` and `token`",
            source.name,
            answer.status.as_u16(),
            answer.path
        )));
    }
    Err(http::action_error(
        answer.status,
        JenkinsSource::scrub(
            source.refusal(answer.status, &answer.path, &answer.body, subject, verb),
            &auth,
        ),
    ))
}

async fn send(
    source: &JenkinsSource,
    path: &str,
    query: &[(&str, String)],
    form: Option<&[(String, String)]>,
    auth: &Option<Auth>,
    crumb: Option<&Crumb>,
) -> Result<Answer, ActionError> {
    let client = source.client().map_err(rejected)?;
    let mut request = JenkinsSource::with_auth(client.post(source.url(path)), auth);
    if !query.is_empty() {
        request = request.query(query);
    }
    if let Some(crumb) = crumb {
        request = request.header(crumb.field.as_str(), crumb.value.expose());
        if let Some(cookie) = &crumb.cookie {
            request = request.header(COOKIE, cookie.expose());
        }
    }
    if let Some(fields) = form {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        request = request
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
    }
    let response = http::send_action(request, |e| source.transport(e).to_string()).await?;
    let status = response.status();
    let headers = response.headers().clone();
    let path = response.url().path().to_string();
    let body = response
        .bytes()
        .await
        .map_err(|e| ActionError::Lost(source.transport(transport_error(e)).to_string()))?
        .to_vec();
    Ok(Answer {
        status,
        headers,
        body,
        path,
    })
}

/// `GET /crumbIssuer/api/json`, keeping the session cookie it sets (the
/// crumb is only valid in that session).
async fn fetch_crumb(source: &JenkinsSource, auth: &Option<Auth>) -> Result<Crumb, String> {
    let client = source.client().map_err(|e| e.to_string())?;
    let request = client
        .get(source.url("/crumbIssuer/api/json"))
        .query(&[("tree", api::CRUMB_TREE)]);
    let response = JenkinsSource::with_auth(request, auth)
        .send()
        .await
        .map_err(|e| source.transport(transport_error(e)).to_string())?;
    let status = response.status();
    let path = response.url().path().to_string();
    let cookies: Vec<String> = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| c.split(';').next())
        .map(str::trim)
        .filter(|c| c.contains('='))
        .map(str::to_string)
        .collect();
    let body = response
        .bytes()
        .await
        .map_err(|e| source.transport(transport_error(e)).to_string())?;
    if !status.is_success() {
        return Err(JenkinsSource::scrub(
            source.refusal(status, &path, &body, Subject::Crumb, "get"),
            auth,
        ));
    }
    let crumb: CrumbJson = serde_json::from_slice(&body)
        .map_err(|e| format!("the crumb from {path} cannot be read: {e}"))?;
    Ok(Crumb {
        field: crumb.crumb_request_field,
        value: SecretValue::new(crumb.crumb),
        cookie: (!cookies.is_empty()).then(|| SecretValue::new(cookies.join("; "))),
    })
}

/// The queue item a `201 Created` points at (`…/queue/item/57/`).
fn queue_item_of(location: &str) -> Option<u64> {
    let (before, id) = location.trim_end_matches('/').rsplit_once('/')?;
    if before.ends_with("/queue/item") {
        id.parse().ok()
    } else {
        None
    }
}

/// Follow a new build's queue item until it has a build number, is
/// cancelled, or the follow time is up (the build stays queued: said so).
async fn follow(source: &JenkinsSource, job: &str, answer: &Answer) -> Result<String, ActionError> {
    let Some(item) = answer.location().and_then(queue_item_of) else {
        return Ok(format!(
            "build of {job} requested ({}; Jenkins named no queue item to follow)",
            answer.status.as_u16()
        ));
    };
    let deadline = tokio::time::Instant::now() + source.queue_follow;
    let path = format!("/queue/item/{item}/api/json");
    let mut why: Option<String> = None;
    loop {
        let read = source.get_json::<QueueItemState>(
            &path,
            api::QUEUE_ITEM_TREE,
            Subject::QueueItem(item),
        );
        match tokio::time::timeout_at(deadline, read).await {
            Err(_) => break,
            Ok(Err(e)) => {
                return Ok(format!("queued as item {item} (could not follow it: {e})"));
            }
            Ok(Ok(state)) => {
                if let Some(build) = state.executable {
                    return Ok(format!(
                        "queued as item {item}, started build #{}",
                        build.number
                    ));
                }
                if state.cancelled == Some(true) {
                    return Err(rejected(format!(
                        "{}: {job} was queued as item {item}, then cancelled in the queue before it started",
                        source.name
                    )));
                }
                why = state.why.or(why);
            }
        }
        if tokio::time::Instant::now() + source.queue_poll >= deadline {
            break;
        }
        tokio::time::sleep(source.queue_poll).await;
    }
    Ok(format!(
        "queued as item {item} (waiting: {})",
        why.as_deref().unwrap_or("Jenkins gave no reason")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_item_comes_from_the_location() {
        assert_eq!(
            queue_item_of("https://ci.example.com/jenkins/queue/item/57/"),
            Some(57)
        );
        assert_eq!(queue_item_of("http://jenkins/queue/item/8"), Some(8));
        assert_eq!(queue_item_of("http://jenkins/job/deploy/"), None);
    }
}
