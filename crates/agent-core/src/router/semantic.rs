//! The optional semantic stage: tool and request embeddings from an OpenAI-compatible
//! `POST /v1/embeddings` endpoint, fused with the lexical scores.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::embeddings::{CreateEmbeddingRequest, EmbeddingInput};
use futures::future::BoxFuture;
use url::Url;

use super::examples::{Example, ExampleError, ExampleWeights};
use super::{Hit, Router};

/// Why embeddings could not be had. A [`HybridRouter`] that meets one ranks lexically
/// ([`HybridRouter::rank`]) or returns it ([`HybridRouter::try_rank`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EmbedError {
    /// The endpoint failed or answered with an error (after async-openai's retries of 429 and
    /// 5xx), or its answer was not an embeddings answer.
    #[error("embeddings endpoint: {}{message}", status.map(|s| format!("HTTP {s}: ")).unwrap_or_default())]
    Endpoint {
        /// The HTTP status, when there was an answer.
        status: Option<u16>,
        /// What went wrong.
        message: String,
    },
    /// One request to the endpoint took longer than this.
    #[error("embeddings endpoint: no answer within {0:?}")]
    Timeout(Duration),
    /// The answer had another number of vectors than texts sent, or vectors of different
    /// lengths.
    #[error("embeddings endpoint: {0}")]
    Shape(String),
    /// The embedder could not be set up (its HTTP client).
    #[error("embedder setup: {0}")]
    Config(String),
}

/// Turns texts into vectors, one per text, in order, all of one length.
///
/// [`OpenAiEmbedder`] calls any OpenAI-compatible `POST /v1/embeddings` endpoint; tests and other
/// backends implement this trait.
///
/// ```
/// use agent_core::{EmbedError, Embedder};
/// use futures::future::BoxFuture;
///
/// /// Counts the letters a, b and c.
/// #[derive(Debug)]
/// struct Letters;
///
/// impl Embedder for Letters {
///     fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbedError>> {
///         Box::pin(async move {
///             Ok(texts
///                 .iter()
///                 .map(|t| "abc".chars().map(|c| t.matches(c).count() as f32).collect())
///                 .collect())
///         })
///     }
/// }
/// # let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let vectors = runtime.block_on(Letters.embed(&["aab".to_owned()])).unwrap();
/// assert_eq!(vectors, [vec![2.0, 1.0, 0.0]]);
/// ```
pub trait Embedder: Send + Sync + fmt::Debug {
    /// One vector per text, in the order of `texts`.
    fn embed<'a>(&'a self, texts: &'a [String])
    -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbedError>>;
}

/// Settings of an [`OpenAiEmbedder`]: the model, the endpoint, the key, how many texts go in
/// one request and how long one request may take.
///
/// ```
/// use std::time::Duration;
///
/// use agent_core::EmbeddingConfig;
///
/// let config = EmbeddingConfig::new("all-MiniLM-L6-v2")
///     .base_url("http://127.0.0.1:8080/v1".parse().unwrap())
///     .batch_size(32)
///     .request_timeout(Duration::from_secs(10));
/// let embedder = config.embedder().unwrap();
/// assert!(format!("{embedder:?}").contains("all-MiniLM-L6-v2"));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct EmbeddingConfig {
    /// The model's name, as the endpoint knows it.
    pub model: String,
    /// The endpoint's base URL, the part before `/embeddings` (`http://127.0.0.1:8080/v1`);
    /// OpenAI's when unset. A trailing slash is fine.
    pub base_url: Option<Url>,
    /// The API key, sent as a bearer token.
    pub api_key: Option<String>,
    /// At most this many texts per request (default 64).
    pub batch_size: usize,
    /// How long one request may take, retries included (default 30 s).
    pub request_timeout: Duration,
}

impl fmt::Debug for EmbeddingConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddingConfig")
            .field("model", &self.model)
            .field(
                "base_url",
                &self
                    .base_url
                    .as_ref()
                    .map(|u| mcp_session::mcp_config::redact::redact_url_text(u.as_str())),
            )
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("batch_size", &self.batch_size)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

impl EmbeddingConfig {
    /// Settings for `model` on OpenAI's endpoint, 64 texts a request, 30 s a request.
    pub fn new(model: impl Into<String>) -> Self {
        Self {
            model: model.into(),
            base_url: None,
            api_key: None,
            batch_size: 64,
            request_timeout: Duration::from_secs(30),
        }
    }

    /// Any OpenAI-compatible endpoint: its base URL, the part before `/embeddings`.
    pub fn base_url(mut self, url: Url) -> Self {
        self.base_url = Some(url);
        self
    }

    /// The API key.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// At most `size` texts per request (at least 1).
    pub fn batch_size(mut self, size: usize) -> Self {
        self.batch_size = size.max(1);
        self
    }

    /// How long one request may take, retries included.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The embedder for these settings.
    ///
    /// # Errors
    /// [`EmbedError::Config`] when the HTTP client cannot be set up.
    pub fn embedder(&self) -> Result<OpenAiEmbedder, EmbedError> {
        OpenAiEmbedder::new(self.clone())
    }
}

/// An [`Embedder`] over an OpenAI-compatible `POST /v1/embeddings` endpoint (OpenAI, vLLM,
/// llama.cpp's server with `--embedding`, Ollama, a local sentence-transformers server), through
/// async-openai: texts go in batches of [`EmbeddingConfig::batch_size`], each request bounded by
/// [`EmbeddingConfig::request_timeout`], with async-openai's retries of 429 and 5xx.
#[derive(Clone)]
pub struct OpenAiEmbedder {
    client: Client<OpenAIConfig>,
    config: EmbeddingConfig,
}

impl fmt::Debug for OpenAiEmbedder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiEmbedder").field("config", &self.config).finish_non_exhaustive()
    }
}

impl OpenAiEmbedder {
    /// An embedder with `config`'s settings.
    ///
    /// # Errors
    /// [`EmbedError::Config`] when the HTTP client cannot be set up.
    pub fn new(config: EmbeddingConfig) -> Result<Self, EmbedError> {
        let (client, _) =
            crate::llm::openai_client(config.base_url.as_ref(), config.api_key.as_deref())
                .map_err(|err| EmbedError::Config(err.to_string()))?;
        Ok(Self { client, config })
    }

    async fn batch(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let request = CreateEmbeddingRequest {
            model: self.config.model.clone(),
            input: EmbeddingInput::StringArray(texts.to_vec()),
            ..CreateEmbeddingRequest::default()
        };
        let timeout = self.config.request_timeout;
        let answer = tokio::time::timeout(timeout, self.client.embeddings().create(request))
            .await
            .map_err(|_| EmbedError::Timeout(timeout))?
            .map_err(embed_error)?;
        let mut data = answer.data;
        if data.len() != texts.len() {
            return Err(EmbedError::Shape(format!(
                "{} vectors for {} texts",
                data.len(),
                texts.len()
            )));
        }
        data.sort_by_key(|e| e.index);
        Ok(data.into_iter().map(|e| e.embedding).collect())
    }
}

impl Embedder for OpenAiEmbedder {
    fn embed<'a>(
        &'a self,
        texts: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbedError>> {
        Box::pin(async move {
            let mut out = Vec::with_capacity(texts.len());
            for chunk in texts.chunks(self.config.batch_size.max(1)) {
                out.extend(self.batch(chunk).await?);
            }
            tracing::debug!(texts = texts.len(), model = %self.config.model, "embedded");
            Ok(out)
        })
    }
}

/// Our error for async-openai's, in words that name no library type.
fn embed_error(err: OpenAIError) -> EmbedError {
    let (status, message) = crate::llm::failure(err, "an embeddings answer");
    EmbedError::Endpoint { status, message }
}

/// How a [`HybridRouter`] combines each tool's lexical score with its semantic similarity.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Fusion {
    /// `lexical × s/max(s) + (1 − lexical) × (c − min c)/(max c − min c)`: the lexical score `s`
    /// over the best one, and the cosine similarity `c` rescaled to [0, 1] over the catalog.
    Weighted {
        /// The lexical share, in [0, 1]: 1 is the lexical router alone, 0 the embeddings alone.
        lexical: f64,
    },
    /// Reciprocal-rank fusion: `lexical / (k + lexical rank) + (1 − lexical) / (k + semantic
    /// rank)`, ranks from 1; a tool no request word matches has no lexical term.
    Rrf {
        /// The rank offset (60 in the literature).
        k: f64,
        /// The lexical share, in [0, 1].
        lexical: f64,
    },
}

impl Default for Fusion {
    /// `Weighted { lexical: 0.6 }`: of the settings tried (weighted, lexical share 0 to 1 by
    /// tenths; reciprocal-rank fusion, k 5, 20 or 60, share 0.3, 0.5 or 0.7), the best on the
    /// 464 tuning requests of `tests/data` with all-MiniLM-L6-v2, for tool top-1 and top-3
    /// alike (docs/agents.md, "Routing").
    fn default() -> Self {
        Fusion::Weighted { lexical: 0.6 }
    }
}

impl Fusion {
    /// One fused score per tool; positive for every tool with a lexical score or a similarity
    /// above the catalog's lowest.
    pub(super) fn fuse(self, lexical: &[f64], similarity: &[f64]) -> Vec<f64> {
        match self {
            Fusion::Weighted { lexical: share } => {
                let share = share.clamp(0.0, 1.0);
                let best = lexical.iter().copied().fold(0.0_f64, f64::max);
                let (low, high) = similarity
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &c| (l.min(c), h.max(c)));
                let spread = high - low;
                lexical
                    .iter()
                    .zip(similarity)
                    .map(|(&s, &c)| {
                        let s = if best > 0.0 { s / best } else { 0.0 };
                        let c = if spread > 0.0 { (c - low) / spread } else { 0.0 };
                        share * s + (1.0 - share) * c
                    })
                    .collect()
            }
            Fusion::Rrf { k, lexical: share } => {
                let share = share.clamp(0.0, 1.0);
                let lexical_ranks = ranks(lexical);
                let semantic_ranks = ranks(similarity);
                lexical
                    .iter()
                    .zip(lexical_ranks.iter().zip(&semantic_ranks))
                    .map(|(&s, (&lr, &sr))| {
                        let lexical_term = if s > 0.0 { share / (k + lr) } else { 0.0 };
                        lexical_term + (1.0 - share) / (k + sr)
                    })
                    .collect()
            }
        }
    }
}

/// Each score's rank, from 1 (ties by position).
fn ranks(scores: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let mut out = vec![0.0; scores.len()];
    for (rank, i) in order.into_iter().enumerate() {
        out[i] = (rank + 1) as f64;
    }
    out
}

/// The examples that count in one ranking.
struct ExampleScores {
    /// Per example: its tool's position in the index's order, and its similarity to the request.
    scored: Vec<(usize, f64)>,
    /// Per entry of `scored`: the example's index in [`HybridRouter::examples`].
    which: Vec<usize>,
}

/// The cosine similarity of `query` and the cached vector of `text` (`what` names the text's
/// kind in the error when it has no vector or another number of dimensions).
fn similarity_to(
    cache: &HashMap<String, Arc<[f32]>>,
    text: &str,
    query: &[f32],
    what: &str,
) -> Result<f64, EmbedError> {
    let vector =
        cache.get(text).ok_or_else(|| EmbedError::Shape(format!("{what} without a vector")))?;
    if vector.len() != query.len() {
        return Err(EmbedError::Shape(format!(
            "vectors of {} and {} dimensions",
            vector.len(),
            query.len()
        )));
    }
    Ok(cosine(query, vector))
}

/// The cosine similarity of two vectors (0 when either is zero or their lengths differ).
fn cosine(a: &[f32], b: &[f32]) -> f64 {
    if a.len() != b.len() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0.0_f64, 0.0_f64, 0.0_f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x), f64::from(y));
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na > 0.0 && nb > 0.0 { dot / (na.sqrt() * nb.sqrt()) } else { 0.0 }
}

/// A [`Router`] with a semantic stage: each tool's lexical score is fused ([`Fusion`]) with the
/// cosine similarity of the request's and the tool's embeddings, from an [`Embedder`].
///
/// A tool is embedded once, as a passage of its server, name, title, description and parameter
/// names; vectors are cached by that text, so adding servers embeds only the new tools. The
/// request is embedded at each ranking. When the embedder fails, [`rank`](Self::rank) logs a
/// warning and ranks lexically, as [`Router::rank`] does; [`try_rank`](Self::try_rank) returns
/// the error instead. Each hit's [`Hit::similarity`] says its similarity, and [`Hit::why`] the
/// request words that matched it, as in the lexical router.
///
/// ```
/// use std::sync::Arc;
///
/// use agent_core::{EmbedError, Embedder, HybridRouter, Router};
/// use futures::future::BoxFuture;
/// use serde_json::json;
///
/// /// Knows that "weather" is about the same thing as "temperature", and nothing else.
/// #[derive(Debug)]
/// struct Toy;
///
/// impl Embedder for Toy {
///     fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbedError>> {
///         Box::pin(async move {
///             Ok(texts
///                 .iter()
///                 .map(|t| {
///                     let t = t.to_lowercase();
///                     let hot = t.contains("weather") || t.contains("temperature");
///                     vec![f32::from(u8::from(hot)), 1.0]
///                 })
///                 .collect())
///         })
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let mut router = Router::new();
/// router
///     .add_tool("demo", "get_temperature", "Returns the temperature of a city.", &json!({}))
///     .add_tool("demo", "echo", "Echoes the message back.", &json!({}));
/// let hybrid = HybridRouter::new(router, Arc::new(Toy));
/// // No request word matches `get_temperature`: the lexical router finds nothing.
/// assert!(hybrid.router().rank("what is the weather like", 1).is_empty());
/// let hits = hybrid.rank("what is the weather like", 1).await;
/// assert_eq!(hits[0].tool, "get_temperature");
/// assert!(hits[0].similarity.unwrap() > 0.9);
/// # });
/// ```
pub struct HybridRouter {
    router: Router,
    embedder: Arc<dyn Embedder>,
    fusion: Fusion,
    examples: Vec<Example>,
    example_weights: ExampleWeights,
    /// Tool or example text → its vector.
    cache: Mutex<HashMap<String, Arc<[f32]>>>,
}

impl fmt::Debug for HybridRouter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HybridRouter")
            .field("router", &self.router)
            .field("embedder", &self.embedder)
            .field("fusion", &self.fusion)
            .field("examples", &self.examples.len())
            .field("example_weights", &self.example_weights)
            .field("cached", &self.lock().len())
            .finish()
    }
}

impl HybridRouter {
    /// `router` with `embedder`, fused the [default](Fusion::default) way.
    pub fn new(router: Router, embedder: Arc<dyn Embedder>) -> Self {
        Self {
            router,
            embedder,
            fusion: Fusion::default(),
            examples: Vec::new(),
            example_weights: ExampleWeights::default(),
            cache: Mutex::default(),
        }
    }

    /// Fuses with `fusion`.
    pub fn fusion(mut self, fusion: Fusion) -> Self {
        self.fusion = fusion;
        self
    }

    /// Weighs the examples with `weights` ([`ExampleWeights::default`] unless set).
    pub fn example_weights(mut self, weights: ExampleWeights) -> Self {
        self.example_weights = weights;
        self
    }

    /// Adds `request` as an example of a request that `server`'s `tool` serves: a request near
    /// it, by its embedding, then points at that tool (weighed by [`ExampleWeights`]). Examples
    /// are what a deployment learns: past requests and the tool that served them, or a few
    /// written by hand for tools whose descriptions say little. An example whose tool is later
    /// removed from the router is ignored.
    ///
    /// # Errors
    /// [`ExampleError::UnknownTool`] when the router has no such tool, [`ExampleError::Empty`]
    /// when `request` is blank.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// use agent_core::{EmbedError, Embedder, HybridRouter, Router};
    /// use futures::future::BoxFuture;
    /// use serde_json::json;
    ///
    /// /// Two directions: "fetch"-like texts and the rest.
    /// #[derive(Debug)]
    /// struct Toy;
    ///
    /// impl Embedder for Toy {
    ///     fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbedError>> {
    ///         Box::pin(async move {
    ///             Ok(texts
    ///                 .iter()
    ///                 .map(|t| {
    ///                     let grab = t.contains("grab") || t.contains("pull down");
    ///                     vec![f32::from(u8::from(grab)), 1.0]
    ///                 })
    ///                 .collect())
    ///         })
    ///     }
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let mut router = Router::new();
    /// router
    ///     .add_tool("web", "fetch", "Fetches a URL from the internet.", &json!({}))
    ///     .add_tool("files", "read_file", "Reads a file.", &json!({}));
    /// let mut hybrid = HybridRouter::new(router, Arc::new(Toy));
    /// hybrid.add_example("web", "fetch", "pull down the page at example.org")?;
    /// let hits = hybrid.rank("grab that page for me", 1).await;
    /// assert_eq!(hits[0].tool, "fetch");
    /// assert_eq!(hits[0].example.as_deref(), Some("pull down the page at example.org"));
    /// assert!(hybrid.add_example("web", "post", "send it").is_err(), "no such tool");
    /// assert!(hybrid.add_example("web", "fetch", "  ").is_err(), "no text");
    /// # Ok::<(), agent_core::ExampleError>(())
    /// # }).unwrap();
    /// ```
    pub fn add_example(
        &mut self,
        server: &str,
        tool: &str,
        request: &str,
    ) -> Result<&mut Self, ExampleError> {
        if self.router.index().position(server, tool).is_none() {
            return Err(ExampleError::UnknownTool {
                server: server.to_owned(),
                tool: tool.to_owned(),
            });
        }
        if request.trim().is_empty() {
            return Err(ExampleError::Empty { server: server.to_owned(), tool: tool.to_owned() });
        }
        self.examples.push(Example {
            server: server.to_owned(),
            tool: tool.to_owned(),
            text: request.to_owned(),
        });
        Ok(self)
    }

    /// How many examples were added.
    pub fn examples(&self) -> usize {
        self.examples.len()
    }

    /// The lexical router.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// The lexical router, to add servers or tools: the next ranking embeds the new ones.
    pub fn router_mut(&mut self) -> &mut Router {
        &mut self.router
    }

    /// How many texts (tools' and examples') have a vector.
    pub fn cached(&self) -> usize {
        self.lock().len()
    }

    /// Embeds every tool and example that has no vector yet, in one call to the embedder (which
    /// batches). Ranking does it too; calling it first moves the cost to when the catalog is
    /// known.
    ///
    /// # Errors
    /// The embedder's, or [`EmbedError::Shape`] when it gave another number of vectors.
    pub async fn index(&self) -> Result<(), EmbedError> {
        let missing: Vec<String> = {
            let cache = self.lock();
            let mut missing: Vec<String> = self
                .router
                .index()
                .texts()
                .chain(self.examples.iter().map(|e| e.text.as_str()))
                .filter(|t| !cache.contains_key(*t))
                .map(str::to_owned)
                .collect();
            missing.sort();
            missing.dedup();
            missing
        };
        if missing.is_empty() {
            return Ok(());
        }
        let vectors = self.embedder.embed(&missing).await?;
        if vectors.len() != missing.len() {
            return Err(EmbedError::Shape(format!(
                "{} vectors for {} texts",
                vectors.len(),
                missing.len()
            )));
        }
        tracing::debug!(texts = missing.len(), "embedded tool and example texts");
        let mut cache = self.lock();
        for (text, vector) in missing.into_iter().zip(vectors) {
            cache.insert(text, vector.into());
        }
        Ok(())
    }

    /// The `k` best tools for `request`, best first, by the fused score; when the embedder
    /// fails, a warning (`tracing`) and the lexical ranking ([`Router::rank`]).
    pub async fn rank(&self, request: &str, k: usize) -> Vec<Hit> {
        match self.try_rank(request, k).await {
            Ok(hits) => hits,
            Err(err) => {
                tracing::warn!(error = %err, "semantic routing failed; ranking lexically");
                self.router.rank(request, k)
            }
        }
    }

    /// The `k` best tools for `request`, best first, by the fused score.
    ///
    /// # Errors
    /// The embedder's: nothing is ranked then.
    pub async fn try_rank(&self, request: &str, k: usize) -> Result<Vec<Hit>, EmbedError> {
        if k == 0 || self.router.is_empty() {
            return Ok(Vec::new());
        }
        self.index().await?;
        let query = self.embedder.embed(&[request.to_owned()]).await?;
        let [query] = <[Vec<f32>; 1]>::try_from(query).map_err(|vectors| {
            EmbedError::Shape(format!("{} vectors for 1 text", vectors.len()))
        })?;
        let index = self.router.index();
        let similarity: Vec<f64> = {
            let cache = self.lock();
            let mut similarity = Vec::new();
            for text in index.texts() {
                similarity.push(similarity_to(&cache, text, &query, "a tool")?);
            }
            similarity
        };
        let scored = index.score(request);
        let mut fused = self.fusion.fuse(&scored.scores, &similarity);
        if self.examples.is_empty() {
            return Ok(index.hits(&scored, &fused, Some(&similarity), k));
        }
        let examples = self.example_similarities(&query)?;
        let twins: Vec<usize> = index.twins().collect();
        let nearest = self.example_weights.mix(&mut fused, &twins, &examples.scored);
        let mut hits = index.hits(&scored, &fused, Some(&similarity), k);
        for hit in &mut hits {
            let example = index.position(&hit.server, &hit.tool).and_then(|doc| nearest[doc]);
            hit.example = example.map(|i| self.examples[examples.which[i]].text.clone());
        }
        Ok(hits)
    }

    /// Each example whose tool the router knows: its tool's position in the index's order and
    /// its cosine similarity to `query`.
    fn example_similarities(&self, query: &[f32]) -> Result<ExampleScores, EmbedError> {
        let index = self.router.index();
        // Each tool's position, looked up once however many examples it has.
        let mut positions: HashMap<(&str, &str), Option<usize>> = HashMap::new();
        let cache = self.lock();
        let mut scores = ExampleScores { scored: Vec::new(), which: Vec::new() };
        for (i, example) in self.examples.iter().enumerate() {
            let (server, tool) = (example.server.as_str(), example.tool.as_str());
            let position =
                *positions.entry((server, tool)).or_insert_with(|| index.position(server, tool));
            let Some(doc) = position else { continue };
            scores.scored.push((doc, similarity_to(&cache, &example.text, query, "an example")?));
            scores.which.push(i);
        }
        Ok(scores)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<[f32]>>> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_fusion_normalises_both_scores() {
        let fused = Fusion::Weighted { lexical: 0.5 }.fuse(&[4.0, 2.0, 0.0], &[0.2, 0.6, 0.4]);
        let want = [0.5 * 1.0, 0.5 * 0.5 + 0.5, 0.25];
        for (got, want) in fused.iter().zip(want) {
            assert!((got - want).abs() < 1e-12, "{fused:?}");
        }
        // The lexical share 1 is the lexical order; 0 the semantic one.
        assert_eq!(Fusion::Weighted { lexical: 1.0 }.fuse(&[0.0, 3.0], &[1.0, 0.0]), [0.0, 1.0]);
        assert_eq!(Fusion::Weighted { lexical: 0.0 }.fuse(&[0.0, 3.0], &[1.0, 0.0]), [1.0, 0.0]);
        // Nothing to normalise by: no NaN.
        assert!(Fusion::default().fuse(&[0.0, 0.0], &[0.3, 0.3]).iter().all(|f| *f == 0.0));
    }

    #[test]
    fn rrf_adds_reciprocal_ranks() {
        let fused = Fusion::Rrf { k: 1.0, lexical: 0.5 }.fuse(&[2.0, 0.0, 1.0], &[0.1, 0.9, 0.5]);
        let want = [0.5 / 2.0 + 0.5 / 4.0, 0.5 / 2.0, 0.5 / 3.0 + 0.5 / 3.0];
        for (got, want) in fused.iter().zip(want) {
            assert!((got - want).abs() < 1e-12, "{fused:?}");
        }
    }

    #[test]
    fn cosine_is_scale_free_and_safe() {
        assert!((cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-12);
        assert!(cosine(&[1.0, 0.0], &[0.0, 3.0]).abs() < 1e-12);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 1.0]), 0.0);
        assert_eq!(cosine(&[1.0], &[1.0, 1.0]), 0.0);
    }
}
