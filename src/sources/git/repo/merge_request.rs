//! Where to open a merge request for a pushed revert branch, on the hosts
//! that have one.

use crate::model::repo_url::host_and_path;

/// Where to open a merge request for a pushed branch, for hosts that have one.
pub fn compare_url(remote: &str, base: &str, branch: &str) -> Option<String> {
    let (host, path) = host_and_path(remote)?;
    if host == "localhost" || host.starts_with("127.") || remote.starts_with("git://") {
        return None;
    }
    Some(if host.contains("gitlab") {
        format!(
            "https://{host}/{path}/-/merge_requests/new?merge_request%5Bsource_branch%5D={branch}&merge_request%5Btarget_branch%5D={base}"
        )
    } else {
        format!("https://{host}/{path}/compare/{base}...{branch}?expand=1")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_urls_for_github_and_gitlab() {
        assert_eq!(
            compare_url(
                "git@github.com:acme/deploy.git",
                "main",
                "opsdeck/rollback-x"
            )
            .as_deref(),
            Some("https://github.com/acme/deploy/compare/main...opsdeck/rollback-x?expand=1")
        );
        let gitlab = compare_url("https://gitlab.example.com/ops/deploy.git", "main", "b")
            .unwrap_or_default();
        assert!(
            gitlab.starts_with("https://gitlab.example.com/ops/deploy/-/merge_requests/new?"),
            "{gitlab}"
        );
        assert_eq!(compare_url("file:///tmp/remote.git", "main", "b"), None);
        assert_eq!(
            compare_url("git://127.0.0.1:9418/remote.git", "main", "b"),
            None
        );
    }
}
