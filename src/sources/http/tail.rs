//! The end of a log streamed over HTTP, in bounded memory: a log can be
//! hundreds of MB, and only its last lines are ever shown. Where the server
//! allows ranges, only the end is asked for (`ask_for_tail`); an answer
//! that ignores the range is streamed, keeping the tail.

use reqwest::header::{CONTENT_RANGE, RANGE};
use reqwest::{RequestBuilder, Response, StatusCode};

/// Ask for the last `bytes` of the body only: `Range: bytes=-N` (a suffix
/// range, RFC 9110 §14.1.2). The server may answer `206` with just that,
/// or ignore it and send `200` with everything.
pub fn ask_for_tail(request: RequestBuilder, bytes: usize) -> RequestBuilder {
    request.header(RANGE, format!("bytes=-{bytes}"))
}

/// The end of a byte stream: at most `limit` bytes kept (twice that, plus
/// a chunk, while reading).
#[derive(Debug)]
pub struct TailBuffer {
    bytes: Vec<u8>,
    limit: usize,
    /// The start of the stream was cut away.
    dropped: bool,
    /// The stream itself starts inside a line (read from a byte offset).
    mid_line: bool,
    /// The most bytes held at once.
    peak: usize,
}

impl TailBuffer {
    pub fn new(limit: usize) -> TailBuffer {
        TailBuffer {
            bytes: Vec::new(),
            limit,
            dropped: false,
            mid_line: false,
            peak: 0,
        }
    }

    /// For a stream read from a byte offset: its first line is a piece.
    pub fn from_offset(mut self, offset: u64) -> TailBuffer {
        self.mid_line = offset > 0;
        self
    }

    /// Add a chunk.
    pub fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
        self.peak = self.peak.max(self.bytes.len());
        // Cut in batches, not on every chunk: the copy is then amortised.
        if self.bytes.len() > 2 * self.limit {
            self.cut();
        }
    }

    fn cut(&mut self) {
        let excess = self.bytes.len().saturating_sub(self.limit);
        if excess > 0 {
            self.bytes.drain(..excess);
            self.dropped = true;
        }
    }

    /// Bytes held now.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The most bytes held at once so far: never more than twice the limit
    /// plus one chunk, however long the stream.
    pub fn peak(&self) -> usize {
        self.peak
    }

    /// Read the answer to a request sent with `ask_for_tail`: a `206` is
    /// the end of the body (its first line is a piece unless it starts at
    /// byte 0, per `Content-Range`); a `200` is the whole body, from a
    /// server that ignored the range, streamed with only its end kept.
    pub async fn read_tail(&mut self, response: &mut Response) -> Result<(), reqwest::Error> {
        if response.status() == StatusCode::PARTIAL_CONTENT {
            // `bytes 1000-1999/2000`; unreadable: assume it starts mid-line.
            let start = response
                .headers()
                .get(CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().strip_prefix("bytes "))
                .and_then(|v| v.split('-').next())
                .and_then(|v| v.trim().parse::<u64>().ok());
            self.mid_line = start != Some(0);
        }
        self.read(response).await
    }

    /// Read the rest of a response into the buffer, chunk by chunk.
    pub async fn read(&mut self, response: &mut Response) -> Result<(), reqwest::Error> {
        while let Some(chunk) = response.chunk().await? {
            self.push(&chunk);
        }
        Ok(())
    }

    /// The kept text and whether anything was left out. After a cut it
    /// starts at the first whole line (the cut may have split a line or a
    /// UTF-8 character).
    pub fn finish(mut self) -> (String, bool) {
        self.cut();
        let partial = self.dropped || self.mid_line;
        let start = if partial {
            self.bytes
                .iter()
                .position(|&b| b == b'\n')
                .map_or(self.bytes.len(), |i| i + 1)
        } else {
            0
        };
        (
            String::from_utf8_lossy(&self.bytes[start..]).into_owned(),
            partial,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 64 * 1024;

    #[test]
    fn a_huge_stream_is_held_in_bounded_memory_and_cut_at_a_line() {
        let mut tail = TailBuffer::new(LIMIT);
        let line = b"2026-11-20T10:00:00.0000000Z some build output that goes on\n";
        for _ in 0..50_000 {
            tail.push(line);
            assert!(tail.len() <= 2 * LIMIT + line.len());
        }
        tail.push(b"last line\n");
        let (text, truncated) = tail.finish();
        assert!(truncated);
        assert!(text.len() <= LIMIT);
        assert!(
            text.starts_with("2026-11-20T10:00:00"),
            "cut at a whole line"
        );
        assert!(text.ends_with("last line\n"));
    }

    #[test]
    fn a_short_stream_is_kept_whole() {
        let mut small = TailBuffer::new(LIMIT);
        small.push(b"one\ntwo\n");
        assert_eq!(small.finish(), ("one\ntwo\n".to_string(), false));
    }

    #[test]
    fn a_stream_read_from_an_offset_drops_its_broken_first_line() {
        let mut tail = TailBuffer::new(LIMIT).from_offset(10);
        tail.push(b"ece of a line\nwhole line\n");
        assert_eq!(tail.finish(), ("whole line\n".to_string(), true));
        let mut tail = TailBuffer::new(LIMIT).from_offset(0);
        tail.push(b"first\n");
        assert_eq!(tail.finish(), ("first\n".to_string(), false));
    }
}
