//! Requests a client writes itself, answered by its transport's reader, past rmcp's service loop.
//!
//! rmcp's service loop owns a transport: a request goes from the caller to the loop's task over
//! a channel, the loop hands its write to a task of its own, and the answer goes back from the
//! loop to the caller. Each hand-off is a wakeup, often of the other worker thread, and over a
//! fast transport they cost more than the call itself (docs/benchmarks.md, "Profile").
//!
//! [`Direct`] lets a transport that reads its messages itself (this crate's legacy SSE client,
//! mcp-session's stdio transport) skip that. The caller [`register`](Direct::register)s a
//! request, writes it through the transport's own writer, and waits on its [`Reply`]; the reader
//! [`offer`](Direct::offer)s each message it decodes, and gives an answer to one of these
//! requests straight to its caller. Everything else (the server's own requests and
//! notifications, answers to requests rmcp sent) goes to rmcp as before.
//!
//! Direct requests are numbered from [`FIRST_ID`] up: rmcp numbers a session's requests from 0,
//! so the two never meet.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use rmcp::RoleClient;
use rmcp::model::{JsonRpcMessage, NumberOrString, RequestId};
use rmcp::service::RxJsonRpcMessage;
use tokio::sync::oneshot;

/// The first id of a direct request: 2³⁰, far above rmcp's ids and within a 32-bit signed
/// integer, which some servers parse ids into.
pub const FIRST_ID: i64 = 1 << 30;

/// The requests of one connection that wait for an answer past rmcp's service loop. Clones
/// share them: one for the writing side, one for the reader.
///
/// # Examples
///
/// ```
/// use mcp_sse::direct::Direct;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let direct = Direct::default();
/// let mut reply = direct.register().expect("open");
/// let answer = format!(r#"{{"jsonrpc":"2.0","id":{},"result":{{}}}}"#, reply.id());
/// // The reader takes the answer for its caller...
/// assert!(direct.offer(serde_json::from_str(&answer)?).is_none());
/// // ...who has it at once.
/// assert!(reply.answer().await.is_some());
/// // A message that answers no direct request goes on to rmcp.
/// let other = r#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#;
/// assert!(direct.offer(serde_json::from_str(other)?).is_some());
/// # Ok::<(), serde_json::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Debug, Default)]
pub struct Direct {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    next: AtomicI64,
    waiting: Mutex<Waiting>,
}

impl Default for Inner {
    fn default() -> Self {
        Inner { next: AtomicI64::new(FIRST_ID), waiting: Mutex::default() }
    }
}

#[derive(Debug, Default)]
struct Waiting {
    replies: HashMap<i64, oneshot::Sender<RxJsonRpcMessage<RoleClient>>>,
    closed: bool,
}

impl Direct {
    /// A new request's id, and the [`Reply`] its answer arrives through; `None` once the
    /// connection has ended ([`close`](Self::close)).
    pub fn register(&self) -> Option<Reply> {
        let id = self.inner.next.fetch_add(1, Ordering::Relaxed);
        let (sender, receiver) = oneshot::channel();
        let mut waiting = self.waiting();
        if waiting.closed {
            return None;
        }
        waiting.replies.insert(id, sender);
        Some(Reply { id, receiver, direct: self.clone() })
    }

    /// A new request's id alone, for a transport that reads each answer itself (a streamable
    /// HTTP `POST`'s response carries it) and needs no [`Reply`]; `None` once the connection
    /// has ended ([`close`](Self::close)).
    pub fn id(&self) -> Option<RequestId> {
        let id = self.inner.next.fetch_add(1, Ordering::Relaxed);
        (!self.waiting().closed).then_some(NumberOrString::Number(id))
    }

    /// Gives `message` to the direct request it answers, if it answers one; otherwise hands it
    /// back, for rmcp.
    pub fn offer(
        &self,
        message: RxJsonRpcMessage<RoleClient>,
    ) -> Option<RxJsonRpcMessage<RoleClient>> {
        let id = match &message {
            JsonRpcMessage::Response(response) => &response.id,
            JsonRpcMessage::Error(error) => match &error.id {
                Some(id) => id,
                None => return Some(message),
            },
            _ => return Some(message),
        };
        let Some(id) = Self::number(id) else { return Some(message) };
        let Some(sender) = self.waiting().replies.remove(&id) else { return Some(message) };
        // A caller that stopped waiting has dropped its `Reply`, which forgets the id; one that
        // is dropping it right now loses nothing it still wanted.
        let _ = sender.send(message);
        None
    }

    /// Ends every request still waiting (each [`Reply`] then answers `None`) and refuses new
    /// ones: the connection has ended.
    pub fn close(&self) {
        let mut waiting = self.waiting();
        waiting.closed = true;
        waiting.replies.clear();
    }

    /// A direct request's number: at least [`FIRST_ID`], as a number or a numeric string (some
    /// servers echo ids as strings).
    fn number(id: &RequestId) -> Option<i64> {
        let id = match id {
            NumberOrString::Number(id) => *id,
            NumberOrString::String(id) => id.parse().ok()?,
        };
        (id >= FIRST_ID).then_some(id)
    }

    fn waiting(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.inner.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The answer to one direct request, when it comes. Dropping it forgets the request: an answer
/// that comes later goes to rmcp, which ignores an answer to nothing it sent.
#[derive(Debug)]
pub struct Reply {
    id: i64,
    receiver: oneshot::Receiver<RxJsonRpcMessage<RoleClient>>,
    direct: Direct,
}

impl Reply {
    /// The request's id, to write it with.
    pub fn id(&self) -> RequestId {
        NumberOrString::Number(self.id)
    }

    /// The answer: a response or an error. `None` when the connection ended first.
    ///
    /// Cancel safe: an answer that arrives while nobody waits is kept for the next call.
    pub async fn answer(&mut self) -> Option<RxJsonRpcMessage<RoleClient>> {
        (&mut self.receiver).await.ok()
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        self.direct.waiting().replies.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use rmcp::RoleClient;
    use rmcp::service::RxJsonRpcMessage;

    use super::{Direct, FIRST_ID};

    fn message(json: &str) -> RxJsonRpcMessage<RoleClient> {
        serde_json::from_str(json).unwrap()
    }

    fn run<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(future)
    }

    #[test]
    fn answers_reach_their_caller_and_nothing_else_is_taken() {
        run(async {
            let direct = Direct::default();
            let mut first = direct.register().unwrap();
            let mut second = direct.register().unwrap();
            assert_eq!(first.id, FIRST_ID);
            // Answered out of order; the second as an error, its id as a string.
            let error = format!(
                r#"{{"jsonrpc":"2.0","id":"{}","error":{{"code":-32602,"message":"no"}}}}"#,
                second.id
            );
            assert!(direct.offer(message(&error)).is_none());
            let result = format!(r#"{{"jsonrpc":"2.0","id":{},"result":{{}}}}"#, first.id);
            assert!(direct.offer(message(&result)).is_none());
            assert!(format!("{:?}", second.answer().await.unwrap()).contains("no"));
            assert!(first.answer().await.is_some());
            // An answer to an rmcp request, a second answer, the server's own messages.
            for other in [
                r#"{"jsonrpc":"2.0","id":3,"result":{}}"#.to_owned(),
                result,
                r#"{"jsonrpc":"2.0","id":1073741824,"method":"ping"}"#.to_owned(),
                r#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#.to_owned(),
                r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse"}}"#
                    .to_owned(),
            ] {
                assert!(direct.offer(message(&other)).is_some(), "{other}");
            }
        });
    }

    #[test]
    fn a_dropped_reply_is_forgotten_and_close_ends_the_rest() {
        run(async {
            let direct = Direct::default();
            let dropped = direct.register().unwrap();
            let late = format!(r#"{{"jsonrpc":"2.0","id":{},"result":{{}}}}"#, dropped.id);
            drop(dropped);
            assert!(direct.offer(message(&late)).is_some(), "goes to rmcp");
            let mut waiting = direct.register().unwrap();
            direct.close();
            assert!(waiting.answer().await.is_none());
            assert!(direct.register().is_none());
        });
    }
}
