//! [`ResearchAssistant`]: the seed's research assistant, built on agent-core and mcp-session.
//!
//! The flow is the seed's: the assistant calls `run_mcp_agent_to_client(query, server_name)`; the
//! tool opens a session to that server, makes a toolkit of its tools, and runs a temporary
//! `mcp_agent` with them and a handoff back to the assistant ("The research paper ids are
//! fetched."); the temporary agent's result returns to the assistant as a [`ReplyResult`]. The
//! session is closed before the tool returns, whatever happens.
//!
//! [`ResearchAssistant::keep_alive`] runs the same flow on a [`SessionPool`] instead (the demo's
//! `--keep-alive`): the tool takes a lease on the server, so one session serves every call, and
//! a server that died is started again on the next one. The assistant also has
//! `check_mcp_servers` ([`CHECK_TOOL`]), the seed's "server health check tool": the pool's
//! [`health_all`](SessionPool::health_all), one line per server.
//!
//! [`Chat`] is a conversation with the assistant: each message is asked after the earlier ones,
//! which the model sees (the demo's `chat`, over a pool). With [`stream`](ResearchAssistant::stream)
//! the LLMs' text comes as [`Event::TextDelta`]s too, piece by piece.
//!
//! A server that fails (it cannot be opened or reached, a call to it fails in transport) or a
//! temporary agent whose LLM fails goes back to the model as the tool's error, so the model can
//! say so; it is also recorded in the [`Answer`]'s `failures`, so that a program can tell an
//! answer from a workaround. A tool's own `is_error` result is not a failure: the server
//! answered.

use std::sync::{Arc, Mutex};

use agent_core::mcp_session::rmcp::model::{CallToolResult, Tool as McpTool};
use agent_core::{
    AgentError, AgentTarget, ConversableAgent, Event, HumanInputMode, LLMConfig, Message,
    OnCondition, ReplyResult, Role, RunOptions, RunResponse, StringLLMCondition, Tool, Toolkit,
    create_toolkit, create_toolkit_from_lease,
};
use mcp_config::MCPConfig;
use mcp_session::{Health, Lease, MCPClientSessionManager, Session, SessionError, SessionPool};
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedSender;

/// The assistant's name, which the temporary agent hands back to.
pub const ASSISTANT: &str = "research_assistant";

/// How many turns the temporary agent gets (the seed's 5).
pub const MCP_AGENT_MAX_TURNS: usize = 5;

/// The name of the assistant's health check tool.
pub const CHECK_TOOL: &str = "check_mcp_servers";

/// The research assistant over a set of MCP servers. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ResearchAssistant {
    servers: Arc<MCPConfig>,
    llm: LLMConfig,
    manager: MCPClientSessionManager,
    /// With [`keep_alive`](Self::keep_alive): the sessions the tool calls share.
    pool: Option<SessionPool>,
    /// Whether the LLMs' text streams ([`stream`](Self::stream)).
    stream: bool,
}

impl ResearchAssistant {
    /// An assistant that may use every server of `servers`, thinking with `llm`: the seed's,
    /// whose tool opens a session inside each call and closes it before returning.
    pub fn new(servers: MCPConfig, llm: LLMConfig) -> Self {
        ResearchAssistant {
            servers: Arc::new(servers),
            llm,
            manager: MCPClientSessionManager::new(),
            pool: None,
            stream: false,
        }
    }

    /// Streams the LLMs' text (default off): the assistant's and the temporary agents' runs
    /// send each piece as an [`Event::TextDelta`] as it comes, before the whole
    /// [`Event::TextMessage`] (see agent-core's `RunOptions::stream`).
    #[must_use]
    pub fn stream(mut self, stream: bool) -> Self {
        self.stream = stream;
        self
    }

    /// A conversation with the assistant, starting empty.
    pub fn chat(&self) -> Chat {
        Chat { assistant: self.clone(), history: Vec::new() }
    }

    /// [`new`](Self::new), but the tool's calls share a [`SessionPool`] over `servers`: a
    /// server's session is opened on its first call and kept for the next ones (until
    /// [`pool`](Self::pool)'s [`close_all`](SessionPool::close_all), or its `pool.idle_timeout`),
    /// and a server that died is started again on its next call. The pool opens its sessions
    /// through [`manager`](Self::manager).
    ///
    /// ```no_run
    /// use agent_core::{LLMConfig, ModelConfig};
    /// use mcp_config::{MCPConfig, StdioConfig};
    /// use research_demo::assistant::ResearchAssistant;
    ///
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let arxiv = StdioConfig::new("ArxivServer", "research-demo").args(["serve", "arxiv"]);
    /// let assistant = ResearchAssistant::keep_alive(
    ///     MCPConfig::new([arxiv.into()])?,
    ///     LLMConfig::new(ModelConfig::offline()),
    /// );
    /// // One arXiv server process answers both.
    /// for topic in ["transformers", "diffusion models"] {
    ///     let query = format!("Search for papers about {topic} on ArxivServer");
    ///     println!("{}", assistant.ask(&query, 2, None).await?.summary());
    /// }
    /// println!("{}", assistant.check_servers(false).await);
    /// assistant.close().await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn keep_alive(servers: MCPConfig, llm: LLMConfig) -> Self {
        let manager = MCPClientSessionManager::new();
        let pool = SessionPool::builder(servers.clone()).manager(manager.clone()).build();
        ResearchAssistant {
            servers: Arc::new(servers),
            llm,
            manager,
            pool: Some(pool),
            stream: false,
        }
    }

    /// Opens the tool's sessions with `manager` (default: [`MCPClientSessionManager::new`]),
    /// such as one whose OAuth [`LoginMode`](mcp_session::mcp_auth::LoginMode) may reach a
    /// person. With [`keep_alive`](Self::keep_alive), the pool is made anew over it: call it
    /// before the assistant is used.
    #[must_use]
    pub fn with_manager(mut self, manager: MCPClientSessionManager) -> Self {
        if self.pool.is_some() {
            let servers = (*self.servers).clone();
            self.pool = Some(SessionPool::builder(servers).manager(manager.clone()).build());
        }
        self.manager = manager;
        self
    }

    /// The manager that opens the tool's sessions (shared by clones):
    /// [`shutdown`](MCPClientSessionManager::shutdown) closes those of calls still running,
    /// such as when the program is stopped (and, with [`keep_alive`](Self::keep_alive), the
    /// pool's too).
    pub fn manager(&self) -> &MCPClientSessionManager {
        &self.manager
    }

    /// The pool the tool's calls share, with [`keep_alive`](Self::keep_alive).
    pub fn pool(&self) -> Option<&SessionPool> {
        self.pool.as_ref()
    }

    /// Closes every session the assistant still holds: the pool's with
    /// [`close_all`](SessionPool::close_all) (calls in flight get their grace period), then
    /// whatever else the manager has open. Calls after it fail.
    pub async fn close(&self) {
        if let Some(pool) = &self.pool {
            pool.close_all().await;
        }
        self.manager.shutdown().await;
    }

    /// The assistant's system message: the seed's `RESEARCH_AGENT_PROMPT`, listing our servers.
    pub fn system_message(&self) -> String {
        self.system_message_with(&Catalog::default())
    }

    fn system_message_with(&self, catalog: &Catalog) -> String {
        format!(
            "You are a research assistant agent.\nYou will provide assistance for research tasks.\n\
             You have {} MCP servers to use:\n{}",
            count(catalog.usable(&self.servers).count()),
            self.server_list(catalog)
        )
    }

    /// The description of `run_mcp_agent_to_client`: the seed's `TOOL_PROMPT`, listing our servers.
    pub fn tool_description(&self) -> String {
        self.tool_description_with(&Catalog::default())
    }

    fn tool_description_with(&self, catalog: &Catalog) -> String {
        let example = catalog.usable(&self.servers).next().unwrap_or("ArxivServer");
        format!(
            "You are an MCP server tool.\nYour purpose is to identify the correct server to execute \
             based on the user's query.\nInputs:\n- query: (actual user query)\n- server_name: (name \
             of the server to execute)\nYou have {} MCP servers to use:\n{}NOTE:\n- Strictly return \
             only the server name for server_name param (e.g., {example})\n- TERMINATE after \
             response from the server\n",
            count(catalog.usable(&self.servers).count()),
            self.server_list(catalog)
        )
    }

    /// With [`keep_alive`](Self::keep_alive): every server's tools from the pool's catalog
    /// (listed concurrently, kept by the pool), and the servers that could not be listed.
    /// Without a pool: nothing (the prompts then list every configured server).
    pub async fn catalog(&self) -> Catalog {
        let Some(pool) = &self.pool else { return Catalog::default() };
        let found = pool.list_tools_of_all(None).await;
        let tools = found
            .listed
            .into_iter()
            .map(|(server, tools)| (server, tools.iter().map(|t| t.name.to_string()).collect()))
            .collect();
        Catalog { listed: true, tools, unavailable: found.failed }
    }

    /// `run_mcp_agent_to_client`: opens a session to the named server inside the call and runs a
    /// temporary agent with its tools. Its schema offers the configured names as an enum.
    /// Failures of servers and of the temporary agent's LLM go back to the LLM as the tool's
    /// error (and are not recorded anywhere else: [`ask`](Self::ask) records them).
    pub fn mcp_tool(&self) -> Tool {
        self.mcp_tool_reporting(None, Failures::default(), &Catalog::default())
    }

    /// `check_mcp_servers` ([`CHECK_TOOL`]): the seed's "server health check tool". It answers
    /// with [`check_servers`](Self::check_servers), one line per server. With
    /// [`keep_alive`](Self::keep_alive) it checks the pool's sessions, and takes `start: true`
    /// to start the servers with no open session; otherwise, since no session outlives a call,
    /// it starts every server for the check. Its description tells the model when to use it.
    pub fn check_tool(&self) -> Tool {
        let ending = if self.pool.is_some() {
            "Servers with no open session (closed when idle, or never listed) are `not started`; \
             set start to true to start them and check them too (slower: a server that hangs \
             takes its startup timeout)."
        } else {
            "Each server is started for the check and closed after it (a server that hangs \
             takes its startup timeout)."
        };
        let description = format!(
            "Checks the health of the MCP servers and answers one line per server: healthy \
             (with its ping time, protocol version and tool count), degraded, unreachable (with \
             the error), not started, or failed (after too many restarts). Use it when the user \
             asks whether the servers are up or working, or after run_mcp_agent_to_client \
             failed, to tell which servers can be used before trying again. It runs no query. \
             {ending}"
        );
        let mut properties = serde_json::Map::new();
        if self.pool.is_some() {
            properties.insert(
                "start".to_owned(),
                json!({"type": "boolean", "description": "Also start the servers that are not running, to check them too (default false)."}),
            );
        }
        let schema = json!({"type": "object", "properties": properties});
        let assistant = self.clone();
        Tool::new(CHECK_TOOL, description, schema, move |args: Value| {
            let assistant = assistant.clone();
            async move {
                let start = args.get("start").and_then(Value::as_bool).unwrap_or(false);
                assistant.check_servers(start).await
            }
        })
    }

    /// What [`check_tool`](Self::check_tool) answers: one `Name: health` line per server, in
    /// configuration order (see [`Health`]'s `Display`). With [`keep_alive`](Self::keep_alive),
    /// the pool's [`health_all`](SessionPool::health_all), or with `start`
    /// [`health_all_started`](SessionPool::health_all_started); otherwise `start` does not
    /// matter: every server is started in a pool made for the check, checked, and closed.
    pub async fn check_servers(&self, start: bool) -> String {
        let report = match &self.pool {
            Some(pool) if start => pool.health_all_started().await,
            Some(pool) => pool.health_all().await,
            None => {
                let pool = SessionPool::builder((*self.servers).clone())
                    .manager(self.manager.clone())
                    .build();
                let report = pool.health_all_started().await;
                pool.close_all().await;
                report
            }
        };
        health_report(&report)
    }

    /// [`mcp_tool`](Self::mcp_tool), whose temporary agents send their events to `events`, and
    /// which records failures in `failures`.
    fn mcp_tool_reporting(
        &self,
        events: Option<UnboundedSender<Event>>,
        failures: Failures,
        catalog: &Catalog,
    ) -> Tool {
        let names: Vec<&str> = catalog.usable(&self.servers).collect();
        let schema = json!({
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "The user's query, as they wrote it."},
                "server_name": {"type": "string", "enum": names, "description": "The server to run the query on."}
            },
            "required": ["query", "server_name"],
        });
        let assistant = self.clone();
        let description = self.tool_description_with(catalog);
        Tool::new("run_mcp_agent_to_client", description, schema, move |args: Value| {
            let (assistant, events, failures) =
                (assistant.clone(), events.clone(), failures.clone());
            async move {
                let text =
                    |key: &str| args.get(key).and_then(Value::as_str).unwrap_or("").to_owned();
                let outcome = assistant
                    .run_recording(&text("query"), &text("server_name"), events, &failures)
                    .await;
                outcome.map_err(|err| {
                    let message = err.to_string();
                    // A server name the configuration does not have is the model's slip, which
                    // it can correct (the message lists the names); anything else failed.
                    if !matches!(err, AgentError::Session(SessionError::Config(_))) {
                        failures.record(err);
                    }
                    message
                })
            }
        })
    }

    /// Runs `query` on one server, as the tool does: session, toolkit, temporary agent, handoff.
    /// The temporary agent's events also go to `events`.
    ///
    /// # Errors
    /// An unknown server (the error lists the known ones), a session that cannot be opened, a
    /// call of the temporary agent that failed in transport (the first, if several did), or a
    /// failure of the temporary agent's LLM.
    pub async fn run_on_server(
        &self,
        query: &str,
        server_name: &str,
        events: Option<UnboundedSender<Event>>,
    ) -> Result<ReplyResult, AgentError> {
        let failures = Failures::default();
        let reply = self.run_recording(query, server_name, events, &failures).await?;
        match failures.take().into_iter().next() {
            Some(failed) => Err(failed),
            None => Ok(reply),
        }
    }

    /// [`run_on_server`](Self::run_on_server), recording the temporary agent's calls that failed
    /// in transport in `failures` (the model saw each as the call's error and went on).
    async fn run_recording(
        &self,
        query: &str,
        server_name: &str,
        events: Option<UnboundedSender<Event>>,
        failures: &Failures,
    ) -> Result<ReplyResult, AgentError> {
        let server = self.servers.get(server_name)?;
        let target = match &self.pool {
            Some(pool) => Target::Lease(pool.get(server_name).await?),
            None => Target::Session(self.manager.open_session(server).await?),
        };
        let outcome = async {
            let tools = target.list_tools().await?;
            let toolkit = target.toolkit().await?;
            let mut agent = ConversableAgent::builder("mcp_agent")
                .system_message(format!(
                    "You are an agent with access to {server_name} tools. Use them to answer queries."
                ))
                .llm_config(self.llm.clone())
                .human_input_mode(HumanInputMode::Never)
                .build();
            toolkit.register_for_llm(&mut agent);
            for tool in toolkit.tools() {
                let called = toolkit.mcp_name(tool.name()).unwrap_or(tool.name()).to_owned();
                agent.register_for_execution(recording_tool(
                    &tool,
                    called,
                    target.clone(),
                    failures.clone(),
                ));
            }
            let back = OnCondition::new(
                AgentTarget::new(ASSISTANT),
                StringLLMCondition::new("The research paper ids are fetched."),
            );
            let transfer = back.tool_name();
            agent.handoffs().add_llm_conditions([back]);
            let names: Vec<String> = tools.iter().map(|tool| tool.name.to_string()).collect();
            let message =
                format!("{query} Use the following tools to answer the question: {names:?}");
            let mut options =
                RunOptions::new(message).max_turns(MCP_AGENT_MAX_TURNS).stream(self.stream);
            if let Some(events) = events {
                options = options.events(events);
            }
            let response = agent.run(options).await?;
            Ok::<_, AgentError>(
                ReplyResult::new(findings(&response, &transfer))
                    .target(AgentTarget::new(ASSISTANT)),
            )
        }
        .await;
        let closed = target.close().await;
        let reply = outcome?;
        closed?;
        Ok(reply)
    }

    /// Asks the assistant: a run of at most `max_turns` (the seed's 2). While it runs, its events
    /// and those of the temporary agents go to `events`, in order.
    ///
    /// # Errors
    /// The assistant's LLM failing. Failures of the tool go back to the LLM as tool messages,
    /// and those of servers and of the temporary agents' LLM are in the [`Answer`]'s
    /// `failures`.
    pub async fn ask(
        &self,
        query: &str,
        max_turns: usize,
        events: Option<UnboundedSender<Event>>,
    ) -> Result<Answer, AgentError> {
        self.ask_after(Vec::new(), query, max_turns, events).await
    }

    /// [`ask`](Self::ask), the model seeing `history` (earlier messages, without the system
    /// message) before `query`.
    async fn ask_after(
        &self,
        history: Vec<Message>,
        query: &str,
        max_turns: usize,
        events: Option<UnboundedSender<Event>>,
    ) -> Result<Answer, AgentError> {
        let catalog = self.catalog().await;
        let agent = ConversableAgent::builder(ASSISTANT)
            .system_message(self.system_message_with(&catalog))
            .llm_config(self.llm.clone())
            .human_input_mode(HumanInputMode::Never)
            .build();
        let failures = Failures::default();
        let tool = self.mcp_tool_reporting(events.clone(), failures.clone(), &catalog);
        let mut options = RunOptions::new(query)
            .history(history)
            .tools([tool, self.check_tool()])
            .max_turns(max_turns)
            .stream(self.stream);
        if let Some(events) = events {
            options = options.events(events);
        }
        let response = agent.run(options).await?;
        Ok(Answer { response, failures: failures.take(), unavailable: catalog.unavailable })
    }

    /// `1. Name: what it is for` lines, one per server the assistant may use: the seed's words
    /// for the seed's two servers, else the server's tools from `catalog` (or its transport,
    /// with no catalog). Servers the catalog could not list are left out.
    fn server_list(&self, catalog: &Catalog) -> String {
        let mut list = String::new();
        let usable: Vec<&str> = catalog.usable(&self.servers).collect();
        for (number, name) in usable.into_iter().enumerate() {
            let purpose = match name {
                "ArxivServer" => "to search for papers on arXiv".to_owned(),
                "WikipediaServer" => "to search for articles on Wikipedia".to_owned(),
                _ => match catalog.tools.iter().find(|(server, _)| server == name) {
                    Some((_, tools)) => tool_summary(tools),
                    None => match self.servers.get(name) {
                        Ok(server) => format!("its tools, over {}", server.transport()),
                        Err(_) => "its tools".to_owned(),
                    },
                },
            };
            list.push_str(&format!("{}. {name}: {purpose}\n", number + 1));
        }
        list
    }
}

/// A conversation with the research assistant ([`ResearchAssistant::chat`]): each message is a
/// run of the assistant that starts from the messages before it, so the model sees the whole
/// conversation. Over a [`keep_alive`](ResearchAssistant::keep_alive) assistant, the sessions
/// stay open from one message to the next.
///
/// ```no_run
/// use agent_core::{LLMConfig, ModelConfig};
/// use mcp_config::{MCPConfig, StdioConfig};
/// use research_demo::assistant::ResearchAssistant;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let arxiv = StdioConfig::new("ArxivServer", "research-demo").args(["serve", "arxiv"]);
/// let assistant = ResearchAssistant::keep_alive(
///     MCPConfig::new([arxiv.into()])?,
///     LLMConfig::new(ModelConfig::offline()),
/// );
/// let mut chat = assistant.chat();
/// chat.say("Search for papers about transformers on ArxivServer", 2, None).await?;
/// // The model sees the first question and its answer before this one.
/// let answer = chat.say("Search for papers about diffusion models on ArxivServer", 2, None).await?;
/// println!("{}", answer.summary());
/// assistant.close().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Chat {
    assistant: ResearchAssistant,
    /// The conversation so far, without the system message.
    history: Vec<Message>,
}

impl Chat {
    /// Says `message` to the assistant: a run of at most `max_turns` that starts from the
    /// conversation so far, its events going to `events` as for
    /// [`ask`](ResearchAssistant::ask). Once it answers, the message, the calls and the answer
    /// join the conversation.
    ///
    /// Cancel safe: dropped before it returns (a turn cancelled), it leaves the conversation as
    /// it was, as does an error.
    ///
    /// # Errors
    /// As [`ask`](ResearchAssistant::ask): the assistant's LLM failing.
    pub async fn say(
        &mut self,
        message: &str,
        max_turns: usize,
        events: Option<UnboundedSender<Event>>,
    ) -> Result<Answer, AgentError> {
        let answer =
            self.assistant.ask_after(self.history.clone(), message, max_turns, events).await?;
        self.history = answer
            .response
            .messages
            .iter()
            .filter(|message| message.role != Role::System)
            .cloned()
            .collect();
        Ok(answer)
    }

    /// The conversation so far (every message but the system message).
    pub fn history(&self) -> &[Message] {
        &self.history
    }

    /// The assistant.
    pub fn assistant(&self) -> &ResearchAssistant {
        &self.assistant
    }
}

/// What the assistant knows of its servers' tools before a question: with a pool, each
/// server's tool names from the pool's catalog, and the servers that could not be listed (left
/// out of the prompts and of `server_name`'s choices).
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Catalog {
    /// Whether the servers were listed (with a pool).
    pub listed: bool,
    /// Each listed server and its tools' names.
    pub tools: Vec<(String, Vec<String>)>,
    /// The servers that could not be listed, and why.
    pub unavailable: Vec<(String, SessionError)>,
}

impl Catalog {
    /// The configured servers the assistant may use: all of them, but those the catalog could
    /// not list.
    fn usable<'a>(&'a self, servers: &'a MCPConfig) -> impl Iterator<Item = &'a str> + 'a {
        servers.names().filter(|name| !self.unavailable.iter().any(|(down, _)| down == name))
    }
}

/// `its tools: a, b, c` (at most eight names, then how many more).
fn tool_summary(tools: &[String]) -> String {
    const SHOWN: usize = 8;
    if tools.is_empty() {
        return "a server with no tools".to_owned();
    }
    let mut summary =
        format!("its tools: {}", tools.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", "));
    if tools.len() > SHOWN {
        summary.push_str(&format!(" and {} more", tools.len() - SHOWN));
    }
    summary
}

/// The assistant's answer to a question, and what failed on the way.
#[derive(Debug)]
#[non_exhaustive]
pub struct Answer {
    /// The assistant's run: its messages and why it stopped.
    pub response: RunResponse,
    /// What failed during the run, in order, each of which the model saw as the tool's error:
    /// a server that could not be opened or reached, a call to it that failed in transport
    /// ([`AgentError::Session`]), the temporary agent's LLM. Empty when nothing failed; a
    /// tool's own `is_error` result is not a failure.
    pub failures: Vec<AgentError>,
    /// With a pool: servers that could not be listed before the question, and why. They were
    /// left out of the assistant's choices; the others served.
    pub unavailable: Vec<(String, SessionError)>,
}

impl Answer {
    /// The answer's text (the run's [`RunResponse::summary`]).
    pub fn summary(&self) -> &str {
        self.response.summary()
    }
}

/// Where a run's tool calls record what failed. Clones share the record.
#[derive(Clone, Debug, Default)]
struct Failures(Arc<Mutex<Vec<AgentError>>>);

impl Failures {
    fn record(&self, failure: AgentError) {
        tracing::warn!("{failure}");
        if let Ok(mut failures) = self.0.lock() {
            failures.push(failure);
        }
    }

    fn take(&self) -> Vec<AgentError> {
        self.0.lock().map(|mut failures| std::mem::take(&mut *failures)).unwrap_or_default()
    }
}

/// What one call of the tool runs on: a session of its own (the seed's flow), or a lease on
/// the pool's.
#[derive(Clone, Debug)]
enum Target {
    Session(Session),
    Lease(Lease),
}

impl Target {
    async fn list_tools(&self) -> Result<Vec<McpTool>, SessionError> {
        match self {
            Target::Session(session) => session.list_tools().await,
            Target::Lease(lease) => lease.list_tools().await.map(|tools| tools.to_vec()),
        }
    }

    async fn toolkit(&self) -> Result<Toolkit, AgentError> {
        match self {
            Target::Session(session) => create_toolkit(session).await,
            Target::Lease(lease) => create_toolkit_from_lease(lease).await,
        }
    }

    async fn call_tool(
        &self,
        tool: &str,
        arguments: Value,
    ) -> Result<CallToolResult, SessionError> {
        match self {
            Target::Session(session) => session.call_tool(tool, arguments).await,
            Target::Lease(lease) => lease.call_tool(tool, arguments).await,
        }
    }

    /// Closes a session of its own; a lease lets go of the pool's (which stays open).
    async fn close(self) -> Result<(), SessionError> {
        match self {
            Target::Session(session) => session.close().await,
            Target::Lease(_) => Ok(()),
        }
    }
}

/// `Name: health` lines, one per server.
fn health_report(report: &[(String, Health)]) -> String {
    report
        .iter()
        .map(|(server, health)| format!("{server}: {health}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `tool` (of the server's toolkit) calling the server's tool `called` itself, so that a call
/// that fails in transport is recorded in `failures` before it goes to the LLM as the call's
/// error. Results are rendered as agent-core's toolkit renders them.
fn recording_tool(tool: &Tool, called: String, target: Target, failures: Failures) -> Tool {
    let spec = tool.spec();
    Tool::new(spec.name.clone(), spec.description.clone(), spec.parameters.clone(), move |args| {
        let (target, called, failures) = (target.clone(), called.clone(), failures.clone());
        async move {
            match target.call_tool(&called, args).await {
                Ok(result) => agent_core::render_tool_result(&result),
                Err(err) => {
                    let message = err.to_string();
                    if in_transport(&err) {
                        failures.record(AgentError::Session(err));
                    }
                    Err(message)
                }
            }
        }
    })
}

/// Whether a failed call failed in transport (the server could not be reached, went away, broke
/// the protocol or did not answer in time), rather than refused the call (a JSON-RPC error such
/// as unknown arguments, which the model can correct).
fn in_transport(err: &SessionError) -> bool {
    !matches!(
        err,
        SessionError::Rpc { .. } | SessionError::InvalidArguments { .. } | SessionError::Config(_)
    )
}

/// What the temporary agent found: its last words, or the last result of a server tool. The
/// handoff's own "Transferred to …" message (the result of a call of `transfer`, the handoff's
/// tool) is not a finding.
fn findings(response: &RunResponse, transfer: &str) -> String {
    let transfers: Vec<&str> = response
        .messages
        .iter()
        .flat_map(|message| &message.tool_calls)
        .filter(|call| call.name == transfer)
        .map(|call| call.id.as_str())
        .collect();
    response
        .messages
        .iter()
        .rev()
        .find(|message| match message.role {
            Role::Assistant => !message.text().is_empty(),
            Role::Tool => {
                message.tool_call_id.as_deref().is_some_and(|id| !transfers.contains(&id))
            }
            _ => false,
        })
        .map_or_else(|| response.summary().to_owned(), |message| message.text().to_owned())
}

/// "two" for 2, as the seed's prompt writes it; digits past ten.
fn count(n: usize) -> String {
    const WORDS: [&str; 11] =
        ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"];
    WORDS.get(n).map_or_else(|| n.to_string(), |word| (*word).to_owned())
}
