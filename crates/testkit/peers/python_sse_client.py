"""The Python `mcp` SDK's legacy SSE client against a server of ours.

Usage: python python_sse_client.py SSE_URL [TOOL [ARGUMENTS_JSON]]

Lists the tools, calls TOOL (default `echo` with {"text": "from python"}), and prints one JSON
line: {"tools": [...], "tool": "...", "text": "...", "is_error": false}.
Exits non-zero (with the traceback) on any failure.
"""

import asyncio
import json
import sys

from mcp import ClientSession
from mcp.client.sse import sse_client


async def main(url: str, tool: str, arguments: dict) -> None:
    async with sse_client(url, timeout=10, sse_read_timeout=60) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = await session.list_tools()
            result = await session.call_tool(tool, arguments)
            text = "".join(block.text for block in result.content if getattr(block, "type", "") == "text")
            names = sorted(listed.name for listed in tools.tools)
            print(json.dumps({"tools": names, "tool": tool, "text": text, "is_error": bool(result.is_error)}))


if __name__ == "__main__":
    tool = sys.argv[2] if len(sys.argv) > 2 else "echo"
    arguments = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {"text": "from python"}
    asyncio.run(main(sys.argv[1], tool, arguments))
