//! `testkit-mcp fault KIND`: a stdio MCP server, written by hand, that misbehaves as `KIND` says.
//!
//! It answers `initialize`, `tools/list` and `ping` correctly (but see `slow-drip` and `noise`)
//! and faults on `tools/call`.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader};

use super::{answer, is_tool_call};

/// How a stdio server misbehaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StdioFault {
    /// Exits (status 7) when a `tools/call` arrives.
    CrashMidCall,
    /// Answers `tools/call` with one 70 MiB line (mcp-session's cap is 64 MiB), and lives on
    /// when the client stops reading it.
    Oversize,
    /// Answers `tools/call` with a line that never ends: 1 KiB every 10 ms, no newline.
    EndlessLine,
    /// Writes every answer one byte at a time, 1 ms apart.
    SlowDrip,
    /// Answers `tools/call` with another id.
    WrongId,
    /// Answers `tools/call` twice.
    DuplicateResponse,
    /// Sends 100,000 logging notifications before it answers `tools/call`.
    NotificationFlood,
    /// Writes a non-JSON line and a JSON line that is no JSON-RPC before every answer.
    Noise,
}

impl StdioFault {
    /// Every kind, in the order the matrix shows them.
    pub const ALL: [StdioFault; 8] = [
        StdioFault::CrashMidCall,
        StdioFault::Oversize,
        StdioFault::EndlessLine,
        StdioFault::SlowDrip,
        StdioFault::WrongId,
        StdioFault::DuplicateResponse,
        StdioFault::NotificationFlood,
        StdioFault::Noise,
    ];

    /// The name `testkit-mcp fault` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            StdioFault::CrashMidCall => "crash-mid-call",
            StdioFault::Oversize => "oversize",
            StdioFault::EndlessLine => "endless-line",
            StdioFault::SlowDrip => "slow-drip",
            StdioFault::WrongId => "wrong-id",
            StdioFault::DuplicateResponse => "duplicate-response",
            StdioFault::NotificationFlood => "notification-flood",
            StdioFault::Noise => "noise",
        }
    }

    /// The kind called `name`.
    pub fn parse(name: &str) -> Option<StdioFault> {
        StdioFault::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// The size of the `oversize` answer.
pub const OVERSIZE_BYTES: usize = 70 << 20;

/// Serves MCP on stdin/stdout, misbehaving as `fault` says, until stdin closes.
pub async fn serve(fault: StdioFault) -> std::io::Result<()> {
    eprintln!("testkit-mcp: fault {} on stdio", fault.as_str());
    let mut out = tokio::io::stdout();
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let Ok(request) = serde_json::from_str::<Value>(&line) else { continue };
        let Some(reply) = answer(&request) else { continue };
        if fault == StdioFault::Noise {
            write(&mut out, b"this line is not JSON\n{\"not\": \"JSON-RPC\"}\n").await?;
        }
        if !is_tool_call(&request) {
            send(&mut out, &reply, fault == StdioFault::SlowDrip).await?;
            continue;
        }
        match fault {
            StdioFault::CrashMidCall => {
                eprintln!("testkit-mcp: crashing during tools/call, as asked");
                std::process::exit(7);
            }
            StdioFault::Oversize => {
                // Write errors (the client closing the pipe) are ignored: the server lives on
                // until stdin closes, so that the client's own explanation is what shows.
                let head = format!(
                    r#"{{"jsonrpc":"2.0","id":{},"result":{{"content":[{{"type":"text","text":""#,
                    request["id"]
                );
                let chunk = vec![b'x'; 1 << 20];
                let mut written = write(&mut out, head.as_bytes()).await;
                for _ in 0..OVERSIZE_BYTES >> 20 {
                    written = written.and(write(&mut out, &chunk).await);
                }
                if written.and(write(&mut out, b"\"}]}}\n").await).is_err() {
                    eprintln!("testkit-mcp: the client stopped reading the oversize answer");
                }
            }
            StdioFault::EndlessLine => {
                let head = format!(
                    r#"{{"jsonrpc":"2.0","id":{},"result":{{"content":[{{"type":"text","text":""#,
                    request["id"]
                );
                write(&mut out, head.as_bytes()).await?;
                let chunk = vec![b'x'; 1024];
                loop {
                    write(&mut out, &chunk).await?;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            StdioFault::WrongId => {
                let mut wrong = reply;
                wrong["id"] = json!(format!("not-{}", request["id"]));
                send(&mut out, &wrong, false).await?;
            }
            StdioFault::DuplicateResponse => {
                send(&mut out, &reply, false).await?;
                send(&mut out, &reply, false).await?;
            }
            StdioFault::NotificationFlood => {
                // One write of all of them, so the flood is as fast as the pipe, not as this
                // server's flushes.
                let mut flood = String::new();
                for n in 0..100_000 {
                    flood.push_str(r#"{"jsonrpc":"2.0","method":"notifications/message","#);
                    flood.push_str(r#""params":{"level":"info","logger":"flood","data":"#);
                    flood.push_str(&format!("{n}}}}}\n"));
                }
                write(&mut out, flood.as_bytes()).await?;
                send(&mut out, &reply, false).await?;
            }
            StdioFault::SlowDrip | StdioFault::Noise => {
                send(&mut out, &reply, fault == StdioFault::SlowDrip).await?;
            }
        }
    }
    Ok(())
}

/// Writes `message` and a newline; `drip`: one byte per millisecond.
async fn send(
    out: &mut (impl AsyncWrite + Unpin),
    message: &Value,
    drip: bool,
) -> std::io::Result<()> {
    let mut bytes = message.to_string().into_bytes();
    bytes.push(b'\n');
    if !drip {
        return write(out, &bytes).await;
    }
    for byte in bytes {
        write(out, &[byte]).await?;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(())
}

async fn write(out: &mut (impl AsyncWrite + Unpin), bytes: &[u8]) -> std::io::Result<()> {
    out.write_all(bytes).await?;
    out.flush().await
}
