//! An event stream's bytes parsed into its events, as the WHATWG HTML standard's
//! ["interpreting an event stream"](https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation)
//! says, keeping what an MCP client reads: each event's type and data.
//!
//! The client used the `sse-stream` crate here. It examines the stream byte by byte: about ten
//! instructions a byte, 57,000 for the tool list a cold session reads (docs/benchmarks.md,
//! Profile, item 17). This parser finds line ends with `memchr`, takes whole lines from the
//! chunk they arrived in (only a line cut by a chunk's end is copied to be completed), and
//! copies nothing but the data it returns.
//!
//! What it leaves out, the client does not use: `id` (a legacy SSE client does not reconnect
//! to resume) and `retry`. Lines, and so the data an event builds, are bounded before they
//! reach it (see `client::limit`).

use std::borrow::Cow;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures::{Stream, StreamExt as _};

/// One event: its type (`None` for the default, `message`) and its data.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Event {
    pub(crate) event: Option<String>,
    pub(crate) data: String,
}

/// The events of the event stream `bytes`, then its end or its error.
pub(crate) fn events<S>(bytes: S) -> EventStream<S>
where
    S: Stream<Item = io::Result<Bytes>> + Unpin,
{
    EventStream { bytes, chunk: Bytes::new(), at: 0, parser: Parser::default(), done: false }
}

/// The stream [`events`] returns.
pub(crate) struct EventStream<S> {
    bytes: S,
    /// The chunk being parsed, and where its unparsed bytes begin.
    chunk: Bytes,
    at: usize,
    parser: Parser,
    done: bool,
}

impl<S> Stream for EventStream<S>
where
    S: Stream<Item = io::Result<Bytes>> + Unpin,
{
    type Item = io::Result<Event>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(event) = this.parser.feed(&this.chunk, &mut this.at) {
                return Poll::Ready(Some(Ok(event)));
            }
            if this.done {
                return Poll::Ready(None);
            }
            match ready!(this.bytes.poll_next_unpin(cx)) {
                Some(Ok(chunk)) => {
                    this.chunk = chunk;
                    this.at = 0;
                }
                Some(Err(err)) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(err)));
                }
                // An event not ended by a blank line is dropped, as the standard says.
                None => {
                    this.done = true;
                    return Poll::Ready(None);
                }
            }
        }
    }
}

/// What the parser carries from one chunk to the next.
#[derive(Default)]
struct Parser {
    /// The start of a line the last chunk ended in the middle of.
    line: Vec<u8>,
    /// The last line ended with CR: a LF right after it ends nothing more.
    after_cr: bool,
    /// Some line has been read (the stream's first may start with a byte order mark).
    started: bool,
    /// The event being built: its type, and its data, each `data` line's value followed by LF.
    event: Option<String>,
    data: String,
}

impl Parser {
    /// Parses `chunk` from `at` up to the end of the next event (which it returns) or of the
    /// chunk; moves `at` past what it parsed.
    fn feed(&mut self, chunk: &[u8], at: &mut usize) -> Option<Event> {
        while *at < chunk.len() {
            let rest = &chunk[*at..];
            if std::mem::take(&mut self.after_cr) && rest[0] == b'\n' {
                *at += 1;
                continue;
            }
            let Some(end) = memchr::memchr2(b'\n', b'\r', rest) else {
                self.line.extend_from_slice(rest);
                *at = chunk.len();
                return None;
            };
            self.after_cr = rest[end] == b'\r';
            *at += end + 1;
            let event = if self.line.is_empty() {
                self.line(&rest[..end])
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(&rest[..end]);
                let event = self.line(&line);
                line.clear();
                self.line = line;
                event
            };
            if event.is_some() {
                return event;
            }
        }
        None
    }

    /// Takes in one whole line (its end left out); the event it completes, if it is the blank
    /// line that ends one with data.
    fn line(&mut self, mut line: &[u8]) -> Option<Event> {
        if !std::mem::replace(&mut self.started, true) {
            line = line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(line);
        }
        if line.is_empty() {
            let event = self.event.take();
            if self.data.is_empty() {
                return None;
            }
            let mut data = std::mem::take(&mut self.data);
            data.pop();
            return Some(Event { event, data });
        }
        let (field, value) = match memchr::memchr(b':', line) {
            // A comment.
            Some(0) => return None,
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match field {
            b"event" => {
                self.event = (!value.is_empty()).then(|| text(value).into_owned());
            }
            b"data" => {
                self.data.push_str(&text(value));
                self.data.push('\n');
            }
            // `id`, `retry`, and fields the standard does not know.
            _ => {}
        }
        None
    }
}

/// `bytes` as UTF-8, any invalid sequence replaced (as the standard decodes the stream).
fn text(bytes: &[u8]) -> Cow<'_, str> {
    // `from_utf8` checks ASCII a word at a time; `from_utf8_lossy` takes about eight
    // instructions a byte even when there is nothing to replace.
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::{Event, Parser};

    /// The events of `stream`, fed in chunks of `size` bytes.
    fn parse(stream: &str, size: usize) -> Vec<Event> {
        let mut parser = Parser::default();
        let mut events = Vec::new();
        for chunk in stream.as_bytes().chunks(size) {
            let mut at = 0;
            while let Some(event) = parser.feed(chunk, &mut at) {
                events.push(event);
            }
            assert_eq!(at, chunk.len());
        }
        events
    }

    fn event(kind: Option<&str>, data: &str) -> Event {
        Event { event: kind.map(str::to_owned), data: data.to_owned() }
    }

    #[test]
    fn the_standard_examples_in_every_chunking() {
        let stream = "\u{feff}: a comment\r\nevent: endpoint\r\ndata: /m?s=1\r\n\r\n\
                      data\ndata:two\ndata:  three\nid: 7\nretry: 10\nbogus: x\n\n\
                      event: ping\n\n\
                      event:\rdata: crlf split\r\r\
                      data: {\"a\":1}\n\
                      data: dropped at the end";
        let expected = vec![
            event(Some("endpoint"), "/m?s=1"),
            event(None, "\ntwo\n three"),
            event(None, "crlf split"),
        ];
        for size in 1..=stream.len() {
            // `ping` has no data: nothing. The last event has no blank line after it: dropped.
            assert_eq!(parse(stream, size), expected, "chunks of {size}");
        }
    }

    #[test]
    fn a_byte_order_mark_is_dropped_only_at_the_start() {
        let events = parse("\u{feff}data: a\n\n\u{feff}data: b\n\n", 2);
        assert_eq!(events[0], event(None, "a"));
        // Later, the mark is part of the line: a field named "\u{feff}data", unknown.
        assert_eq!(events.len(), 1);
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let mut parser = Parser::default();
        let mut at = 0;
        let event = parser.feed(b"data: \xff\n\n", &mut at).unwrap();
        assert_eq!(event.data, "\u{fffd}");
    }
}
