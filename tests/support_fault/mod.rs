//! Test support: a fault-injecting HTTP/1.1 proxy on 127.0.0.1 that sits in
//! front of any backend's test server and turns one switchable `Fault` on its
//! answers (refused, silent, trickling, canned error pages, broken bodies,
//! cut or silent streams), counting the requests it saw under each fault.
//!
//! One request per connection: the request goes upstream with
//! `Connection: close` and the answer is copied back (streamed) before the
//! connection is closed, so a new fault takes effect on the very next request.
//! Request bodies are read by `Content-Length` only (no chunked uploads).

#![allow(dead_code)] // each test uses its own part

pub mod backends;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// How long `set` waits for the listener to close or come back.
const SWITCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The pace of a trickled answer.
const TRICKLE_INTERVAL: Duration = Duration::from_secs(1);
/// A request or answer head longer than this is not HTTP we serve.
const MAX_HEAD: usize = 64 * 1024;

/// What the proxy does to the next request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forward as is.
    None,
    /// Nobody listens: the port is closed until the fault ends.
    Refused,
    /// Accept and read the request, never answer.
    Silent,
    /// Forward; the answer's head at once, then its body one byte a second.
    Trickle,
    /// A canned answer instead of the upstream's.
    Status {
        code: u16,
        content_type: &'static str,
        body: String,
        headers: Vec<(&'static str, String)>,
    },
    /// 200 `application/json` whose body is not JSON that parses.
    Malformed,
    /// Forward, but close after half the body (short of its Content-Length
    /// or in the middle of a chunk); an empty body is cut in its head.
    Truncated,
    /// 200 `text/html` with an HTML page (a login portal or a proxy's page).
    WrongType,
    /// Forward; a streaming answer (watch, event stream) is cut in the middle
    /// of its first event. Other answers pass.
    StreamCut,
    /// Forward; a streaming answer sends its head and then nothing, staying
    /// open. Other answers pass.
    StreamSilent,
}

impl Fault {
    /// A short name, used in counts and test output.
    pub fn name(&self) -> String {
        match self {
            Fault::None => "none".into(),
            Fault::Refused => "refused".into(),
            Fault::Silent => "silent".into(),
            Fault::Trickle => "trickle".into(),
            Fault::Status { code, .. } => format!("status {code}"),
            Fault::Malformed => "malformed".into(),
            Fault::Truncated => "truncated".into(),
            Fault::WrongType => "wrong type".into(),
            Fault::StreamCut => "stream cut".into(),
            Fault::StreamSilent => "stream silent".into(),
        }
    }

    /// 500 with a JSON body.
    pub fn internal_error_json() -> Fault {
        Fault::Status {
            code: 500,
            content_type: "application/json",
            body: r#"{"message":"internal server error","code":13}"#.into(),
            headers: Vec::new(),
        }
    }

    /// 502 with the HTML page a reverse proxy shows.
    pub fn bad_gateway_html() -> Fault {
        Fault::Status {
            code: 502,
            content_type: "text/html",
            body: html_page("502 Bad Gateway"),
            headers: Vec::new(),
        }
    }

    /// A plain status with a short JSON message (401, 403, 404).
    pub fn plain(code: u16, message: &str) -> Fault {
        Fault::Status {
            code,
            content_type: "application/json",
            body: serde_json::json!({ "message": message }).to_string(),
            headers: Vec::new(),
        }
    }

    /// 429 with every rate-limit reset header backends use, `wait` ahead.
    pub fn too_many_requests(wait: Duration) -> Fault {
        let reset = chrono::Utc::now().timestamp() + wait.as_secs() as i64;
        Fault::Status {
            code: 429,
            content_type: "application/json",
            body: r#"{"message":"Too Many Requests"}"#.into(),
            headers: vec![
                ("retry-after", wait.as_secs().to_string()),
                ("x-ratelimit-remaining", "0".into()),
                ("x-ratelimit-reset", reset.to_string()),
                ("ratelimit-remaining", "0".into()),
                ("ratelimit-reset", reset.to_string()),
            ],
        }
    }

    /// GitHub's primary rate limit: 403 with `x-ratelimit-remaining: 0`.
    pub fn github_rate_limited(wait: Duration) -> Fault {
        let reset = chrono::Utc::now().timestamp() + wait.as_secs() as i64;
        Fault::Status {
            code: 403,
            content_type: "application/json",
            body: serde_json::json!({
                "message": "API rate limit exceeded for installation ID 1.",
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
            })
            .to_string(),
            headers: vec![
                ("x-ratelimit-limit", "5000".into()),
                ("x-ratelimit-remaining", "0".into()),
                ("x-ratelimit-used", "5000".into()),
                ("x-ratelimit-reset", reset.to_string()),
                ("x-ratelimit-resource", "core".into()),
            ],
        }
    }
}

/// An HTML page with `title` as title and heading.
pub fn html_page(title: &str) -> String {
    format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n\
         <hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n"
    )
}

/// One request the proxy saw.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The fault's name when it came.
    pub fault: String,
    pub method: String,
    /// The request target (path and query).
    pub target: String,
}

struct Shared {
    fault: watch::Sender<Fault>,
    listening: watch::Sender<bool>,
    seen: Mutex<Vec<Seen>>,
    upstream: SocketAddr,
}

/// The proxy. Dropping it stops accepting.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// Start in front of `upstream` (host:port of a test server), forwarding.
    pub async fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let shared = Arc::new(Shared {
            fault: watch::channel(Fault::None).0,
            listening: watch::channel(true).0,
            seen: Mutex::new(Vec::new()),
            upstream,
        });
        let task = tokio::spawn(accept_loop(listener, addr, shared.clone()));
        FaultProxy { addr, shared, task }
    }

    /// Start in front of the server at `url` (`http://127.0.0.1:PORT…`).
    pub async fn in_front_of(url: &str) -> FaultProxy {
        let url = url::Url::parse(url).expect("upstream URL");
        let host = url.host_str().expect("upstream host");
        let port = url.port_or_known_default().expect("upstream port");
        let addr = tokio::net::lookup_host((host, port))
            .await
            .expect("upstream address")
            .next()
            .expect("an upstream address");
        FaultProxy::start(addr).await
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Switch the fault; returns once it is in effect (for `Refused` once
    /// the port is closed, and after it once the port is open again).
    pub async fn set(&self, fault: Fault) {
        let refused = fault == Fault::Refused;
        self.shared.fault.send_replace(fault);
        let mut listening = self.shared.listening.subscribe();
        tokio::time::timeout(SWITCH_TIMEOUT, listening.wait_for(|l| *l != refused))
            .await
            .expect("the proxy switches its listener in time")
            .expect("the proxy is running");
    }

    pub fn fault(&self) -> Fault {
        self.shared.fault.borrow().clone()
    }

    /// Every request seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().expect("seen").clone()
    }

    /// How many requests came while `fault` was set.
    pub fn count(&self, fault: &Fault) -> usize {
        let name = fault.name();
        self.seen().iter().filter(|s| s.fault == name).count()
    }
}

async fn accept_loop(first: TcpListener, addr: SocketAddr, shared: Arc<Shared>) {
    let mut faults = shared.fault.subscribe();
    let mut listener = Some(first);
    loop {
        let Some(open) = listener.take() else {
            // Closed: wait for the fault to end, then listen on the same port.
            if faults.wait_for(|f| *f != Fault::Refused).await.is_err() {
                return;
            }
            match TcpListener::bind(addr).await {
                Ok(l) => listener = Some(l),
                Err(e) => panic!("cannot listen on {addr} again: {e}"),
            }
            shared.listening.send_replace(true);
            continue;
        };
        if *faults.borrow_and_update() == Fault::Refused {
            drop(open);
            shared.listening.send_replace(false);
            continue;
        }
        tokio::select! {
            accepted = open.accept() => {
                if let Ok((conn, _)) = accepted {
                    tokio::spawn(serve(conn, shared.clone()));
                }
                listener = Some(open);
            }
            changed = faults.changed() => {
                if changed.is_err() {
                    return;
                }
                listener = Some(open);
            }
        }
    }
}

/// A request or answer head and the bytes read past it.
struct Head {
    text: String,
    raw: Vec<u8>,
    rest: Vec<u8>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.text.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then_some(value.trim())
        })
    }
}

async fn read_head(conn: &mut (impl AsyncRead + Unpin)) -> Option<Head> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let raw = buf[..end + 4].to_vec();
            let rest = buf[end + 4..].to_vec();
            return Some(Head {
                text: String::from_utf8_lossy(&raw).into_owned(),
                raw,
                rest,
            });
        }
        // Not HTTP (a TLS hello to this plain port): no head will come.
        if !buf.is_empty() && !buf[0].is_ascii_uppercase() {
            return Some(Head {
                text: String::new(),
                raw: Vec::new(),
                rest: buf,
            });
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Whether a request asks for a stream (a Kubernetes watch, Argo CD's feed).
fn is_stream(target: &str) -> bool {
    target.contains("watch=true") || target.contains("watch=1") || target.contains("/stream/")
}

async fn serve(mut client: TcpStream, shared: Arc<Shared>) {
    let Some(request) = read_head(&mut client).await else {
        return;
    };
    let fault = shared.fault.borrow().clone();
    let mut words = request.text.split_whitespace();
    let method = words.next().unwrap_or("(not HTTP)").to_string();
    let target = words.next().unwrap_or_default().to_string();
    shared.seen.lock().expect("seen").push(Seen {
        fault: fault.name(),
        method,
        target: target.clone(),
    });
    if fault == Fault::Silent {
        // Never answer; hold the connection until the client gives up or
        // the fault ends.
        let mut faults = shared.fault.subscribe();
        let mut sink = [0u8; 1024];
        tokio::select! {
            _ = async { while matches!(client.read(&mut sink).await, Ok(n) if n > 0) {} } => {}
            _ = faults.wait_for(|f| *f != Fault::Silent) => {}
        }
        return;
    }
    if request.text.is_empty() {
        // Not HTTP (git's protocol, a TLS hello): the upstream answers it.
        pipe(client, shared.upstream, &request.rest).await;
        return;
    }
    let length: usize = request
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = request.rest.clone();
    while body.len() < length {
        let mut chunk = vec![0u8; length - body.len()];
        match client.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    match fault {
        // Handled above (a refused port accepts nothing).
        Fault::Refused | Fault::Silent => {}
        Fault::Status {
            code,
            content_type,
            body,
            headers,
        } => {
            let mut extra = String::new();
            for (k, v) in &headers {
                extra.push_str(&format!("{k}: {v}\r\n"));
            }
            canned(&mut client, code, content_type, &extra, body.as_bytes()).await;
        }
        Fault::Malformed => {
            canned(
                &mut client,
                200,
                "application/json",
                "",
                br#"{"items": [{"name": "half", "status": "succ"#,
            )
            .await
        }
        Fault::WrongType => {
            let page = html_page("Sign in - Corporate SSO");
            canned(
                &mut client,
                200,
                "text/html; charset=utf-8",
                "",
                page.as_bytes(),
            )
            .await
        }
        Fault::None
        | Fault::Trickle
        | Fault::Truncated
        | Fault::StreamCut
        | Fault::StreamSilent => {
            forward(client, &shared, &request, &body, &target, fault).await;
        }
    }
}

async fn canned(client: &mut TcpStream, code: u16, content_type: &str, extra: &str, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {code} {}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n{extra}connection: close\r\n\r\n",
        reason(code),
        body.len()
    );
    let _ = client.write_all(head.as_bytes()).await;
    let _ = client.write_all(body).await;
    let _ = client.shutdown().await;
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// Copy bytes both ways between `client` and the upstream, `first` first.
async fn pipe(mut client: TcpStream, upstream: SocketAddr, first: &[u8]) {
    let Ok(mut up) = TcpStream::connect(upstream).await else {
        return;
    };
    if up.write_all(first).await.is_ok() {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut up).await;
    }
}

/// The request head with `Connection: close` instead of its own.
fn closing(head: &Head) -> Vec<u8> {
    let mut out = String::new();
    for line in head.text.trim_end_matches("\r\n").split("\r\n") {
        let is_connection = line
            .split_once(':')
            .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case("connection"));
        if !is_connection && !line.is_empty() {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("connection: close\r\n\r\n");
    out.into_bytes()
}

async fn forward(
    mut client: TcpStream,
    shared: &Shared,
    request: &Head,
    body: &[u8],
    target: &str,
    fault: Fault,
) {
    let Ok(mut upstream) = TcpStream::connect(shared.upstream).await else {
        canned(
            &mut client,
            502,
            "text/plain",
            "",
            b"fault proxy: upstream down",
        )
        .await;
        return;
    };
    if upstream.write_all(&closing(request)).await.is_err()
        || upstream.write_all(body).await.is_err()
    {
        return;
    }
    let Some(answer) = read_head(&mut upstream).await else {
        return;
    };
    let stream = is_stream(target);
    match fault {
        Fault::Trickle => {
            if client.write_all(&answer.raw).await.is_err() {
                return;
            }
            // Byte by byte as the upstream sends (a stream never ends).
            let mut pending = answer.rest;
            let mut chunk = vec![0u8; 8192];
            loop {
                for byte in std::mem::take(&mut pending) {
                    if client.write_all(&[byte]).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(TRICKLE_INTERVAL).await;
                }
                match upstream.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => pending.extend_from_slice(&chunk[..n]),
                }
            }
        }
        Fault::Truncated => {
            let mut rest = answer.rest;
            if !stream {
                let _ = upstream.read_to_end(&mut rest).await;
            }
            if rest.is_empty() {
                // Nothing to cut in an empty body: cut the head instead.
                let _ = client.write_all(&answer.raw[..answer.raw.len() / 2]).await;
            } else {
                let _ = client.write_all(&answer.raw).await;
                let _ = client.write_all(&rest[..rest.len() / 2]).await;
            }
        }
        Fault::StreamCut if stream => {
            let mut first = answer.rest;
            if first.is_empty() {
                let mut chunk = vec![0u8; 8192];
                if let Ok(n) = upstream.read(&mut chunk).await {
                    first.extend_from_slice(&chunk[..n]);
                }
            }
            let _ = client.write_all(&answer.raw).await;
            let _ = client.write_all(&first[..first.len() / 2]).await;
        }
        Fault::StreamSilent if stream => {
            if client.write_all(&answer.raw).await.is_ok() {
                let mut sink = [0u8; 1024];
                while matches!(client.read(&mut sink).await, Ok(n) if n > 0) {}
            }
        }
        _ => {
            if client.write_all(&answer.raw).await.is_err()
                || client.write_all(&answer.rest).await.is_err()
            {
                return;
            }
            let (mut client_read, mut client_write) = client.split();
            let mut sink = [0u8; 1024];
            // Copy until the upstream ends or the client hangs up.
            tokio::select! {
                _ = tokio::io::copy(&mut upstream, &mut client_write) => {}
                _ = async { while matches!(client_read.read(&mut sink).await, Ok(n) if n > 0) {} } => {}
            }
            return;
        }
    }
    let _ = client.shutdown().await;
}
