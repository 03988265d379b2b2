//! The watch stream: a drop and its fallback read, events larger than any
//! buffer, silence, and unreadable events among good ones.

use super::*;

/// A watch's events as the state they leave (what the app side shows).
struct Feed {
    rx: tokio::sync::mpsc::Receiver<opsdeck::sources::SourceEvent>,
    current: Snapshot,
}

impl Feed {
    fn new(rx: tokio::sync::mpsc::Receiver<opsdeck::sources::SourceEvent>) -> Feed {
        Feed {
            rx,
            current: Snapshot::default(),
        }
    }

    /// Wait for the next source event (or fail after a generous deadline).
    async fn next(&mut self) -> Result<Snapshot, String> {
        let event = tokio::time::timeout(Duration::from_secs(10), self.rx.recv())
            .await
            .expect("an event within 10 s")
            .expect("the watch is running");
        feed::fold(&mut self.current, event.result)
    }
}

#[tokio::test]
async fn a_dropped_stream_falls_back_to_a_read_and_reconnects() {
    let f = fixture().await;
    f.serve_list(vec![web()]).await;
    let mut degraded = web();
    degraded["status"]["health"] = json!({"status": "Degraded", "message": "pod crash"});
    let events = format!(
        "{}\n{}\n",
        json!({"result": {"type": "ADDED", "application": payments()}}),
        json!({"result": {"type": "MODIFIED", "application": degraded}}),
    );
    // Each connection sends the two events and ends: a dropped stream.
    Mock::given(method("GET"))
        .and(path("/api/v1/stream/applications"))
        .and(query_param("resourceVersion", "1234"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(events, "application/json"))
        .mount(&f.server)
        .await;
    let source =
        Arc::new(f.source().with_stream_retry(Duration::from_millis(50))) as Arc<dyn Source>;
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let mut rx = Feed::new(rx);
    let wake = Arc::new(tokio::sync::Notify::new());
    let task = {
        let source = source.clone();
        let wake = wake.clone();
        tokio::spawn(async move { source.watch(0, &tx, &wake).await })
    };
    // 1. The list.
    let first = rx.next().await.expect("listed");
    assert_eq!(first.apps.len(), 1);
    // 2. The two events, applied.
    let mut live = rx.next().await.expect("streamed");
    while live.apps.len() < 2 || app(&live, "web").health != Health::Degraded {
        live = rx.next().await.expect("streamed");
    }
    assert_eq!(app(&live, "payments").sync, SyncStatus::OutOfSync);
    // 3. The stream dropped: the fallback read shows the list again.
    let fallback = rx.next().await.expect("read again");
    assert_eq!(fallback.apps.len(), 1);
    assert_eq!(app(&fallback, "web").health, Health::Healthy);
    // 4. And the stream is opened again.
    let streams = |requests: Vec<Request>| {
        requests
            .iter()
            .filter(|r| r.url.path() == "/api/v1/stream/applications")
            .count()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while streams(f.server.received_requests().await.unwrap_or_default()) < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stream was not reopened"
        );
        let _ = rx.next().await;
    }
    let requests = f.server.received_requests().await.unwrap_or_default();
    let lists = requests
        .iter()
        .filter(|r| r.url.path() == "/api/v1/applications")
        .count();
    assert!(lists >= 2, "a fallback list between the streams");
    task.abort();
}

#[tokio::test]
async fn events_larger_than_any_fixed_buffer_are_read_whole() {
    let f = fixture().await;
    f.serve_list(vec![]).await;
    let mut big = payments();
    // ~4 MB of resources in one event.
    big["status"]["resources"] = Value::Array(
        (0..40_000)
            .map(|i| json!({"kind": "ConfigMap", "namespace": "payments", "name": format!("cm-{i:05}-{}", "x".repeat(60)), "status": "OutOfSync"}))
            .collect(),
    );
    let line = format!(
        "{}\n",
        json!({"result": {"type": "ADDED", "application": big}})
    );
    assert!(line.len() > 3_000_000);
    Mock::given(method("GET"))
        .and(path("/api/v1/stream/applications"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(line, "application/json"))
        .mount(&f.server)
        .await;
    let source = Arc::new(f.source().with_stream_retry(Duration::from_secs(60))) as Arc<dyn Source>;
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let mut rx = Feed::new(rx);
    let wake = Arc::new(tokio::sync::Notify::new());
    let task = {
        let source = source.clone();
        tokio::spawn(async move { source.watch(0, &tx, &wake).await })
    };
    assert!(rx.next().await.expect("listed").apps.is_empty());
    let streamed = rx.next().await.expect("streamed");
    assert_eq!(app(&streamed, "payments").out_of_sync.len(), 40_000);
    task.abort();
}

/// An argocd-server whose event stream opens, sends `events[n]` on its
/// n-th connection, then stays open and silent (a half-open connection:
/// no event, no keep-alive, never closed). The app list answers `list`.
/// Returns its URL and how many streams were opened.
async fn silent_stream_server(
    list: Value,
    events: Vec<String>,
) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let streams = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let opened = streams.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                match socket.read(&mut byte).await {
                    Ok(1) => head.push(byte[0]),
                    _ => break,
                }
            }
            let head = String::from_utf8_lossy(&head).to_string();
            if head.starts_with("GET /api/v1/stream/applications") {
                let n = opened.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let event = events.get(n).or(events.last()).cloned().unwrap_or_default();
                let chunk = format!("{event}\n");
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{chunk}\r\n",
                    chunk.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
                held.push(socket);
            } else {
                let body = list.to_string();
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        }
    });
    (url, streams)
}

#[tokio::test]
async fn a_stream_that_goes_silent_is_left_listed_again_and_reopened() {
    let f = fixture().await;
    let mut degraded = web();
    degraded["status"]["health"] = json!({"status": "Degraded", "message": "pod crash"});
    let (url, streams) = silent_stream_server(
        list(vec![web()]),
        vec![
            json!({"result": {"type": "ADDED", "application": payments()}}).to_string(),
            json!({"result": {"type": "MODIFIED", "application": degraded}}).to_string(),
        ],
    )
    .await;
    let mut config = f.config();
    config.url = url;
    // Refreshing every second: two silent seconds and the stream is dead.
    let source = Arc::new(
        ArgoCdSource::new("argo", config, Duration::from_secs(1))
            .with_stream_retry(Duration::from_millis(50)),
    ) as Arc<dyn Source>;
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let mut rx = Feed::new(rx);
    let wake = Arc::new(tokio::sync::Notify::new());
    let task = {
        let source = source.clone();
        let wake = wake.clone();
        tokio::spawn(async move { source.watch(0, &tx, &wake).await })
    };
    // The first stream's event arrives, then it goes quiet.
    let mut live = rx.next().await.expect("listed");
    while live.apps.len() < 2 {
        live = rx.next().await.expect("streamed");
    }
    // Left after the silence, listed again, reopened: the second stream's
    // change shows.
    while app(&live, "web").health != Health::Degraded {
        live = rx.next().await.expect("read again");
    }
    assert!(
        streams.load(std::sync::atomic::Ordering::SeqCst) >= 2,
        "the silent stream was reopened"
    );
    task.abort();
}

#[tokio::test]
async fn server_sent_events_are_read_and_an_unreadable_one_does_not_stop_the_rest() {
    let f = fixture().await;
    f.serve_list(vec![web()]).await;
    let mut degraded = web();
    degraded["status"]["health"] = json!({"status": "Degraded", "message": "pod crash"});
    let events = format!(
        ": keep-alive\n\nevent: message\ndata: {}\n\ndata: {{\"result\": {{\"type\": \n\ndata: {}\n\n",
        json!({"result": {"type": "ADDED", "application": payments()}}),
        json!({"result": {"type": "MODIFIED", "application": degraded}}),
    );
    Mock::given(method("GET"))
        .and(path("/api/v1/stream/applications"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(events, "text/event-stream"))
        .mount(&f.server)
        .await;
    let source = Arc::new(f.source()) as Arc<dyn Source>;
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let mut rx = Feed::new(rx);
    let wake = Arc::new(tokio::sync::Notify::new());
    let task = {
        let source = source.clone();
        let wake = wake.clone();
        tokio::spawn(async move { source.watch(0, &tx, &wake).await })
    };
    let mut live = rx.next().await.expect("listed");
    while live.apps.len() < 2 || app(&live, "web").health != Health::Degraded {
        live = rx.next().await.expect("streamed");
    }
    assert_eq!(app(&live, "payments").sync, SyncStatus::OutOfSync);
    // The unreadable event is the source's problem, in words, beside the
    // apps that were read.
    assert_eq!(live.problems.len(), 1, "{:?}", live.problems);
    assert!(
        live.problems[0]
            .starts_with("1 stream event could not be read and was skipped (the last: "),
        "{:?}",
        live.problems
    );
    task.abort();
}
