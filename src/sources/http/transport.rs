//! Failures before any HTTP status — DNS, refused, TLS, a timeout — and a
//! body that stopped coming, in words a person understands, naming the
//! address and the path (never the query or credentials).

use super::*;

/// A failure before any HTTP status (DNS, refused, TLS, timeout), or a body
/// that stopped coming (cut off, or too slow).
pub fn transport_error(e: reqwest::Error) -> SourceError {
    // Only the path: a URL's query can carry a signature (GitHub's log
    // storage) and its user part a password.
    let path = e.url().map(|u| u.path().to_string());
    let address = e.url().and_then(address);
    if e.is_timeout() {
        return match path.or(address) {
            Some(from) => SourceError::NoAnswer {
                within: REQUEST_TIMEOUT,
                from,
            },
            None => SourceError::Timeout(REQUEST_TIMEOUT),
        };
    }
    let body_failed = e.is_body() || e.is_decode();
    let e = e.without_url();
    let mut chain = match &path {
        Some(path) => format!("{e} ({path})"),
        None => e.to_string(),
    };
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        source = s.source();
    }
    if let Some(words) = transport_words(&chain, path.as_deref(), address.as_deref(), body_failed) {
        return words;
    }
    if chain.contains("certificate") || chain.contains("UnknownIssuer") {
        return SourceError::Unreachable(format!(
            "{chain} — the server's certificate is not trusted: set `ca_file` to its CA (PEM)"
        ));
    }
    SourceError::Unreachable(chain)
}

/// `host:port` of a URL, for messages about a connection.
pub fn address(url: &url::Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    })
}

/// The transport failures said in words of their own, read from an error's
/// whole chain (reqwest's or kube's): an answer cut off, TLS spoken to a
/// plain-HTTP port, a host name that does not resolve. `path` and
/// `address` say where; `body_failed`: the failure came while reading a
/// body whose head had arrived.
pub fn transport_words(
    chain: &str,
    path: Option<&str>,
    address: Option<&str>,
    body_failed: bool,
) -> Option<SourceError> {
    let lower = chain.to_ascii_lowercase();
    let cut = lower.contains("end of file before message length reached")
        || lower.contains("incomplete message")
        || lower.contains("error reading a body from connection")
        || (body_failed && lower.contains("connection closed"));
    if cut {
        let from = path
            .map(|p| format!(" from {p}"))
            .or_else(|| address.map(|a| format!(" from {a}")))
            .unwrap_or_default();
        return Some(SourceError::CutOff(format!(
            "the answer{from} was cut off before its end (connection closed) — try again; if it \
             keeps happening, a proxy in the way may be cutting answers short"
        )));
    }
    if lower.contains("invalidcontenttype")
        || lower.contains("corrupt message")
        || lower.contains("wrong version number")
        || lower.contains("http request to an https server")
    {
        let at = address.map(|a| format!(" at {a}")).unwrap_or_default();
        return Some(SourceError::Unreachable(format!(
            "the server{at} does not speak TLS — use http:// or check the port"
        )));
    }
    let unresolved = lower.contains("dns error")
        || lower.contains("failed to lookup address")
        || lower.contains("name or service not known")
        || lower.contains("nodename nor servname");
    if unresolved {
        let host = address
            .map(|a| a.rsplit_once(':').map_or(a, |(h, _)| h).to_string())
            .unwrap_or_else(|| "the server's host name".into());
        return Some(SourceError::Unreachable(format!(
            "cannot resolve {host} (DNS lookup failed) — check the host name in the URL, \
             or your DNS or VPN"
        )));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_failures_have_words_of_their_own() {
        let cut = transport_words(
            "error decoding response body: end of file before message length reached",
            Some("/api/v1/applications"),
            Some("127.0.0.1:8080"),
            true,
        );
        assert!(
            matches!(&cut, Some(SourceError::CutOff(w)) if w.starts_with(
                "the answer from /api/v1/applications was cut off before its end (connection closed)"
            )),
            "{cut:?}"
        );
        let tls = transport_words(
            "error sending request: client error (Connect): received corrupt message of type \
             InvalidContentType",
            Some("/x"),
            Some("127.0.0.1:8080"),
            false,
        );
        assert_eq!(
            tls.map(|e| e.to_string()).as_deref(),
            Some(
                "cannot reach the backend: the server at 127.0.0.1:8080 does not speak TLS — \
                 use http:// or check the port"
            )
        );
        let dns = transport_words(
            "client error (Connect): dns error: failed to lookup address information",
            None,
            Some("ci.example.invalid:443"),
            false,
        );
        assert!(dns.is_some_and(|e| e.to_string().contains("cannot resolve ci.example.invalid")),);
        assert!(transport_words("connection refused", None, None, false).is_none());
    }
}
