//! The registry source against a real registry (Debian's `docker-registry`,
//! v2.8), anonymous and behind basic auth, with images the tests push
//! themselves: tags newest first with digest, build time and revision
//! (label, annotation, an index's annotation), the tag list paged, a
//! missing repository as its own error, a wrong password refused without
//! showing it; a bearer-token challenge answered the Docker Hub/GHCR way
//! (an in-process registry, the real one has no token service without a
//! signing setup); and the headless `status` linking an Argo CD app's
//! images to the registry's tags.

#[allow(dead_code)] // this binary uses the skip rule and the server starter
#[path = "support/server.rs"]
mod server;
mod support_registry;

use std::path::Path;
use std::sync::Arc;

use opsdeck::model::{RegistryRepo, Snapshot};
use opsdeck::sources::Source;
use serde_json::{Value, json};
use support_registry::{Image, Pusher, Registry};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const REV_A: &str = "7b972aa0c0ffee0000000000000000000000000a";
const REV_B: &str = "8c083bb1c0ffee0000000000000000000000000b";
const REV_C: &str = "9d194cc2c0ffee0000000000000000000000000c";
const REV_D: &str = "ae2a5dd3c0ffee0000000000000000000000000d";

fn source(text: &str) -> Arc<dyn Source> {
    let config = opsdeck::config::parse(text, Path::new("opsdeck.toml"))
        .unwrap_or_else(|e| panic!("config:\n{e}\n{text}"));
    opsdeck::sources::build(&config.sources[0], config.refresh)
}

fn config(url: &str, repos: &[&str], extra: &str) -> String {
    let repos: Vec<String> = repos.iter().map(|r| format!("\"{r}\"")).collect();
    format!(
        "[[source]]\nname = \"images\"\nkind = \"registry\"\nurl = \"{url}\"\nrepositories = [{}]\n{extra}",
        repos.join(", ")
    )
}

fn repo<'a>(snapshot: &'a Snapshot, name: &str) -> &'a RegistryRepo {
    snapshot
        .registries
        .iter()
        .find(|r| r.repository == name)
        .unwrap_or_else(|| panic!("no repository {name} in {:?}", snapshot.registries))
}

/// RFC 3339 `hours` hours ago (whole seconds).
fn ago(hours: f64) -> String {
    let t = chrono::Utc::now() - chrono::Duration::seconds((hours * 3600.0) as i64);
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// payments: 1.4.2 (revision in a label), 1.4.3 and 1.4.4 (annotations),
/// `latest` = 1.4.4, `multi` an index (revision on the index), newest.
async fn push_payments(registry: &Registry, repo: &str) -> Vec<(String, String)> {
    let p = Pusher::new(registry);
    let image = |tag, created, revision, revision_in_label, content| Image {
        tag,
        created,
        revision: Some(revision),
        revision_in_label,
        content,
    };
    let (t2, t3, t4, t5) = (ago(4.0), ago(3.0), ago(2.0), ago(1.0));
    let d2 = p
        .image(repo, &image("1.4.2", &t2, REV_A, true, "payments 1.4.2"))
        .await;
    let d3 = p
        .image(repo, &image("1.4.3", &t3, REV_B, false, "payments 1.4.3"))
        .await;
    let d4 = p
        .image(repo, &image("1.4.4", &t4, REV_C, false, "payments 1.4.4"))
        .await;
    let latest = p.retag(repo, "1.4.4", "latest").await;
    assert_eq!(latest, d4);
    let multi = p
        .index(repo, &image("multi", &t5, REV_D, false, "payments multi"))
        .await;
    vec![
        ("1.4.2".into(), d2),
        ("1.4.3".into(), d3),
        ("1.4.4".into(), d4),
        ("multi".into(), multi),
    ]
}

#[tokio::test]
async fn tags_are_read_newest_first_with_digest_build_time_and_revision() {
    let Some(registry) = support_registry::open() else {
        return;
    };
    let digests = push_payments(registry, "team/payments").await;
    let source = source(&config(
        &registry.url(),
        &["team/payments", "team/nothing"],
        "",
    ));
    let snapshot = source.fetch().await.expect("the registry reads");

    let payments = repo(&snapshot, "team/payments");
    assert_eq!(payments.error, None);
    assert_eq!(payments.host, registry.host());
    let tags: Vec<&str> = payments.tags.iter().map(|t| t.tag.as_str()).collect();
    // Newest first; `latest` and 1.4.4 are one image (same time), the
    // higher name first.
    assert_eq!(tags, ["multi", "latest", "1.4.4", "1.4.3", "1.4.2"]);
    let tag = |name: &str| payments.tags.iter().find(|t| t.tag == name).expect("tag");
    for (name, digest) in &digests {
        assert_eq!(tag(name).digest.as_ref(), Some(digest), "{name}");
    }
    assert_eq!(tag("latest").digest, tag("1.4.4").digest);
    assert_eq!(
        tag("1.4.2").revision.as_deref(),
        Some(REV_A),
        "from the label"
    );
    assert_eq!(tag("1.4.3").revision.as_deref(), Some(REV_B), "annotation");
    assert_eq!(tag("multi").revision.as_deref(), Some(REV_D), "the index's");
    let created = tag("1.4.3").created_at.expect("created");
    let age = chrono::Utc::now() - created;
    assert!(
        (age.num_minutes() - 180).abs() <= 2,
        "1.4.3 was built 3 h ago: {created}"
    );
    assert!(
        tag("multi").created_at.is_some(),
        "through the index's image"
    );

    // A repository the registry does not know: its own error, and a
    // problem of the source, next to the good one.
    let nothing = repo(&snapshot, "team/nothing");
    assert!(nothing.tags.is_empty());
    let error = nothing.error.as_deref().expect("an error");
    assert!(
        error.contains("NAME_UNKNOWN") && error.contains("/v2/team/nothing/tags/list"),
        "{error}"
    );
    assert_eq!(snapshot.problems.len(), 1, "{:?}", snapshot.problems);
    assert!(snapshot.problems[0].starts_with("repository team/nothing:"));

    // Read again: the same answer (builds come from the per-digest cache).
    let again = source.fetch().await.expect("reads again");
    assert_eq!(repo(&again, "team/payments"), payments);
}

#[tokio::test]
async fn a_long_tag_list_is_read_across_pages_and_bounded() {
    let Some(registry) = support_registry::open() else {
        return;
    };
    let p = Pusher::new(registry);
    let repo_name = "team/many";
    p.image(
        repo_name,
        &Image {
            tag: "t-001",
            created: &ago(1.0),
            revision: None,
            revision_in_label: false,
            content: "many",
        },
    )
    .await;
    for n in 2..=105 {
        p.retag(repo_name, "t-001", &format!("t-{n:03}")).await;
    }
    let source = source(&config(&registry.url(), &[repo_name], "max_tags = 3\n"));
    let snapshot = source.fetch().await.expect("reads");
    let many = repo(&snapshot, repo_name);
    let tags: Vec<&str> = many.tags.iter().map(|t| t.tag.as_str()).collect();
    // The registry lists 100 a page in name order: the highest names are
    // on the second page.
    assert_eq!(tags, ["t-105", "t-104", "t-103"]);
    assert!(many.tags.iter().all(|t| t.revision.is_none()));
    assert_eq!(many.error, None);
}

#[tokio::test]
async fn basic_auth_with_an_htpasswd_file_and_a_wrong_password_refused() {
    let Some(registry) = support_registry::locked() else {
        return;
    };
    push_payments(registry, "team/payments").await;
    let dir = tempfile::tempdir().expect("dir");
    let good = dir.path().join("good");
    std::fs::write(&good, support_registry::PASSWORD).expect("write");
    let bad = dir.path().join("bad");
    std::fs::write(&bad, "not-the-password").expect("write");
    let login = |file: &Path| {
        format!(
            "username = \"{}\"\npassword = {{ file = \"{}\" }}\n",
            support_registry::USER,
            file.display()
        )
    };
    let url = registry.url();
    let snapshot = source(&config(&url, &["team/payments"], &login(&good)))
        .fetch()
        .await
        .expect("logged in");
    assert_eq!(repo(&snapshot, "team/payments").tags.len(), 5);

    for extra in [login(&bad), String::new()] {
        let error = source(&config(&url, &["team/payments"], &extra))
            .fetch()
            .await
            .expect_err("refused");
        let text = error.to_string();
        assert!(
            text.starts_with("not allowed: 401 on /v2/team/payments/tags/list")
                && text.contains("check username/password or token"),
            "{text}"
        );
        assert!(!text.contains("not-the-password") && !text.contains(support_registry::PASSWORD));
    }
}

/// A registry that wants a bearer token from its realm, as Docker Hub and
/// GHCR do; the realm takes basic auth and hands out `tok-1`.
async fn token_registry() -> MockServer {
    let server = MockServer::start().await;
    let uri = server.uri();
    Mock::given(method("GET"))
        .and(path("/token"))
        .and(header("authorization", "Basic bWU6cHc=")) // me:pw
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"token": "tok-1"})))
        .mount(&server)
        .await;
    let bearer = || header("authorization", "Bearer tok-1");
    Mock::given(method("GET"))
        .and(path("/v2/acme/web/tags/list"))
        .and(bearer())
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"name": "acme/web", "tags": ["2.0"]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("HEAD"))
        .and(path("/v2/acme/web/manifests/2.0"))
        .and(bearer())
        .respond_with(
            ResponseTemplate::new(200).insert_header("docker-content-digest", "sha256:m1"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/acme/web/manifests/sha256:m1"))
        .and(bearer())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": "sha256:c1", "size": 10}
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/acme/web/blobs/sha256:c1"))
        .and(bearer())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "created": "2026-11-30T10:00:00Z",
            "config": {"Labels": {"org.opencontainers.image.revision": REV_A}}
        })))
        .mount(&server)
        .await;
    let challenge = format!(
        "Bearer realm=\"{uri}/token\",service=\"test-registry\",scope=\"repository:acme/web:pull\""
    );
    Mock::given(wiremock::matchers::path_regex("^/v2/"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("www-authenticate", challenge.as_str())
                .set_body_json(json!({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]})),
        )
        .with_priority(10)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_bearer_challenge_is_answered_with_a_token_from_its_realm_and_kept() {
    let server = token_registry().await;
    let dir = tempfile::tempdir().expect("dir");
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "pw").expect("write");
    let text = config(
        &server.uri(),
        &["acme/web"],
        &format!(
            "username = \"me\"\npassword = {{ file = \"{}\" }}\n",
            pw.display()
        ),
    );
    let source = source(&text);
    let snapshot = source.fetch().await.expect("reads with a token");
    let web = repo(&snapshot, "acme/web");
    assert_eq!(web.tags.len(), 1);
    assert_eq!(web.tags[0].digest.as_deref(), Some("sha256:m1"));
    assert_eq!(web.tags[0].revision.as_deref(), Some(REV_A));
    let requests = server.received_requests().await.expect("recorded");
    let token = requests
        .iter()
        .find(|r| r.url.path() == "/token")
        .expect("asked");
    let query: Vec<(String, String)> = token.url.query_pairs().into_owned().collect();
    assert!(query.contains(&("service".into(), "test-registry".into())));
    assert!(query.contains(&("scope".into(), "repository:acme/web:pull".into())));

    // The token is kept: a second read asks the realm for none, and
    // fetches no manifest or config again (digests are immutable).
    let before = requests.len();
    source.fetch().await.expect("reads again");
    let requests = server.received_requests().await.expect("recorded");
    let second: Vec<String> = requests[before..]
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    assert_eq!(
        second,
        [
            "GET /v2/acme/web/tags/list",
            "HEAD /v2/acme/web/manifests/2.0"
        ]
    );

    // Anonymous: the realm refuses, and says so.
    let anonymous = source_of_anonymous(&server.uri()).fetch().await;
    let text = anonymous.expect_err("refused").to_string();
    assert!(text.contains("token service refused"), "{text}");
}

fn source_of_anonymous(url: &str) -> Arc<dyn Source> {
    source(&config(url, &["acme/web"], ""))
}

#[tokio::test]
async fn status_json_links_an_apps_images_to_the_registry() {
    let Some(registry) = support_registry::open() else {
        return;
    };
    let repo_name = "team/checkout";
    push_payments(registry, repo_name).await;
    let argo = MockServer::start().await;
    let app = json!({
        "metadata": {"name": "checkout", "namespace": "argocd"},
        "spec": {"destination": {"server": "https://kubernetes.default.svc", "namespace": "checkout"}},
        "status": {
            "sync": {"status": "Synced", "revision": REV_A},
            "health": {"status": "Healthy"},
            "summary": {"images": [
                format!("{}/{repo_name}:1.4.3", registry.host()),
                "docker.io/library/redis:7"
            ]}
        }
    });
    Mock::given(method("GET"))
        .and(path("/api/v1/applications"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"metadata": {}, "items": [app]})),
        )
        .mount(&argo)
        .await;
    let dir = tempfile::tempdir().expect("dir");
    let token = dir.path().join("argo-token");
    std::fs::write(&token, "t").expect("token");
    let config_path = dir.path().join("opsdeck.toml");
    std::fs::write(
        &config_path,
        format!(
            "[[source]]\nname = \"argo\"\nkind = \"argocd\"\nurl = \"{}\"\ntoken = {{ file = \"{}\" }}\n\n{}",
            argo.uri(),
            token.display(),
            config(&registry.url(), &[repo_name], "")
        ),
    )
    .expect("config");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args(["--config"])
        .arg(&config_path)
        .args(["status", "--format", "json"])
        .env("XDG_STATE_HOME", dir.path())
        .env_remove("OPSDECK_CONFIG")
        .output()
        .expect("run opsdeck");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    let images = &json["gitops"][0]["images"];
    let running = &images[0];
    assert_eq!(
        running["image"],
        format!("{}/{repo_name}:1.4.3", registry.host())
    );
    assert_eq!(running["revision"], REV_B);
    assert!(
        running["digest"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:"))
    );
    assert!(running["created_at"].is_string());
    assert_eq!(running["newer_tags"], json!(["multi", "latest", "1.4.4"]));
    // No registry source covers redis: every field but the name is null.
    assert_eq!(
        images[1],
        json!({"image": "docker.io/library/redis:7", "digest": null, "revision": null,
               "created_at": null, "newer_tags": null})
    );
    let registries = json["registries"].as_array().expect("registries");
    assert_eq!(registries.len(), 1);
    assert_eq!(registries[0]["source"], "images");
    assert_eq!(registries[0]["repository"], repo_name);
    assert_eq!(registries[0]["error"], Value::Null);
    let tags: Vec<&str> = registries[0]["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .map(|t| t["tag"].as_str().expect("tag"))
        .collect();
    assert_eq!(tags, ["multi", "latest", "1.4.4", "1.4.3", "1.4.2"]);
    for key in ["tag", "digest", "created_at", "revision"] {
        assert!(registries[0]["tags"][0].get(key).is_some(), "{key}");
    }
    assert_eq!(out.status.code(), Some(0), "all healthy: {stdout}");
}
