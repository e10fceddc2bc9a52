//! [`EmbeddingServer`]: an OpenAI-compatible `POST /v1/embeddings` server on loopback that
//! answers with deterministic vectors ([`vector`]: a hashed bag of words), so the router's
//! semantic stage is tested over real HTTP exactly as against a model server.
//!
//! Every request's texts are recorded ([`EmbeddingServer::requests`]). The server can be told
//! to fail ([`Behavior::Status`]), to hang ([`Behavior::Hang`]) or to answer with one vector too
//! few ([`Behavior::Short`]).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The length of [`vector`]'s vectors.
pub const DIMENSIONS: usize = 64;

/// The deterministic embedding of `text`: each lowercase word (a run of letters and digits)
/// adds 1 at `FNV-1a(word) mod DIMENSIONS`; the vector is then scaled to length 1 (all zeros for
/// a text without words). Texts sharing words are similar; nothing else is.
pub fn vector(text: &str) -> Vec<f32> {
    let mut out = vec![0.0_f32; DIMENSIONS];
    for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in word.to_lowercase().bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        // The remainder is below DIMENSIONS, so it fits.
        out[usize::try_from(hash % DIMENSIONS as u64).unwrap_or(0)] += 1.0;
    }
    let norm = out.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        out.iter_mut().for_each(|x| *x /= norm);
    }
    out
}

/// How the server answers.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum Behavior {
    /// Vectors from [`vector`].
    #[default]
    Vectors,
    /// An HTTP error in OpenAI's error format with this status.
    Status(u16),
    /// No answer for this long, then the vectors.
    Hang(Duration),
    /// The vectors but the last: one too few.
    Short,
}

#[derive(Debug, Default)]
struct Script {
    behavior: Behavior,
    requests: Vec<Vec<String>>,
}

type Shared = Arc<Mutex<Script>>;

/// The fixture server, serving until dropped.
#[derive(Debug)]
pub struct EmbeddingServer {
    base_url: String,
    script: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl EmbeddingServer {
    /// Starts the server on `127.0.0.1:0`.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub async fn start() -> EmbeddingServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let address = listener.local_addr().expect("a bound address");
        let script = Shared::default();
        let app = axum::Router::new()
            .route("/v1/embeddings", axum::routing::post(embed))
            .with_state(script.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        EmbeddingServer { base_url: format!("http://{address}/v1"), script, task }
    }

    /// The base URL to give an OpenAI client, such as `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Answers from now on as `behavior` says.
    pub fn behave(&self, behavior: Behavior) -> &Self {
        self.lock().behavior = behavior;
        self
    }

    /// The texts of every request received so far, one list per request.
    pub fn requests(&self) -> Vec<Vec<String>> {
        self.lock().requests.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Script> {
        self.script.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for EmbeddingServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn embed(State(script): State<Shared>, Json(request): Json<Value>) -> Response {
    let texts: Vec<String> = match &request["input"] {
        Value::String(text) => vec![text.clone()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    };
    let behavior = {
        let mut script = script.lock().unwrap_or_else(PoisonError::into_inner);
        script.requests.push(texts.clone());
        script.behavior.clone()
    };
    let mut vectors: Vec<Vec<f32>> = texts.iter().map(|t| vector(t)).collect();
    match behavior {
        Behavior::Vectors => {}
        Behavior::Status(code) => {
            let body = json!({"error": {"message": "scripted failure", "type": "server_error", "code": null, "param": null}});
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return (status, Json(body)).into_response();
        }
        Behavior::Hang(delay) => tokio::time::sleep(delay).await,
        Behavior::Short => {
            vectors.pop();
        }
    }
    let data: Vec<Value> = vectors
        .into_iter()
        .enumerate()
        .map(|(index, embedding)| json!({"object": "embedding", "index": index, "embedding": embedding}))
        .collect();
    let model = request["model"].as_str().unwrap_or("fixture").to_owned();
    Json(json!({
        "object": "list",
        "model": model,
        "data": data,
        "usage": {"prompt_tokens": 0, "total_tokens": 0}
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_are_unit_length_and_share_words() {
        let a = vector("Read a file");
        let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-6);
        assert_eq!(a, vector("read A FILE"));
        assert!(vector("").iter().all(|x| *x == 0.0));
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        assert!(dot(&a, &vector("file")) > dot(&a, &vector("zebra crossing")));
    }
}
