//! What acting on a run does to the server's state: retry, terminate, archive,
//! and a new run from a pipeline version with its parameters.

use super::*;

pub(super) fn set_state(run: &mut Value, to: &str, now: i64) {
    run["state"] = json!(to);
    if let Some(history) = run["state_history"].as_array_mut() {
        history.push(json!({"update_time": at(now), "state": to}));
    }
}

pub(super) fn run_verb(state: &mut State, id: &str, verb: &str) -> Response<Full<Bytes>> {
    let now = state.now;
    let Some(run) = state.runs.iter_mut().find(|r| r["run_id"] == id) else {
        return status(
            StatusCode::NOT_FOUND,
            5,
            &format!("Failed to {verb} run {id}: Run {id} not found"),
        );
    };
    let current = run["state"].as_str().unwrap_or_default().to_string();
    match verb {
        "retry" if matches!(current.as_str(), "FAILED" | "CANCELED") => {
            set_state(run, "RUNNING", now);
            run["finished_at"] = json!(ZERO_TIME);
            respond(StatusCode::OK, json!({}))
        }
        "retry" => status(
            StatusCode::BAD_REQUEST,
            9,
            &format!(
                "Failed to retry run {id}: FailedPrecondition: a run in state {current} cannot be retried"
            ),
        ),
        "terminate" if matches!(current.as_str(), "PENDING" | "RUNNING" | "PAUSED") => {
            set_state(run, "CANCELING", now);
            respond(StatusCode::OK, json!({}))
        }
        "terminate" => status(
            StatusCode::BAD_REQUEST,
            9,
            &format!(
                "Failed to terminate run {id}: FailedPrecondition: the run is already {current}"
            ),
        ),
        _ => status(StatusCode::NOT_FOUND, 5, &format!("Not Found: :{verb}")),
    }
}

pub(super) fn create_run(state: &mut State, body: &str) -> Response<Full<Bytes>> {
    let bad = |m: &str| {
        status(
            StatusCode::BAD_REQUEST,
            3,
            &format!("Invalid input error: {m}"),
        )
    };
    let Ok(Value::Object(run)) = serde_json::from_str::<Value>(body) else {
        return bad("the body is not a Run object");
    };
    if let Some(unknown) = run.keys().find(|k| !RUN_FIELDS.contains(&k.as_str())) {
        return bad(&format!("proto: (line 1:2): unknown field \"{unknown}\""));
    }
    let Some(name) = run
        .get("display_name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    else {
        return bad("The run name is empty. Please specify a valid name");
    };
    let reference = run
        .get("pipeline_version_reference")
        .cloned()
        .unwrap_or(Value::Null);
    let Some(pipeline) = reference["pipeline_id"].as_str() else {
        return bad("Failed to create a run due to missing pipeline_version_reference");
    };
    let version = match reference["pipeline_version_id"].as_str() {
        Some(v) => state
            .versions
            .iter()
            .find(|x| x["pipeline_id"] == pipeline && x["pipeline_version_id"] == v),
        None => state
            .versions
            .iter()
            .rev()
            .find(|x| x["pipeline_id"] == pipeline),
    };
    let Some(version) = version.cloned() else {
        return status(
            StatusCode::NOT_FOUND,
            5,
            &format!("Failed to create a run: pipeline version of {pipeline} not found"),
        );
    };
    let params = run
        .get("runtime_config")
        .and_then(|c| c.get("parameters"))
        .cloned()
        .unwrap_or(json!({}));
    let declared = version["pipeline_spec"]["root"]["inputDefinitions"]["parameters"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for (pname, p) in &declared {
        let given = &params[pname];
        if given.is_null() && p.get("defaultValue").is_none() {
            return bad(&format!("input parameter {pname} is required"));
        }
        let ok = match (p["parameterType"].as_str(), given) {
            (_, Value::Null) => true,
            (Some("NUMBER_INTEGER"), v) => v.is_i64(),
            (Some("NUMBER_DOUBLE"), v) => v.is_number(),
            (Some("BOOLEAN"), v) => v.is_boolean(),
            (Some("STRING"), v) => v.is_string(),
            _ => true,
        };
        if !ok {
            return bad(&format!(
                "input parameter {pname} has the wrong type: {given}"
            ));
        }
    }
    let experiment = run
        .get("experiment_id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if state.multi_user && experiment.is_empty() {
        return bad("A run cannot have an empty namespace in multi-user mode");
    }
    let id = format!("new-{}", state.next_id);
    state.next_id += 1;
    let now = state.now;
    let created = json!({
        "experiment_id": experiment,
        "run_id": id,
        "display_name": name,
        "storage_state": "AVAILABLE",
        "pipeline_version_reference": {"pipeline_id": pipeline, "pipeline_version_id": version["pipeline_version_id"]},
        "runtime_config": {"parameters": params},
        "service_account": "pipeline-runner",
        "created_at": at(now),
        "scheduled_at": at(now),
        "finished_at": ZERO_TIME,
        "state": "PENDING",
        "state_history": [{"update_time": at(now), "state": "PENDING"}]
    });
    state.runs.push(created.clone());
    respond(StatusCode::OK, created)
}
