//! Repository URLs in their https, ssh and scp-like spellings, reduced to
//! one comparable form. The git source and the app's link pass both need it.

/// "github.com", "acme/deploy" from https, ssh and scp-like URLs; None for
/// local paths, which have no host.
pub fn host_and_path(url: &str) -> Option<(String, String)> {
    let url = url.trim().trim_end_matches('/');
    let url = url.strip_suffix(".git").unwrap_or(url);
    if url.starts_with("file://") || url.starts_with('/') {
        return None;
    }
    let rest = match url.split_once("://") {
        Some((_, rest)) => rest.to_string(),
        // scp-like: git@host:owner/repo
        None => url.replacen(':', "/", 1),
    };
    let rest = rest.rsplit_once('@').map_or(rest.as_str(), |(_, r)| r);
    let (host, path) = rest.split_once('/')?;
    let host = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
    Some((host, path.trim_matches('/').to_string()))
}

/// A URL reduced to "host/path" so that https, ssh and scp forms compare equal.
pub fn normalize_url(url: &str) -> String {
    match host_and_path(url) {
        Some((host, path)) => format!("{host}/{path}"),
        None => url
            .trim_end_matches('/')
            .trim_end_matches(".git")
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_in_every_form_compare_equal() {
        let forms = [
            "https://github.com/acme/deploy.git",
            "https://github.com/acme/deploy",
            "git@github.com:acme/deploy.git",
            "ssh://git@github.com/acme/deploy.git",
            "https://GitHub.com/acme/deploy/",
        ];
        for f in forms {
            assert_eq!(normalize_url(f), "github.com/acme/deploy", "{f}");
        }
    }
}
