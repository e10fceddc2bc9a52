"""The Python `mcp` SDK's legacy SSE client against a server of ours.

Usage: python python_sse_client.py SSE_URL

Lists the tools, calls `echo`, and prints one JSON line: {"tools": [...], "echo": "..."}.
Exits non-zero (with the traceback) on any failure.
"""

import asyncio
import json
import sys

from mcp import ClientSession
from mcp.client.sse import sse_client


async def main(url: str) -> None:
    async with sse_client(url, timeout=10, sse_read_timeout=60) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = await session.list_tools()
            result = await session.call_tool("echo", {"text": "from python"})
            text = "".join(block.text for block in result.content if getattr(block, "type", "") == "text")
            print(json.dumps({"tools": sorted(tool.name for tool in tools.tools), "echo": text}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
