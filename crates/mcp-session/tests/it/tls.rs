//! https with mcp-session alone: a loopback TLS server whose certificate comes from a CA made in
//! the test, trusted through `ca_file`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use mcp_session::mcp_config::StreamableHttpConfig;
use mcp_session::{MCPClientSessionManager, SessionError};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use serde_json::json;

use crate::quick_timeouts;

/// Writes a CA certificate, and a server certificate and key for 127.0.0.1 signed by it.
fn make_certificates(dir: &Path) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "mcp-session test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server_params =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let server_cert = server_params.signed_by(&server_key, &ca).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("server.pem"), server_cert.pem()).unwrap();
    std::fs::write(dir.join("server.key"), server_key.serialize_pem()).unwrap();
}

struct TlsServer {
    child: Child,
    url: String,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_tls_server(dir: &Path) -> TlsServer {
    let mut child = Command::new(testkit::testkit_mcp())
        .args(["http", "--tls-cert"])
        .arg(dir.join("server.pem"))
        .arg("--tls-key")
        .arg(dir.join("server.key"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut url).unwrap();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    TlsServer { child, url: url.trim().to_owned() }
}

#[tokio::test]
async fn https_with_a_private_ca_in_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    make_certificates(dir.path());
    let server = start_tls_server(dir.path());
    let config = StreamableHttpConfig::new("tls", &server.url)
        .unwrap()
        .timeouts(quick_timeouts())
        .ca_file(dir.path().join("ca.pem"));
    let session = MCPClientSessionManager::new().open_session(&config.into()).await.unwrap();
    let echoed = session.call_tool("echo", json!({"text": "over TLS"})).await.unwrap();
    assert_eq!(echoed.content[0].as_text().unwrap().text, "over TLS");
    session.close().await.unwrap();
}

#[tokio::test]
async fn https_without_the_ca_is_refused_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    make_certificates(dir.path());
    let server = start_tls_server(dir.path());
    let config = StreamableHttpConfig::new("tls", &server.url).unwrap().timeouts(quick_timeouts());
    let err = MCPClientSessionManager::new().open_session(&config.into()).await.unwrap_err();
    assert!(matches!(&err, SessionError::Connect { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("certificate") && message.contains("set `ca_file`"), "{message}");
}

#[tokio::test]
async fn a_missing_ca_file_is_named() {
    let config = StreamableHttpConfig::new("tls", "https://127.0.0.1:1/mcp")
        .unwrap()
        .timeouts(quick_timeouts())
        .ca_file("/nonexistent/ca.pem");
    let err = MCPClientSessionManager::new().open_session(&config.into()).await.unwrap_err();
    assert!(matches!(err, SessionError::HttpClient { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "tls: ca_file /nonexistent/ca.pem: cannot be read: I/O error: No such file or directory \
         (os error 2); check the path"
    );
}
