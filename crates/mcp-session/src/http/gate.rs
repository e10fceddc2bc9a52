//! [`StreamGate`]: a streamable HTTP session's requests wait for its standalone `GET` stream.
//!
//! Once `notifications/initialized` is accepted, rmcp's transport worker opens the session's
//! standalone `GET` stream in a task of its own, and goes on sending whatever requests come. So
//! a request may reach the server before the stream does. A server that sends its own messages
//! (a request for input, a notification) on that stream then finds none open: the TypeScript
//! SDK's servers drop such a message, and the call that waits on it hangs. Through reqwest
//! the `GET`, sent first, usually won; on our own connections (see [`super::direct`]) a request
//! is sent sooner, and the conformance suite's `elicitation-sep1034-client-defaults` and
//! `sse-retry` scenarios lost the race several times in ten.
//!
//! So requests sent after `initialized` wait until the stream's `GET` is answered (with the
//! stream or a refusal), at most [`MAX_WAIT`]. Notifications and answers to the server never
//! wait. On our own connections the `GET` goes out beside `initialized` (`super::oauth`'s
//! `EarlyGet`), so its answer is usually in before the first request is made; otherwise the
//! wait is a round trip.

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use rmcp::model::{ClientJsonRpcMessage, ClientNotification, JsonRpcMessage};
use tokio::sync::Notify;

/// The longest a request waits for the stream: rmcp may not open one (a newer rmcp, a server
/// without sessions), and then only the first request after `initialized` waits this long.
const MAX_WAIT: Duration = Duration::from_secs(1);

/// No stream is expected: requests go at once.
const NONE: u8 = 0;
/// `initialized` was accepted and the stream's `GET` not yet answered: requests wait.
const EXPECTED: u8 = 1;
/// The stream's `GET` was answered: requests go at once from now on.
const OPEN: u8 = 2;

/// Whether requests wait for the session's standalone stream, and the wakeup of those that do.
#[derive(Debug, Default)]
pub(crate) struct StreamGate {
    state: AtomicU8,
    opened: Notify,
}

impl StreamGate {
    /// Whether `message` is `notifications/initialized`, after which rmcp opens the stream.
    pub(crate) fn is_initialized(message: &ClientJsonRpcMessage) -> bool {
        matches!(
            message,
            JsonRpcMessage::Notification(n)
                if matches!(n.notification, ClientNotification::InitializedNotification(_))
        )
    }

    /// `initialized` was accepted on a session with an id: the stream comes next.
    pub(crate) fn expect(&self) {
        let _ = self.state.compare_exchange(NONE, EXPECTED, Ordering::AcqRel, Ordering::Acquire);
    }

    /// The stream's `GET` was answered.
    pub(crate) fn open(&self) {
        self.state.store(OPEN, Ordering::Release);
        self.opened.notify_waiters();
    }

    /// Waits, if `message` is a request and the stream is expected, until the stream's `GET`
    /// is answered or [`MAX_WAIT`] passes.
    pub(crate) async fn pass(&self, message: &ClientJsonRpcMessage) {
        if matches!(message, JsonRpcMessage::Request(_)) {
            self.settled().await;
        }
    }

    /// Whether a request would wait in [`pass`](Self::pass) now.
    pub(crate) fn holds(&self) -> bool {
        self.state.load(Ordering::Acquire) == EXPECTED
    }

    /// Waits, if the stream is expected, until its `GET` is answered or [`MAX_WAIT`] passes.
    pub(crate) async fn settled(&self) {
        if !self.holds() {
            return;
        }
        let opened = self.opened.notified();
        tokio::pin!(opened);
        // Registered before the second look, so an `open` in between is not missed.
        opened.as_mut().enable();
        if !self.holds() {
            return;
        }
        if tokio::time::timeout(MAX_WAIT, opened).await.is_err() {
            tracing::debug!("no standalone stream within {MAX_WAIT:?}; requests no longer wait");
            self.open();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rmcp::model::{ClientRequest, NumberOrString, PingRequest};

    use super::*;

    fn request() -> ClientJsonRpcMessage {
        ClientJsonRpcMessage::request(
            ClientRequest::PingRequest(PingRequest::default()),
            NumberOrString::Number(1),
        )
    }

    #[tokio::test]
    async fn requests_wait_for_the_stream_only_once_it_is_expected() {
        let gate = Arc::new(StreamGate::default());
        // Before `initialized`: no wait.
        gate.pass(&request()).await;
        gate.expect();
        let waiting = tokio::spawn({
            let gate = gate.clone();
            async move { gate.pass(&request()).await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!waiting.is_finished(), "a request waits for the stream");
        gate.open();
        waiting.await.unwrap();
        // Opened: no wait, and `expect` does not close it again.
        gate.expect();
        tokio::time::timeout(MAX_WAIT / 2, gate.pass(&request())).await.unwrap();
    }

    #[tokio::test]
    async fn a_stream_that_never_comes_holds_the_first_request_for_the_bound_only() {
        let gate = StreamGate::default();
        gate.expect();
        let started = tokio::time::Instant::now();
        gate.pass(&request()).await;
        assert!(started.elapsed() >= MAX_WAIT);
        // The second does not wait (the bound only keeps a broken gate from hanging the test).
        tokio::time::timeout(MAX_WAIT / 2, gate.pass(&request())).await.unwrap();
    }
}
