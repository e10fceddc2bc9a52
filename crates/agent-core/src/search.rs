//! Lazy tool search for large catalogs: [`Toolkit::lazy_above`] hands an agent two meta-tools,
//! `search_tools` (the [`Router`] over the toolkit's tools) and `call_tool`, instead of every
//! tool's schema, so a request to the model stays small however many tools there are.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::router::{Embedder, Hit, HybridRouter, Router};
use crate::tool::Tool;
use crate::toolkit::Toolkit;

/// The tool count above which [`Toolkit::lazy_above`] is meant to switch to the meta-tools: 40,
/// the most schemas that fit a prompt comfortably.
pub const LAZY_TOOL_THRESHOLD: usize = 40;

/// The name of the meta-tool that searches the tools.
pub const SEARCH_TOOLS: &str = "search_tools";

/// The name of the meta-tool that calls a tool found by [`SEARCH_TOOLS`].
pub const CALL_TOOL: &str = "call_tool";

/// How many tools a search returns unless it asks for another number, and the most it may ask.
const DEFAULT_HITS: u64 = 5;
const MAX_HITS: u64 = 20;

/// What the two meta-tools share: the toolkit's tools by name, and the router over them.
struct Catalog {
    tools: HashMap<String, Tool>,
    router: Ranker,
    /// The LLM-facing name of each (server, MCP tool) the router knows.
    names: HashMap<(String, String), String>,
}

impl Toolkit {
    /// The toolkit as an agent should get it: itself when it has at most `threshold` tools
    /// (see [`LAZY_TOOL_THRESHOLD`]), else two meta-tools in its place:
    ///
    /// - `search_tools(query, limit?)` ranks the tools for `query` with a [`Router`] over their
    ///   servers, names, descriptions and parameters, and answers the best `limit` (default 5,
    ///   at most 20) as JSON: each tool's `name`, `description`, `parameters` (its schema) and
    ///   `why` (the words that matched);
    /// - `call_tool(name, arguments)` calls a tool by the name a search gave.
    ///
    /// A model then asks for the few schemas it needs instead of receiving them all on every
    /// turn. [`tools`](Toolkit::tools) and the `register_*` methods give the meta-tools;
    /// [`all_tools`](Toolkit::all_tools) and [`route`](Toolkit::route) still know every tool
    /// behind them.
    ///
    /// ```
    /// use agent_core::{LAZY_TOOL_THRESHOLD, Tool, Toolkit};
    /// use serde_json::json;
    ///
    /// let tools = (0..50).map(|n| {
    ///     Tool::new(format!("tool_{n}"), format!("Tool number {n}."), json!({"type": "object"}), |_| async { "ok" })
    /// });
    /// let toolkit = Toolkit::from_tools(tools).lazy_above(LAZY_TOOL_THRESHOLD);
    /// let offered: Vec<&str> = toolkit.offered().iter().map(|tool| tool.name()).collect();
    /// assert_eq!(offered, ["search_tools", "call_tool"]);
    /// assert_eq!(toolkit.all_tools().len(), 50);
    /// ```
    #[must_use]
    pub fn lazy_above(self, threshold: usize) -> Toolkit {
        self.lazy(threshold, None)
    }

    /// [`lazy_above`](Self::lazy_above) with a semantic stage: `search_tools` ranks with a
    /// [`HybridRouter`] over `embedder` (the lexical ranking when the embedder fails), and each
    /// tool it answers also has its `similarity` to the query. The tools are embedded at the
    /// first search.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// use agent_core::{EmbeddingConfig, Tool, Toolkit};
    /// use serde_json::json;
    ///
    /// let embedder = EmbeddingConfig::new("all-MiniLM-L6-v2")
    ///     .base_url("http://127.0.0.1:8080/v1".parse().unwrap())
    ///     .embedder()
    ///     .unwrap();
    /// let tools = (0..50).map(|n| {
    ///     Tool::new(format!("tool_{n}"), format!("Tool number {n}."), json!({"type": "object"}), |_| async { "ok" })
    /// });
    /// let toolkit = Toolkit::from_tools(tools).lazy_above_with(40, Arc::new(embedder));
    /// assert_eq!(toolkit.offered().len(), 2);
    /// ```
    #[must_use]
    pub fn lazy_above_with(self, threshold: usize, embedder: Arc<dyn Embedder>) -> Toolkit {
        self.lazy(threshold, Some(embedder))
    }

    fn lazy(mut self, threshold: usize, embedder: Option<Arc<dyn Embedder>>) -> Toolkit {
        if self.tools.len() <= threshold {
            return self;
        }
        let mut router = Router::new();
        let mut names = HashMap::new();
        for tool in &self.tools {
            let (server, mcp_name) = match self.route(tool.name()) {
                Some((server, mcp_name)) => (server.unwrap_or_default(), mcp_name),
                None => ("", tool.name()),
            };
            let spec = tool.spec();
            router.add_tool(server, mcp_name, &spec.description, &spec.parameters);
            names.insert((server.to_owned(), mcp_name.to_owned()), tool.name().to_owned());
        }
        let tools = self.tools.iter().map(|tool| (tool.name().to_owned(), tool.clone())).collect();
        let router = match embedder {
            Some(embedder) => Ranker::Hybrid(HybridRouter::new(router, embedder)),
            None => Ranker::Lexical(router),
        };
        let catalog = Arc::new(Catalog { tools, router, names });
        self.offered = Some(vec![search_tool(Arc::clone(&catalog)), call_tool(catalog)]);
        self
    }
}

fn search_tool(catalog: Arc<Catalog>) -> Tool {
    let description = format!(
        "Searches the {} tools available to you and answers the best matches for what you \
         want to do, with the parameters each takes. Call it first, then call the tool you \
         need with {CALL_TOOL}.",
        catalog.tools.len()
    );
    let parameters = json!({
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "What you want to do, in a few words."},
            "limit": {"type": "integer", "minimum": 1, "maximum": MAX_HITS, "description": "How many tools to return (default 5)."},
        },
        "required": ["query"],
    });
    Tool::new(SEARCH_TOOLS, description, parameters, move |args: Value| {
        let catalog = Arc::clone(&catalog);
        async move {
            let Some(query) = args.get("query").and_then(Value::as_str) else {
                return Err("`query` is required: say in a few words what you want to do".into());
            };
            let limit = args.get("limit").and_then(Value::as_u64).unwrap_or(DEFAULT_HITS);
            let limit = usize::try_from(limit.clamp(1, MAX_HITS)).unwrap_or(5);
            Ok::<Value, String>(catalog.search(query, limit).await)
        }
    })
}

fn call_tool(catalog: Arc<Catalog>) -> Tool {
    let description = format!(
        "Calls one of the tools that {SEARCH_TOOLS} found, by its name, with arguments that \
         fit the parameters it showed."
    );
    let parameters = json!({
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": format!("The tool's name, as {SEARCH_TOOLS} gave it.")},
            "arguments": {"type": "object", "description": "The tool's arguments."},
        },
        "required": ["name"],
    });
    Tool::new(CALL_TOOL, description, parameters, move |args: Value| {
        let catalog = Arc::clone(&catalog);
        async move {
            let name = args.get("name").and_then(Value::as_str).unwrap_or_default();
            let Some(tool) = catalog.tools.get(name) else {
                return Err(format!(
                    "there is no tool named {name:?}; call {SEARCH_TOOLS} to find the tool's name"
                ));
            };
            let arguments = args.get("arguments").cloned().unwrap_or_else(|| json!({}));
            tool.call(&arguments.to_string()).await
        }
    })
}

/// The lexical router, or the hybrid one.
enum Ranker {
    Lexical(Router),
    Hybrid(HybridRouter),
}

impl Catalog {
    /// The best `limit` tools for `query`, as the search tool answers them.
    async fn search(&self, query: &str, limit: usize) -> Value {
        let ranked: Vec<Hit> = match &self.router {
            Ranker::Lexical(router) => router.rank(query, limit),
            Ranker::Hybrid(router) => router.rank(query, limit).await,
        };
        let hits: Vec<Value> = ranked
            .into_iter()
            .filter_map(|hit| {
                let name = self.names.get(&(hit.server.clone(), hit.tool.clone()))?;
                let spec = self.tools.get(name)?.spec();
                let why: Vec<String> = hit.why.iter().map(ToString::to_string).collect();
                let mut found = json!({
                    "name": name,
                    "description": spec.description,
                    "parameters": spec.parameters,
                    "why": why,
                });
                if let Some(similarity) = hit.similarity {
                    found["similarity"] = json!((similarity * 1000.0).round() / 1000.0);
                }
                Some(found)
            })
            .collect();
        if hits.is_empty() {
            json!({"tools": [], "hint": "no tool matched these words; try other words"})
        } else {
            json!({"tools": hits})
        }
    }
}
