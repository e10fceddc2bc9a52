//! [`create_toolkit`]: every tool of an MCP session as a [`Tool`] an agent can call.

use std::collections::{BTreeMap, HashSet};

use mcp_session::Session;
use mcp_session::rmcp::model::{CallToolResult, ContentBlock, ResourceContents};
use serde_json::Value;

use crate::agent::ConversableAgent;
use crate::error::AgentError;
use crate::name::{MAX_TOOL_NAME, sanitize_tool_name};
use crate::tool::Tool;

/// The tools of one MCP session, callable by agents.
///
/// Tool names are made to fit OpenAI's rule (`^[a-zA-Z0-9_-]{1,64}$`): other characters become
/// `_`, long names are cut, and a clash gets a `_2`, `_3`… suffix. [`mcp_name`](Self::mcp_name)
/// maps a name back. Each tool calls the session, so the toolkit lives as long as the session
/// is open.
#[derive(Clone, Debug)]
pub struct Toolkit {
    tools: Vec<Tool>,
    names: BTreeMap<String, String>,
}

/// Lists the session's tools (every page) and wraps each as a [`Tool`]: the server's input
/// schema is kept as it is (unknown keys such as `x-…` and `_meta` included); a result with
/// `is_error` goes back to the LLM as an error; text, structured, image and resource content is
/// rendered as text.
///
/// # Errors
/// [`AgentError::Session`] when the tools cannot be listed.
pub async fn create_toolkit(session: &Session) -> Result<Toolkit, AgentError> {
    let listed = session.list_tools().await?;
    let mut taken = HashSet::new();
    let mut names = BTreeMap::new();
    let mut tools = Vec::new();
    for tool in listed {
        let mcp_name = tool.name.to_string();
        let name = unique(sanitize_tool_name(&mcp_name), &mut taken);
        let description = tool.description.as_deref().unwrap_or_default().to_owned();
        let parameters = Value::Object((*tool.input_schema).clone());
        let session = session.clone();
        let called = mcp_name.clone();
        tools.push(Tool::new(name.clone(), description, parameters, move |arguments| {
            let session = session.clone();
            let called = called.clone();
            async move {
                let result =
                    session.call_tool(&called, arguments).await.map_err(|err| err.to_string())?;
                render_tool_result(&result)
            }
        }));
        names.insert(name, mcp_name);
    }
    Ok(Toolkit { tools, names })
}

impl Toolkit {
    /// The tools, to pass to a run (`RunOptions::tools`).
    pub fn tools(&self) -> Vec<Tool> {
        self.tools.clone()
    }

    /// The MCP tool an LLM-facing name stands for.
    pub fn mcp_name(&self, name: &str) -> Option<&str> {
        self.names.get(name).map(String::as_str)
    }

    /// Offers the tools to `agent`'s LLM (the seed's `toolkit.register_for_llm(agent)`).
    pub fn register_for_llm(&self, agent: &mut ConversableAgent) {
        for tool in &self.tools {
            agent.register_for_llm(tool.spec().clone());
        }
    }

    /// Lets `agent` run the tools when its LLM calls them (the seed's
    /// `toolkit.register_for_execution(agent)`).
    pub fn register_for_execution(&self, agent: &mut ConversableAgent) {
        for tool in &self.tools {
            agent.register_for_execution(tool.clone());
        }
    }
}

/// `name`, or `name_2`, `name_3`… (kept within 64 characters) if it is taken.
fn unique(name: String, taken: &mut HashSet<String>) -> String {
    let mut candidate = name.clone();
    let mut n = 2;
    while !taken.insert(candidate.clone()) {
        let suffix = format!("_{n}");
        let mut base = name.clone();
        base.truncate(MAX_TOOL_NAME - suffix.len());
        candidate = base + &suffix;
        n += 1;
    }
    candidate
}

/// An MCP tool result as text for an LLM, as the toolkit's tools give it: the content blocks
/// (text as it is; images, audio and resources named, with their size), or the structured
/// content when the blocks say nothing. `Err` (with the same text) when the tool reported an
/// error, which goes back to the LLM as the call's error.
///
/// For code that calls a session's tools itself and wants the toolkit's rendering.
///
/// ```
/// use agent_core::mcp_session::rmcp::model::{CallToolResult, ContentBlock};
///
/// let result = CallToolResult::success(vec![ContentBlock::text("42")]);
/// assert_eq!(agent_core::render_tool_result(&result), Ok("42".to_owned()));
/// ```
///
/// # Errors
/// The rendered text, when the result has `is_error: true`.
pub fn render_tool_result(result: &CallToolResult) -> Result<String, String> {
    let mut parts: Vec<String> = result.content.iter().map(render_block).collect();
    if let (true, Some(structured)) =
        (parts.iter().all(String::is_empty), &result.structured_content)
    {
        parts = vec![structured.to_string()];
    }
    let text = parts.join("\n");
    if result.is_error == Some(true) { Err(text) } else { Ok(text) }
}

fn render_block(block: &ContentBlock) -> String {
    match block {
        ContentBlock::Text(text) => text.text.clone(),
        ContentBlock::Image(image) => {
            format!("[image: {}, {} bytes of base64]", image.mime_type, image.data.len())
        }
        ContentBlock::Audio(audio) => {
            format!("[audio: {}, {} bytes of base64]", audio.mime_type, audio.data.len())
        }
        ContentBlock::Resource(embedded) => match &embedded.resource {
            ResourceContents::TextResourceContents { uri, text, .. } => {
                format!("[resource {uri}]\n{text}")
            }
            ResourceContents::BlobResourceContents { uri, blob, .. } => {
                format!("[resource {uri}: {} bytes of base64]", blob.len())
            }
            _ => "[resource]".to_owned(),
        },
        ContentBlock::ResourceLink(link) => {
            format!("[resource link: {} ({})]", link.uri, link.name)
        }
        _ => "[content of a kind this client does not render]".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clashes_are_told_apart() {
        let mut taken = HashSet::new();
        assert_eq!(unique(sanitize_tool_name("a.b"), &mut taken), "a_b");
        assert_eq!(unique(sanitize_tool_name("a b"), &mut taken), "a_b_2");
        assert_eq!(unique(sanitize_tool_name("a/b"), &mut taken), "a_b_3");
        let long = "y".repeat(64);
        assert_eq!(unique(long.clone(), &mut taken), long);
        let second = unique(long, &mut taken);
        assert_eq!(second.len(), 64);
        assert!(second.ends_with("_2"));
    }
}
