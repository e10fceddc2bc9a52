//! Encoding a client's messages, a `tools/call` request without a detour through
//! `serde_json::Value`.
//!
//! rmcp serializes a request's parameters by first turning them into a `serde_json::Value`, to
//! merge the `_meta` of the parameters with the `_meta` the request carries in its extensions
//! (where a progress token is put). For a `tools/call` that copies the tool's arguments into a
//! new tree of maps and serializes that: about 5,500 instructions of the 6,600 a request costs
//! (docs/benchmarks.md, Profile, item 16). [`encode`] merges the two `_meta` maps in place and
//! serializes the parameters with their own `Serialize`, so every field rmcp adds to them is
//! still written; any other message takes rmcp's way.

use rmcp::RoleClient;
use rmcp::model::{
    CallToolRequestParams, ClientRequest, JsonRpcMessage, JsonRpcRequest, MetaObject, RequestId,
    RequestMetaObject,
};
use rmcp::service::TxJsonRpcMessage;
use serde::Serialize;

/// A `tools/call` request as JSON-RPC writes it.
#[derive(Serialize)]
struct Call<'a> {
    jsonrpc: &'static str,
    id: &'a RequestId,
    method: &'static str,
    params: &'a CallToolRequestParams,
}

/// `message` as JSON: the bytes rmcp's serialization gives, up to the order of object members.
///
/// # Errors
/// The message cannot be serialized (a map with keys that are not strings, in a tool's
/// arguments or `_meta`).
///
/// # Examples
///
/// ```
/// use mcp_sse::encode::encode;
/// use rmcp::model::{CallToolRequestParams, ClientRequest, JsonRpcMessage, NumberOrString, Request};
///
/// let call = ClientRequest::CallToolRequest(Request::new(CallToolRequestParams::new("echo")));
/// let message = JsonRpcMessage::request(call, NumberOrString::Number(1));
/// let json: serde_json::Value = serde_json::from_slice(&encode(message.clone())?)?;
/// assert_eq!(json, serde_json::to_value(&message)?);
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn encode(mut message: TxJsonRpcMessage<RoleClient>) -> serde_json::Result<Vec<u8>> {
    encode_in_place(&mut message)
}

/// [`encode`] for a message the caller keeps: a `tools/call`'s two `_meta` maps are merged in
/// place (into its parameters', as rmcp merges them when it writes the request), so the message
/// still writes the same JSON afterwards, through rmcp or here.
///
/// # Errors
/// As [`encode`]'s.
///
/// # Examples
///
/// ```
/// use mcp_sse::encode::encode_in_place;
/// use rmcp::model::{CallToolRequestParams, ClientRequest, JsonRpcMessage, NumberOrString, Request};
///
/// let call = ClientRequest::CallToolRequest(Request::new(CallToolRequestParams::new("echo")));
/// let mut message = JsonRpcMessage::request(call, NumberOrString::Number(1));
/// let json: serde_json::Value = serde_json::from_slice(&encode_in_place(&mut message)?)?;
/// assert_eq!(json, serde_json::to_value(&message)?);
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn encode_in_place(message: &mut TxJsonRpcMessage<RoleClient>) -> serde_json::Result<Vec<u8>> {
    match message {
        JsonRpcMessage::Request(JsonRpcRequest {
            id,
            request: ClientRequest::CallToolRequest(call),
            ..
        }) if call.extensions.get::<MetaObject>().is_none() => {
            // rmcp's merge: the parameters' `_meta`, then the extensions' over it.
            if let Some(meta) = call.extensions.remove::<RequestMetaObject>() {
                call.params.meta.get_or_insert_with(RequestMetaObject::new).extend(meta);
            }
            serde_json::to_vec(&Call {
                jsonrpc: "2.0",
                id,
                method: "tools/call",
                params: &call.params,
            })
        }
        other => serde_json::to_vec(other),
    }
}

#[cfg(test)]
mod tests {
    use rmcp::RoleClient;
    use rmcp::model::{
        CallToolRequestParams, ClientNotification, ClientRequest, GetMeta as _,
        InitializedNotification, JsonRpcMessage, MetaObject, NumberOrString, ProgressToken,
        Request, RequestParamsMeta as _,
    };
    use rmcp::service::TxJsonRpcMessage;
    use serde_json::{Value, json};

    use super::encode;

    fn call(params: CallToolRequestParams) -> ClientRequest {
        ClientRequest::CallToolRequest(Request::new(params))
    }

    fn same(message: TxJsonRpcMessage<RoleClient>) {
        let ours: Value = serde_json::from_slice(&encode(message.clone()).unwrap()).unwrap();
        assert_eq!(ours, serde_json::to_value(&message).unwrap());
    }

    #[test]
    fn the_json_rmcp_writes() {
        let arguments = json!({"text": "hi \"there\"\n", "n": [1, 2.5, null], "o": {"k": true}});
        let arguments = arguments.as_object().unwrap().clone();
        let plain = CallToolRequestParams::new("echo").with_arguments(arguments.clone());
        same(JsonRpcMessage::request(call(plain.clone()), NumberOrString::Number(7)));
        same(JsonRpcMessage::request(
            call(CallToolRequestParams::new("no-arguments")),
            NumberOrString::String("s".into()),
        ));

        // `_meta` in both places, one key in both: the extensions' wins, as in rmcp.
        let mut params = plain.clone();
        params.set_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        params.meta_or_default().insert("shared".into(), json!("params"));
        let mut request = call(params);
        request.get_meta_mut().set_progress_token(ProgressToken(NumberOrString::Number(7)));
        request.get_meta_mut().insert("shared".into(), json!("extensions"));
        same(JsonRpcMessage::request(request.clone(), NumberOrString::Number(7)));

        // Only in the extensions; an empty one.
        let mut only = call(plain.clone());
        only.get_meta_mut().set_progress_token(ProgressToken(NumberOrString::Number(8)));
        same(JsonRpcMessage::request(only, NumberOrString::Number(8)));
        let mut empty = call(plain.clone());
        let _ = empty.get_meta_mut();
        same(JsonRpcMessage::request(empty, NumberOrString::Number(9)));

        // A legacy `MetaObject` in the extensions takes rmcp's way.
        let mut legacy = request;
        if let ClientRequest::CallToolRequest(call) = &mut legacy {
            let mut meta = MetaObject::new();
            meta.insert("legacy".into(), json!(1));
            call.extensions.insert(meta);
        }
        same(JsonRpcMessage::request(legacy, NumberOrString::Number(10)));

        // Retry fields of an input-required round.
        let mut retry = plain;
        retry.request_state = Some("opaque".into());
        same(JsonRpcMessage::request(call(retry), NumberOrString::Number(11)));

        // Other messages.
        same(JsonRpcMessage::notification(ClientNotification::InitializedNotification(
            InitializedNotification::default(),
        )));
    }
}
