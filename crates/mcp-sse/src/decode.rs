//! Decoding a server's messages straight into the result each request expects.
//!
//! rmcp decodes every response through `ServerResult`, an untagged enum of about twenty result
//! types: serde buffers the message, then tries the variants in order and builds an error for
//! each that does not fit. `CallToolResult` is the sixteenth, so a tool call's answer costs
//! fifteen failed attempts, about 45,000 instructions (docs/benchmarks.md, "Profile").
//!
//! [`ResultDecoder`] remembers which method each request the client sent asked for, and decodes
//! the response to it as that method's result type. A response that does not decode that way
//! (a task acknowledgement or an input-required result answering a `tools/call`, an error, a
//! response to a request it did not see) goes through rmcp's general decoding, so the outcome
//! is the message rmcp would have made. Both of our transports that read raw messages use it:
//! this crate's legacy SSE client and mcp-session's stdio transport. [`AnswerDecoder`] is the
//! same for a caller that reads its own request's answer (mcp-session's streamable HTTP
//! requests), with nothing to remember.
//!
//! A tool's result is read in one pass over the message, straight into `CallToolResult`; any
//! other expected result is first split from the message, then decoded.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use rmcp::RoleClient;
use rmcp::model::{
    CallToolResult, ClientRequest, JsonRpcMessage, ListToolsResult, RequestId, ServerResult,
};
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use serde::Deserialize;
use serde_json::value::RawValue;

/// How many requests in flight a decoder remembers; older ones fall back to rmcp's decoding.
const REMEMBERED: usize = 64;

/// Decodes a server's messages, taking the result type of each response from the request it
/// answers. Clones share what they remember: give one to the sending half and one to the
/// receiving half of a transport.
///
/// # Examples
///
/// ```
/// use mcp_sse::decode::ResultDecoder;
/// use rmcp::model::{
///     CallToolRequestParams, ClientRequest, JsonRpcMessage, NumberOrString, Request,
///     ServerResult,
/// };
///
/// let decoder = ResultDecoder::default();
/// let call = ClientRequest::CallToolRequest(Request::new(CallToolRequestParams::new("echo")));
/// decoder.sent(&JsonRpcMessage::request(call, NumberOrString::Number(7)));
///
/// let answer = br#"{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"hi"}]}}"#;
/// let JsonRpcMessage::Response(response) = decoder.decode(answer)? else { panic!() };
/// assert!(matches!(response.result, ServerResult::CallToolResult(_)));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct ResultDecoder {
    expected: Arc<Mutex<VecDeque<(RequestId, Expected)>>>,
}

/// The result types decoded directly: those of the requests an agent makes over and over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expected {
    CallTool,
    ListTools,
}

/// A message's top-level members, the values left as raw JSON.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    jsonrpc: Option<&'a RawValue>,
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    result: Option<&'a RawValue>,
    #[serde(borrow)]
    method: Option<&'a RawValue>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

/// A response whose result is read as `T` as the message is read: one pass, where
/// [`Envelope`] and then the result make two.
#[derive(Deserialize)]
struct Typed<'a, T> {
    #[serde(borrow)]
    jsonrpc: Option<&'a RawValue>,
    id: Option<RequestId>,
    result: T,
    #[serde(default, borrow)]
    method: Option<&'a RawValue>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
}

impl ResultDecoder {
    /// Notes a message the client is sending: a `tools/call` or `tools/list` request's response
    /// will be decoded as its result type.
    pub fn sent(&self, message: &TxJsonRpcMessage<RoleClient>) {
        let JsonRpcMessage::Request(request) = message else { return };
        let expected = match &request.request {
            ClientRequest::CallToolRequest(_) => Expected::CallTool,
            ClientRequest::ListToolsRequest(_) => Expected::ListTools,
            _ => return,
        };
        if let Ok(mut queue) = self.expected.lock() {
            if queue.len() == REMEMBERED {
                queue.pop_front();
            }
            queue.push_back((request.id.clone(), expected));
        }
    }

    /// Decodes one message from the server.
    ///
    /// # Errors
    /// The bytes are not a JSON-RPC message rmcp can read.
    pub fn decode(&self, bytes: &[u8]) -> serde_json::Result<RxJsonRpcMessage<RoleClient>> {
        if let Some(message) = self.direct(bytes) {
            return Ok(message);
        }
        serde_json::from_slice(bytes)
    }

    /// The message, when it answers a remembered request and decodes as that request's result.
    fn direct(&self, bytes: &[u8]) -> Option<RxJsonRpcMessage<RoleClient>> {
        if self.expected.lock().ok()?.is_empty() {
            return None;
        }
        if let Some(message) = self.remembered_list(bytes) {
            return Some(message);
        }
        if let Some(message) = self.call_result(bytes) {
            return Some(message);
        }
        let envelope: Envelope<'_> = serde_json::from_slice(bytes).ok()?;
        if envelope.method.is_some() {
            // The server's own request or notification: its id is not one of ours.
            return None;
        }
        let id: RequestId = serde_json::from_str(envelope.id?.get()).ok()?;
        // A result or an error answers `id`: either way it is no longer awaited.
        let expected = self.take(&id)?;
        if envelope.error.is_some() || envelope.jsonrpc.map(RawValue::get) != Some(r#""2.0""#) {
            return None;
        }
        match expected {
            // `call_result` read the message as a tool's result already, and it is not one.
            Expected::CallTool => None,
            Expected::ListTools => {
                let list = ToolLists::decode(envelope.result?.get())?;
                Some(JsonRpcMessage::response(ServerResult::ListToolsResult(list), id))
            }
        }
    }

    /// A `tools/list` answer whose result is, byte for byte, a list decoded before
    /// ([`ToolLists`]), taken without reading it. Servers that write compact JSON in the usual
    /// order send `{"jsonrpc":"2.0","id":ID,"result":RESULT}`, and when RESULT is JSON parsed
    /// before, the message is a valid message with that result. Finding where a long result
    /// ends costs reading it (about twelve instructions a byte: 60,000 for `testkit-mcp`'s
    /// list) even when its decoding is remembered; any other shape takes the general way.
    fn remembered_list(&self, bytes: &[u8]) -> Option<RxJsonRpcMessage<RoleClient>> {
        if bytes.len() < ToolLists::MIN_SKIPPED {
            return None;
        }
        let rest = bytes.strip_prefix(br#"{"jsonrpc":"2.0","id":"#)?;
        let id_end = match rest.first()? {
            // A string without escapes.
            b'"' => memchr::memchr(b'"', &rest[1..])? + 2,
            _ => rest.iter().position(|b| !(b.is_ascii_digit() || *b == b'-'))?,
        };
        let (id, rest) = rest.split_at(id_end);
        let result = rest.strip_prefix(br#","result":"#)?.strip_suffix(b"}")?;
        if id.contains(&b'\\') {
            return None;
        }
        let id: RequestId = serde_json::from_slice(id).ok()?;
        let awaited = self.expected.lock().ok()?.contains(&(id.clone(), Expected::ListTools));
        let list = awaited.then(|| ToolLists::remembered(result))??;
        self.take(&id)?;
        Some(JsonRpcMessage::response(ServerResult::ListToolsResult(list), id))
    }

    /// The message, when it is a tool's result answering a remembered `tools/call`, read in
    /// one pass ([`Typed`]). Anything else is left to [`direct`](Self::direct)'s two passes,
    /// which read a `tools/list` answer and forget the request whose answer this is; a
    /// `tools/call`'s answer that is not read here (a task acknowledgement, an error) is then
    /// rmcp's to decode. It is always tried first when a `tools/call` is remembered.
    fn call_result(&self, bytes: &[u8]) -> Option<RxJsonRpcMessage<RoleClient>> {
        let awaits_call = self.expected.lock().ok()?.iter().any(|(_, e)| *e == Expected::CallTool);
        if !awaits_call {
            return None;
        }
        let (id, result) = tool_result(bytes)?;
        let mut queue = self.expected.lock().ok()?;
        let at = queue.iter().position(|entry| *entry == (id.clone(), Expected::CallTool))?;
        queue.remove(at);
        Some(JsonRpcMessage::response(ServerResult::CallToolResult(result), id))
    }

    /// Forgets the request `id` and returns what its response should be.
    fn take(&self, id: &RequestId) -> Option<Expected> {
        let mut queue = self.expected.lock().ok()?;
        let at = queue.iter().position(|(sent, _)| sent == id)?;
        queue.remove(at).map(|(_, expected)| expected)
    }
}

/// A response that is a tool's result, read in one pass ([`Typed`]): its id and the result.
/// `None` for anything else, or a message of an odd shape (with a `method` or an `error` as
/// well, or another `jsonrpc` than `"2.0"`), which the general decoding decides on.
fn tool_result(bytes: &[u8]) -> Option<(RequestId, CallToolResult)> {
    let typed: Typed<'_, CallToolResult> = serde_json::from_slice(bytes).ok()?;
    let id = typed.id?;
    if typed.method.is_some()
        || typed.error.is_some()
        || typed.jsonrpc.map(RawValue::get) != Some(r#""2.0""#)
    {
        return None;
    }
    Some((id, typed.result))
}

/// Decodes the answer to one request, known from the start: for a caller that reads its own
/// request's answer (a streamable HTTP `POST`'s response), with nothing shared to remember it
/// in. A `tools/call`'s answer is read as [`ResultDecoder`] reads it, with nothing to look up;
/// any other request's, by a [`ResultDecoder`] of its own.
///
/// # Examples
///
/// ```
/// use mcp_sse::decode::AnswerDecoder;
/// use rmcp::model::{
///     CallToolRequestParams, ClientRequest, JsonRpcMessage, NumberOrString, Request,
///     ServerResult,
/// };
///
/// let call = ClientRequest::CallToolRequest(Request::new(CallToolRequestParams::new("echo")));
/// let decoder = AnswerDecoder::new(&JsonRpcMessage::request(call, NumberOrString::Number(7)));
///
/// let answer = br#"{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"hi"}]}}"#;
/// let JsonRpcMessage::Response(response) = decoder.decode(answer)? else { panic!() };
/// assert!(matches!(response.result, ServerResult::CallToolResult(_)));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct AnswerDecoder(Answering);

#[derive(Clone, Debug)]
enum Answering {
    /// A `tools/call`, by its id.
    Call(RequestId),
    Other(ResultDecoder),
}

impl AnswerDecoder {
    /// A decoder for the answer to `message`.
    pub fn new(message: &TxJsonRpcMessage<RoleClient>) -> AnswerDecoder {
        if let JsonRpcMessage::Request(request) = message
            && matches!(request.request, ClientRequest::CallToolRequest(_))
        {
            return AnswerDecoder(Answering::Call(request.id.clone()));
        }
        let decoder = ResultDecoder::default();
        decoder.sent(message);
        AnswerDecoder(Answering::Other(decoder))
    }

    /// Decodes one message from the server, as [`ResultDecoder::decode`] does.
    ///
    /// # Errors
    /// The bytes are not a JSON-RPC message rmcp can read.
    pub fn decode(&self, bytes: &[u8]) -> serde_json::Result<RxJsonRpcMessage<RoleClient>> {
        match &self.0 {
            Answering::Call(awaited) => match tool_result(bytes) {
                Some((id, result)) if id == *awaited => {
                    Ok(JsonRpcMessage::response(ServerResult::CallToolResult(result), id))
                }
                _ => serde_json::from_slice(bytes),
            },
            Answering::Other(decoder) => decoder.decode(bytes),
        }
    }
}

/// The tool lists decoded last in this process, by their exact JSON.
///
/// An agent that opens a session per call (the seed's way) lists the same server's tools each
/// time, and a list's schemas make it the costliest message a session decodes: about 200,000
/// instructions for `testkit-mcp`'s twelve tools, where the bytes take 2,000 to compare
/// (docs/benchmarks.md, Profile, item 15). A list whose JSON is byte for byte one decoded
/// before is cloned from it instead (its schemas shared, as the `Arc`s they are). Bounded: at
/// most [`ToolLists::ENTRIES`] lists of at most [`ToolLists::MAX_BYTES`] each, the oldest
/// forgotten first.
struct ToolLists;

/// The lists [`ToolLists`] keeps: their JSON and what it decoded to, the newest last.
static TOOL_LISTS: Mutex<VecDeque<(Box<str>, ListToolsResult)>> = Mutex::new(VecDeque::new());

impl ToolLists {
    const ENTRIES: usize = 16;
    const MAX_BYTES: usize = 64 * 1024;
    /// The shortest answer [`ResultDecoder::remembered_list`] looks up without reading it:
    /// below this, reading it costs little.
    const MIN_SKIPPED: usize = 512;

    /// The list decoded before from exactly `json`, if one is remembered.
    fn remembered(json: &[u8]) -> Option<ListToolsResult> {
        let lists = TOOL_LISTS.lock().ok()?;
        let (_, list) = lists.iter().rev().find(|(seen, _)| seen.as_bytes() == json)?;
        Some(list.clone())
    }

    /// `json` (a `tools/list` result) decoded, or cloned from the same JSON decoded before.
    fn decode(json: &str) -> Option<ListToolsResult> {
        if json.len() > Self::MAX_BYTES {
            return serde_json::from_str(json).ok();
        }
        if let Some(list) = Self::remembered(json.as_bytes()) {
            return Some(list);
        }
        let list: ListToolsResult = serde_json::from_str(json).ok()?;
        if let Ok(mut lists) = TOOL_LISTS.lock() {
            if lists.len() == Self::ENTRIES {
                lists.pop_front();
            }
            lists.push_back((json.into(), list.clone()));
        }
        Some(list)
    }
}

#[cfg(test)]
mod tests {
    use rmcp::RoleClient;
    use rmcp::model::{
        CallToolRequestParams, ClientRequest, JsonRpcMessage, NumberOrString,
        PaginatedRequestParams, Request, RequestOptionalParam, ServerResult,
    };
    use rmcp::service::RxJsonRpcMessage;

    use super::{AnswerDecoder, REMEMBERED, ResultDecoder};

    fn call(decoder: &ResultDecoder, id: i64) {
        let request =
            ClientRequest::CallToolRequest(Request::new(CallToolRequestParams::new("echo")));
        decoder.sent(&JsonRpcMessage::request(request, NumberOrString::Number(id)));
    }

    /// What rmcp's own decoding makes of `bytes`, shown (rmcp's messages are not `PartialEq`).
    fn general(bytes: &str) -> String {
        let message: RxJsonRpcMessage<RoleClient> = serde_json::from_str(bytes).unwrap();
        format!("{message:?}")
    }

    /// What `decoder` makes of `bytes`, shown.
    fn ours(decoder: &ResultDecoder, bytes: &str) -> String {
        format!("{:?}", decoder.decode(bytes.as_bytes()).unwrap())
    }

    #[test]
    fn the_same_message_as_rmcps_decoding() {
        let decoder = ResultDecoder::default();
        let answers = [
            r#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}],"isError":false}}"#,
            r#"{"jsonrpc":"2.0","id":2,"result":{"content":[],"structuredContent":{"a":1},"_meta":{"k":"v"}}}"#,
            // Not a tool's result: rmcp's decoding decides (here: a task acknowledgement or such).
            r#"{"jsonrpc":"2.0","id":3,"result":{"task":{"taskId":"t1","status":"working","createdAt":"2026-01-01T00:00:00Z","lastUpdatedAt":"2026-01-01T00:00:00Z","ttl":null}}}"#,
            r#"{"jsonrpc":"2.0","id":4,"result":{}}"#,
            r#"{"jsonrpc":"2.0","id":5,"error":{"code":-32602,"message":"no such tool"}}"#,
            r#"{"jsonrpc":"2.0","id":6,"result":{"resultType":"input_required","inputRequests":{}}}"#,
        ];
        for (id, answer) in (1..).zip(answers) {
            call(&decoder, id);
            // The first two are tools' results, decoded directly; the others fall back.
            let direct = decoder.direct(answer.as_bytes()).map(|message| format!("{message:?}"));
            assert_eq!(direct.is_some(), id <= 2, "{answer}");
            assert_eq!(
                direct.unwrap_or_else(|| ours(&decoder, answer)),
                general(answer),
                "{answer}"
            );
        }
        assert!(decoder.expected.lock().unwrap().is_empty(), "every answered request is forgotten");
    }

    #[test]
    fn a_tools_result_is_read_in_one_pass_and_odd_shapes_are_not() {
        let decoder = ResultDecoder::default();
        call(&decoder, 1);
        let plain =
            r#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}]}}"#;
        let once = decoder.call_result(plain.as_bytes()).map(|message| format!("{message:?}"));
        assert_eq!(once.as_deref(), Some(general(plain).as_str()));
        // Each is left to the general way, which decides as rmcp does.
        for (id, odd) in (2..).zip([
            r#"{"jsonrpc":"2.0","id":2,"result":{"content":[]},"error":{"code":1,"message":"x"}}"#,
            r#"{"jsonrpc":"2.0","id":3,"result":{"content":[]},"method":"ping"}"#,
            r#"{"jsonrpc":"1.0","id":4,"result":{"content":[]}}"#,
            r#"{"jsonrpc":"2.0","id":5,"result":{"content":[]},"id":5}"#,
            // An id no call awaits.
            r#"{"jsonrpc":"2.0","id":99,"result":{"content":[]}}"#,
        ]) {
            call(&decoder, id);
            assert!(decoder.call_result(odd.as_bytes()).is_none(), "{odd}");
            match serde_json::from_str::<RxJsonRpcMessage<RoleClient>>(odd) {
                Ok(message) => assert_eq!(ours(&decoder, odd), format!("{message:?}"), "{odd}"),
                Err(_) => assert!(decoder.decode(odd.as_bytes()).is_err(), "{odd}"),
            }
        }
    }

    #[test]
    fn the_answer_decoder_decodes_as_the_result_decoder_does() {
        let call = |id| {
            let request =
                ClientRequest::CallToolRequest(Request::new(CallToolRequestParams::new("echo")));
            AnswerDecoder::new(&JsonRpcMessage::request(request, NumberOrString::Number(id)))
        };
        for answer in [
            r#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}]}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{"resultType":"input_required","inputRequests":{}}}"#,
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"no such tool"}}"#,
            // Another request's answer, and the server's own message.
            r#"{"jsonrpc":"2.0","id":2,"result":{"content":[]}}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#,
        ] {
            assert_eq!(
                format!("{:?}", call(1).decode(answer.as_bytes()).unwrap()),
                general(answer)
            );
        }
        assert!(call(1).decode(b"not json").is_err());
        let list = ClientRequest::ListToolsRequest(RequestOptionalParam::with_param(
            PaginatedRequestParams::default(),
        ));
        let decoder = AnswerDecoder::new(&JsonRpcMessage::request(list, NumberOrString::Number(3)));
        let listed = r#"{"jsonrpc":"2.0","id":3,"result":{"tools":[{"name":"answer-probe","inputSchema":{"type":"object"}}]}}"#;
        assert_eq!(format!("{:?}", decoder.decode(listed.as_bytes()).unwrap()), general(listed));
    }

    #[test]
    fn a_tools_list_answer_and_messages_that_answer_nothing() {
        let decoder = ResultDecoder::default();
        let list = ClientRequest::ListToolsRequest(RequestOptionalParam::with_param(
            PaginatedRequestParams::default(),
        ));
        decoder.sent(&JsonRpcMessage::request(list, NumberOrString::String("l".into())));
        call(&decoder, 9);
        let listed = r#"{"jsonrpc":"2.0","id":"l","result":{"tools":[{"name":"echo","inputSchema":{"type":"object"}}]}}"#;
        let decoded = decoder.decode(listed.as_bytes()).unwrap();
        let JsonRpcMessage::Response(response) = &decoded else { panic!("{decoded:?}") };
        assert!(matches!(response.result, ServerResult::ListToolsResult(_)));
        assert_eq!(format!("{decoded:?}"), general(listed));
        for other in [
            r#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#,
            r#"{"jsonrpc":"2.0","id":40,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":41,"result":{"content":[]}}"#,
        ] {
            assert_eq!(ours(&decoder, other), general(other), "{other}");
        }
        assert!(decoder.decode(b"not json").is_err());
        assert_eq!(decoder.expected.lock().unwrap().len(), 1, "request 9 is still awaited");
    }

    #[test]
    fn a_tool_list_seen_before_is_shared_not_decoded_again() {
        let decoder = ResultDecoder::default();
        let list = |id: &str| {
            let request = ClientRequest::ListToolsRequest(RequestOptionalParam::with_param(
                PaginatedRequestParams::default(),
            ));
            decoder.sent(&JsonRpcMessage::request(request, NumberOrString::String(id.into())));
        };
        let schema = |answer: &RxJsonRpcMessage<RoleClient>| {
            let JsonRpcMessage::Response(response) = answer else { panic!("{answer:?}") };
            let ServerResult::ListToolsResult(result) = &response.result else { panic!() };
            result.tools[0].input_schema.clone()
        };
        // A list no other test uses: the memo is the whole process's.
        let tools = r#"{"tools":[{"name":"memo-probe","inputSchema":{"type":"object","properties":{"q":{"type":"string"}}}}]}"#;
        let answer = |id: &str| format!(r#"{{"jsonrpc":"2.0","id":"{id}","result":{tools}}}"#);
        list("a");
        let first = decoder.decode(answer("a").as_bytes()).unwrap();
        list("b");
        let second = decoder.decode(answer("b").as_bytes()).unwrap();
        assert!(std::sync::Arc::ptr_eq(&schema(&first), &schema(&second)), "decoded once");
        assert_eq!(format!("{second:?}"), general(&answer("b")));
        // A list that differs by a byte is decoded anew.
        list("c");
        let other = answer("c").replace("memo-probe", "memo-probe2");
        let third = decoder.decode(other.as_bytes()).unwrap();
        assert!(!std::sync::Arc::ptr_eq(&schema(&first), &schema(&third)));
        assert_eq!(format!("{third:?}"), general(&other));
    }

    #[test]
    fn a_long_tool_list_seen_before_is_found_without_reading_it() {
        let decoder = ResultDecoder::default();
        let list = |id: NumberOrString| {
            let request = ClientRequest::ListToolsRequest(RequestOptionalParam::with_param(
                PaginatedRequestParams::default(),
            ));
            decoder.sent(&JsonRpcMessage::request(request, id));
        };
        // Long enough to be skipped, and no other test's (the memo is the whole process's).
        let description = "skip-probe ".repeat(60);
        let tools = format!(
            r#"{{"tools":[{{"name":"skip-probe","description":"{description}","inputSchema":{{"type":"object"}}}}]}}"#
        );
        let answer = |id: &str| format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{tools}}}"#);
        // Not seen before: read as usual, and remembered.
        assert!(decoder.remembered_list(answer("1").as_bytes()).is_none());
        list(NumberOrString::Number(1));
        assert_eq!(ours(&decoder, &answer("1")), general(&answer("1")));
        // Seen: found without reading it, as a number id or a string id, once each.
        for (id, json_id) in
            [(NumberOrString::Number(-7), "-7"), (NumberOrString::String("s".into()), r#""s""#)]
        {
            assert!(decoder.remembered_list(answer(json_id).as_bytes()).is_none(), "not awaited");
            list(id);
            let found = decoder.remembered_list(answer(json_id).as_bytes()).expect("found");
            assert_eq!(format!("{found:?}"), general(&answer(json_id)));
            assert!(decoder.remembered_list(answer(json_id).as_bytes()).is_none(), "answered");
        }
        // Any other shape is read: another member order, white space, an escaped string id.
        // (the string a"b)
        list(NumberOrString::String("a\"b".into()));
        for other in [
            answer(r#""a\"b""#),
            format!(r#"{{"id":2,"jsonrpc":"2.0","result":{tools}}}"#),
            format!("{}\n", answer("2")),
        ] {
            list(NumberOrString::Number(2));
            assert!(decoder.remembered_list(other.as_bytes()).is_none(), "{other}");
        }
    }

    #[test]
    fn it_remembers_a_bounded_number_of_requests() {
        let decoder = ResultDecoder::default();
        for id in 0..(REMEMBERED as i64 + 10) {
            call(&decoder, id);
        }
        assert_eq!(decoder.expected.lock().unwrap().len(), REMEMBERED);
        let forgotten = r#"{"jsonrpc":"2.0","id":0,"result":{"content":[]}}"#;
        assert_eq!(ours(&decoder, forgotten), general(forgotten));
    }
}
