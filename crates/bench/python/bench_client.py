"""The Python clients `mcp-bench` compares ours with, timed the same way.

Usage: python bench_client.py CLIENT TRANSPORT TARGET N CALLS [SESSIONS]

CLIENT     `mcp` (the Python SDK's ClientSession, mcp 2.x) or `ag2` (AG2 0.14's
           MCPClientSessionManager, the seed's class, on mcp 1.x in its own venv)
TRANSPORT  `stdio`, `sse` or `http` (AG2 0.14 has no streamable HTTP)
TARGET     the server's URL, or for stdio a JSON array: the command and its arguments
N          cold sessions (after one untimed): open (spawn or connect, and initialize), tools/list, one
           tools/call of `echo`, close; each phase timed
CALLS      warm calls of `echo` over one session, one at a time and then sixteen in flight
           (0: none; N may be 0 too)
SESSIONS   sessions to open at once: the time to open them all, and this process's RSS
           before and with them open (0 or absent: none)

Prints one JSON object: {"cold": {PHASE: [ms, ...]}, "warm": {"sequential": {...},
"concurrency_16": {...}}, "scale": {...}}, each warm entry {"calls_per_s": x, "latencies_ms": [...]}.
Samples are raw; mcp-bench computes the statistics, as it does for ours.
"""

import asyncio
import json
import sys
import time
from contextlib import AsyncExitStack, asynccontextmanager

PHASES = ["open", "list", "call", "close", "total"]
ECHO = {"text": "hi"}


@asynccontextmanager
async def mcp_session(transport: str, target: str):
    """The SDK's own way: a transport context, then a ClientSession."""
    from mcp import ClientSession, StdioServerParameters

    async with AsyncExitStack() as stack:
        if transport == "stdio":
            from mcp.client.stdio import stdio_client

            command = json.loads(target)
            streams = stdio_client(StdioServerParameters(command=command[0], args=command[1:]))
        elif transport == "sse":
            from mcp.client.sse import sse_client

            streams = sse_client(target)
        else:
            from mcp.client.streamable_http import streamable_http_client

            streams = streamable_http_client(target)
        read, write = await stack.enter_async_context(streams)
        session = await stack.enter_async_context(ClientSession(read, write))
        await session.initialize()
        yield session


@asynccontextmanager
async def ag2_session(transport: str, target: str):
    """The seed's way: a new MCPClientSessionManager and open_session per session.

    AG2's open_session enters the transport into the manager's exit stack, so leaving the
    `async with` does not end the session; closing the exit stack does. That is timed as close.
    """
    from autogen.mcp.mcp_client import MCPClientSessionManager, SseConfig, StdioConfig

    if transport == "stdio":
        command = json.loads(target)
        config = StdioConfig(server_name="bench", command=command[0], args=command[1:])
    elif transport == "sse":
        config = SseConfig(server_name="bench", url=target)
    else:
        raise SystemExit("AG2 0.14 has no streamable HTTP transport")
    manager = MCPClientSessionManager()
    try:
        async with manager.open_session(config) as session:
            yield session
    finally:
        await manager.exit_stack.aclose()


async def cold(open_session, transport: str, target: str, n: int) -> dict:
    samples = {phase: [] for phase in PHASES}
    # One untimed session first, as every client gets: no client is timed importing its modules.
    async with open_session(transport, target):
        pass
    for _ in range(n):
        start = time.perf_counter()
        context = open_session(transport, target)
        session = await context.__aenter__()
        opened = time.perf_counter()
        await session.list_tools()
        listed = time.perf_counter()
        await session.call_tool("echo", ECHO)
        called = time.perf_counter()
        await context.__aexit__(None, None, None)
        closed = time.perf_counter()
        for phase, took in zip(
            PHASES, [opened - start, listed - opened, called - listed, closed - called, closed - start]
        ):
            samples[phase].append(took * 1000.0)
    return samples


async def warm(open_session, transport: str, target: str, calls: int) -> dict:
    async with open_session(transport, target) as session:
        latencies = []
        started = time.perf_counter()
        for _ in range(calls):
            start = time.perf_counter()
            await session.call_tool("echo", ECHO)
            latencies.append((time.perf_counter() - start) * 1000.0)
        sequential = {"calls_per_s": calls / (time.perf_counter() - started), "latencies_ms": latencies}

        remaining = iter(range(calls))
        concurrent_latencies = []

        async def worker():
            for _ in remaining:
                start = time.perf_counter()
                await session.call_tool("echo", ECHO)
                concurrent_latencies.append((time.perf_counter() - start) * 1000.0)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(16)))
        concurrent = {
            "calls_per_s": calls / (time.perf_counter() - started),
            "latencies_ms": concurrent_latencies,
        }
    return {"sequential": sequential, "concurrency_16": concurrent}


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def scale(open_session, transport: str, target: str, sessions: int) -> dict:
    # Each session lives in its own task, opened and closed there: anyio's cancel scopes must be
    # left in the task that entered them.
    rss_before = rss_kib()
    opened, all_open, release = [0], asyncio.Event(), asyncio.Event()

    async def hold():
        async with open_session(transport, target):
            opened[0] += 1
            if opened[0] == sessions:
                all_open.set()
            await release.wait()

    start = time.perf_counter()
    tasks = [asyncio.create_task(hold()) for _ in range(sessions)]
    waiter = asyncio.create_task(all_open.wait())
    done, _ = await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
    if waiter not in done:
        for task in done:
            task.result()  # a session failed to open: raise its error
    await waiter
    open_all_ms = (time.perf_counter() - start) * 1000.0
    rss_open = rss_kib()
    release.set()
    await asyncio.gather(*tasks)
    return {"sessions": sessions, "open_all_ms": open_all_ms, "rss_before_kib": rss_before, "rss_open_kib": rss_open}


async def main(argv: list[str]) -> None:
    client, transport, target, n, calls = argv[0], argv[1], argv[2], int(argv[3]), int(argv[4])
    sessions = int(argv[5]) if len(argv) > 5 else 0
    open_session = {"mcp": mcp_session, "ag2": ag2_session}[client]
    report = {}
    if n:
        report["cold"] = await cold(open_session, transport, target, n)
    if calls:
        report["warm"] = await warm(open_session, transport, target, calls)
    if sessions:
        report["scale"] = await scale(open_session, transport, target, sessions)
    print(json.dumps(report))


if __name__ == "__main__":
    if len(sys.argv) not in (6, 7):
        raise SystemExit(__doc__)
    asyncio.run(main(sys.argv[1:]))
