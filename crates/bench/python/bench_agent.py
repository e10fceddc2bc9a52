"""AG2's agent loop, timed for mcp-bench: the same script, server and tool as ours.

Usage: python bench_agent.py BASE_URL TURNS RUNS

An AG2 0.14 ConversableAgent with one tool (`echo`) runs RUNS times with max_turns=TURNS
against the OpenAI-compatible server at BASE_URL, which calls the tool on every turn. What AG2
prints while processing the run goes to a buffer, not the terminal. Prints one JSON object:
{"runs_ms": [...]}; mcp-bench counts the completion requests each run made.
"""

import asyncio
import contextlib
import io
import json
import logging
import sys
import time

from autogen import ConversableAgent, LLMConfig
from autogen.tools import Tool

SYSTEM = "You are a benchmark agent. Call the echo tool."
TASK = "Echo hi."


def echo(text: str) -> str:
    """Returns the text it is given."""
    return text


async def main(base_url: str, turns: int, runs: int) -> None:
    # AG2 logs pricing warnings for unknown models on stdout; the report must be the last line.
    logging.getLogger("autogen").setLevel(logging.ERROR)
    llm_config = LLMConfig(
        {"model": "bench-model", "api_type": "openai", "api_key": "bench-key", "base_url": base_url},
        cache_seed=None,
    )
    agent = ConversableAgent(
        name="assistant", system_message=SYSTEM, llm_config=llm_config, human_input_mode="NEVER"
    )
    tool = Tool(name="echo", description="Returns the text it is given.", func_or_tool=echo)
    samples = []
    sink = io.StringIO()
    for _ in range(runs):
        with contextlib.redirect_stdout(sink):
            start = time.perf_counter()
            response = await agent.a_run(message=TASK, tools=[tool], max_turns=turns, user_input=False)
            await response.process()
            samples.append((time.perf_counter() - start) * 1000.0)
        sink.seek(0)
        sink.truncate()
    print(json.dumps({"runs_ms": samples}))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
