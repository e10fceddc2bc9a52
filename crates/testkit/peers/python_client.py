"""The Python `mcp` SDK's client against a server of ours, over legacy SSE or stdio.

Usage: python python_client.py SSE_URL [TOOL [ARGUMENTS_JSON]]
       python python_client.py stdio TOOL ARGUMENTS_JSON COMMAND [ARG...]

Lists the tools, calls TOOL (default `echo` with {"text": "from python"}), and prints one JSON
line: {"tools": [...], "tool": "...", "text": "...", "is_error": false}.
Exits non-zero (with the traceback) on any failure.
"""

import asyncio
import json
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.stdio import stdio_client


async def use(read, write, tool: str, arguments: dict) -> None:
    async with ClientSession(read, write) as session:
        await session.initialize()
        tools = await session.list_tools()
        result = await session.call_tool(tool, arguments)
        text = "".join(block.text for block in result.content if getattr(block, "type", "") == "text")
        names = sorted(listed.name for listed in tools.tools)
        print(json.dumps({"tools": names, "tool": tool, "text": text, "is_error": bool(result.is_error)}))


async def main(argv: list[str]) -> None:
    if argv[0] == "stdio":
        tool, arguments, command = argv[1], json.loads(argv[2]), argv[3:]
        server = StdioServerParameters(command=command[0], args=command[1:])
        async with stdio_client(server) as (read, write):
            await use(read, write, tool, arguments)
        return
    tool = argv[1] if len(argv) > 1 else "echo"
    arguments = json.loads(argv[2]) if len(argv) > 2 else {"text": "from python"}
    async with sse_client(argv[0], timeout=10, sse_read_timeout=60) as (read, write):
        await use(read, write, tool, arguments)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
