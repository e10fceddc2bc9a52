"""A FastMCP server for mcp-session-rs's interop tests.

Usage: python fastmcp_server.py stdio | sse PORT | http PORT | http-stateless-json PORT

Binds 127.0.0.1 only. Run with the venv `cargo xtask peers` installs (mcp and fastmcp, pinned).
"""

import sys

from fastmcp import FastMCP
from fastmcp.exceptions import ToolError

server = FastMCP("fastmcp-peer", instructions="FastMCP peer for interop tests.")


@server.tool
def echo(text: str) -> str:
    """Returns the text it is given."""
    return text


@server.tool
def add(a: float, b: float) -> float:
    """Adds two numbers."""
    return a + b


@server.tool
def describe(name: str, tags: list[str] | None = None) -> dict:
    """Returns structured content about a name."""
    return {"name": name, "tags": tags or [], "length": len(name)}


@server.tool
def fail(message: str) -> str:
    """Always fails with the given message."""
    raise ToolError(message)


@server.resource("peer://greeting")
def greeting() -> str:
    """A fixed greeting."""
    return "Hello from FastMCP"


@server.prompt
def greet(name: str) -> str:
    """Greets someone by name."""
    return f"Say hello to {name}."


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "stdio"
    if mode == "stdio":
        server.run("stdio", show_banner=False)
        return
    port = int(sys.argv[2])
    if mode == "sse":
        server.run("sse", host="127.0.0.1", port=port, show_banner=False)
    elif mode == "http":
        server.run("http", host="127.0.0.1", port=port, show_banner=False)
    elif mode == "http-stateless-json":
        server.run("http", host="127.0.0.1", port=port, stateless_http=True, json_response=True, show_banner=False)
    else:
        sys.exit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()
