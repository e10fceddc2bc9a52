//! A minimal HTTP/1.1 server on `127.0.0.1:0` for unit tests of what the testkit fixture cannot
//! show (login pages, endless event streams, a 2025-03-26 authorization server): each request is
//! answered by a function of its method and target, one request per connection.

use std::sync::Arc;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// An answer: status, extra headers, body. `body: None` sends the headers of an event stream and
/// then nothing, keeping the connection open.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Option<Vec<u8>>,
}

impl Answer {
    pub(crate) fn json(status: u16, body: &serde_json::Value) -> Answer {
        Answer {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: Some(body.to_string().into_bytes()),
        }
    }

    pub(crate) fn status(status: u16) -> Answer {
        Answer { status, headers: Vec::new(), body: Some(Vec::new()) }
    }

    pub(crate) fn redirect(location: &str) -> Answer {
        Answer {
            status: 302,
            headers: vec![("location".into(), location.into())],
            body: Some(Vec::new()),
        }
    }
}

type Route = dyn Fn(&str, &str, &str) -> Answer + Send + Sync;

/// A running mock; stops when dropped.
pub(crate) struct Mock {
    pub(crate) origin: String,
    task: JoinHandle<()>,
}

impl Drop for Mock {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `route(origin, method, target)` until dropped.
pub(crate) async fn serve(
    route: impl Fn(&str, &str, &str) -> Answer + Send + Sync + 'static,
) -> Mock {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let origin = format!("http://{}", listener.local_addr().expect("an address"));
    let route: Arc<Route> = Arc::new(route);
    let shown = origin.clone();
    let task = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        while let Ok((mut stream, _)) = listener.accept().await {
            let (route, origin) = (route.clone(), shown.clone());
            connections.spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if stream.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let mut words = head.split_whitespace();
                let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
                let length = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().to_owned())
                    })
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0);
                let mut body = vec![0u8; length];
                if stream.read_exact(&mut body).await.is_err() {
                    return;
                }
                let answer = route(&origin, method, target);
                let mut out = format!("HTTP/1.1 {} X\r\n", answer.status);
                for (name, value) in &answer.headers {
                    out.push_str(&format!("{name}: {value}\r\n"));
                }
                match &answer.body {
                    Some(body) => {
                        out.push_str(&format!(
                            "content-length: {}\r\nconnection: close\r\n\r\n",
                            body.len()
                        ));
                        let _ = stream.write_all(out.as_bytes()).await;
                        let _ = stream.write_all(body).await;
                    }
                    None => {
                        out.push_str(
                            "content-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n",
                        );
                        let _ = stream.write_all(out.as_bytes()).await;
                        let _ = stream.write_all(b"5\r\n: hi\n\r\n").await;
                        std::future::pending::<()>().await;
                    }
                }
            });
        }
    });
    Mock { origin, task }
}

/// The value of query parameter `name` in a request target.
pub(crate) fn param(target: &str, name: &str) -> Option<String> {
    let url = url::Url::parse(&format!("http://x{target}")).ok()?;
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// The OAuth HTTP client of the tests: plain reqwest clients.
pub(crate) fn http() -> crate::ReqwestOAuth {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let build = |policy| {
        reqwest::Client::builder().no_proxy().redirect(policy).build().expect("a reqwest client")
    };
    crate::ReqwestOAuth::new(
        build(reqwest::redirect::Policy::none()),
        build(reqwest::redirect::Policy::limited(10)),
    )
}
