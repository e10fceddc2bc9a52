//! A streamable HTTP response's event stream parsed into events, as rmcp reads it.
//!
//! rmcp reads these streams with the `sse-stream` crate, and what it accepts, rejects and
//! returns is what this parser accepts, rejects and returns, event for event: the same fields
//! (`data`, `event`, `id`, `retry`), the same errors (a line without `:`, an unknown field, a
//! field given twice in one event, a value that is not UTF-8, a `retry` that is not a number),
//! a byte-order mark skipped before the first line, an `id` with a NUL ignored, and an event the
//! stream ends in the middle of left out. Two things differ, both in how the work is done:
//!
//! - `sse-stream` looks for each line's end a byte at a time and wraps the bytes in three
//!   adapters (`StreamBody`, `BodyDataStream`, `MapOk`); here `memchr` finds line ends and the
//!   chunks are read as they come. Reading a tool call's answer (two small events, the body's
//!   reads included) took 6,600 instructions that way and takes 5,600 this way
//!   (docs/benchmarks.md, Profile, item 30).
//! - `sse-stream` parses a whole chunk before it returns the first event of it, so an error
//!   later in the chunk came out before the events ahead of it; here events come out in the
//!   order they were sent, and the error after them. In both, the rest of a chunk with an
//!   error is skipped.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures::{Stream, StreamExt as _};
use rmcp::transport::streamable_http_client::SseError;
use sse_stream::Sse;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The events of the event stream `bytes`; see the [module](self) for what is read and how.
pub(crate) fn events<S>(bytes: S) -> Events<S>
where
    S: Stream<Item = io::Result<Bytes>> + Unpin,
{
    Events {
        bytes,
        chunk: Bytes::new(),
        at: 0,
        unfinished: Vec::new(),
        skip_leading_lf: false,
        fields: Fields { current: None, first_line: true },
    }
}

/// The stream [`events`] returns.
pub(crate) struct Events<S> {
    bytes: S,
    /// The chunk being parsed, and where its unparsed bytes begin.
    chunk: Bytes,
    at: usize,
    /// The start of a line that the chunk's end cut.
    unfinished: Vec<u8>,
    /// The last chunk ended with `\r`: a `\n` first in the next one ends no other line.
    skip_leading_lf: bool,
    fields: Fields,
}

/// The lines read so far.
struct Fields {
    /// The event whose lines are being read.
    current: Option<Sse>,
    first_line: bool,
}

impl<S> Stream for Events<S>
where
    S: Stream<Item = io::Result<Bytes>> + Unpin,
{
    type Item = Result<Sse, SseError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match this.next_line_event() {
                Ok(Some(event)) => return Poll::Ready(Some(Ok(event))),
                Ok(None) => {}
                Err(err) => {
                    this.at = this.chunk.len();
                    return Poll::Ready(Some(Err(err)));
                }
            }
            match ready!(this.bytes.poll_next_unpin(cx)) {
                Some(Ok(chunk)) => {
                    this.chunk = chunk;
                    this.at = 0;
                    if std::mem::take(&mut this.skip_leading_lf)
                        && this.chunk.first() == Some(&b'\n')
                    {
                        this.at = 1;
                    }
                }
                Some(Err(err)) => return Poll::Ready(Some(Err(SseError::Body(Box::new(err))))),
                None => return Poll::Ready(None),
            }
        }
    }
}

impl<S> Events<S> {
    /// Parses the chunk's lines until one ends an event (`Some`) or the chunk ends (`None`).
    fn next_line_event(&mut self) -> Result<Option<Sse>, SseError> {
        while self.at < self.chunk.len() {
            let rest = &self.chunk[self.at..];
            let Some(end) = memchr::memchr2(b'\n', b'\r', rest) else {
                self.unfinished.extend_from_slice(rest);
                self.at = self.chunk.len();
                return Ok(None);
            };
            let mut next = self.at + end + 1;
            // A `\r` last in the chunk: its `\n` may come first in the next (once the line is
            // read without error, as `sse-stream` notes it).
            let mut cr_last = false;
            if rest[end] == b'\r' {
                match self.chunk.get(next) {
                    Some(b'\n') => next += 1,
                    Some(_) => {}
                    None => cr_last = true,
                }
            }
            let line = &self.chunk[self.at..self.at + end];
            let event = if self.unfinished.is_empty() {
                self.fields.line(line)
            } else {
                self.unfinished.extend_from_slice(line);
                let event = self.fields.line(&self.unfinished);
                self.unfinished.clear();
                event
            };
            self.at = next;
            let event = event?;
            self.skip_leading_lf = cr_last;
            if event.is_some() {
                return Ok(event);
            }
        }
        Ok(None)
    }
}

impl Fields {
    /// Reads one line; the event it ends, if it is empty and one was being read.
    fn line(&mut self, mut line: &[u8]) -> Result<Option<Sse>, SseError> {
        if std::mem::take(&mut self.first_line) {
            line = line.strip_prefix(BOM).unwrap_or(line);
        }
        if line.is_empty() {
            return Ok(self.current.take());
        }
        let colon = memchr::memchr(b':', line).ok_or(SseError::InvalidLine)?;
        let value = &line[colon + 1..];
        let value = value.strip_prefix(b" ").unwrap_or(value);
        match &line[..colon] {
            b"data" => {
                let text = utf8(value)?;
                let event = self.current.get_or_insert_default();
                match &mut event.data {
                    Some(data) => {
                        data.push('\n');
                        data.push_str(text);
                    }
                    None => event.data = Some(text.to_owned()),
                }
            }
            b"event" => {
                let text = utf8(value)?;
                let event = self.current.get_or_insert_default();
                once(&mut event.event, text.to_owned(), SseError::DuplicatedEventLine)?;
            }
            // An id with a NUL is ignored, as the standard says.
            b"id" if value.contains(&0) => {}
            b"id" => {
                let text = utf8(value)?;
                let event = self.current.get_or_insert_default();
                once(&mut event.id, text.to_owned(), SseError::DuplicatedIdLine)?;
            }
            b"retry" => {
                let retry = utf8(value)?.trim_ascii().parse::<u64>().map_err(SseError::IntParse)?;
                let event = self.current.get_or_insert_default();
                once(&mut event.retry, retry, SseError::DuplicatedRetry)?;
            }
            // A comment.
            b"" => {}
            _ => return Err(SseError::InvalidLine),
        }
        Ok(None)
    }
}

/// Sets a field an event may have once; `twice` if it has it already.
fn once<T>(field: &mut Option<T>, value: T, twice: SseError) -> Result<(), SseError> {
    if field.is_some() {
        return Err(twice);
    }
    *field = Some(value);
    Ok(())
}

fn utf8(bytes: &[u8]) -> Result<&str, SseError> {
    std::str::from_utf8(bytes).map_err(SseError::Utf8Parse)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a stream of `chunks` gives, each item as text: through this parser, and through
    /// `sse-stream`'s.
    async fn both(chunks: &[&[u8]]) -> (Vec<String>, Vec<String>) {
        let source = || {
            futures::stream::iter(
                chunks
                    .iter()
                    .map(|c| Ok::<_, io::Error>(Bytes::copy_from_slice(c)))
                    .collect::<Vec<_>>(),
            )
        };
        let show = |item: Result<Sse, SseError>| match item {
            Ok(event) => format!("{event:?}"),
            Err(err) => format!("error: {err:?}"),
        };
        let ours = events(source()).map(show).collect().await;
        let theirs = sse_stream::SseStream::from_bytes_stream(source()).map(show).collect().await;
        (ours, theirs)
    }

    /// Both parsers give the same for each of `streams`, however it is cut into chunks.
    async fn same_in_any_chunking(streams: &[&[u8]]) {
        for stream in streams {
            for chunks in cuts(stream) {
                let (ours, theirs) = both(&chunks).await;
                assert_eq!(ours, theirs, "{chunks:?}");
            }
        }
    }

    /// Every way of cutting `stream` in two and in three pieces.
    fn cuts(stream: &[u8]) -> Vec<Vec<&[u8]>> {
        let mut all = vec![vec![stream]];
        for i in 0..=stream.len() {
            all.push(vec![&stream[..i], &stream[i..]]);
            for j in i..=stream.len() {
                all.push(vec![&stream[..i], &stream[i..j], &stream[j..]]);
            }
        }
        // `sse-stream` takes no empty chunk.
        for chunks in &mut all {
            chunks.retain(|c| !c.is_empty());
        }
        all
    }

    #[tokio::test]
    async fn events_are_read_as_sse_stream_reads_them_in_any_chunking() {
        let streams: [&[u8]; 12] = [
            b"data: \nid: 0/0\nretry: 3000\n\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\nid: 1/0\n\n",
            b"data: a\r\ndata: b\r\n\r\nevent: endpoint\r\ndata: /m?s=1\r\n\r\n",
            b"data: a\rdata: b\r\rdata:c\r\r",
            b"\xEF\xBB\xBFdata: first\n\n",
            b": comment\n:\ndata: x\n: between\n\n",
            b"id: a\0b\ndata: nul\n\n",
            b"retry:  250 \ndata: r\n\n",
            b"data\n\n",
            b"data:\n\ndata: \n\n",
            b"data: unfinished at the end",
            b"\n\n\ndata: after blank lines\n\n",
            "data: é ü\nevent: ünï\n\n".as_bytes(),
        ];
        same_in_any_chunking(&streams).await;
    }

    #[tokio::test]
    async fn a_bad_line_is_refused_as_sse_stream_refuses_it() {
        let streams: [&[u8]; 9] = [
            b"data: a\nnot a field\n\n",
            b"data: a\rnot a field\r\ndata: b\r\r",
            b"data: a\nfoo: bar\n\n",
            b"event: a\nevent: b\n\n",
            b"id: a\nid: b\n\n",
            b"retry: 1\nretry: 2\n\n",
            b"retry: soon\n\n",
            b"data: \xff\n\n",
            b"event: \xc3\n\n",
        ];
        same_in_any_chunking(&streams).await;
    }

    #[tokio::test]
    async fn events_before_an_error_in_their_chunk_come_first() {
        let (ours, theirs) = both(&[b"data: a\n\nfoo\ndata: lost\n\n", b"data: b\n\n"]).await;
        assert_eq!(ours.len(), 3);
        assert!(
            ours[0].contains("\"a\"") && ours[1].starts_with("error") && ours[2].contains("\"b\"")
        );
        // sse-stream gives the same three, the error first.
        assert_eq!(theirs, [&ours[1], &ours[0], &ours[2]].map(String::clone));
    }

    #[tokio::test]
    async fn a_body_error_is_passed_on() {
        let chunks = futures::stream::iter([
            Ok(Bytes::from_static(b"data: a\n\n")),
            Err(io::Error::other("cut")),
        ]);
        let items: Vec<_> = events(chunks).collect().await;
        assert!(matches!(&items[..], [Ok(_), Err(SseError::Body(_))]));
    }
}
