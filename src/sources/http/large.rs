//! Large JSON answers decoded while they arrive. Argo CD's list of 10,000
//! applications is ~37 MB: read whole and then decoded, the body and the
//! decoded value are held at once. Here the body goes to the decoder a
//! chunk at a time (on a blocking thread), so only a few chunks are held.

use std::io::Read;

use reqwest::Response;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use super::{html_not_json, is_html, transport_error};
use crate::sources::SourceError;

/// Chunks in flight between the body and the decoder.
const CHUNKS_IN_FLIGHT: usize = 8;
/// How much of the body's start is kept to tell an HTML page apart.
const HEAD_LEN: usize = 1024;

/// Decode a successful answer's JSON body as it arrives; `what` names it
/// in errors. A body that stops before its end is said to be cut off (the
/// transport's words), an HTML page is said to be one, and JSON that does
/// not fit says where it broke — as `decode` does for a body read whole.
pub async fn decode_streamed<T>(mut response: Response, what: &str) -> Result<T, SourceError>
where
    T: DeserializeOwned + Send + 'static,
{
    let (tx, rx) = mpsc::channel::<bytes::Bytes>(CHUNKS_IN_FLIGHT);
    let decoder = tokio::task::spawn_blocking(move || {
        let reader = std::io::BufReader::with_capacity(64 * 1024, Chunks::new(rx));
        let mut json = serde_json::Deserializer::from_reader(reader);
        let value = T::deserialize(&mut json)?;
        json.end().map(|()| value)
    });
    // A body's error does not always carry the URL: put it back, so the
    // error names where (its path, never its query).
    let url = response.url().clone();
    let mut head = Vec::new();
    let mut broken = None;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if head.len() < HEAD_LEN {
                    let take = (HEAD_LEN - head.len()).min(chunk.len());
                    head.extend_from_slice(&chunk[..take]);
                }
                // The decoder stopped early (the JSON broke): its error says why.
                if tx.send(chunk).await.is_err() {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => {
                broken = Some(transport_error(e.with_url(url.clone())));
                break;
            }
        }
    }
    drop(tx);
    let decoded = decoder
        .await
        .map_err(|e| SourceError::Decode(format!("{what}: the decoder stopped: {e}")))?;
    if let Some(broken) = broken {
        return Err(broken);
    }
    decoded.map_err(|e| {
        if is_html(&head) {
            html_not_json(what)
        } else {
            SourceError::Decode(format!("{what}: {e}"))
        }
    })
}

/// The body's chunks as a reader, for serde_json's reader front end.
struct Chunks {
    rx: mpsc::Receiver<bytes::Bytes>,
    current: bytes::Bytes,
}

impl Chunks {
    fn new(rx: mpsc::Receiver<bytes::Bytes>) -> Chunks {
        Chunks {
            rx,
            current: bytes::Bytes::new(),
        }
    }
}

impl Read for Chunks {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(chunk) => self.current = chunk,
                // The body ended (or broke: the caller has its error).
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.current.len());
        out[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}
