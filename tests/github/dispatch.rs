//! Dispatch forms from workflow files, and workflows that cannot be dispatched.

use super::*;

const DEPLOY_YAML: &str = r#"name: Deploy
on:
  push:
    branches: [main]
  workflow_dispatch:
    inputs:
      environment:
        description: 'Where to deploy'
        required: true
        type: choice
        options:
          - staging
          - production
      dry_run:
        description: Only print what would change
        type: boolean
        default: true
      version:
        description: Version to deploy (empty = the commit's)
        required: false
        type: string
      canary:
        type: boolean
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ inputs.environment }}"
"#;

async fn serve_workflow(f: &Fixture, id: u64, name: &str, file: &str, yaml: &str) {
    let path_ = format!(".github/workflows/{file}");
    Mock::given(method("GET"))
        .and(path(format!(
            "/repos/octo-org/octo-repo/actions/workflows/{id}"
        )))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(workflow(id, name, &path_, "active")),
        )
        .mount(&f.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/octo-org/octo-repo/contents/{path_}")))
        .and(header_is("accept", "application/vnd.github.raw+json"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "content-type",
                    "application/vnd.github.raw+json; charset=utf-8",
                )
                .set_body_string(yaml),
        )
        .mount(&f.server)
        .await;
}

#[tokio::test]
async fn the_dispatch_form_comes_from_the_workflow_file() {
    let f = fixture().await;
    serve_workflow(&f, 161335, "Deploy", "deploy.yml", DEPLOY_YAML).await;
    Mock::given(method("GET"))
        .and(path("/repos/octo-org/octo-repo"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 217723378, "name": "octo-repo", "full_name": "octo-org/octo-repo",
            "private": true, "default_branch": "trunk"
        })))
        .expect(1)
        .mount(&f.server)
        .await;
    let form = f.source().dispatch_form("161335").await.expect("a form");
    assert_eq!(form.pipeline, "161335");
    assert_eq!(form.name, "Deploy");
    assert_eq!(form.git_ref.as_deref(), Some("trunk"), "the default branch");
    assert!(!form.free_inputs);
    let inputs: Vec<(&str, &str, bool, Vec<&str>, &str)> = form
        .inputs
        .iter()
        .map(|i| {
            (
                i.name.as_str(),
                i.default.as_str(),
                i.required,
                i.choices.iter().map(String::as_str).collect(),
                i.description.as_str(),
            )
        })
        .collect();
    assert_eq!(
        inputs,
        [
            (
                "environment",
                "staging",
                true,
                vec!["staging", "production"],
                "Where to deploy"
            ),
            (
                "dry_run",
                "true",
                false,
                vec!["true", "false"],
                "Only print what would change"
            ),
            (
                "version",
                "",
                false,
                vec![],
                "Version to deploy (empty = the commit's)"
            ),
            ("canary", "false", false, vec!["true", "false"], ""),
        ]
    );
    f.server.verify().await;

    // With `branch` configured: the file at that branch, and no repository read.
    let g = fixture().await;
    serve_workflow(&g, 161335, "Deploy", "deploy.yml", DEPLOY_YAML).await;
    let config = GithubConfig {
        branch: Some("release".into()),
        ..g.config()
    };
    let form = g
        .source_with(config)
        .dispatch_form("161335")
        .await
        .expect("form");
    assert_eq!(form.git_ref.as_deref(), Some("release"));
    let requests = g.requests().await;
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].url.query(), Some("ref=release"));
    assert!(
        requests
            .iter()
            .all(|r| r.url.path() != "/repos/octo-org/octo-repo")
    );
}

#[tokio::test]
async fn a_workflow_without_workflow_dispatch_is_refused_clearly() {
    let f = fixture().await;
    serve_workflow(
        &f,
        159038,
        "Build",
        "build.yml",
        "name: Build\non: [push, pull_request]\njobs: {}\n",
    )
    .await;
    let e = f
        .source()
        .dispatch_form("159038")
        .await
        .expect_err("refused");
    assert_eq!(
        e.to_string(),
        "gh: workflow Build has no workflow_dispatch trigger: GitHub will not start it by hand \
         (add `on: workflow_dispatch` to .github/workflows/build.yml)"
    );
    Mock::given(method("GET"))
        .and(path("/repos/octo-org/octo-repo/actions/workflows/5"))
        .respond_with(ResponseTemplate::new(200).set_body_json(workflow(
            5,
            "Nightly",
            ".github/workflows/nightly.yml",
            "disabled_manually",
        )))
        .mount(&f.server)
        .await;
    let e = f.source().dispatch_form("5").await.expect_err("disabled");
    assert!(
        e.to_string()
            .contains("workflow Nightly is disabled_manually"),
        "{e}"
    );
}
