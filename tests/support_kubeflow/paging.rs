//! Listing as KFP does it: page sizes, opaque page tokens (base64 of offset,
//! sort and filter), `sort_by`, and the run and experiment lists.

use super::*;

/// `page_size`: 0 or absent is 20, above 200 is 200, negative is refused.
pub(super) fn page_size(
    state: &State,
    q: &dyn Fn(&str) -> Option<String>,
) -> Result<usize, Refused> {
    let size: i64 = match q("page_size") {
        None => 0,
        Some(s) => s.parse().map_err(|_| {
            refused(
                StatusCode::BAD_REQUEST,
                3,
                &format!("Invalid input error: page_size `{s}` is not a number"),
            )
        })?,
    };
    if size < 0 {
        return Err(refused(
            StatusCode::BAD_REQUEST,
            3,
            "Invalid input error: The page size should be greater than 0. Got -1",
        ));
    }
    let size = if size == 0 {
        DEFAULT_PAGE_SIZE
    } else {
        (size as usize).min(MAX_PAGE_SIZE)
    };
    Ok(size.min(state.page_cap.unwrap_or(MAX_PAGE_SIZE)))
}

/// The page token: base64 of `{"offset", "sort_by", "filter"}`.
pub(super) fn token_of(offset: usize, sort_by: &str, filter: &str) -> String {
    base64(
        json!({"offset": offset, "sort_by": sort_by, "filter": filter})
            .to_string()
            .as_bytes(),
    )
}

/// Where a page starts and the sort it continues; a token whose criteria
/// differ from the ones given is refused, as KFP does.
pub(super) fn page_start(
    q: &dyn Fn(&str) -> Option<String>,
    filter: &str,
) -> Result<(usize, String), Refused> {
    let Some(token) = q("page_token").filter(|t| !t.is_empty()) else {
        return Ok((0, q("sort_by").unwrap_or_default()));
    };
    let bad = || {
        refused(
            StatusCode::BAD_REQUEST,
            3,
            "Invalid input error: Invalid package token",
        )
    };
    let decoded = unbase64(&token).ok_or_else(bad)?;
    let token: Value = serde_json::from_slice(&decoded).map_err(|_| bad())?;
    let sort_by = token["sort_by"].as_str().unwrap_or_default().to_string();
    let mismatch = q("sort_by").is_some_and(|s| s != sort_by) || token["filter"] != filter;
    if mismatch {
        return Err(refused(
            StatusCode::BAD_REQUEST,
            3,
            "Invalid input error: page token does not match the supplied sort by and/or filtering criteria",
        ));
    }
    Ok((token["offset"].as_u64().unwrap_or(0) as usize, sort_by))
}

pub(super) fn sorted(mut items: Vec<Value>, sort_by: &str) -> Result<Vec<Value>, Refused> {
    let (field, desc) = match sort_by.split_whitespace().collect::<Vec<_>>().as_slice() {
        [] => ("created_at", false),
        [f] => (*f, false),
        [f, "asc"] => (*f, false),
        [f, "desc"] => (*f, true),
        _ => {
            return Err(refused(
                StatusCode::BAD_REQUEST,
                3,
                &format!("Invalid input error: Invalid sorting field: \"{sort_by}\""),
            ));
        }
    };
    if !matches!(
        field,
        "created_at" | "finished_at" | "display_name" | "run_id" | "experiment_id"
    ) {
        return Err(refused(
            StatusCode::BAD_REQUEST,
            3,
            &format!("Invalid input error: Invalid sorting field: \"{field}\" on listable type"),
        ));
    }
    items.sort_by(|a, b| a[field].as_str().cmp(&b[field].as_str()));
    if desc {
        items.reverse();
    }
    Ok(items)
}

pub(super) fn page_of(
    items: Vec<Value>,
    key: &str,
    start: usize,
    size: usize,
    sort_by: &str,
    filter: &str,
) -> Response<Full<Bytes>> {
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(start).take(size).collect();
    let mut body = json!({ key: page });
    if total > 0 {
        body["total_size"] = json!(total);
    }
    if start + size < total {
        body["next_page_token"] = json!(token_of(start + size, sort_by, filter));
    }
    respond(StatusCode::OK, body)
}

pub(super) fn list_runs(
    state: &State,
    q: &dyn Fn(&str) -> Option<String>,
) -> Response<Full<Bytes>> {
    let namespace = q("namespace").unwrap_or_default();
    let experiment = q("experiment_id").filter(|e| !e.is_empty());
    if state.multi_user && namespace.is_empty() && experiment.is_none() {
        return status(
            StatusCode::BAD_REQUEST,
            3,
            "Invalid input error: ListRuns must filter by namespace or experiment: A run cannot have an empty namespace in multi-user mode",
        );
    }
    let size = match page_size(state, q) {
        Ok(s) => s,
        Err(e) => return *e,
    };
    let filter = format!("{namespace}|{}", experiment.clone().unwrap_or_default());
    let (start, sort_by) = match page_start(q, &filter) {
        Ok(s) => s,
        Err(e) => return *e,
    };
    let namespace_of = |run: &Value| {
        state
            .experiments
            .iter()
            .find(|e| e["experiment_id"] == run["experiment_id"])
            .and_then(|e| e["namespace"].as_str())
            .unwrap_or("")
            .to_string()
    };
    let runs: Vec<Value> = state
        .runs
        .iter()
        .filter(|r| experiment.as_ref().is_none_or(|e| r["experiment_id"] == *e))
        .filter(|r| !state.multi_user || namespace.is_empty() || namespace_of(r) == namespace)
        .cloned()
        .collect();
    match sorted(runs, &sort_by) {
        Ok(runs) => page_of(runs, "runs", start, size, &sort_by, &filter),
        Err(e) => *e,
    }
}

pub(super) fn list_experiments(
    state: &State,
    q: &dyn Fn(&str) -> Option<String>,
) -> Response<Full<Bytes>> {
    let namespace = q("namespace").unwrap_or_default();
    if state.multi_user && namespace.is_empty() {
        return status(
            StatusCode::BAD_REQUEST,
            3,
            "Invalid input error: In multi-user mode, ListExperiment requires filtering by namespace",
        );
    }
    let size = match page_size(state, q) {
        Ok(s) => s,
        Err(e) => return *e,
    };
    let (start, sort_by) = match page_start(q, &namespace) {
        Ok(s) => s,
        Err(e) => return *e,
    };
    let experiments: Vec<Value> = state
        .experiments
        .iter()
        .filter(|e| !state.multi_user || e["namespace"] == namespace.as_str())
        .cloned()
        .collect();
    page_of(
        experiments,
        "experiments",
        start,
        size,
        &sort_by,
        &namespace,
    )
}

pub(super) const ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (KFP's page tokens).
pub(super) fn base64(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
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

pub(super) fn unbase64(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u32> = text
        .trim_end_matches('=')
        .bytes()
        .map(|c| ALPHABET.iter().position(|a| *a == c).map(|p| p as u32))
        .collect::<Option<_>>()?;
    let mut out = Vec::new();
    for chunk in digits.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, d)| n | d << (18 - 6 * i));
        for i in 0..chunk.len().saturating_sub(1) {
            out.push((n >> (16 - 8 * i) & 255) as u8);
        }
    }
    Some(out)
}
