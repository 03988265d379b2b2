//! The JSON:API documents the test server answers with: a workspace or run
//! as `data`, what `include` asks for as `included`, the workspace list
//! paged with `meta.pagination`.

use super::*;

pub(super) fn doc(data: Value, included: Vec<Value>) -> Response<Body> {
    respond(
        StatusCode::OK,
        Some(json!({"data": data, "included": included})),
        &[],
    )
}

pub(super) fn list_workspaces(state: &State, query: &BTreeMap<String, String>) -> Response<Body> {
    let size: usize = query
        .get("page[size]")
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
        .clamp(1, 100);
    let number: usize = query
        .get("page[number]")
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
        .max(1);
    let tags: Vec<&str> = query
        .get("search[tags]")
        .map(|t| t.split(',').collect())
        .unwrap_or_default();
    let all: Vec<&Workspace> = state
        .workspaces
        .iter()
        .filter(|w| tags.iter().all(|t| w.tags.iter().any(|x| x == t)))
        .collect();
    let pages = all.len().div_ceil(size).max(1);
    let page: Vec<&Workspace> = all
        .iter()
        .skip((number - 1) * size)
        .take(size)
        .copied()
        .collect();
    let include = query.get("include").map_or("", String::as_str);
    let mut included = Vec::new();
    for ws in &page {
        included.extend(included_for(state, ws, include));
    }
    let link = |n: usize| {
        format!("/api/v2/organizations/{ORG}/workspaces?page%5Bnumber%5D={n}&page%5Bsize%5D={size}")
    };
    let next = (number < pages).then_some(number + 1);
    let prev = (number > 1).then(|| number - 1);
    respond(
        StatusCode::OK,
        Some(json!({
            "data": page.iter().map(|w| workspace_json(w)).collect::<Vec<_>>(),
            "included": included,
            "links": {"self": link(number), "first": link(1), "last": link(pages),
                      "next": next.map(link), "prev": prev.map(link)},
            "meta": {"pagination": {"current-page": number, "page-size": size,
                "prev-page": prev, "next-page": next, "total-pages": pages, "total-count": all.len()}}
        })),
        &[],
    )
}

pub(super) fn workspace_json(ws: &Workspace) -> Value {
    if ws.broken {
        return json!({"id": ws.id, "type": "workspaces", "attributes": {"name": 17, "locked": "maybe"}});
    }
    let one = |id: Option<String>, kind: &str| match id {
        Some(id) => json!({"data": {"id": id, "type": kind}}),
        None => json!({"data": null}),
    };
    json!({
        "id": ws.id,
        "type": "workspaces",
        "attributes": {
            "name": ws.name, "locked": ws.locked, "locked-reason": if ws.locked { json!("maintenance") } else { Value::Null },
            "assessments-enabled": ws.assessments, "auto-apply": ws.auto_apply,
            "execution-mode": "remote", "resource-count": 10, "tag-names": ws.tags,
            "latest-change-at": "2026-12-01T09:00:00.000Z",
            "last-assessment-result-at": ws.assessment.as_ref().map(|_| "2026-12-01T08:00:00.000Z"),
            "permissions": {"can-queue-run": true, "can-lock": true, "can-unlock": true}
        },
        "relationships": {
            "current-run": one(ws.current_run.clone(), "runs"),
            "latest-run": one(ws.current_run.clone(), "runs"),
            "current-assessment-result": one(ws.assessment.as_ref().map(|_| format!("asmtres-{}", ws.name)), "assessment-results"),
            "project": one(ws.project.as_ref().map(|p| p.0.clone()), "projects"),
            "organization": {"data": {"id": ORG, "type": "organizations"}},
            "locked-by": if ws.locked { json!({"data": {"id": "user-hjy7ndEkmCtn31ps", "type": "users"}}) } else { json!({"data": null}) }
        },
        "links": {"self": format!("/api/v2/organizations/{ORG}/workspaces/{}", ws.name)}
    })
}

/// What `include` asks to bring along for one workspace.
pub(super) fn included_for(state: &State, ws: &Workspace, include: &str) -> Vec<Value> {
    let wants: Vec<&str> = include.split(',').filter(|s| !s.is_empty()).collect();
    let mut out = Vec::new();
    if wants.contains(&"project") {
        if let Some((id, name)) = &ws.project {
            out.push(json!({"id": id, "type": "projects", "attributes": {"name": name}}));
        }
    }
    if wants.contains(&"current_assessment_result") {
        if let Some((drifted, succeeded, count, _)) = &ws.assessment {
            out.push(json!({
                "id": format!("asmtres-{}", ws.name), "type": "assessment-results",
                "attributes": {"drifted": drifted, "succeeded": succeeded,
                    "error-msg": if *succeeded { Value::Null } else { json!("Terraform exited with an error") },
                    "created-at": "2026-12-01T08:00:00+00:00",
                    "resources-drifted": count, "resources-undrifted": 7},
                "links": {"json-output": format!("/api/v2/assessment-results/asmtres-{}/json-output", ws.name)}
            }));
        }
    }
    if let Some(run) = ws.current_run.as_ref().and_then(|id| state.runs.get(id)) {
        if wants.contains(&"current_run") {
            out.push(run_json(run));
        }
        let nested: Vec<String> = wants
            .iter()
            .filter_map(|w| w.strip_prefix("current_run."))
            .map(str::to_string)
            .collect();
        out.extend(run_included(run, &nested.join(",")));
    }
    out
}

pub(super) fn run_json(r: &Run) -> Value {
    let confirmable = matches!(
        r.status.as_str(),
        "planned" | "cost_estimated" | "policy_checked" | "planned_and_saved"
    );
    let mut timestamps = json!({"plan-queueable-at": "2026-12-01T10:00:00+00:00"});
    if r.status == "applied" {
        timestamps["applied-at"] = json!("2026-12-01T10:05:00+00:00");
    }
    if r.status == "errored" {
        timestamps["errored-at"] = json!("2026-12-01T10:02:00+00:00");
    }
    json!({
        "id": r.id, "type": "runs",
        "attributes": {
            "status": r.status, "message": r.message, "created-at": r.created_at,
            "trigger-reason": r.trigger, "source": "tfe-api", "auto-apply": r.auto_apply,
            "refresh-only": r.refresh_only, "plan-only": false, "is-destroy": false,
            "has-changes": true, "status-timestamps": timestamps,
            "actions": {"is-cancelable": matches!(r.status.as_str(), "planning" | "applying"),
                        "is-confirmable": confirmable, "is-discardable": confirmable,
                        "is-force-cancelable": false}
        },
        "relationships": {
            "workspace": {"data": {"id": r.workspace, "type": "workspaces"}},
            "plan": {"data": {"id": format!("plan-{}", r.id), "type": "plans"}},
            "apply": {"data": {"id": format!("apply-{}", r.id), "type": "applies"}},
            "configuration-version": {"data": r.commit.as_ref().map(|_| json!({"id": format!("cv-{}", r.id), "type": "configuration-versions"}))}
        },
        "links": {"self": format!("/api/v2/runs/{}", r.id)}
    })
}

/// A run's plan, configuration version and ingress attributes, as asked.
pub(super) fn run_included(r: &Run, include: &str) -> Vec<Value> {
    let wants: Vec<&str> = include.split(',').collect();
    let mut out = Vec::new();
    if wants.contains(&"plan") {
        out.push(json!({"id": format!("plan-{}", r.id), "type": "plans", "attributes": {
            "status": if r.status == "planning" { "running" } else { "finished" },
            "resource-additions": r.plan.0, "resource-changes": r.plan.1, "resource-destructions": r.plan.2,
            "resource-imports": 0, "has-changes": true}}));
    }
    if let Some((sha, branch, sender)) = &r.commit {
        if wants.contains(&"configuration_version")
            || wants.contains(&"configuration_version.ingress_attributes")
        {
            out.push(json!({"id": format!("cv-{}", r.id), "type": "configuration-versions",
                "attributes": {"source": "github", "status": "uploaded"},
                "relationships": {"ingress-attributes": {"data": {"id": format!("ia-{}", r.id), "type": "ingress-attributes"}}}}));
        }
        if wants.contains(&"configuration_version.ingress_attributes") {
            out.push(json!({"id": format!("ia-{}", r.id), "type": "ingress-attributes", "attributes": {
                "branch": branch, "commit-sha": sha, "commit-message": "Change the subnet",
                "sender-username": sender, "identifier": "acme/infra", "is-pull-request": false,
                "on-default-branch": true, "commit-url": format!("https://github.com/acme/infra/commit/{sha}")}}));
        }
    }
    out
}
