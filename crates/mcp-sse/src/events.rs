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
//! to resume) and `retry`.
//!
//! It also bounds what it holds: the data of one event (the values of its `data:` lines joined
//! by `\n`, one message) and every other line, to `max` bytes each. The first line over it
//! ends the stream with an error, after the events complete before it.

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

/// The events of the event stream `bytes`, then its end or its error. An event whose data, or
/// a line other than data, is larger than `max` bytes ends the stream with an error.
pub(crate) fn events<S>(bytes: S, max: usize) -> EventStream<S>
where
    S: Stream<Item = io::Result<Bytes>> + Unpin,
{
    let parser = Parser { max, ..Parser::default() };
    EventStream { bytes, chunk: Bytes::new(), at: 0, parser, done: false }
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
            if this.done {
                return Poll::Ready(None);
            }
            match this.parser.feed(&this.chunk, &mut this.at) {
                Ok(Some(event)) => return Poll::Ready(Some(Ok(event))),
                Ok(None) => {}
                Err(err) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(err)));
                }
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
    /// The most bytes of one event's data, and of any other line.
    max: usize,
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
    ///
    /// # Errors
    /// A line, or an event's data, larger than `max`: the stream can go no further.
    fn feed(&mut self, chunk: &[u8], at: &mut usize) -> io::Result<Option<Event>> {
        while *at < chunk.len() {
            let rest = &chunk[*at..];
            if std::mem::take(&mut self.after_cr) && rest[0] == b'\n' {
                *at += 1;
                continue;
            }
            let Some(end) = memchr::memchr2(b'\n', b'\r', rest) else {
                // The start of a line: bounded before it is kept.
                self.line.extend_from_slice(rest);
                *at = chunk.len();
                self.bound(self.unmarked(&self.line))?;
                return Ok(None);
            };
            self.after_cr = rest[end] == b'\r';
            *at += end + 1;
            let event = if self.line.is_empty() {
                self.line(&rest[..end])?
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(&rest[..end]);
                let event = self.line(&line);
                line.clear();
                self.line = line;
                event?
            };
            if event.is_some() {
                return Ok(event);
            }
        }
        Ok(None)
    }

    /// Takes in one whole line (its end left out); the event it completes, if it is the blank
    /// line that ends one with data.
    fn line(&mut self, line: &[u8]) -> io::Result<Option<Event>> {
        let line = self.unmarked(line);
        self.started = true;
        if line.is_empty() {
            let event = self.event.take();
            if self.data.is_empty() {
                return Ok(None);
            }
            let mut data = std::mem::take(&mut self.data);
            data.pop();
            return Ok(Some(Event { event, data }));
        }
        self.bound(line)?;
        let (field, value) = match memchr::memchr(b':', line) {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            // A line without a colon is a field with an empty value.
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
            // A comment (no field name), `id`, `retry`, and fields the standard does not know.
            _ => {}
        }
        Ok(None)
    }

    /// `line` without the byte order mark, if it begins the stream.
    fn unmarked<'a>(&self, line: &'a [u8]) -> &'a [u8] {
        if self.started {
            return line;
        }
        line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(line)
    }

    /// Refuses a line (whole, or its start) over the limit: a `data` line by the event's data
    /// it makes, joined to the values before it; any other line by its length. Only the line's
    /// start is looked at, so a line that arrives in many pieces costs no more than one.
    fn bound(&self, line: &[u8]) -> io::Result<()> {
        let size = match line.strip_prefix(b"data") {
            Some(b"") => self.data.len(),
            Some([b':', value @ ..]) => {
                self.data.len() + value.strip_prefix(b" ").unwrap_or(value).len()
            }
            _ => line.len(),
        };
        if size > self.max {
            return Err(io::Error::other(format!(
                "a message is larger than {} bytes (max_message_size)",
                self.max
            )));
        }
        Ok(())
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
        let (events, over) = bounded(stream, size, usize::MAX);
        assert!(!over);
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

    /// What a parser bounded by `max` makes of `stream` fed in chunks of `size`: the events,
    /// and whether it ended with the size error.
    fn bounded(stream: &str, size: usize, max: usize) -> (Vec<Event>, bool) {
        let mut parser = Parser { max, ..Parser::default() };
        let mut events = Vec::new();
        for chunk in stream.as_bytes().chunks(size) {
            let mut at = 0;
            loop {
                match parser.feed(chunk, &mut at) {
                    Ok(Some(event)) => events.push(event),
                    Ok(None) => {
                        assert_eq!(at, chunk.len());
                        break;
                    }
                    Err(err) => {
                        assert!(err.to_string().contains("larger than"), "{err}");
                        return (events, true);
                    }
                }
            }
        }
        (events, false)
    }

    #[test]
    fn the_limit_bounds_an_events_data_and_every_other_line() {
        for size in 1..=12 {
            // Data at the limit, its lines joined by LF; a BOM and `data: ` do not count.
            let (events, over) = bounded("\u{feff}data: abc\ndata:de\n\n", size, 6);
            assert_eq!((events, over), (vec![event(None, "abc\nde")], false), "chunks of {size}");
            // One byte more: the events before it arrive, then the error, also when the
            // line has not ended yet.
            let (events, over) = bounded("data: a\n\ndata: abc\ndata:def", size, 6);
            assert_eq!((events, over), (vec![event(None, "a")], true), "chunks of {size}");
            // Any other line by its length: a comment, an event type.
            assert!(bounded(": 12345\n", size, 6).1);
            assert!(!bounded(": 1234\n", size, 6).1);
            assert!(bounded("event: ab\n", size, 6).1);
        }
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let mut parser = Parser { max: usize::MAX, ..Parser::default() };
        let mut at = 0;
        let event = parser.feed(b"data: \xff\n\n", &mut at).unwrap().unwrap();
        assert_eq!(event.data, "\u{fffd}");
    }
}
