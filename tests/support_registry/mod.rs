//! A real container registry for the tests: Debian's `docker-registry`
//! (the CNCF distribution registry, v2.8) started on 127.0.0.1 with a small
//! YAML config in a temp dir, anonymous or behind basic auth (an htpasswd
//! file made with `htpasswd -B`). The tests push their own small images
//! through the registry's HTTP API (layer and config blobs, a manifest with
//! annotations, an index): no Docker daemon.
//!
//! `OPSDECK_REGISTRY` names the registry binary (else `docker-registry` on
//! PATH, or /usr/bin/docker-registry); `OPSDECK_HTPASSWD` the htpasswd tool.
//! Missing → `skipped:`, or a failure under CI=true.
#![allow(dead_code)] // each test binary uses its own part

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::server::{Missing, Server, locate, shared};

/// The registry starts in well under this, even on a busy 2-core machine.
const START_TIMEOUT: Duration = Duration::from_secs(60);
pub const HOW: &str = "Install it with `apt-get install -y docker-registry apache2-utils`, \
                       or set OPSDECK_REGISTRY (and OPSDECK_HTPASSWD).";
/// The user and password of the registry behind basic auth.
pub const USER: &str = "ci-reader";
pub const PASSWORD: &str = "s3cret-registry-pass";

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";

/// A running registry and how to log in to it, if it wants a login.
pub struct Registry {
    pub server: Server,
    pub login: Option<(&'static str, &'static str)>,
}

impl Registry {
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// `127.0.0.1:PORT`, as image references name it.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.server.port)
    }
}

static OPEN: OnceLock<Result<Registry, Missing>> = OnceLock::new();
static LOCKED: OnceLock<Result<Registry, Missing>> = OnceLock::new();

/// The anonymous registry of this test binary (None: skipped).
pub fn open() -> Option<&'static Registry> {
    shared(&OPEN, || start(false), HOW)
}

/// The registry behind basic auth (None: skipped).
pub fn locked() -> Option<&'static Registry> {
    shared(&LOCKED, || start(true), HOW)
}

fn start(basic: bool) -> Result<Registry, Missing> {
    let program = locate(
        "OPSDECK_REGISTRY",
        "docker-registry",
        &[PathBuf::from("/usr/bin/docker-registry")],
    )?;
    let dir: PathBuf = tempfile::Builder::new()
        .prefix("opsdeck-registry-")
        .tempdir()
        .expect("temp dir")
        .keep();
    let mut auth = String::new();
    if basic {
        let htpasswd = locate("OPSDECK_HTPASSWD", "htpasswd", &[])?;
        let out = std::process::Command::new(&htpasswd)
            .args(["-Bbn", USER, PASSWORD])
            .output()
            .expect("run htpasswd");
        assert!(out.status.success(), "htpasswd failed: {out:?}");
        let file = dir.join("htpasswd");
        std::fs::write(&file, &out.stdout).expect("write htpasswd");
        auth = format!(
            "auth:\n  htpasswd:\n    realm: opsdeck-test\n    path: {}\n",
            file.display()
        );
    }
    let config = dir.join("config.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: 127.0.0.1:0\n  secret: opsdeck-test-secret\n{auth}",
            dir.join("data").display()
        ),
    )
    .expect("write config");
    let server = Server::start(
        &program,
        &["serve".to_string(), config.display().to_string()],
        dir,
        &[],
        START_TIMEOUT,
    );
    // `/v2/` answers 200 (open) or 401 (locked) once it serves.
    let deadline = std::time::Instant::now() + START_TIMEOUT;
    while !matches!(
        crate::server::http_get(server.port, "/v2/"),
        Some((200 | 401, _))
    ) {
        assert!(
            std::time::Instant::now() < deadline,
            "the registry did not answer /v2/:\n{}",
            server.log_tail()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(Registry {
        server,
        login: basic.then_some((USER, PASSWORD)),
    })
}

pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// One image to push: when it was built, from which revision, and where the
/// revision is written (a config label or a manifest annotation).
pub struct Image<'a> {
    pub tag: &'a str,
    pub created: &'a str,
    pub revision: Option<&'a str>,
    pub revision_in_label: bool,
    /// Anything that makes the image's content (and digest) its own.
    pub content: &'a str,
}

/// Pushes images over the registry's HTTP API.
pub struct Pusher<'a> {
    pub registry: &'a Registry,
    client: reqwest::Client,
}

impl<'a> Pusher<'a> {
    pub fn new(registry: &'a Registry) -> Pusher<'a> {
        Pusher {
            registry,
            client: reqwest::Client::new(),
        }
    }

    fn auth(&self, r: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self.registry.login {
            Some((user, password)) => r.basic_auth(user, Some(password)),
            None => r,
        }
    }

    /// Upload a blob (POST for an upload session, PUT with its digest).
    pub async fn blob(&self, repo: &str, bytes: &[u8]) -> String {
        let digest = digest(bytes);
        let base = self.registry.url();
        let start = self
            .auth(self.client.post(format!("{base}/v2/{repo}/blobs/uploads/")))
            .send()
            .await
            .expect("start upload");
        assert_eq!(start.status().as_u16(), 202, "upload start: {start:?}");
        let location = start
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .expect("upload location")
            .to_string();
        let location = url::Url::parse(&base)
            .and_then(|b| b.join(&location))
            .expect("upload url");
        let mut put = location.clone();
        put.query_pairs_mut().append_pair("digest", &digest);
        let done = self
            .auth(self.client.put(put))
            .header("content-type", "application/octet-stream")
            .body(bytes.to_vec())
            .send()
            .await
            .expect("upload blob");
        assert_eq!(done.status().as_u16(), 201, "upload: {done:?}");
        digest
    }

    /// Put a manifest under `reference` (a tag); its digest.
    pub async fn manifest(&self, repo: &str, reference: &str, media: &str, body: &Value) -> String {
        let bytes = serde_json::to_vec(body).expect("manifest");
        let response = self
            .auth(self.client.put(format!(
                "{}/v2/{repo}/manifests/{reference}",
                self.registry.url()
            )))
            .header("content-type", media)
            .body(bytes.clone())
            .send()
            .await
            .expect("put manifest");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        assert_eq!(status, 201, "put manifest {repo}:{reference}: {text}");
        digest(&bytes)
    }

    /// Push one image (a layer, its config, an OCI manifest); its manifest
    /// digest.
    pub async fn image(&self, repo: &str, image: &Image<'_>) -> String {
        let (manifest, _) = self.image_manifest(repo, image).await;
        self.manifest(repo, image.tag, OCI_MANIFEST, &manifest)
            .await
    }

    /// The manifest of an image whose blobs are uploaded, and its size.
    pub async fn image_manifest(&self, repo: &str, image: &Image<'_>) -> (Value, usize) {
        let layer = format!("layer of {}", image.content).into_bytes();
        let layer_digest = self.blob(repo, &layer).await;
        let mut labels = json!({"org.opencontainers.image.title": image.content});
        let mut annotations = json!({});
        if let Some(rev) = image.revision {
            let key = "org.opencontainers.image.revision";
            if image.revision_in_label {
                labels[key] = json!(rev);
            } else {
                annotations[key] = json!(rev);
            }
        }
        let config = serde_json::to_vec(&json!({
            "created": image.created,
            "architecture": "amd64",
            "os": "linux",
            "config": {"Labels": labels},
            "rootfs": {"type": "layers", "diff_ids": [digest(&layer)]}
        }))
        .expect("config");
        let config_digest = self.blob(repo, &config).await;
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config.len()},
            "layers": [{"mediaType": OCI_LAYER, "digest": layer_digest, "size": layer.len()}],
            "annotations": annotations
        });
        let size = serde_json::to_vec(&manifest).expect("manifest").len();
        (manifest, size)
    }

    /// Push an image by digest and an OCI index over it under `tag`, the
    /// revision annotated on the index; the index's digest.
    pub async fn index(&self, repo: &str, image: &Image<'_>) -> String {
        let no_revision = Image {
            revision: None,
            ..*image
        };
        let (manifest, size) = self.image_manifest(repo, &no_revision).await;
        let bytes = serde_json::to_vec(&manifest).expect("manifest");
        let inner = self
            .manifest(repo, &digest(&bytes), OCI_MANIFEST, &manifest)
            .await;
        let index = json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [{
                "mediaType": OCI_MANIFEST, "digest": inner, "size": size,
                "platform": {"os": "linux", "architecture": "amd64"}
            }],
            "annotations": {"org.opencontainers.image.revision": image.revision.unwrap_or("")}
        });
        self.manifest(repo, image.tag, OCI_INDEX, &index).await
    }

    /// Tag an already pushed manifest again.
    pub async fn retag(&self, repo: &str, from: &str, to: &str) -> String {
        let response = self
            .auth(self.client.get(format!(
                "{}/v2/{repo}/manifests/{from}",
                self.registry.url()
            )))
            .header("accept", format!("{OCI_MANIFEST}, {OCI_INDEX}"))
            .send()
            .await
            .expect("get manifest");
        let media = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or(OCI_MANIFEST)
            .to_string();
        let bytes = response.bytes().await.expect("manifest bytes").to_vec();
        let put = self
            .auth(
                self.client
                    .put(format!("{}/v2/{repo}/manifests/{to}", self.registry.url())),
            )
            .header("content-type", media)
            .body(bytes.clone())
            .send()
            .await
            .expect("put manifest");
        assert_eq!(put.status().as_u16(), 201, "retag {repo}:{to}");
        digest(&bytes)
    }
}
