//! [`ArxivServer`]: an MCP server for arXiv, the Rust counterpart of the seed's
//! `arxiv-mcp-server`.
//!
//! Tools: `search_papers`, `get_abstract`, `download_paper` (stores the paper's text under the
//! storage directory), `list_papers` and `read_paper` (both over the stored papers). Failures of
//! arXiv or of the input come back as `is_error` results whose text says what to do, so the model
//! reading them can recover.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::{ServerHandler, tool, tool_handler, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use tracing::Instrument;

use super::api::{ArxivApi, ArxivError, Sort, checked_id, html_text};
use super::atom::Paper;

/// The arXiv MCP server. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ArxivServer {
    api: ArxivApi,
    storage: PathBuf,
    tool_router: ToolRouter<ArxivServer>,
}

/// Arguments of `search_papers`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchArgs {
    /// What to search for, in words.
    pub query: String,
    /// How many papers to return (1 to 50).
    #[serde(default = "default_max_results")]
    pub max_results: u32,
    /// `relevance` (default) or `date` (newest first).
    #[serde(default)]
    pub sort: Sort,
    /// Only papers in these arXiv categories, such as `cs.CL` or `cs.AI`.
    #[serde(default)]
    pub categories: Vec<String>,
}

fn default_max_results() -> u32 {
    10
}

/// Arguments of the tools that take one paper.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct PaperArgs {
    /// The arXiv id, such as `2401.01234` or `2401.01234v2`.
    pub paper_id: String,
}

#[tool_router]
impl ArxivServer {
    /// A server asking `api`, storing downloaded papers under `storage` (created when needed).
    pub fn new(api: ArxivApi, storage: impl Into<PathBuf>) -> Self {
        ArxivServer { api, storage: storage.into(), tool_router: Self::tool_router() }
    }

    /// Where downloaded papers are stored.
    pub fn storage(&self) -> &Path {
        &self.storage
    }

    #[tool(
        description = "Search arXiv for papers. Returns, for each paper, its id, title, authors, publication date, categories and abstract."
    )]
    async fn search_papers(&self, Parameters(args): Parameters<SearchArgs>) -> CallToolResult {
        let search = self.api.search(&args.query, args.max_results, args.sort, &args.categories);
        let span = tracing::info_span!("search_papers", query = %args.query);
        match search.instrument(span).await {
            Ok(feed) => json_result(&serde_json::json!({
                "total_results": feed.total_results,
                "papers": feed.papers.iter().map(paper_json).collect::<Vec<_>>(),
            })),
            Err(err) => arxiv_error(&err),
        }
    }

    #[tool(description = "The title, authors, dates, categories and abstract of one arXiv paper.")]
    async fn get_abstract(&self, Parameters(args): Parameters<PaperArgs>) -> CallToolResult {
        match self.api.paper(&args.paper_id).await {
            Ok(paper) => json_result(&paper_json(&paper)),
            Err(err) => arxiv_error(&err),
        }
    }

    #[tool(
        description = "Download a paper's full text so that read_paper can return it. Papers already downloaded are not fetched again."
    )]
    async fn download_paper(&self, Parameters(args): Parameters<PaperArgs>) -> CallToolResult {
        let id = match checked_id(&args.paper_id) {
            Ok(id) => id.to_owned(),
            Err(err) => return arxiv_error(&err),
        };
        let path = self.paper_path(&id);
        if tokio::fs::try_exists(&path).await.unwrap_or(false) {
            return json_result(&serde_json::json!({
                "status": "success",
                "message": format!("paper {id} was already downloaded; read it with read_paper"),
            }));
        }
        let html = match self.api.html(&id).await {
            Ok(html) => html,
            Err(ArxivError::NotFound(_)) => {
                return error_result(format!(
                    "arXiv has no HTML rendering of {id}; use get_abstract for its abstract"
                ));
            }
            Err(err) => return arxiv_error(&err),
        };
        let text = html_text(&html);
        if let Err(err) = self.store(&path, &text).await {
            return error_result(format!(
                "cannot store paper {id} under {}: {err}",
                self.storage.display()
            ));
        }
        json_result(&serde_json::json!({
            "status": "success",
            "message": format!("paper {id} downloaded ({} characters); read it with read_paper", text.chars().count()),
        }))
    }

    #[tool(description = "The ids of the papers downloaded so far.")]
    async fn list_papers(&self) -> CallToolResult {
        // Only files named `ID.md` whose ID is an arXiv id: never a partial write (see `store`).
        let mut ids = Vec::new();
        if let Ok(mut dir) = tokio::fs::read_dir(&self.storage).await {
            while let Ok(Some(entry)) = dir.next_entry().await {
                if !entry.file_type().await.is_ok_and(|kind| kind.is_file()) {
                    continue;
                }
                let name = entry.file_name().to_string_lossy().into_owned();
                let id = name.strip_suffix(".md").map(|stem| stem.replacen('_', "/", 1));
                if let Some(id) = id.filter(|id| checked_id(id).is_ok()) {
                    ids.push(id);
                }
            }
        }
        ids.sort();
        json_result(&serde_json::json!({ "total_papers": ids.len(), "papers": ids }))
    }

    #[tool(description = "The full text of a downloaded paper (call download_paper first).")]
    async fn read_paper(&self, Parameters(args): Parameters<PaperArgs>) -> CallToolResult {
        let id = match checked_id(&args.paper_id) {
            Ok(id) => id,
            Err(err) => return arxiv_error(&err),
        };
        match tokio::fs::read_to_string(self.paper_path(id)).await {
            Ok(text) => CallToolResult::success(vec![ContentBlock::text(text)]),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => error_result(format!(
                "paper {id} is not downloaded; call download_paper with this id first"
            )),
            Err(err) => error_result(format!("cannot read paper {id}: {err}")),
        }
    }

    /// The file of a paper. `id` has passed [`checked_id`]: its only possible separator is the
    /// `/` of old-style ids (`hep-th/9901001`), stored as `_`, so the file is inside `storage`.
    fn paper_path(&self, id: &str) -> PathBuf {
        self.storage.join(format!("{}.md", id.replace('/', "_")))
    }

    /// Writes `text` to `path` through a temporary file renamed into place, so a paper is listed
    /// and read whole or not at all: the temporary file's name (`.ID.md.PID-N.partial`) is never
    /// listed, even when a crash leaves it behind, and no two writers share one.
    async fn store(&self, path: &Path, text: &str) -> std::io::Result<()> {
        static WRITES: AtomicU64 = AtomicU64::new(0);
        tokio::fs::create_dir_all(&self.storage).await?;
        let name = path.file_name().map(|name| name.to_string_lossy()).unwrap_or_default();
        let partial = self.storage.join(format!(
            ".{name}.{}-{}.partial",
            std::process::id(),
            WRITES.fetch_add(1, Ordering::Relaxed)
        ));
        let written = async {
            tokio::fs::write(&partial, text).await?;
            tokio::fs::rename(&partial, path).await
        }
        .await;
        if written.is_err() {
            let _ = tokio::fs::remove_file(&partial).await;
        }
        written
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for ArxivServer {
    fn get_info(&self) -> ServerConfig {
        let mut info = ServerConfig::new(ServerCapabilities::builder().enable_tools().build());
        info.server_info = Implementation::new("arxiv-mcp-server", env!("CARGO_PKG_VERSION"));
        info.instructions = Some(
            "Search arXiv with search_papers, read abstracts with get_abstract; download_paper, \
             then read_paper, for a paper's full text."
                .to_owned(),
        );
        info
    }
}

fn paper_json(paper: &Paper) -> serde_json::Value {
    serde_json::json!({
        "id": paper.id,
        "title": paper.title,
        "authors": paper.authors,
        "published": paper.published,
        "categories": paper.categories,
        "abstract": paper.summary,
        "pdf_url": paper.pdf_url,
    })
}

fn json_result(value: &serde_json::Value) -> CallToolResult {
    let text = serde_json::to_string(value).unwrap_or_else(|err| err.to_string());
    CallToolResult::success(vec![ContentBlock::text(text)])
}

fn error_result(message: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message)])
}

fn arxiv_error(err: &ArxivError) -> CallToolResult {
    tracing::warn!("arXiv tool failed: {err}");
    error_result(err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(storage: &Path) -> ArxivServer {
        let api = ArxivApi::at("http://127.0.0.1:1/".parse().unwrap(), std::time::Duration::ZERO)
            .unwrap();
        ArxivServer::new(api, storage)
    }

    async fn listed(server: &ArxivServer) -> serde_json::Value {
        let result = server.list_papers().await;
        let text = result.content[0].as_text().unwrap().text.clone();
        serde_json::from_str(&text).unwrap()
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn a_stored_paper_is_renamed_into_place_and_no_partial_file_stays() {
        let storage = tempfile::tempdir().unwrap();
        let server = server(storage.path());
        let path = server.paper_path("2611.01234v1");
        server.store(&path, "the text").await.unwrap();
        assert_eq!(names(storage.path()), ["2611.01234v1.md"]);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "the text");
        let old_style = server.paper_path("hep-th/9901001");
        server.store(&old_style, "old").await.unwrap();
        let listed = listed(&server).await;
        assert_eq!(listed["papers"], serde_json::json!(["2611.01234v1", "hep-th/9901001"]));
    }

    #[tokio::test]
    async fn partial_and_foreign_files_are_never_listed() {
        let storage = tempfile::tempdir().unwrap();
        for name in [
            ".2611.01234v1.md.4242-0.partial",
            "2611.01234v1.md.partial",
            "2611.01234v1.md.tmp",
            "2611.01234v1.tmp",
            "notes.md",
            "..md",
        ] {
            std::fs::write(storage.path().join(name), "half a paper").unwrap();
        }
        let server = server(storage.path());
        assert_eq!(listed(&server).await, serde_json::json!({"total_papers": 0, "papers": []}));
        let read =
            server.read_paper(Parameters(PaperArgs { paper_id: "2611.01234v1".into() })).await;
        assert_eq!(read.is_error, Some(true));
    }

    #[tokio::test]
    async fn a_failed_write_leaves_nothing_behind() {
        let storage = tempfile::tempdir().unwrap();
        let server = server(storage.path());
        // The target is a directory: the rename fails after the temporary file was written.
        let path = server.paper_path("2611.01234v1");
        std::fs::create_dir_all(path.join("occupied")).unwrap();
        assert!(server.store(&path, "the text").await.is_err());
        assert_eq!(names(storage.path()), ["2611.01234v1.md"]);
        assert_eq!(listed(&server).await["total_papers"], 0);
    }
}
