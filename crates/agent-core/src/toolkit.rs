//! [`create_toolkit`], [`create_toolkit_from_lease`] and [`create_toolkit_from_pool`]: the
//! tools of MCP servers as [`Tool`]s an agent can call, through a session, a lease on a
//! [`SessionPool`], or the pool itself for many servers at once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use mcp_session::rmcp::model::{CallToolResult, ContentBlock, ResourceContents};
use mcp_session::{CallOptions, Lease, Session, SessionError, SessionPool};
use serde_json::Value;

use crate::agent::ConversableAgent;
use crate::error::AgentError;
use crate::name::{MAX_TOOL_NAME, sanitize_tool_name};
use crate::tool::Tool;

/// The tools of one MCP server, callable by agents.
///
/// Tool names are made to fit OpenAI's rule (`^[a-zA-Z0-9_-]{1,64}$`): other characters become
/// `_`, long names are cut, and a clash gets a `_2`, `_3`… suffix. [`mcp_name`](Self::mcp_name)
/// maps a name back. Each tool calls what the toolkit was made from: a toolkit of a session
/// ([`create_toolkit`]) lives as long as the session is open; one of a pool lease
/// ([`create_toolkit_from_lease`]) as long as the pool, across restarts of the server.
#[derive(Clone, Debug, Default)]
pub struct Toolkit {
    pub(crate) tools: Vec<Tool>,
    /// What an agent gets instead of `tools`: the meta-tools of
    /// [`lazy_above`](Toolkit::lazy_above).
    pub(crate) offered: Option<Vec<Tool>>,
    /// Each LLM-facing name's server (for a toolkit over a pool) and MCP tool.
    names: BTreeMap<String, (Option<String>, String)>,
    /// Servers whose tools could not be listed, with why (a toolkit over a pool).
    unavailable: Vec<(String, SessionError)>,
}

/// Lists the session's tools (every page) and wraps each as a [`Tool`]: the server's input
/// schema is kept as it is (unknown keys such as `x-…` and `_meta` included); a result with
/// `is_error` goes back to the LLM as an error; text, structured, image and resource content is
/// rendered as text.
///
/// # Errors
/// [`AgentError::Session`] when the tools cannot be listed.
pub async fn create_toolkit(session: &Session) -> Result<Toolkit, AgentError> {
    toolkit_of(Server::Session(session.clone())).await
}

/// [`create_toolkit`] for a server of a [`SessionPool`](mcp_session::SessionPool): the tools
/// are listed, and each tool calls, through the lease
/// ([`Lease::call_tool_with`](mcp_session::Lease::call_tool_with)). Calls therefore take their
/// place among the server's calls in flight, and a session whose server died (a stdio server
/// that exited, an HTTP server that restarted) is reopened on the next call: the toolkit stays
/// valid for as long as the pool is open. A call that was running when its connection died is
/// not sent again (the model sees the error, and its next call goes to the new session).
///
/// The tools hold clones of the lease, so while the toolkit (or an agent it was registered
/// with) lives, the server's session is neither closed for idleness nor evicted; drop it to let
/// go. Names, schemas and rendering are [`create_toolkit`]'s.
///
/// ```no_run
/// # #![allow(dead_code)]
/// use agent_core::{ConversableAgent, LLMConfig, RunOptions, create_toolkit_from_lease};
/// use agent_core::mcp_session::SessionPool;
/// use agent_core::mcp_session::mcp_config::{MCPConfig, StdioConfig};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let arxiv = StdioConfig::new("ArxivServer", "research-demo").args(["serve", "arxiv"]);
/// let pool = SessionPool::new(MCPConfig::new([arxiv.into()])?);
/// let lease = pool.get("ArxivServer").await?;
/// let toolkit = create_toolkit_from_lease(&lease).await?;
/// let mut agent = ConversableAgent::builder("mcp_agent")
///     .system_message("You are an agent with access to ArxivServer tools.")
///     .llm_config(LLMConfig::from_env()?)
///     .build();
/// toolkit.register_for_llm(&mut agent);
/// toolkit.register_for_execution(&mut agent);
/// // Both runs use one server process; had it died in between, the second would start another.
/// agent.run(RunOptions::new("Find papers about transformers").max_turns(5)).await?;
/// agent.run(RunOptions::new("Find papers about diffusion models").max_turns(5)).await?;
/// drop((agent, toolkit, lease));
/// pool.close_all().await;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// [`AgentError::Session`] when the tools cannot be listed (the pool's errors included, such
/// as a closed pool or a failed server).
pub async fn create_toolkit_from_lease(lease: &Lease) -> Result<Toolkit, AgentError> {
    toolkit_of(Server::Lease(lease.clone())).await
}

/// What a toolkit's tools call: a session, a pool lease, or one server of a pool.
#[derive(Clone, Debug)]
enum Server {
    Session(Session),
    Lease(Lease),
    Pool(SessionPool, String),
}

impl Server {
    /// The server's tools: a session's as listed, a pool's shared with its catalog (no copy).
    async fn list_tools(&self) -> Result<Arc<[mcp_session::rmcp::model::Tool]>, SessionError> {
        match self {
            Server::Session(session) => session.list_tools().await.map(Arc::from),
            Server::Lease(lease) => lease.list_tools().await,
            Server::Pool(pool, name) => pool.list_tools(name).await,
        }
    }

    async fn call_tool(
        &self,
        tool: &str,
        arguments: Value,
    ) -> Result<CallToolResult, SessionError> {
        match self {
            Server::Session(session) => session.call_tool(tool, arguments).await,
            Server::Lease(lease) => {
                lease.call_tool_with(tool, arguments, CallOptions::default()).await
            }
            Server::Pool(pool, name) => pool.call_tool(name, tool, arguments).await,
        }
    }
}

/// Lists `server`'s tools and wraps each as a [`Tool`] that calls it through `server`.
async fn toolkit_of(server: Server) -> Result<Toolkit, AgentError> {
    let listed = server.list_tools().await?;
    let named = tool_names(listed.iter().map(|tool| tool.name.as_ref()));
    let mut toolkit = Toolkit::default();
    for (tool, (name, _)) in listed.iter().zip(named) {
        toolkit.add(&server, None, name, tool);
    }
    Ok(toolkit)
}

/// One toolkit over many servers of `pool`: every server (`servers: None`) or the ones named,
/// their tools listed concurrently from the pool's catalog (so the servers' `tools` filters
/// apply). Each tool's name is its server's and its own, `server__tool`, made to fit OpenAI's
/// rule (64 characters of `[a-zA-Z0-9_-]`; a long server name is cut first, and a clash gets a
/// `_2`, `_3`… suffix), and [`route`](Toolkit::route) maps it back; its description starts
/// with `[server]`. Calls go through the pool ([`SessionPool::call_tool`]): they take their
/// place among the server's calls, are checked against the tool's schemas, and reopen a server
/// that died. The toolkit holds the pool, not its sessions: idle ones still close.
///
/// A server that cannot be listed (it will not start, or hangs past its startup timeout) is
/// left out and named by [`unavailable`](Toolkit::unavailable); the others serve.
///
/// ```no_run
/// # #![allow(dead_code)]
/// use agent_core::create_toolkit_from_pool;
/// use agent_core::mcp_session::SessionPool;
/// use agent_core::mcp_session::mcp_config::MCPConfig;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = SessionPool::new(MCPConfig::load("mcp.json")?.config);
/// let toolkit = create_toolkit_from_pool(&pool, None).await?;
/// for (server, error) in toolkit.unavailable() {
///     eprintln!("left out {server}: {error}");
/// }
/// for tool in toolkit.tools() {
///     let (server, mcp_tool) = toolkit.route(tool.name()).expect("a tool of the toolkit");
///     println!("{} = {mcp_tool} of {}", tool.name(), server.unwrap_or("?"));
/// }
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// [`AgentError::Session`] for a server name the pool's config does not have (the message
/// lists those it has).
pub async fn create_toolkit_from_pool(
    pool: &SessionPool,
    servers: Option<&[&str]>,
) -> Result<Toolkit, AgentError> {
    for name in servers.unwrap_or_default() {
        pool.config().get(name).map_err(SessionError::Config)?;
    }
    let found = pool.list_tools_of_all(servers).await;
    let served = found.listed;
    let mut toolkit = Toolkit { unavailable: found.failed, ..Toolkit::default() };
    let prefixed: Vec<String> = served
        .iter()
        .flat_map(|(server, tools)| tools.iter().map(move |tool| prefixed_name(server, &tool.name)))
        .collect();
    let mut named = tool_names(prefixed.iter().map(String::as_str)).into_iter();
    for (server, tools) in &served {
        let calls = Server::Pool(pool.clone(), server.clone());
        for tool in tools.iter() {
            let (name, _) = named.next().expect("one name per tool");
            toolkit.add(&calls, Some(server), name, tool);
        }
    }
    Ok(toolkit)
}

/// The longest server part of a prefixed tool name, so that the tool's own name keeps most of
/// the 64 characters.
const MAX_SERVER_PREFIX: usize = 24;

/// `server__tool` for a toolkit over many servers, the server part cut to
/// [`MAX_SERVER_PREFIX`] characters (sanitizing and the 64-character cut come after).
fn prefixed_name(server: &str, tool: &str) -> String {
    let server: String = server.chars().take(MAX_SERVER_PREFIX).collect();
    format!("{server}__{tool}")
}

impl Toolkit {
    /// A toolkit of tools made in code (for [`lazy_above`](Self::lazy_above) over them, say).
    pub fn from_tools(tools: impl IntoIterator<Item = Tool>) -> Toolkit {
        Toolkit { tools: tools.into_iter().collect(), ..Toolkit::default() }
    }

    /// Adds `tool` of `server` (named `server_name` in a toolkit over a pool) as `name`.
    fn add(
        &mut self,
        server: &Server,
        server_name: Option<&str>,
        name: String,
        tool: &mcp_session::rmcp::model::Tool,
    ) {
        let own = tool.description.as_deref().unwrap_or_default();
        let description = match server_name {
            Some(server) if own.is_empty() => format!("[{server}]"),
            Some(server) => format!("[{server}] {own}"),
            None => own.to_owned(),
        };
        let parameters = Value::Object((*tool.input_schema).clone());
        let mcp_name = tool.name.to_string();
        let called = mcp_name.clone();
        let server = server.clone();
        self.tools.push(Tool::new(name.clone(), description, parameters, move |arguments| {
            let server = server.clone();
            let called = called.clone();
            async move {
                let result =
                    server.call_tool(&called, arguments).await.map_err(|err| err.to_string())?;
                render_tool_result(&result)
            }
        }));
        self.names.insert(name, (server_name.map(str::to_owned), mcp_name));
    }

    /// The tools an agent gets, to pass to a run (`RunOptions::tools`): every tool, or the two
    /// meta-tools of a [lazy](Self::lazy_above) toolkit.
    pub fn tools(&self) -> Vec<Tool> {
        self.offered().to_vec()
    }

    /// What [`tools`](Self::tools) gives, borrowed.
    pub fn offered(&self) -> &[Tool] {
        self.offered.as_deref().unwrap_or(&self.tools)
    }

    /// Every tool, also those behind the meta-tools of a [lazy](Self::lazy_above) toolkit.
    pub fn all_tools(&self) -> &[Tool] {
        &self.tools
    }

    /// The MCP tool an LLM-facing name stands for.
    pub fn mcp_name(&self, name: &str) -> Option<&str> {
        self.names.get(name).map(|(_, tool)| tool.as_str())
    }

    /// The server (in a toolkit over a pool; `None` in one of a session or lease) and the MCP
    /// tool an LLM-facing name stands for.
    pub fn route(&self, name: &str) -> Option<(Option<&str>, &str)> {
        self.names.get(name).map(|(server, tool)| (server.as_deref(), tool.as_str()))
    }

    /// The servers of a toolkit over a pool whose tools could not be listed, and why.
    pub fn unavailable(&self) -> &[(String, SessionError)] {
        &self.unavailable
    }

    /// Offers the tools to `agent`'s LLM (the seed's `toolkit.register_for_llm(agent)`).
    pub fn register_for_llm(&self, agent: &mut ConversableAgent) {
        for tool in self.offered() {
            agent.register_for_llm(tool.spec().clone());
        }
    }

    /// Lets `agent` run the tools when its LLM calls them (the seed's
    /// `toolkit.register_for_execution(agent)`).
    pub fn register_for_execution(&self, agent: &mut ConversableAgent) {
        for tool in self.offered() {
            agent.register_for_execution(tool.clone());
        }
    }
}

/// The LLM-facing name of each MCP tool name, in order, paired with that MCP name: sanitized
/// ([`sanitize_tool_name`]), and on a clash with an earlier one given a `_2`, `_3`… suffix
/// ([`unique`]). The names are distinct, so the pairs map each one back to its MCP name.
fn tool_names<'a>(mcp_names: impl IntoIterator<Item = &'a str>) -> Vec<(String, String)> {
    let mut taken = Taken::default();
    mcp_names
        .into_iter()
        .map(|mcp_name| (unique(sanitize_tool_name(mcp_name), &mut taken), mcp_name.to_owned()))
        .collect()
}

/// The names given so far, and for each name that clashed the next suffix to try, so that many
/// tools of one name cost one attempt each rather than one per earlier clash.
#[derive(Debug, Default)]
struct Taken {
    names: HashSet<String>,
    next_suffix: HashMap<String, u64>,
}

/// `name`, or `name_2`, `name_3`… (cut to keep within 64 characters) if it is taken.
fn unique(name: String, taken: &mut Taken) -> String {
    if taken.names.insert(name.clone()) {
        return name;
    }
    let next = taken.next_suffix.entry(name.clone()).or_insert(2);
    loop {
        let suffix = format!("_{next}");
        *next += 1;
        let mut candidate = name.clone();
        // Every character of a sanitized name is ASCII, so this cuts on a character boundary.
        candidate.truncate(MAX_TOOL_NAME - suffix.len());
        candidate.push_str(&suffix);
        if taken.names.insert(candidate.clone()) {
            return candidate;
        }
    }
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

    use proptest::prelude::*;

    #[test]
    fn clashes_are_told_apart() {
        let mut taken = Taken::default();
        assert_eq!(unique(sanitize_tool_name("a.b"), &mut taken), "a_b");
        assert_eq!(unique(sanitize_tool_name("a b"), &mut taken), "a_b_2");
        assert_eq!(unique(sanitize_tool_name("a/b"), &mut taken), "a_b_3");
        let long = "y".repeat(64);
        assert_eq!(unique(long.clone(), &mut taken), long);
        let second = unique(long, &mut taken);
        assert_eq!(second.len(), 64);
        assert!(second.ends_with("_2"));
    }

    #[test]
    fn a_name_that_already_ends_in_a_suffix_is_skipped_over() {
        let named = tool_names(["a_2", "a", "a", "a", "a_3"]);
        let names: Vec<&str> = named.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["a_2", "a", "a_3", "a_4", "a_3_2"]);
    }

    #[test]
    fn a_long_name_keeps_64_characters_past_suffix_10() {
        let long = "z".repeat(70);
        let named = tool_names(std::iter::repeat_n(long.as_str(), 12));
        let last = &named[11].0;
        assert_eq!(last.len(), 64);
        assert_eq!(last, &format!("{}_12", "z".repeat(61)));
    }

    /// MCP tool names as servers may send them: any Unicode, empty, very long, and many that
    /// clash once sanitized (`a.b`, `a b`, `a/b`) or already end in a suffix (`a_2`).
    fn mcp_name() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[ab][._/ -]?[ab]?(_[0-9]{1,2})?",
            "[._/ ]{0,3}",
            "[yé_]{60,70}(_[0-9]{1,2})?",
            ".{60,100}",
        ]
    }

    /// A tool list: names drawn from a few, so that most of them clash, long ones included.
    fn mcp_names(max: usize) -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec(mcp_name(), 1..6)
            .prop_flat_map(move |pool| prop::collection::vec(prop::sample::select(pool), 0..max))
    }

    fn fits_openai(name: &str) -> bool {
        (1..=MAX_TOOL_NAME).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    }

    proptest! {
        #[test]
        fn prop_tool_names_fit_are_distinct_and_map_back(
            mcp_names in prop_oneof![prop::collection::vec(mcp_name(), 0..64), mcp_names(64)],
        ) {
            let named = tool_names(mcp_names.iter().map(String::as_str));
            prop_assert_eq!(named.len(), mcp_names.len());
            let mut back = BTreeMap::new();
            for ((name, mcp), original) in named.iter().zip(&mcp_names) {
                prop_assert!(fits_openai(name), "{name:?} (from {original:?}) does not fit");
                prop_assert_eq!(mcp, original);
                prop_assert!(back.insert(name.clone(), mcp.clone()).is_none(), "{name:?} twice");
            }
            // The map the toolkit keeps gives back exactly the MCP name each tool came from.
            for ((name, _), original) in named.iter().zip(&mcp_names) {
                prop_assert_eq!(back.get(name), Some(original));
            }
        }

        #[test]
        fn prop_the_first_of_a_name_keeps_it_unsuffixed(
            mcp_names in prop_oneof![prop::collection::vec(mcp_name(), 1..32), mcp_names(32)],
        ) {
            let named = tool_names(mcp_names.iter().map(String::as_str));
            let sanitized: Vec<String> = mcp_names.iter().map(|n| sanitize_tool_name(n)).collect();
            for (index, (name, _)) in named.iter().enumerate() {
                if !sanitized[..index].contains(&sanitized[index])
                    && !named[..index].iter().any(|(earlier, _)| *earlier == sanitized[index])
                {
                    prop_assert_eq!(name, &sanitized[index]);
                } else {
                    // A clash: a cut of the sanitized name with a `_N` suffix (N ≥ 2).
                    let (base, n) = name.rsplit_once('_').expect("a suffixed name");
                    prop_assert!(n.parse::<u64>().is_ok_and(|n| n >= 2), "{name:?}");
                    prop_assert!(sanitized[index].starts_with(base), "{name:?}");
                }
            }
        }

        #[test]
        fn prop_many_tools_of_one_name_stay_distinct(
            mcp_name in mcp_name(),
            count in 1usize..300,
        ) {
            let named = tool_names(std::iter::repeat_n(mcp_name.as_str(), count));
            let distinct: HashSet<&str> = named.iter().map(|(name, _)| name.as_str()).collect();
            prop_assert_eq!(distinct.len(), count);
            prop_assert!(named.iter().all(|(name, _)| fits_openai(name)));
        }
    }
}
