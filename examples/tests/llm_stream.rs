//! `cargo run -p examples --example llm_stream -- PROMPT`, run as a real process with the
//! offline planner (`cargo xtask interop --llm` runs it against a real model).

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(testkit::example("llm_stream"))
        .args(args)
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("OPENAI_MODEL")
        .output()
        .expect("llm_stream runs")
}

fn lines(output: &Output) -> Vec<serde_json::Value> {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect()
}

#[test]
fn streamed_pieces_make_the_text_then_the_usage() {
    let lines = lines(&run(&["--json", "hello there"]));
    assert_eq!(lines[0]["type"], "llm");
    let pieces: String = lines
        .iter()
        .filter(|line| line["type"] == "text_delta")
        .map(|line| line["delta"].as_str().unwrap())
        .collect();
    let text = lines.iter().find(|line| line["type"] == "text").expect("a text line");
    assert!(!pieces.is_empty());
    assert_eq!(text["content"], pieces.as_str());
    let last = lines.last().unwrap();
    assert_eq!(last["type"], "usage");
    assert_eq!(last["total_tokens"], 0, "the offline planner counts no tokens");
}

#[test]
fn not_streamed_no_pieces_and_bad_usage_exits_2() {
    let lines = lines(&run(&["--json", "--no-stream", "hello there"]));
    assert!(lines.iter().all(|line| line["type"] != "text_delta"));
    assert!(lines.iter().any(|line| line["type"] == "text"));
    assert_eq!(run(&[]).status.code(), Some(2));
    assert_eq!(run(&["--max-tokens", "x", "hi"]).status.code(), Some(2));
}
