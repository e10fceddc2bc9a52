//! A tool router: which (server, tool) pairs fit a request, and why. Lexical ([`Router`]), with
//! an optional semantic stage over an embeddings endpoint ([`HybridRouter`]).

mod analyze;
mod examples;
mod index;
mod lexicon;
mod semantic;
#[cfg(test)]
mod sweep;

pub use examples::{ExampleError, ExampleWeights};
pub use semantic::{EmbedError, Embedder, EmbeddingConfig, Fusion, HybridRouter, OpenAiEmbedder};

pub(crate) use index::is_time_zone;

use std::fmt;
use std::sync::OnceLock;

use mcp_session::rmcp::model::Tool;
use serde::Serialize;
use serde_json::Value;

use self::analyze::Mode;
use self::index::{Index, ToolDoc};

/// Ranks the tools of many MCP servers for a request written in plain words.
///
/// Add each server's tools ([`add_server`](Self::add_server), or one tool from plain parts with
/// [`add_tool`](Self::add_tool)), then [`rank`](Self::rank) requests. Each [`Hit`] says which
/// request words matched which part of the tool ([`Match`]).
///
/// ```
/// use std::sync::Arc;
///
/// use agent_core::Router;
/// use agent_core::mcp_session::rmcp::model::Tool;
/// use serde_json::json;
///
/// let schema = |value: serde_json::Value| Arc::new(value.as_object().cloned().unwrap_or_default());
/// let time = [Tool::new(
///     "get_current_time",
///     "Get the current time in a specific timezone.",
///     schema(json!({"type": "object", "properties": {
///         "timezone": {"type": "string", "description": "IANA timezone name, such as Europe/London."}
///     }})),
/// )];
/// let papers = [Tool::new(
///     "search_papers",
///     "Search arXiv for papers matching a query.",
///     schema(json!({"type": "object", "properties": {"query": {"type": "string"}}})),
/// )];
///
/// let mut router = Router::new();
/// router.add_server("time", &time).add_server("arxiv", &papers);
/// let hits = router.rank("What time is it in London?", 3);
/// assert_eq!((hits[0].server.as_str(), hits[0].tool.as_str()), ("time", "get_current_time"));
/// let why: Vec<String> = hits[0].why.iter().map(ToString::to_string).collect();
/// assert!(why.contains(&"time ~ name:get_current_time".to_owned()), "{why:?}");
/// assert!(why.contains(&"london ~ schema:London".to_owned()), "{why:?}");
///
/// // Synonyms: "articles" is a built-in synonym of "papers".
/// let hits = router.rank("find articles on protein folding", 1);
/// assert_eq!(hits[0].tool, "search_papers");
/// assert_eq!(hits[0].why[0].to_string(), "find ~ name:search_papers (via search, built-in)");
/// ```
///
/// # The model
///
/// A tool is a document with six fields: the **server** name, the tool **name**, its **title**,
/// its **param**eter names, its **description**, and the **schema** prose (parameter
/// descriptions and titles, enum, default and example values; not the schema's own title, which
/// is mostly a type name). Text becomes terms by:
///
/// - splitting identifiers: `snake_case`, `camelCase`, `kebab-case` and `dotted.names` are words
///   (capitalised words with short humps, such as `LaTeX` or `LeCun`, stay whole);
/// - lowercasing and dropping English stop words, request filler ("please", "could"), indefinite
///   pronouns ("everything") and URL noise ("https", "www", "com");
/// - splitting compounds whose halves are words of the catalog (`timezone` → `time`, `zone`,
///   besides `timezone` itself);
/// - stemming with the English Snowball stemmer (`papers`, `paper` → `paper`).
///
/// A title only adds the words its name lacks, and prose that names another tool (`Use
/// read_text_file instead`) does not count for this one.
///
/// **Tool score.** BM25F (k1 = 0.495): a term's frequencies in the fields are combined with
/// weights and per-field length normalisation before saturation, so a word in a short tool name
/// counts far more than the same word deep in a long description:
///
/// | field       | weight | b     |
/// |-------------|--------|-------|
/// | name        | 1.5    | 0.5   |
/// | title       | 2.0    | 0.5   |
/// | server      | 2.25   | 0     |
/// | param       | 1.125  | 0.5   |
/// | description | 0.675  | 0.825 |
/// | schema      | 0.5    | 0.21  |
///
/// A description's first sentence says what the tool does; the words of its later sentences
/// (caveats, advice, return formats) count half, and its first word, mostly the verb
/// ("Unstages all staged changes", "Records changes to the repository"), counts double. The
/// constants were set by coordinate ascent on the labelled requests of the tuning splits
/// (`tests/data`), never on the held-out one.
///
/// The inverse document frequency is `ln(1 + (N − df + 0.5)/(df + 0.5))` over the tools: never
/// negative, and close to zero for a word every tool shares, so shared words cannot outvote
/// distinctive ones.
///
/// **Server evidence.** A word that every tool of a server has (`paper` on an arXiv server) tells
/// the server apart even when it tells none of its tools apart. Each term also scores per server:
/// the share of the server's tools that have it, times its inverse document frequency over the
/// servers. A matching tool gets 2 × its server's score on top of its own.
///
/// **Name coverage.** A tool whose whole name the request says (`download_paper` for "download
/// paper 2401.04088") is a better fit than one that shares a word with it (`read_paper`): a
/// matching tool gets 2 × the share of its name's words (other than its server's name) that the
/// request says, directly or through a synonym.
///
/// **Synonyms.** Each request word may also match through a synonym, scaled down; a word scores
/// with its best variant only (its own term or one synonym), so synonyms never add up:
///
/// - **Built in** ([`SynonymSource::BuiltIn`]): a short list of general-English equivalences
///   (find/search/lookup, paper/article, commit/change, remember/save/store, time/clock,
///   file/document, folder/directory, now/current, …), weighted 0.8, used only for words the
///   catalog has.
/// - **Mined from the catalog** ([`SynonymSource::Catalog`]) when the router is built: a word of
///   a tool's names (server, name, title) and a word of its parameter names or description
///   "explain" each other when they go together in at least 2 tools and each predicts the other
///   (`P(prose word | name word)` and `P(name word | prose word)` over the tools both ≥ 0.5).
///   Tools whose prose repeats another's count once, words with digits and the schema prose are
///   left out. The 4 strongest per word are kept, weighted 0.5625 × association. On a catalog whose
///   git tools all take a `repo_path`, "repo" comes to stand for `git`;
///   [`mined_synonyms`](Self::mined_synonyms) shows what was learned.
/// - **Shapes** ([`SynonymSource::Shape`]): a request token shaped like a URL
///   (`https://example.com`) stands for `url`, an IANA time zone (`Europe/Paris`) for `timezone`,
///   a time of day (`14:45`, `9am`) for `time`, a file name (`notes.txt`, `.csv`) for `file`,
///   another path (`/home/me`) for `path`, weighted 1.116.
/// - **Joined words**: two adjacent request words written apart that make one word of the
///   catalog stand for it ("check out" for `checkout`, "re-index" for `reindex`).
///
/// **Values fill parameters.** Each request token recognised by its shape is a value that a
/// parameter can take, by the last word of the parameter's name: a time of day a `time`, an IANA
/// zone a `…timezone`, a URL a `…url`, a file name a `…file(s)` or `…path`, a path a `…path`.
/// Each parameter takes one value; a tool gets 2.5 for each value its parameters take, so
/// "14:45 Europe/Paris to America/Chicago" (three values) fits `convert_time(source_timezone,
/// target_timezone, time)` better than `get_current_time(timezone)`.
///
/// **Named values.** A request that names, as one word, a value a tool's parameter allows (an
/// `enum` or `const` value: "using WikipediaServer" for a `server_name` of `["ArxivServer",
/// "WikipediaServer"]`) points at that tool: it gets 2 more.
///
/// **Asking versus changing.** A request can ask for something to be done ("stage src/lib.rs",
/// "remember that Bob likes tea") or ask about how things are ("what changed since v1.4?", "show
/// me the log"). A tool whose annotations say it changes something (`readOnlyHint: false`) fits
/// the second kind only when the request says that tool's action. So when the request is a
/// question (it ends with `?`, or starts with a question word or an auxiliary: "what", "did",
/// "is") or is framed as one ("show me", "tell me", "give me"), such a tool's score is multiplied
/// by 0.6 unless the request says the action its name starts with (`create` of
/// `create_directory`), directly or through a synonym, in a word that is not a participle
/// ("when was it last *modified*" describes a state; it does not ask to edit). Actions that only
/// read (`get`, `list`, `read`, `search`, `fetch`, …) are exempt, and tools without annotations
/// are never demoted. The framing verbs themselves ("show" of "show me") are not request words.
///
/// A server that lists one tool under two names (the same non-empty description and schema, one
/// name inside the other: `get_links` and `wikipedia_get_links`) gives one hit, the better
/// scored name, so that the `k` hits are `k` different tools.
///
/// Only tools that match a request word themselves are returned. Ties are broken by server name,
/// then tool name, so rankings are deterministic and independent of the order tools were added.
///
/// # The baseline
///
/// [`Router::plain_bm25`] is plain BM25 (k1 = 1.2, b = 0.75) over the same text concatenated into
/// one field, split into lowercase words at anything that is not a letter or digit, with the same
/// stop words and nothing else: no stemming, no identifier or compound splitting, no field
/// weights, no synonyms. It exists as a baseline for evaluating the router.
///
/// # Cost
///
/// The index (term frequencies, field lengths, postings, mined synonyms, server evidence) is built
/// on the first [`rank`](Self::rank) after a change; a ranking then only walks the postings of
/// the request's words and their synonyms.
pub struct Router {
    mode: Mode,
    tools: Vec<ToolDoc>,
    index: OnceLock<Index>,
}

impl Router {
    /// An empty router with the lexical model.
    pub fn new() -> Self {
        Self::with_mode(Mode::Lexical)
    }

    /// An empty router with the plain BM25 baseline (see [the baseline](Router#the-baseline)).
    ///
    /// ```
    /// use agent_core::Router;
    /// use serde_json::json;
    ///
    /// let mut baseline = Router::plain_bm25();
    /// baseline.add_tool("arxiv", "search_papers", "Search arXiv for papers.", &json!({}));
    /// assert_eq!(baseline.rank("papers", 1)[0].tool, "search_papers");
    /// // No stemming: "paper" is not "papers".
    /// assert!(baseline.rank("paper", 1).is_empty());
    /// ```
    pub fn plain_bm25() -> Self {
        Self::with_mode(Mode::Plain)
    }

    fn with_mode(mode: Mode) -> Self {
        Self { mode, tools: Vec::new(), index: OnceLock::new() }
    }

    /// Adds the tools of `server`, replacing any it had before.
    pub fn add_server(&mut self, server: &str, tools: &[Tool]) -> &mut Self {
        self.tools.retain(|t| t.server != server);
        for tool in tools {
            let (params, schema) = schema_text(&Value::Object((*tool.input_schema).clone()));
            let title = tool
                .title
                .clone()
                .or_else(|| tool.annotations.as_ref().and_then(|a| a.title.clone()));
            self.push(ToolDoc {
                server: server.to_owned(),
                name: tool.name.to_string(),
                title,
                params,
                description: tool.description.as_deref().unwrap_or_default().to_owned(),
                values: enum_values(&Value::Object((*tool.input_schema).clone())),
                schema,
                changes: tool.annotations.as_ref().and_then(|a| a.read_only_hint) == Some(false),
            });
        }
        self
    }

    /// Adds one tool of `server` from plain parts (its JSON Schema may be any JSON value),
    /// replacing a tool of the same server and name.
    ///
    /// ```
    /// use agent_core::Router;
    /// use serde_json::json;
    ///
    /// let mut router = Router::new();
    /// router.add_tool(
    ///     "",
    ///     "read_file",
    ///     "Read the complete contents of a file.",
    ///     &json!({"type": "object", "properties": {"path": {"type": "string"}}}),
    /// );
    /// let hit = &router.rank("show me the document at ./notes.txt", 1)[0];
    /// assert_eq!(hit.tool, "read_file");
    /// assert_eq!(hit.why[0].to_string(), "document ~ name:read_file (via file, built-in)");
    /// ```
    pub fn add_tool(
        &mut self,
        server: &str,
        name: &str,
        description: &str,
        schema: &Value,
    ) -> &mut Self {
        let (params, prose) = schema_text(schema);
        self.push(ToolDoc {
            values: enum_values(schema),
            server: server.to_owned(),
            name: name.to_owned(),
            title: None,
            params,
            description: description.to_owned(),
            schema: prose,
            changes: false,
        });
        self
    }

    fn push(&mut self, doc: ToolDoc) {
        self.tools.retain(|t| t.server != doc.server || t.name != doc.name);
        self.tools.push(doc);
        self.index = OnceLock::new();
    }

    /// How many tools the router knows.
    pub fn len(&self) -> usize {
        self.tools.len()
    }

    /// Whether the router knows no tool.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    /// The `k` best tools for `request`, best first, each with a positive score and its
    /// explanation. Tools that match no request word are never returned.
    pub fn rank(&self, request: &str, k: usize) -> Vec<Hit> {
        self.index().rank(request, k)
    }

    /// The catalog-mined synonyms of `word` with their weights, strongest first: what the router
    /// learned from its tools (see [the model](Router#the-model)).
    ///
    /// ```
    /// use agent_core::Router;
    /// use serde_json::json;
    ///
    /// let repo = json!({"properties": {"repo_path": {"description": "Path to the Git repository."}}});
    /// let mut router = Router::new();
    /// router
    ///     .add_tool("git", "git_status", "Shows the working tree status.", &repo)
    ///     .add_tool("git", "git_log", "Shows the commit logs.", &repo);
    /// let words: Vec<String> = router.mined_synonyms("repo").into_iter().map(|(w, _)| w).collect();
    /// assert_eq!(words, ["git"]);
    /// ```
    pub fn mined_synonyms(&self, word: &str) -> Vec<(String, f64)> {
        self.index().mined_synonyms(word)
    }

    fn index(&self) -> &Index {
        self.index.get_or_init(|| Index::build(self.mode, &self.tools))
    }
}

impl Default for Router {
    fn default() -> Self {
        Self::new()
    }
}

impl Clone for Router {
    fn clone(&self) -> Self {
        Self { mode: self.mode, tools: self.tools.clone(), index: OnceLock::new() }
    }
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Router")
            .field("mode", &self.mode)
            .field("tools", &self.tools.len())
            .finish_non_exhaustive()
    }
}

/// One ranked tool.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Hit {
    /// The server's name, as added.
    pub server: String,
    /// The tool's name.
    pub tool: String,
    /// The score: higher is better; comparable only within one ranking.
    pub score: f64,
    /// Which request words matched where, in request order. Empty for a tool that only the
    /// semantic stage found ([`HybridRouter`]).
    pub why: Vec<Match>,
    /// The cosine similarity of the request's and the tool's embeddings, when a
    /// [`HybridRouter`] ranked it with its embedder (`None` for the lexical [`Router`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub similarity: Option<f64>,
    /// The tool's example nearest the request, when a [`HybridRouter`] with examples ranked it
    /// ([`HybridRouter::add_example`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
}

/// A request word that matched a field of a tool.
///
/// Displays as `word ~ field:text`, with ` (via synonym, source)` when it matched through a
/// synonym: `time ~ name:get_current_time`, `clock ~ name:get_current_time (via time, built-in)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Match {
    /// The request's word, lowercase.
    pub word: String,
    /// Where it matched.
    pub field: ToolField,
    /// The tool's text it matched, as written: the whole name for names (`get_current_time`),
    /// the word for prose (`papers`).
    pub text: String,
    /// The synonym it matched through, if not the word itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<Synonym>,
}

impl fmt::Display for Match {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ~ {}:{}", self.word, self.field, self.text)?;
        if let Some(via) = &self.via {
            write!(f, " (via {}, {})", via.word, via.source)?;
        }
        Ok(())
    }
}

/// The synonym a request word matched through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Synonym {
    /// The synonym, a word of the catalog.
    pub word: String,
    /// Where the synonym comes from.
    pub source: SynonymSource,
}

/// Where a synonym comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SynonymSource {
    /// The router's short built-in list of general-English equivalences.
    BuiltIn,
    /// Mined from the tools' names and prose when the router was built.
    Catalog,
    /// The request word's shape: a URL stands for `url`, a file name for `file`, another path
    /// for `path`.
    Shape,
}

impl fmt::Display for SynonymSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BuiltIn => "built-in",
            Self::Catalog => "catalog",
            Self::Shape => "shape",
        })
    }
}

/// A part of a tool that a request word can match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ToolField {
    /// The server's name.
    Server,
    /// The tool's name.
    Name,
    /// The tool's title.
    Title,
    /// A parameter's name.
    Param,
    /// The tool's description.
    Description,
    /// The schema's prose: parameter descriptions and titles, enum and example values.
    Schema,
    /// All of the tool's text as one field (the [plain BM25 baseline](Router::plain_bm25)).
    Text,
}

impl fmt::Display for ToolField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Server => "server",
            Self::Name => "name",
            Self::Title => "title",
            Self::Param => "param",
            Self::Description => "description",
            Self::Schema => "schema",
            Self::Text => "text",
        })
    }
}

/// The parameter names and the prose of a JSON Schema.
fn schema_text(schema: &Value) -> (Vec<String>, Vec<String>) {
    let mut params = Vec::new();
    let mut prose = Vec::new();
    walk_schema(schema, 0, &mut params, &mut prose);
    let mut seen = std::collections::HashSet::new();
    params.retain(|p| seen.insert(p.clone()));
    (params, prose)
}

/// The values a schema's `enum`s and `const`s allow, lowercased (`WikipediaServer` →
/// `wikipediaserver`).
fn enum_values(schema: &Value) -> Vec<String> {
    fn walk(value: &Value, depth: usize, out: &mut Vec<String>) {
        if depth > MAX_SCHEMA_DEPTH {
            return;
        }
        match value {
            Value::Array(items) => items.iter().for_each(|item| walk(item, depth + 1, out)),
            Value::Object(map) => {
                for (key, value) in map {
                    match (key.as_str(), value) {
                        ("enum", Value::Array(values)) => out
                            .extend(values.iter().filter_map(Value::as_str).map(str::to_lowercase)),
                        ("const", Value::String(value)) => out.push(value.to_lowercase()),
                        _ => walk(value, depth + 1, out),
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(schema, 0, &mut out);
    out.retain(|value| value.chars().count() >= 2);
    out.sort();
    out.dedup();
    out
}

/// Deep enough for real schemas, shallow enough for any stack.
const MAX_SCHEMA_DEPTH: usize = 32;

fn walk_schema(value: &Value, depth: usize, params: &mut Vec<String>, prose: &mut Vec<String>) {
    if depth > MAX_SCHEMA_DEPTH {
        return;
    }
    match value {
        Value::Array(items) => {
            for item in items {
                walk_schema(item, depth + 1, params, prose);
            }
        }
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    // A schema's own title is mostly a type name (`get_current_timeArguments`).
                    ("title", _) if depth == 0 => {}
                    ("description" | "title" | "const" | "default", Value::String(text)) => {
                        prose.push(text.clone());
                    }
                    ("enum" | "examples", Value::Array(values)) => {
                        prose.extend(values.iter().filter_map(Value::as_str).map(str::to_owned))
                    }
                    ("properties", Value::Object(properties)) => {
                        for (name, property) in properties {
                            params.push(name.clone());
                            walk_schema(property, depth + 1, params, prose);
                        }
                    }
                    (
                        "items"
                        | "anyOf"
                        | "oneOf"
                        | "allOf"
                        | "additionalProperties"
                        | "not"
                        | "prefixItems",
                        _,
                    ) => walk_schema(value, depth + 1, params, prose),
                    ("$defs" | "definitions", Value::Object(definitions)) => {
                        for definition in definitions.values() {
                            walk_schema(definition, depth + 1, params, prose);
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn router() -> Router {
        let mut router = Router::new();
        let repo = json!({"type": "object", "properties": {
            "repo_path": {"type": "string", "description": "Path to the Git repository."}
        }});
        router
            .add_tool("time", "get_current_time", "Get current time in a specific timezone.", &json!({
                "type": "object",
                "properties": {"timezone": {"type": "string", "description": "IANA timezone name (e.g. 'America/New_York', 'Asia/Tokyo')."}}
            }))
            .add_tool("time", "convert_time", "Convert time between timezones.", &json!({
                "type": "object",
                "properties": {
                    "source_timezone": {"type": "string"},
                    "time": {"type": "string", "description": "Time to convert in 24-hour format (HH:MM)."},
                    "target_timezone": {"type": "string"}
                }
            }))
            .add_tool("git", "git_log", "Shows the commit logs.", &repo)
            .add_tool("git", "git_status", "Shows the working tree status.", &repo)
            .add_tool("git", "git_diff", "Shows differences between branches or commits.", &repo)
            .add_tool("arxiv", "search_papers", "Search for papers on arXiv with advanced filtering.", &json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string"},
                    "categories": {"type": "array", "items": {"type": "string", "enum": ["cs.AI", "cs.LG"]}}
                }
            }))
            .add_tool("arxiv", "download_paper", "Download a paper and its content by arXiv id.", &json!({
                "type": "object", "properties": {"paper_id": {"type": "string"}}
            }));
        router
    }

    #[test]
    fn a_question_does_not_pick_a_tool_that_changes_what_it_asks_about() {
        use mcp_session::rmcp::model::ToolAnnotations;
        let schema =
            |value: Value| std::sync::Arc::new(value.as_object().cloned().unwrap_or_default());
        let path = || schema(json!({"type": "object", "properties": {"path": {"type": "string"}}}));
        let tools = [
            Tool::new("create_directory", "Create a new directory.", path())
                .with_annotations(ToolAnnotations::new().read_only(false)),
            Tool::new("list_directory", "Get a listing of the files in a path.", path())
                .with_annotations(ToolAnnotations::new().read_only(true)),
        ];
        let mut annotated = Router::new();
        annotated.add_server("fs", &tools);
        let ask = "what's in my photos directory?";
        assert_eq!(top(&annotated, ask).1, "list_directory");
        assert_eq!(top(&annotated, "show me the photos directory").1, "list_directory");
        // Asked for, or not a question: no demotion.
        assert_eq!(top(&annotated, "can you create a photos directory?").1, "create_directory");
        assert_eq!(top(&annotated, "create a photos directory").1, "create_directory");
        // Without annotations nothing is known to change anything.
        let plain: Vec<Tool> = tools
            .iter()
            .cloned()
            .map(|mut tool| {
                tool.annotations = None;
                tool
            })
            .collect();
        let mut unannotated = Router::new();
        unannotated.add_server("fs", &plain);
        let demoted = annotated.rank(ask, 2);
        let kept = unannotated.rank(ask, 2);
        let score = |hits: &[Hit], tool: &str| {
            hits.iter().find(|h| h.tool == tool).map(|h| h.score).expect("ranked")
        };
        assert!(score(&demoted, "create_directory") < score(&kept, "create_directory"));
        assert!((score(&demoted, "list_directory") - score(&kept, "list_directory")).abs() < 1e-9);
    }

    #[test]
    fn a_tool_listed_under_two_names_is_one_hit() {
        let mut router = Router::new();
        let title = json!({"type": "object", "properties": {"title": {"type": "string"}}});
        for name in ["get_links", "wiki_get_links"] {
            router.add_tool("wiki", name, "Get the links of an article.", &title);
        }
        router.add_tool("wiki", "get_sections", "Get the sections of an article.", &title);
        let tools: Vec<String> =
            router.rank("links of an article", 3).into_iter().map(|h| h.tool).collect();
        assert_eq!(tools, ["get_links", "get_sections"]);
        // Same words under unrelated names are two tools.
        let mut two = Router::new();
        two.add_tool("s", "a", "Echo a message.", &json!({})).add_tool(
            "s",
            "b",
            "Echo a message.",
            &json!({}),
        );
        assert_eq!(two.rank("echo", 3).len(), 2);
    }

    #[test]
    fn values_fill_parameters_and_words_written_apart_join() {
        let mut router = Router::new();
        router
            .add_tool(
                "t",
                "get_time",
                "Get the time in a zone.",
                &json!({
                    "type": "object", "properties": {"timezone": {"type": "string"}}
                }),
            )
            .add_tool(
                "t",
                "convert_time",
                "Convert a time between zones.",
                &json!({
                    "type": "object", "properties": {
                        "source_timezone": {"type": "string"},
                        "target_timezone": {"type": "string"},
                        "time": {"type": "string"}
                    }
                }),
            )
            .add_tool("git", "git_checkout", "Switches branches.", &json!({}))
            .add_tool("arxiv", "check_alerts", "Check saved alerts.", &json!({}));
        // Two zones and a time of day fill convert_time's three parameters.
        assert_eq!(
            top(&router, "time for 14:45 Europe/Paris in America/Chicago").1,
            "convert_time"
        );
        // "check out" is `checkout`.
        assert_eq!(top(&router, "check out feature/login").1, "git_checkout");
    }

    #[test]
    fn a_named_value_points_at_the_tool_that_allows_it() {
        let mut router = Router::new();
        router
            .add_tool("", "check_servers", "Checks the health of the MCP servers.", &json!({}))
            .add_tool(
                "",
                "run_query",
                "You are a tool.\nRuns the query on one of the servers: ArxivServer for papers, \
                 WikipediaServer for encyclopedia articles.",
                &json!({"type": "object", "properties": {
                    "server_name": {"type": "string", "enum": ["ArxivServer", "WikipediaServer"]}
                }}),
            );
        assert_eq!(top(&router, "are the servers up?").1, "check_servers");
        assert_eq!(
            top(&router, "get the news from Wikipedia using WikipediaServer").1,
            "run_query"
        );
        assert_eq!(
            enum_values(&json!({"enum": ["A", "bb", 3], "x": {"const": "Cc"}})),
            ["bb", "cc"]
        );
    }

    fn top(router: &Router, request: &str) -> (String, String) {
        let hits = router.rank(request, 1);
        let hit = hits.first().expect("a hit");
        (hit.server.clone(), hit.tool.clone())
    }

    #[test]
    fn routes_by_names_stems_and_synonyms() {
        let router = router();
        assert_eq!(top(&router, "what time is it in Tokyo").1, "get_current_time");
        assert_eq!(top(&router, "convert 3pm from London time to New York").1, "convert_time");
        assert_eq!(top(&router, "show me the history of commits").1, "git_log");
        assert_eq!(top(&router, "find articles about transformers").1, "search_papers");
        assert_eq!(top(&router, "what is the status of my repo?").1, "git_status");
        assert_eq!(top(&router, "grab the PDF of paper 2401.00001").1, "download_paper");
    }

    #[test]
    fn explains_matches() {
        let router = router();
        let hits = router.rank("what time is it in Tokyo", 1);
        let why: Vec<String> = hits[0].why.iter().map(ToString::to_string).collect();
        assert_eq!(
            why,
            [
                "time ~ server:time",
                "time ~ name:get_current_time",
                "time ~ description:time",
                "tokyo ~ schema:Tokyo"
            ]
        );
        let json = serde_json::to_value(&hits[0]).expect("serializable");
        assert_eq!(
            json["why"][1],
            json!({"word": "time", "field": "name", "text": "get_current_time"})
        );
    }

    #[test]
    fn mines_synonyms_from_the_catalog() {
        let router = router();
        let repo: Vec<String> = router.mined_synonyms("repo").into_iter().map(|r| r.0).collect();
        assert!(repo.contains(&"git".to_owned()), "{repo:?}");
        let hits = router.rank("repository", 3);
        assert!(hits.iter().all(|h| h.server == "git"), "{hits:?}");
    }

    #[test]
    fn ties_break_by_server_then_tool() {
        let mut router = Router::new();
        for server in ["b", "a"] {
            for tool in ["y", "x"] {
                router.add_tool(server, tool, "Echo a message.", &json!({}));
            }
        }
        let hits: Vec<(String, String)> =
            router.rank("echo", 9).into_iter().map(|h| (h.server, h.tool)).collect();
        let expected = [("a", "x"), ("a", "y"), ("b", "x"), ("b", "y")]
            .map(|(s, t)| (s.to_owned(), t.to_owned()));
        assert_eq!(hits, expected);
    }

    #[test]
    fn adding_replaces_and_rebuilds() {
        let mut router = router();
        let n = router.len();
        assert_eq!(router.rank("working tree", 1)[0].tool, "git_status");
        router.add_tool("git", "git_status", "Nothing useful.", &json!(null));
        assert_eq!(router.len(), n);
        assert!(router.rank("working tree", 1).is_empty());
        router.add_server("git", &[]);
        assert_eq!(router.len(), n - 3);
        assert!(router.rank("", 5).is_empty());
        assert!(Router::new().rank("anything", 5).is_empty());
        assert!(router.rank("time", 0).is_empty());
    }

    #[test]
    fn baseline_is_plain() {
        let mut baseline = Router::plain_bm25();
        baseline.add_tool("time", "get_current_time", "Get current time.", &json!({})).add_tool(
            "arxiv",
            "search_papers",
            "Search for papers.",
            &json!({}),
        );
        assert_eq!(baseline.rank("search", 1)[0].why[0].to_string(), "search ~ text:search_papers");
        assert!(baseline.rank("paper", 1).is_empty());
        assert!(baseline.rank("clock", 1).is_empty());
    }

    #[test]
    fn schema_text_reads_names_and_prose() {
        let (params, prose) = schema_text(&json!({
            "description": "top",
            "properties": {
                "mode": {"enum": ["fast", "slow", 3], "description": "How."},
                "items": {"type": "array", "items": {"properties": {"inner": {"title": "Inner"}}}}
            },
            "$defs": {"x": {"properties": {"mode": {}}}}
        }));
        let sorted = |mut v: Vec<String>| {
            v.sort();
            v
        };
        assert_eq!(sorted(params), ["inner", "items", "mode"]);
        assert_eq!(sorted(prose), ["How.", "Inner", "fast", "slow", "top"]);
        let mut deep = json!({"description": "bottom"});
        for _ in 0..200 {
            deep = json!({"items": deep});
        }
        assert_eq!(schema_text(&deep), (vec![], vec![]));
    }
}
