//! Jenkins' JSON API as opsdeck reads it: the `tree=` selections (Jenkins
//! sends only what is named, every object with its `_class`), the shapes
//! they come back in, and their mapping into pipeline runs.

use serde::Deserialize;

/// The fields of one build in a job read.
const BUILD_FIELDS: &str = "number,result,building,duration,timestamp,url,\
     actions[parameters[name,value],causes[shortDescription,userId,userName],\
     lastBuiltRevision[SHA1,branch[name]]]";

/// The parameter definitions of a job (dispatch form, parameter checks).
const PARAMETER_FIELDS: &str =
    "property[parameterDefinitions[name,type,description,choices,defaultParameterValue[value]]]";

/// One job with its last `limit` builds (`{0,N}` is Jenkins' range syntax).
pub fn job_tree(limit: u32) -> String {
    format!("name,fullName,url,buildable,{PARAMETER_FIELDS},builds[{BUILD_FIELDS}]{{0,{limit}}}")
}

/// A job's name and parameters, for starting a new build.
pub fn job_parameters_tree() -> String {
    format!("name,fullName,buildable,{PARAMETER_FIELDS}")
}

/// Everything waiting in the queue, with enough to show it as a run.
pub const QUEUE_TREE: &str = "items[id,inQueueSince,why,task[name,url],\
     actions[parameters[name,value],causes[shortDescription,userId,userName]]]";
/// One queue item: has it become a build yet?
pub const QUEUE_ITEM_TREE: &str = "executable[number,url],cancelled,why";
/// One build's state (drill-down).
pub const BUILD_TREE: &str = "number,result,building,duration,timestamp,url";
/// One build's parameters (re-run).
pub const BUILD_PARAMETERS_TREE: &str = "actions[parameters[name,value]]";
/// The CSRF crumb, when Jenkins asks for one.
pub const CRUMB_TREE: &str = "crumb,crumbRequestField";

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobJson {
    #[serde(rename = "_class", default)]
    pub class: String,
    #[serde(default)]
    pub name: String,
    pub full_name: Option<String>,
    pub url: Option<String>,
    pub buildable: Option<bool>,
    #[serde(default)]
    pub property: Vec<Option<PropertyJson>>,
    /// Absent on folders and multibranch projects (they have no builds).
    pub builds: Option<Vec<BuildJson>>,
}

impl JobJson {
    /// Every parameter the job declares (from its ParametersDefinitionProperty).
    pub fn parameters(&self) -> impl Iterator<Item = &ParamDefinition> {
        self.property
            .iter()
            .flatten()
            .flat_map(|p| p.parameter_definitions.iter().flatten())
    }

    pub fn is_parameterized(&self) -> bool {
        self.parameters().next().is_some()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyJson {
    pub parameter_definitions: Option<Vec<ParamDefinition>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParamDefinition {
    #[serde(rename = "_class", default)]
    pub class: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub description: Option<String>,
    pub choices: Option<Vec<String>>,
    pub default_parameter_value: Option<ParamValue>,
}

/// A parameter's value as Jenkins exports it: a string, a boolean, a
/// number; absent for passwords and files.
#[derive(Debug, Default, Deserialize)]
pub struct ParamValue {
    #[serde(rename = "_class", default)]
    pub class: String,
    pub name: Option<String>,
    pub value: Option<serde_json::Value>,
}

impl ParamValue {
    /// The value as a form field would carry it; None when Jenkins does
    /// not export it (passwords, files).
    pub fn text(&self) -> Option<String> {
        match self.value.as_ref()? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Null => None,
            serde_json::Value::Bool(b) => Some(b.to_string()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            // Multi-value parameters (extended choice): comma-joined, as
            // Jenkins takes them back.
            serde_json::Value::Array(items) => Some(
                items
                    .iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            serde_json::Value::Object(_) => None,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildJson {
    #[serde(rename = "_class", default)]
    pub class: String,
    pub number: u64,
    pub result: Option<String>,
    #[serde(default)]
    pub building: bool,
    /// Milliseconds; 0 while building.
    #[serde(default)]
    pub duration: u64,
    /// When it was scheduled to start, in epoch milliseconds.
    #[serde(default)]
    pub timestamp: i64,
    pub url: Option<String>,
    /// Many actions export nothing and come back as `{}` (or null).
    #[serde(default)]
    pub actions: Vec<Option<ActionJson>>,
}

impl BuildJson {
    /// A Pipeline build (its stages come from the wfapi).
    pub fn is_pipeline(&self) -> bool {
        self.class.ends_with(".WorkflowRun")
    }
}

/// A build's actions alone (`BUILD_PARAMETERS_TREE`).
#[derive(Debug, Default, Deserialize)]
pub struct BuildActions {
    #[serde(default)]
    pub actions: Vec<Option<ActionJson>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionJson {
    pub parameters: Option<Vec<ParamValue>>,
    pub causes: Option<Vec<CauseJson>>,
    pub last_built_revision: Option<RevisionJson>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CauseJson {
    #[serde(rename = "_class", default)]
    pub class: String,
    pub short_description: Option<String>,
    pub user_id: Option<String>,
    pub user_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RevisionJson {
    #[serde(rename = "SHA1")]
    pub sha1: Option<String>,
    #[serde(default)]
    pub branch: Vec<BranchJson>,
}

#[derive(Debug, Default, Deserialize)]
pub struct BranchJson {
    pub name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct QueueJson {
    #[serde(default)]
    pub items: Vec<QueueItemJson>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueItemJson {
    #[serde(rename = "_class", default)]
    pub class: String,
    pub id: u64,
    pub in_queue_since: Option<i64>,
    pub why: Option<String>,
    pub task: Option<TaskJson>,
    #[serde(default)]
    pub actions: Vec<Option<ActionJson>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct TaskJson {
    pub name: Option<String>,
    pub url: Option<String>,
}

/// `/queue/item/N/api/json`: waiting (`why`), left for a build
/// (`executable`), or cancelled.
#[derive(Debug, Default, Deserialize)]
pub struct QueueItemState {
    #[serde(rename = "_class", default)]
    pub class: String,
    pub cancelled: Option<bool>,
    pub why: Option<String>,
    pub executable: Option<Executable>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Executable {
    pub number: u64,
    pub url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CrumbJson {
    pub crumb: String,
    pub crumb_request_field: String,
}

/// `{build}/wfapi/describe` (the Pipeline Stage View plugin's REST API; it
/// takes no `tree=` and sends no `_class`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunDescription {
    #[serde(default)]
    pub stages: Vec<StageJson>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageJson {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub status: String,
    pub start_time_millis: Option<i64>,
    pub duration_millis: Option<u64>,
}

/// The job path of a job URL (`…/job/team/job/deploy/` → `team/deploy`),
/// whatever Jenkins' root URL; None for anything else (a build's URL, a
/// Pipeline's `node` block waiting in the queue).
pub fn job_path_of_url(url: &str) -> Option<String> {
    let path = match url::Url::parse(url) {
        Ok(u) => u.path().to_string(),
        Err(_) => url.to_string(),
    };
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    (0..segments.len()).find_map(|start| {
        let tail = &segments[start..];
        let pairs =
            tail.len() % 2 == 0 && !tail.is_empty() && tail.chunks(2).all(|pair| pair[0] == "job");
        pairs.then(|| {
            tail.chunks(2)
                .map(|pair| pair[1].as_str())
                .collect::<Vec<_>>()
                .join("/")
        })
    })
}

fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One path segment, percent-encoded as Jenkins writes job names in URLs.
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `/job/a/job/b` for the job path `a/b`.
pub fn job_url_path(job: &str) -> String {
    job.split('/')
        .map(|s| format!("/job/{}", encode_segment(s)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_paths_and_urls_go_both_ways() {
        assert_eq!(
            job_url_path("team/back end/api"),
            "/job/team/job/back%20end/job/api"
        );
        assert_eq!(
            job_path_of_url("https://ci.example.com/jenkins/job/team/job/back%20end/job/api/")
                .as_deref(),
            Some("team/back end/api")
        );
        assert_eq!(
            job_path_of_url("http://jenkins:8080/job/deploy/").as_deref(),
            Some("deploy")
        );
        // A Pipeline's node block waiting in the queue points at its build.
        assert_eq!(job_path_of_url("http://jenkins:8080/job/deploy/12/"), None);
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%C3%A9t%C3%A9"), "été");
    }

    #[test]
    fn values_read_as_form_fields() {
        let v = |value: serde_json::Value| ParamValue {
            value: Some(value),
            ..ParamValue::default()
        };
        assert_eq!(v(serde_json::json!("main")).text().as_deref(), Some("main"));
        assert_eq!(v(serde_json::json!(false)).text().as_deref(), Some("false"));
        assert_eq!(v(serde_json::json!(3)).text().as_deref(), Some("3"));
        assert_eq!(ParamValue::default().text(), None);
    }
}
