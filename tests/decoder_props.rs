//! Every backend decoder, fed mutated real payloads and arbitrary bytes:
//! decoding either fails with an error that names what was being read, or
//! gives a value that maps to domain rows without a panic.

#[path = "common/mutate.rs"]
mod mutate;
#[allow(dead_code)]
#[path = "support_kube/objects.rs"]
mod objects;

use mutate::{mutate, replacement};
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use opsdeck::sources::http::decode;
use opsdeck::sources::kube::KubeObject;
use opsdeck::sources::{argocd, flux, github, gitlab, jenkins, tofu};

// ---- real-shaped payloads (as the backends' API references give them) ----

fn github_runs() -> Value {
    json!({"total_count": 1, "workflow_runs": [{
        "id": 30433642, "name": "Build", "head_branch": "main",
        "head_sha": "acb5820ced9479c074f688cc328bf03f341a511d",
        "path": ".github/workflows/build.yml@main", "run_number": 562, "event": "push",
        "display_title": "Update README.md", "status": "completed", "conclusion": "failure",
        "workflow_id": 159038,
        "html_url": "https://github.com/octo-org/octo-repo/actions/runs/30433642",
        "created_at": "2020-01-22T19:33:08Z", "updated_at": "2020-01-22T19:38:20Z",
        "run_attempt": 2, "run_started_at": "2020-01-22T19:33:08Z",
        "actor": {"login": "octocat", "id": 1},
        "triggering_actor": {"login": "octocat", "id": 1},
        "repository": {"id": 1, "name": "octo-repo", "full_name": "octo-org/octo-repo"}
    }]})
}

fn github_jobs() -> Value {
    json!({"total_count": 1, "jobs": [{
        "id": 399444496, "run_id": 30433642, "name": "build", "status": "completed",
        "conclusion": "failure", "started_at": "2020-01-20T17:42:40Z",
        "completed_at": "2020-01-20T17:44:39Z",
        "html_url": "https://github.com/octo-org/octo-repo/runs/399444496",
        "steps": [
            {"name": "Set up job", "status": "completed", "conclusion": "success", "number": 1,
             "started_at": "2020-01-20T09:42:40.000-08:00", "completed_at": "2020-01-20T09:42:41.000-08:00"},
            {"name": "Run tests", "status": "completed", "conclusion": "failure", "number": 2,
             "started_at": "2020-01-20T09:42:41.000-08:00", "completed_at": "2020-01-20T09:44:39.000-08:00"}
        ]
    }]})
}

fn gitlab_pipelines() -> Value {
    json!([{
        "id": 61, "iid": 11, "project_id": 278964,
        "sha": "6104942438c14ec7bd21c6cd5bd995272b3faff6", "ref": "main", "status": "failed",
        "source": "push", "created_at": "2026-11-20T09:00:00.000Z",
        "updated_at": "2026-11-20T09:05:17.000Z",
        "web_url": "https://gitlab.example.com/acme/platform/web/-/pipelines/61"
    }])
}

fn gitlab_detail() -> Value {
    json!({
        "id": 61, "status": "failed", "ref": "main", "name": "Nightly build",
        "user": {"id": 42, "username": "alice", "name": "Alice Doe"},
        "started_at": "2026-11-20T09:00:05.000Z", "finished_at": "2026-11-20T09:05:17.000Z",
        "duration": 312, "queued_duration": 5
    })
}

fn gitlab_jobs() -> Value {
    json!([
        {"id": 7, "status": "failed", "stage": "test", "name": "unit", "ref": "main",
         "created_at": "2026-11-20T09:00:01.000Z", "started_at": "2026-11-20T09:01:00.000Z",
         "finished_at": "2026-11-20T09:02:00.000Z", "duration": 60.5, "retried": true,
         "web_url": "https://gitlab.example.com/acme/platform/web/-/jobs/7"},
        {"id": 9, "status": "success", "stage": "test", "name": "unit", "ref": "main",
         "created_at": "2026-11-20T09:03:01.000Z", "duration": 12.0},
        {"id": 5, "status": "success", "stage": "build", "name": "compile", "duration": 3.25}
    ])
}

fn jenkins_job() -> Value {
    let url = "https://ci.example.com/job/deploy/";
    json!({
        "_class": "hudson.model.FreeStyleProject", "name": "deploy", "fullName": "deploy",
        "url": url, "buildable": true,
        "property": [{"_class": "hudson.model.ParametersDefinitionProperty", "parameterDefinitions": [
            {"_class": "hudson.model.ChoiceParameterDefinition", "name": "TARGET",
             "type": "ChoiceParameterDefinition", "choices": ["staging", "prod"],
             "defaultParameterValue": {"_class": "hudson.model.StringParameterValue", "value": "staging"}},
            {"_class": "hudson.model.BooleanParameterDefinition", "name": "DRY_RUN",
             "type": "BooleanParameterDefinition",
             "defaultParameterValue": {"_class": "hudson.model.BooleanParameterValue", "value": false}}
        ]}],
        "builds": [
            {"_class": "hudson.model.FreeStyleBuild", "building": true, "duration": 0, "number": 26,
             "result": null, "timestamp": 1_763_640_000_000_i64, "url": format!("{url}26/"),
             "actions": [
                {"_class": "hudson.model.ParametersAction", "parameters": [
                    {"_class": "hudson.model.StringParameterValue", "name": "BRANCH", "value": "release/1.4"}]},
                {"_class": "hudson.model.CauseAction", "causes": [{
                    "_class": "hudson.model.Cause$UserIdCause", "shortDescription": "Started by user Alice",
                    "userId": "alice", "userName": "Alice"}]},
                {}]},
            {"_class": "hudson.model.FreeStyleBuild", "building": false, "duration": 312_000, "number": 25,
             "result": "FAILURE", "timestamp": 1_763_630_000_000_i64, "url": format!("{url}25/"),
             "actions": [
                {"_class": "hudson.plugins.git.util.BuildData", "lastBuiltRevision": {
                    "SHA1": "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432",
                    "branch": [{"SHA1": "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432", "name": "refs/remotes/origin/main"}]}},
                null]}
        ]
    })
}

fn jenkins_queue() -> Value {
    json!({"_class": "hudson.model.Queue", "items": [
        {"_class": "hudson.model.Queue$WaitingItem", "id": 101, "inQueueSince": 1_763_640_060_000_i64,
         "why": "In the quiet period", "actions": [
            {"_class": "hudson.model.ParametersAction", "parameters": [
                {"_class": "hudson.model.StringParameterValue", "name": "BRANCH", "value": "hotfix/42"}]}],
         "task": {"_class": "hudson.model.FreeStyleProject", "name": "deploy",
                  "url": "https://ci.example.com/job/deploy/"}}
    ]})
}

fn jenkins_stages() -> Value {
    json!({"id": "25", "status": "FAILED", "stages": [
        {"id": "6", "name": "Build", "status": "SUCCESS", "startTimeMillis": 1_763_630_000_000_i64, "durationMillis": 4000},
        {"id": "12", "name": "Test", "status": "FAILED", "startTimeMillis": 1_763_630_004_000_i64, "durationMillis": 300000}
    ]})
}

fn argocd_apps() -> Value {
    json!({"metadata": {"resourceVersion": "1234"}, "items": [{
        "metadata": {"name": "payments", "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://git.example.com/acme/deploy.git", "path": "apps/payments", "targetRevision": "main"},
            "destination": {"name": "prod-eu", "namespace": "payments"},
            "syncPolicy": {"automated": {"prune": true, "selfHeal": true}}
        },
        "status": {
            "sync": {"status": "OutOfSync", "revision": "ddddddd4444444"},
            "health": {"status": "Degraded", "message": "Deployment payments exceeded its progress deadline"},
            "resources": [
                {"kind": "Deployment", "namespace": "payments", "name": "payments", "status": "OutOfSync", "health": {"status": "Degraded"}},
                {"kind": "Service", "namespace": "payments", "name": "payments", "status": "Synced"}
            ],
            "reconciledAt": "2026-11-20T10:05:00Z",
            "operationState": {
                "phase": "Failed", "message": "one or more objects failed to apply",
                "startedAt": "2026-11-20T11:00:00Z", "finishedAt": "2026-11-20T11:00:30Z",
                "syncResult": {"revision": "ddddddd4444444", "resources": [
                    {"kind": "Deployment", "namespace": "payments", "name": "payments", "status": "SyncFailed", "message": "admission webhook denied the request"}]}
            },
            "history": [
                {"id": 6, "revision": "ccccccc3333333", "deployedAt": "2026-11-18T08:00:00Z"},
                {"id": "7", "revision": "ddddddd4444444", "deployedAt": "2026-11-20T11:00:30Z",
                 "deployStartedAt": "2026-11-20T11:00:00Z", "initiatedBy": {"username": "alice"}}
            ]
        }
    }]})
}

fn argocd_tree() -> Value {
    json!({"nodes": [
        {"kind": "Deployment", "namespace": "payments", "name": "payments", "group": "apps", "version": "v1",
         "health": {"status": "Degraded", "message": "progress deadline"}},
        {"kind": "ReplicaSet", "namespace": "payments", "name": "payments-7d9f", "group": "apps", "version": "v1",
         "parentRefs": [{"kind": "Deployment", "namespace": "payments", "name": "payments", "group": "apps"}]},
        {"kind": "Pod", "namespace": "payments", "name": "payments-7d9f-x2", "version": "v1",
         "parentRefs": [{"kind": "ReplicaSet", "namespace": "payments", "name": "payments-7d9f", "group": "apps"}],
         "info": [{"name": "Status Reason", "value": "CrashLoopBackOff"}]}
    ]})
}

/// Flux objects as the API server lists them: a GitRepository, a
/// Kustomization of it, a HelmRelease and its OCIRepository; and a
/// tofu-controller Terraform object with a plan waiting.
fn flux_objects() -> Value {
    json!([
        objects::git_repository("flux-system", "fleet", objects::SHA_B),
        objects::kustomization(
            "flux-system",
            "web",
            objects::SHA_A,
            objects::ready(
                "False",
                "HealthCheckFailed",
                "timeout waiting for Deployment"
            ),
        ),
        objects::helm_release("apps", "podinfo"),
        objects::oci_repository("apps", "podinfo", "6.5.4@sha256:beef"),
        objects::terraform(
            "infra",
            "vpc",
            Some(objects::SHA_A),
            Some(objects::SHA_B),
            &objects::plan_id(objects::SHA_B),
            vec![
                objects::condition(
                    "Ready",
                    "Unknown",
                    "TerraformPlannedWithChanges",
                    "Plan generated"
                ),
                objects::condition("Apply", "False", "TerraformAppliedFail", "quota"),
            ],
        ),
    ])
}

/// Map Flux objects to apps, their inventories, sources and conditions,
/// and the Terraform objects among them to tofu apps.
fn map_flux(objects: &[KubeObject]) {
    let terraforms: Vec<&KubeObject> = objects
        .iter()
        .filter(|o| o.raw.get("kind").and_then(|k| k.as_str()) == Some("Terraform"))
        .collect();
    let _ = tofu::map::to_apps("tofu", "prod", &terraforms);
    let entries: Vec<flux::map::Entry<'_>> = objects
        .iter()
        .filter_map(|o| {
            let kind = flux::map::FluxKind::from_word(o.raw.get("kind")?.as_str()?)?;
            Some(flux::map::Entry { kind, object: o })
        })
        .collect();
    let _ = flux::map::to_apps("flux", "prod", &entries);
    for e in &entries {
        let _ = flux::map::inventory(e.object);
        let _ = flux::map::ready(e.object);
        let _ = flux::map::is_suspended(e.object);
        let _ = flux::map::source_of(e.kind, e.object);
    }
}

/// Decode `bytes` as `T`: an error must name what was read.
fn decoded<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<Option<T>, TestCaseError> {
    match decode::<T>(bytes, what) {
        Ok(v) => Ok(Some(v)),
        Err(e) => {
            let shown = e.to_string();
            prop_assert!(
                shown.contains(what),
                "the error does not name {what}: {shown}"
            );
            Ok(None)
        }
    }
}

/// Every decoder and its mapping, on one body.
fn decode_all(which: usize, bytes: &[u8]) -> Result<(), TestCaseError> {
    let origin = gitlab::api::Origin {
        source: "gl",
        pipeline_id: "acme/platform/web",
        project_path: None,
    };
    let job = jenkins::map::JobRef {
        path: "deploy",
        name: "deploy",
        full_name: "deploy",
    };
    match which % 11 {
        10 => {
            if let Some(objects) = decoded::<Vec<KubeObject>>(bytes, "the Flux objects")? {
                map_flux(&objects);
            }
        }
        0 => {
            if let Some(list) = decoded::<github::api::RunList>(bytes, "the run list")? {
                for run in list.workflow_runs {
                    let _ = github::api::to_run("gh", "octo-org/octo-repo", run);
                }
            }
        }
        1 => {
            if let Some(list) = decoded::<github::api::JobList>(bytes, "the job list")? {
                for job in list.jobs {
                    let _ = github::api::to_job(job);
                }
            }
        }
        2 => {
            if let Some(list) = decoded::<Vec<gitlab::api::PipelineBasic>>(bytes, "the pipelines")?
            {
                for p in &list {
                    let _ = gitlab::api::to_run(&origin, p, None);
                }
            }
        }
        3 => {
            let basic: Vec<gitlab::api::PipelineBasic> =
                serde_json::from_value(gitlab_pipelines()).expect("the real payload decodes");
            if let Some(detail) = decoded::<gitlab::api::PipelineDetail>(bytes, "the pipeline")? {
                let _ = gitlab::api::to_run(&origin, &basic[0], Some(&detail));
            }
        }
        4 => {
            if let Some(jobs) = decoded::<Vec<gitlab::api::JobEntry>>(bytes, "the jobs")? {
                let _ = gitlab::api::to_jobs(jobs);
            }
        }
        5 => {
            if let Some(j) = decoded::<jenkins::api::JobJson>(bytes, "the job")? {
                let _ = jenkins::map::form_inputs(&j);
                for build in j.builds.iter().flatten() {
                    let _ = jenkins::map::build_run("jk", &job, build);
                    let _ = jenkins::map::build_job("deploy", build);
                }
            }
        }
        6 => {
            if let Some(q) = decoded::<jenkins::api::QueueJson>(bytes, "the queue")? {
                for item in &q.items {
                    let _ = jenkins::map::queued_run("jk", &job, item);
                }
            }
        }
        7 => {
            let build: jenkins::api::BuildJson =
                serde_json::from_value(jenkins_job()["builds"][1].clone()).expect("a real build");
            if let Some(stages) = decoded::<jenkins::api::RunDescription>(bytes, "the stages")? {
                let _ = jenkins::map::stage_jobs(&build, stages);
            }
        }
        8 => {
            if let Some(list) = decoded::<argocd::api::ApplicationList>(bytes, "the app list")? {
                for app in list.items.into_iter().flatten() {
                    let _ = argocd::detail::results(&app);
                    let _ = argocd::api::to_app("argo", app);
                }
            }
        }
        _ => {
            if let Some(tree) = decoded::<argocd::api::ResourceTree>(bytes, "the resource tree")? {
                let _ = argocd::detail::tree(tree);
            }
        }
    }
    Ok(())
}

/// The real payload each decoder of `decode_all` reads.
fn payload(which: usize) -> Value {
    match which % 11 {
        0 => github_runs(),
        1 => github_jobs(),
        2 => gitlab_pipelines(),
        3 => gitlab_detail(),
        4 => gitlab_jobs(),
        5 => jenkins_job(),
        6 => jenkins_queue(),
        7 => jenkins_stages(),
        8 => argocd_apps(),
        9 => argocd_tree(),
        _ => flux_objects(),
    }
}

#[test]
fn every_real_payload_decodes_and_maps() {
    // The mutations start from payloads the decoders accept.
    for which in 0..11 {
        let bytes = serde_json::to_vec(&payload(which)).expect("json");
        let mut decodes = true;
        let result = (|| -> Result<(), TestCaseError> {
            match which {
                0 => decodes &= decoded::<github::api::RunList>(&bytes, "x")?.is_some(),
                1 => decodes &= decoded::<github::api::JobList>(&bytes, "x")?.is_some(),
                2 => decodes &= decoded::<Vec<gitlab::api::PipelineBasic>>(&bytes, "x")?.is_some(),
                3 => decodes &= decoded::<gitlab::api::PipelineDetail>(&bytes, "x")?.is_some(),
                4 => decodes &= decoded::<Vec<gitlab::api::JobEntry>>(&bytes, "x")?.is_some(),
                5 => decodes &= decoded::<jenkins::api::JobJson>(&bytes, "x")?.is_some(),
                6 => decodes &= decoded::<jenkins::api::QueueJson>(&bytes, "x")?.is_some(),
                7 => decodes &= decoded::<jenkins::api::RunDescription>(&bytes, "x")?.is_some(),
                8 => decodes &= decoded::<argocd::api::ApplicationList>(&bytes, "x")?.is_some(),
                9 => decodes &= decoded::<argocd::api::ResourceTree>(&bytes, "x")?.is_some(),
                _ => decodes &= decoded::<Vec<KubeObject>>(&bytes, "x")?.is_some(),
            }
            Ok(())
        })();
        assert!(result.is_ok() && decodes, "payload {which} does not decode");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_real_payloads_never_panic(
        which in 0usize..11,
        edits in proptest::collection::vec((any::<usize>(), replacement()), 1..4),
    ) {
        let mut document = payload(which);
        for (target, with) in &edits {
            mutate(&mut document, *target, with);
        }
        let bytes = serde_json::to_vec(&document).expect("json");
        decode_all(which, &bytes)?;
    }

    #[test]
    fn cut_real_payloads_never_panic(which in 0usize..11, cut in any::<usize>()) {
        let bytes = serde_json::to_vec(&payload(which)).expect("json");
        let cut = cut % bytes.len().max(1);
        decode_all(which, &bytes[..cut])?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(which in 0usize..11, bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        decode_all(which, &bytes)?;
    }
}
