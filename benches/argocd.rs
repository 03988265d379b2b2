//! Listing a large Argo CD install: decode the JSON of 10,000 applications
//! (shaped like `GET /api/v1/applications` with opsdeck's field selection)
//! and map them into the domain, as every full read does.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use opsdeck::sources::argocd::api::{ApplicationList, to_app};
use serde_json::{Value, json};

const APPS: usize = 10_000;

/// One app as the list returns it: spec, sync, health, a finished
/// operation, five resources (one out of sync) and ten history entries.
fn app(i: usize) -> Value {
    let rev = |n: usize| format!("{:040x}", i * 16 + n);
    let history: Vec<Value> = (0..10)
        .map(|n| json!({"id": n + 1, "revision": rev(n), "deployedAt": "2026-11-20T10:00:00Z",
                        "deployStartedAt": "2026-11-20T09:59:00Z",
                        "source": {"repoURL": "https://git.example.com/acme/deploy.git", "path": format!("apps/app-{i}")}}))
        .collect();
    let resources: Vec<Value> = ["Deployment", "Service", "ConfigMap", "Ingress", "ServiceAccount"]
        .iter()
        .enumerate()
        .map(|(n, kind)| json!({"group": "apps", "version": "v1", "kind": kind, "namespace": format!("ns-{}", i % 50),
                                "name": format!("app-{i}"), "status": if n == 2 && i % 3 == 0 { "OutOfSync" } else { "Synced" },
                                "health": {"status": "Healthy"}}))
        .collect();
    json!({
        "metadata": {"name": format!("app-{i:05}"), "namespace": "argocd"},
        "spec": {
            "project": format!("team-{}", i % 20),
            "source": {"repoURL": "https://git.example.com/acme/deploy.git", "path": format!("apps/app-{i}"), "targetRevision": "main"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": format!("ns-{}", i % 50)},
            "syncPolicy": if i % 2 == 0 { json!({"automated": {"prune": true, "selfHeal": true}}) } else { json!({}) }
        },
        "status": {
            "sync": {"status": if i % 3 == 0 { "OutOfSync" } else { "Synced" }, "revision": rev(9)},
            "health": {"status": if i % 7 == 0 { "Degraded" } else { "Healthy" }},
            "operationState": {"phase": "Succeeded", "message": "successfully synced (all tasks run)",
                               "startedAt": "2026-11-20T09:59:00Z", "finishedAt": "2026-11-20T10:00:00Z",
                               "syncResult": {"revision": rev(9)}},
            "resources": resources,
            "reconciledAt": "2026-11-20T10:05:00Z",
            "conditions": [],
            "history": history
        }
    })
}

fn list_json() -> Vec<u8> {
    let items: Vec<Value> = (0..APPS).map(app).collect();
    serde_json::to_vec(&json!({"metadata": {"resourceVersion": "99"}, "items": items}))
        .expect("serializable")
}

fn decode_and_map(c: &mut Criterion) {
    let body = list_json();
    let mut group = c.benchmark_group("argocd");
    group.sample_size(10);
    group.throughput(Throughput::Elements(APPS as u64));
    group.bench_function(format!("decode_and_map_{APPS}_apps"), |b| {
        b.iter(|| {
            let list: ApplicationList = serde_json::from_slice(black_box(&body)).expect("decodes");
            let apps: Vec<_> = list
                .items
                .unwrap_or_default()
                .into_iter()
                .map(|a| to_app("argo", a))
                .collect();
            assert_eq!(apps.len(), APPS);
            black_box(apps)
        })
    });
    group.finish();
    println!("list body: {:.1} MB", body.len() as f64 / 1e6);
}

criterion_group!(benches, decode_and_map);
criterion_main!(benches);
