//! Runnable examples for the mcp-session-rs crates. The code is in `examples/examples/`; run one
//! with `cargo run -p examples --example NAME`.
