//! Jenkins JSON the tests serve: builds, causes, parameters, jobs and the queue.

use super::*;

pub(super) fn user_cause(id: &str, name: &str) -> Value {
    json!({"_class": "hudson.model.CauseAction", "causes": [{
        "_class": "hudson.model.Cause$UserIdCause",
        "shortDescription": format!("Started by user {name}"),
        "userId": id, "userName": name
    }]})
}

pub(super) fn cause(class: &str, text: &str) -> Value {
    json!({"_class": "hudson.model.CauseAction", "causes": [{"_class": class, "shortDescription": text}]})
}

pub(super) fn params(values: Value) -> Value {
    json!({"_class": "hudson.model.ParametersAction", "parameters": values})
}

pub(super) fn string_param(name: &str, value: &str) -> Value {
    json!({"_class": "hudson.model.StringParameterValue", "name": name, "value": value})
}

pub(super) fn build_data(sha: &str, branch: &str) -> Value {
    json!({"_class": "hudson.plugins.git.util.BuildData", "lastBuiltRevision": {
        "SHA1": sha, "branch": [{"SHA1": sha, "name": branch}]
    }})
}

pub(super) fn build(
    class: &str,
    job_url: &str,
    number: u64,
    result: Value,
    building: bool,
    actions: Value,
) -> Value {
    json!({
        "_class": class,
        "actions": actions,
        "building": building,
        "duration": if building { 0 } else { 312_000 },
        "number": number,
        "result": result,
        "timestamp": NOON - (30 - number as i64) * HOUR,
        "url": format!("{job_url}{number}/")
    })
}

pub(super) fn parameter_definitions() -> Value {
    json!([
        {"_class": "jenkins.model.BuildDiscarderProperty"},
        {"_class": "hudson.model.ParametersDefinitionProperty", "parameterDefinitions": [
            {"_class": "hudson.model.StringParameterDefinition",
             "defaultParameterValue": {"_class": "hudson.model.StringParameterValue", "value": "main"},
             "description": "Branch to deploy", "name": "BRANCH", "type": "StringParameterDefinition"},
            {"_class": "hudson.model.ChoiceParameterDefinition",
             "defaultParameterValue": {"_class": "hudson.model.StringParameterValue", "value": "staging"},
             "description": "Where to", "name": "TARGET", "type": "ChoiceParameterDefinition",
             "choices": ["staging", "prod"]},
            {"_class": "hudson.model.BooleanParameterDefinition",
             "defaultParameterValue": {"_class": "hudson.model.BooleanParameterValue", "value": false},
             "description": "", "name": "DRY_RUN", "type": "BooleanParameterDefinition"}
        ]}
    ])
}

/// A freestyle job with one build of every result, and one running.
pub(super) fn deploy() -> Value {
    let url = format!("{ROOT}/job/deploy/");
    let fs = "hudson.model.FreeStyleBuild";
    json!({
        "_class": "hudson.model.FreeStyleProject",
        "name": "deploy",
        "fullName": "deploy",
        "url": url,
        "buildable": true,
        "property": parameter_definitions(),
        "builds": [
            build(fs, &url, 26, Value::Null, true, json!([
                params(json!([string_param("BRANCH", "release/1.4"), string_param("TARGET", "prod"),
                              {"_class": "hudson.model.BooleanParameterValue", "name": "DRY_RUN", "value": false}])),
                user_cause("alice", "Alice Example"),
                {}
            ])),
            build(fs, &url, 25, json!("SUCCESS"), false, json!([
                params(json!([string_param("BRANCH", "main"), string_param("TARGET", "prod"),
                              {"_class": "hudson.model.BooleanParameterValue", "name": "DRY_RUN", "value": false},
                              {"_class": "hudson.model.PasswordParameterValue", "name": "DEPLOY_KEY"}])),
                cause("hudson.triggers.TimerTrigger$TimerTriggerCause", "Started by timer"),
                build_data("9f8e7d6c5b4a39281706f5e4d3c2b1a098765432", "refs/remotes/origin/main"),
                {"_class": "hudson.plugins.git.GitTagAction"}
            ])),
            build(fs, &url, 24, json!("FAILURE"), false, json!([
                cause("hudson.triggers.SCMTrigger$SCMTriggerCause", "Started by an SCM change"),
                build_data("1111111111111111111111111111111111111111", "origin/feature/login")
            ])),
            build(fs, &url, 23, json!("UNSTABLE"), false, json!([
                cause("hudson.model.Cause$UpstreamCause", "Started by upstream project \"build\" build number 88")
            ])),
            build(fs, &url, 22, json!("ABORTED"), false, json!([user_cause("bob", "Bob")])),
            build(fs, &url, 21, json!("NOT_BUILT"), false, json!([null, {}]))
        ]
    })
}

/// A Pipeline job two folders down, one build.
pub(super) fn api_job() -> Value {
    let url = format!("{ROOT}/job/team/job/backend/job/api/");
    json!({
        "_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob",
        "name": "api",
        "fullName": "team/backend/api",
        "url": url,
        "buildable": true,
        "property": [{"_class": "org.jenkinsci.plugins.workflow.job.properties.PipelineTriggersJobProperty"}],
        "builds": [build("org.jenkinsci.plugins.workflow.job.WorkflowRun", &url, 7, json!("SUCCESS"), false, json!([
            cause("jenkins.branch.BranchIndexingCause", "Branch indexing"),
            build_data("abcdefabcdefabcdefabcdefabcdefabcdefabcd", "refs/remotes/origin/develop"),
            {"_class": "org.jenkinsci.plugins.workflow.libs.LibrariesAction"}
        ]))]
    })
}

pub(super) fn queue() -> Value {
    json!({"_class": "hudson.model.Queue", "items": [
        {"_class": "hudson.model.Queue$WaitingItem",
         "actions": [params(json!([string_param("BRANCH", "hotfix/42")])), user_cause("carol", "Carol")],
         "id": 101, "inQueueSince": NOON + 60_000, "why": "In the quiet period. Expires in 4.2 sec",
         "task": {"_class": "hudson.model.FreeStyleProject", "name": "deploy", "url": format!("{ROOT}/job/deploy/")}},
        // A running Pipeline's `node` block waiting for an executor: not a new run.
        {"_class": "hudson.model.Queue$BuildableItem", "actions": [], "id": 102, "inQueueSince": NOON,
         "why": "Waiting for next available executor on ‘linux’",
         "task": {"_class": "org.jenkinsci.plugins.workflow.support.steps.ExecutorStepExecution$PlaceholderTask",
                  "name": "part of api #8", "url": format!("{ROOT}/job/team/job/backend/job/api/8/")}},
        // A job nobody configured.
        {"_class": "hudson.model.Queue$BlockedItem", "actions": [], "id": 103, "inQueueSince": NOON,
         "why": "Build #4 is already in progress", "task": {"_class": "hudson.model.FreeStyleProject",
         "name": "other", "url": format!("{ROOT}/job/other/")}}
    ]})
}

pub(super) fn base64(input: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = input.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
