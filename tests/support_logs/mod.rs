//! A log server for log-tail tests: ~100 MB generated on the fly (never
//! held whole, here or in opsdeck): fixed-width lines, so any byte range
//! is computed from its offset. It honours `Range: bytes=-N` (206) or, as a
//! server that ignores ranges, sends everything (200), on any path, and
//! records the `Range` and `Authorization` each request carried.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Each line is exactly this long.
pub const LINE: u64 = 100;
/// 1 048 576 lines: 104 857 600 bytes.
pub const LINES: u64 = 1 << 20;
pub const TOTAL: u64 = LINE * LINES;
const CHUNK: u64 = 64 * 1024;

/// Line `i` (from 0), `LINE` bytes with its newline.
pub fn line(i: u64) -> String {
    format!("log line {i:09} {}\n", "x".repeat(LINE as usize - 20))
}

/// The bytes `[from, to)` of the log.
fn bytes(from: u64, to: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity((to - from) as usize);
    let mut at = from;
    while at < to {
        let text = line(at / LINE);
        let start = (at % LINE) as usize;
        let take = ((LINE as usize) - start).min((to - at) as usize);
        out.extend_from_slice(&text.as_bytes()[start..start + take]);
        at += take as u64;
    }
    out
}

#[derive(Clone, Debug, Default)]
pub struct Seen {
    pub range: Option<String>,
    pub authorization: Option<String>,
}

pub struct Storage {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

pub async fn start(honours_range: bool) -> Storage {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let record = record.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if stream.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).to_string();
                let find = |name: &str| {
                    head.lines().find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
                    })
                };
                let range = find("range");
                record.lock().expect("lock").push(Seen {
                    range: range.clone(),
                    authorization: find("authorization"),
                });
                let suffix = range
                    .as_deref()
                    .and_then(|r| r.strip_prefix("bytes=-"))
                    .and_then(|n| n.parse::<u64>().ok())
                    .filter(|_| honours_range);
                let (from, status) = match suffix {
                    Some(n) => (TOTAL - n.min(TOTAL), "206 Partial Content"),
                    None => (0, "200 OK"),
                };
                let mut reply = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: text/plain\r\n\
                     content-length: {}\r\nconnection: close\r\n",
                    TOTAL - from
                );
                if suffix.is_some() {
                    reply.push_str(&format!(
                        "content-range: bytes {from}-{}/{TOTAL}\r\n",
                        TOTAL - 1
                    ));
                }
                reply.push_str("\r\n");
                if stream.write_all(reply.as_bytes()).await.is_err() {
                    return;
                }
                let mut at = from;
                while at < TOTAL {
                    let to = (at + CHUNK).min(TOTAL);
                    if stream.write_all(&bytes(at, to)).await.is_err() {
                        return;
                    }
                    at = to;
                }
                let _ = stream.shutdown().await;
            });
        }
    });
    Storage { url, seen }
}

impl Storage {
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }
}

#[test]
fn any_byte_range_is_the_log_itself() {
    let whole: String = (0..3).map(line).collect();
    assert_eq!(bytes(0, 3 * LINE), whole.as_bytes());
    assert_eq!(bytes(150, 250), &whole.as_bytes()[150..250]);
    assert_eq!(line(7).len() as u64, LINE);
}
