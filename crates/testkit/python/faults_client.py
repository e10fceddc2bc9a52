"""The fault matrix of `mcp-faults`, run with the Python `mcp` SDK's client (mcp 2.x).

Usage: python faults_client.py BIN_DIR [ONLY]

BIN_DIR holds `testkit-mcp` (the faulty servers). Prints one JSON line per case on stdout, with
the fields of testkit's `CaseReport` (fault, transport, expect, expected, outcome, phase, message,
elapsed_ms, leftovers, healthy), so that `cargo xtask faults` can put the two clients side by
side (ONLY: just the cases whose "TRANSPORT FAULT" contains it). Outcomes are recorded, never asserted: this script exits 0 whatever the cases did.

The cases mirror `crates/testkit/src/bin/mcp-faults.rs` (same names, servers and steps): a
healthy `testkit-mcp stdio` session pinged with `echo` every 100 ms during the case and once
after it, and the faulty server opened (`stdio_client` / `sse_client` / `streamable_http_client`,
then `ClientSession.initialize`), called once (`echo`, or `sleep` for 60 s for a hang mid-call)
and closed, with a 2 s read timeout per request (`read_timeout_seconds`) and 2 s HTTP timeouts
(10 s for reading an event stream). Every process of a faulty stdio server carries
`MCP_LEAK_MARKER=<marker>`; leftovers are those still running 4 s after the session closed, found
in `/proc/*/environ` (then killed, so that no case sees another's).

Bounds: each case runs in a child process of its own (`faults_client.py --case SPEC`) under an
anyio deadline of 20 s, and the child is killed (its process group) when it outlives 45 s; the
whole script is bounded by `cargo xtask faults`, which kills its process group.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

MARKER_VAR = "MCP_LEAK_MARKER"
STEP = 2.0
SSE_READ = 10.0
CASE_LIMIT = 20.0
CHILD_LIMIT = 45.0
LEFTOVER_WAIT = 4.0


def cases():
    """(fault, transport, server, expect, expected, hang_call, escaped), as in mcp-faults."""

    def case(fault, transport, server, expect, expected, hang_call=False, escaped=0):
        return dict(fault=fault, transport=transport, server=server, expect=expect,
                    expected=expected, hang_call=hang_call, escaped=escaped)

    stdio = lambda *args: ["stdio", list(args)]  # noqa: E731
    url = lambda *args: ["url", list(args)]  # noqa: E731
    all_cases = [
        case("crash at start", "stdio", stdio("exit-at-once"), "error", "ServerExited"),
        case("crash mid-call", "stdio", stdio("fault", "crash-mid-call"), "error", "ServerExited"),
        case("hang before initialize", "stdio", stdio("silent"), "error", "Timeout"),
        case("hang mid-call", "stdio", stdio("stdio"), "error", "Timeout", hang_call=True),
        case("garbage on stdout (only)", "stdio", stdio("garbage"), "error", "Handshake"),
        case("non-JSON lines between messages", "stdio", stdio("fault", "noise"), "either", "Ok"),
        case("a message over the 64 MiB cap", "stdio", stdio("fault", "oversize"), "error",
             "ConnectionClosed"),
        case("a line that never ends", "stdio", stdio("fault", "endless-line"), "error", "Timeout"),
        case("slow drip (1 byte/ms)", "stdio", stdio("fault", "slow-drip"), "either", "Ok"),
        case("wrong response id", "stdio", stdio("fault", "wrong-id"), "error", "Timeout"),
        case("duplicate response", "stdio", stdio("fault", "duplicate-response"), "either", "Ok"),
        case("notification flood (100k)", "stdio", stdio("fault", "notification-flood"), "either",
             "Ok"),
        case("setsid grandchild", "stdio", ["shell", "setsid sleep 600 & exec {testkit} stdio"],
             "either", "Ok", escaped=1),
        case("double-forked daemon", "stdio",
             ["shell", "(setsid sh -c 'sleep 600 &' &); exec {testkit} stdio"], "either", "Ok",
             escaped=1),
        case("client SIGKILLed", "stdio", ["held", []], "either", "Ok"),
    ]
    for transport in ["http", "sse"]:
        hang = ["http-fault", "hang"] if transport == "http" else ["sse-fault", "hang"]
        working = ["http"] if transport == "http" else ["sse"]
        all_cases.append(case("crash at start (nothing listens)", transport, ["nobody", []],
                              "error", "Connect"))
        all_cases.append(case("hang before initialize", transport, url(*hang), "error", "Timeout"))
        all_cases.append(case("hang mid-call", transport, url(*working), "error", "Timeout",
                              hang_call=True))
        not_found = "NotStreamableHttp" if transport == "http" else "Http"
        for status, expected in [("401", "Unauthorized"), ("403", "Unauthorized"),
                                 ("404", not_found), ("405", not_found), ("500", "Http"),
                                 ("503", "Http")]:
            all_cases.append(case(f"HTTP {status}", transport, url("http-fault", status), "error",
                                  expected))
        all_cases.append(case("connection reset at connect", transport, url("http-fault", "reset"),
                              "error", "Connect"))
        if transport == "http":
            all_cases += [
                case("HTTP 401 mid-call", "http", url("http-fault", "call-401"), "error",
                     "Unauthorized"),
                case("HTTP 404 mid-call", "http", url("http-fault", "call-404"), "error",
                     "SessionExpired"),
                case("HTTP 500 mid-call", "http", url("http-fault", "call-500"), "error", "Http"),
                case("HTTP 503 mid-call", "http", url("http-fault", "call-503"), "error", "Http"),
                case("connection reset mid-call", "http", url("http-fault", "call-reset"), "error",
                     "ConnectionClosed"),
                case("session-id mismatch", "http", url("http-fault", "session-mismatch"), "either",
                     "Ok"),
                case("session expired (404 to every id)", "http",
                     url("http-fault", "session-expired"), "error", "SessionExpired"),
            ]
        else:
            all_cases += [
                case("SSE without endpoint", "sse", url("sse-fault", "no-endpoint"), "error",
                     "Timeout"),
                case("endpoint on another origin", "sse", url("sse-fault", "foreign-endpoint"),
                     "error", "NotSse"),
                case("SSE stream closed early", "sse", url("sse-fault", "closed-early"), "error",
                     "ConnectionClosed"),
                case("SSE stream closed mid-call", "sse", url("sse-fault", "closed-mid-call"),
                     "error", "ConnectionClosed"),
            ]
    return all_cases


# ---- processes carrying a marker (testkit::procs, in Python) ----


def marked_processes(marker):
    """Running (not zombie) processes whose environment holds MCP_LEAK_MARKER=marker: their
    /proc/PID/stat lines."""
    needle = f"{MARKER_VAR}={marker}".encode()
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as environ:
                if needle not in environ.read().split(b"\0"):
                    continue
            with open(f"/proc/{pid}/stat") as stat_file:
                stat = stat_file.read()
        except OSError:
            continue
        state = stat[stat.rfind(")") + 1:].split()[:1]
        if state and state[0] not in ("Z", "X"):
            found.append(stat.strip())
    return found


def survivors(marker, within):
    deadline = time.monotonic() + within
    while True:
        alive = marked_processes(marker)
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.02)


def kill_marked(marker):
    for stat in marked_processes(marker):
        try:
            os.kill(int(stat.split()[0]), signal.SIGKILL)
        except (OSError, ValueError):
            pass


def redact(text, bin_dir):
    text = text.replace(bin_dir.rstrip("/") + "/", "")
    return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)


def describe(exc):
    """(class name, first line of message) of an exception; an exception group is described by
    its first leaf, its name prefixed by the groups around it."""
    prefix = ""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        prefix += type(exc).__name__ + "/"
        exc = exc.exceptions[0]
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return prefix + type(exc).__name__, message


# ---- the child: one case ----


async def child_case(spec):
    import anyio
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    testkit = os.path.join(spec["bin_dir"], "testkit-mcp")
    errlog = open(os.devnull, "w")
    report = {"phase": "", "outcome": "", "message": "", "elapsed_ms": 0, "leftovers": [],
              "healthy": False}
    failures = 0
    phase = ["open"]  # the step reached, kept when the case is cut short

    async def faulty():
        """Opens, calls, closes the faulty session: (phase, outcome, message)."""
        transport, server = spec["transport"], spec["server"]
        if transport == "stdio":
            if server[0] == "shell":
                params = StdioServerParameters(
                    command="sh", args=["-c", server[1].replace("{testkit}", testkit)],
                    env={MARKER_VAR: spec["marker"]})
            else:
                params = StdioServerParameters(command=testkit, args=server[1],
                                               env={MARKER_VAR: spec["marker"]})
            streams = stdio_client(params, errlog=errlog)
        elif transport == "sse":
            from mcp.client.sse import sse_client

            streams = sse_client(spec["url"], timeout=STEP, sse_read_timeout=SSE_READ)
        else:
            import httpx2
            from mcp.client.streamable_http import streamable_http_client
            from mcp.shared._httpx_utils import create_mcp_http_client

            client = create_mcp_http_client(timeout=httpx2.Timeout(STEP, read=SSE_READ))
            streams = streamable_http_client(spec["url"], http_client=client)
        # The SDK's own way, `async with` nested: a failure inside the transport's task group
        # cancels the request and surfaces when the transport's context exits.
        call_error, note = None, ""
        try:
            async with streams as (read, write), ClientSession(
                    read, write, read_timeout_seconds=STEP) as session:
                await session.initialize()
                if spec["escaped"]:
                    deadline = time.monotonic() + 5
                    while time.monotonic() < deadline:
                        sleeping = [s for s in marked_processes(spec["marker"]) if "(sleep)" in s]
                        if len(sleeping) >= spec["escaped"]:
                            break
                        await anyio.sleep(0.02)
                phase[0] = "call"
                tool, args = (("sleep", {"ms": 60000}) if spec["hang_call"]
                              else ("echo", {"text": "hi"}))
                try:
                    result = await session.call_tool(tool, args, read_timeout_seconds=STEP)
                    if getattr(result, "is_error", getattr(result, "isError", False)):
                        note = "the tool returned is_error"
                except Exception as exc:  # noqa: BLE001: recorded; the close still runs
                    call_error = exc
                if call_error is None:
                    phase[0] = "close"
        except Exception as exc:  # noqa: BLE001: recorded, not handled
            if call_error is None:
                call_error = exc
        if call_error is None:
            return "done", "Ok", note
        name, message = describe(call_error)
        return phase[0], name, message

    async def run_faulty():
        started = time.monotonic()
        with anyio.move_on_after(CASE_LIMIT) as scope:
            step, outcome, message = await faulty()
        report["elapsed_ms"] = int((time.monotonic() - started) * 1000)
        if scope.cancelled_caught:
            step, outcome = phase[0], "HUNG"
            message = f"the case did not end within {CASE_LIMIT:.0f} s (cancelled then)"
        report.update(phase=step, outcome=outcome, message=redact(message, spec["bin_dir"]))
        report["leftovers"] = await anyio.to_thread.run_sync(survivors, spec["marker"],
                                                             LEFTOVER_WAIT)

    try:
        healthy_streams = stdio_client(StdioServerParameters(command=testkit, args=["stdio"]),
                                       errlog=errlog)
        async with healthy_streams as (read, write), ClientSession(
                read, write, read_timeout_seconds=STEP) as healthy:
            await healthy.initialize()
            stop = anyio.Event()

            async def ping():
                nonlocal failures
                while not stop.is_set():
                    try:
                        await healthy.call_tool("echo", {"text": "ping"}, read_timeout_seconds=STEP)
                    except Exception:  # noqa: BLE001
                        failures += 1
                    with anyio.move_on_after(0.1):
                        await stop.wait()

            async with anyio.create_task_group() as group:
                group.start_soon(ping)
                try:
                    await run_faulty()
                finally:
                    stop.set()
            try:
                await healthy.call_tool("echo", {"text": "still here"}, read_timeout_seconds=STEP)
            except Exception:  # noqa: BLE001
                failures += 1
        report["healthy"] = failures == 0
    except Exception as exc:  # noqa: BLE001: the healthy session failed to open or close
        if not report["outcome"]:
            name, message = describe(exc)
            report.update(phase="setup", outcome="SETUP",
                          message=f"the healthy session failed: {name}: {message}")
        report["healthy"] = False
    print(json.dumps(report), flush=True)


async def child_hold(spec):
    """The held client: opens a stdio session to a server that ignores stdin's end, says
    `open`, and waits to be killed."""
    import anyio
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    testkit = os.path.join(spec["bin_dir"], "testkit-mcp")
    params = StdioServerParameters(command=testkit, args=["stdio", "--ignore-eof"],
                                   env={MARKER_VAR: spec["marker"]})
    async with stdio_client(params, errlog=open(os.devnull, "w")) as (read, write), \
            ClientSession(read, write, read_timeout_seconds=STEP) as session:
        await session.initialize()
        print("open", flush=True)
        await anyio.sleep(3600)


# ---- the driver: every case, each in a child ----


def start_url_server(testkit, args):
    server = subprocess.Popen([testkit, *args], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    line = server.stdout.readline().strip()  # testkit-mcp prints its URL first
    if not line:
        server.kill()
        server.wait()
        raise RuntimeError(f"testkit-mcp {' '.join(args)} printed no URL")
    return server, line


def kill_group(child):
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except OSError:
        pass
    child.wait()


def run_child(spec):
    """Runs one case in a child process under CHILD_LIMIT: its report."""
    child = subprocess.Popen([sys.executable, __file__, "--case", json.dumps(spec)],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                             start_new_session=True)
    try:
        out, _ = child.communicate(timeout=CHILD_LIMIT)
    except subprocess.TimeoutExpired:
        kill_group(child)
        return {"phase": "", "outcome": "HUNG",
                "message": f"the case's process did not end within {CHILD_LIMIT:.0f} s; killed",
                "elapsed_ms": int(CHILD_LIMIT * 1000),
                "leftovers": survivors(spec["marker"], LEFTOVER_WAIT), "healthy": False}
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if not lines:
        return {"phase": "", "outcome": "CRASHED",
                "message": f"the case's process exited ({child.returncode}) with no report",
                "elapsed_ms": 0, "leftovers": survivors(spec["marker"], LEFTOVER_WAIT),
                "healthy": False}
    return json.loads(lines[-1])


def run_held(spec):
    """The client-SIGKILL case: the time is from the kill until no marked process runs."""
    holder = subprocess.Popen([sys.executable, __file__, "--hold", json.dumps(spec)],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              start_new_session=True)
    report = {"phase": "open", "outcome": "", "message": "", "elapsed_ms": 0, "leftovers": [],
              "healthy": None}
    line = holder.stdout.readline().strip()  # bounded by the whole script's outer bound
    if line != "open":
        kill_group(holder)
        report.update(outcome="SETUP", message=f"the holder did not open its session: {line!r}")
        return report
    killed = time.monotonic()
    holder.kill()  # SIGKILL to the client alone, as `mcp-hold` gets
    holder.wait()
    left = survivors(spec["marker"], LEFTOVER_WAIT)
    report["elapsed_ms"] = int((time.monotonic() - killed) * 1000)
    report.update(phase="done", outcome="Ok", leftovers=left,
                  message="the server outlived its killed client" if left else
                  f"the server ended {report['elapsed_ms']} ms after its client was killed")
    return report


def driver(bin_dir, only=None):
    testkit = os.path.join(bin_dir, "testkit-mcp")
    if not os.access(testkit, os.X_OK):
        raise SystemExit(f"faults_client.py: no testkit-mcp in {bin_dir}")
    for index, case in enumerate(cases()):
        if only and only not in f"{case['transport']} {case['fault']}":
            continue
        marker = f"mcp-faults-py-{os.getpid()}-{index}"
        spec = {**case, "marker": marker, "bin_dir": bin_dir, "url": None}
        server = None
        try:
            kind = case["server"][0]
            if kind == "url":
                server, url = start_url_server(testkit, case["server"][1])
                if case["transport"] == "sse" and url.endswith("/mcp"):
                    url = url[: -len("/mcp")] + "/sse"
                spec["url"] = url
            elif kind == "nobody":
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", 0))
                    port = sock.getsockname()[1]
                path = "sse" if case["transport"] == "sse" else "mcp"
                spec["url"] = f"http://127.0.0.1:{port}/{path}"
            result = run_held(spec) if kind == "held" else run_child(spec)
        except Exception as exc:  # noqa: BLE001
            name, message = describe(exc)
            result = {"phase": "setup", "outcome": "SETUP", "message": f"{name}: {message}",
                      "elapsed_ms": 0, "leftovers": [], "healthy": False}
        finally:
            if server is not None:
                server.kill()
                server.wait()
            kill_marked(marker)
        report = {key: case[key] for key in ("fault", "transport", "expect", "expected")}
        report.update(result)
        print(json.dumps(report), flush=True)
        print(f"faults_client.py: {case['transport']:<5} {case['fault']:<40} "
              f"{report['outcome']:<24} {report['elapsed_ms']:>6} ms"
              f"{'  LEFT ' + str(len(report['leftovers'])) if report['leftovers'] else ''}",
              file=sys.stderr, flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in ("--case", "--hold"):
        import anyio

        spec = json.loads(sys.argv[2])
        anyio.run(child_case if sys.argv[1] == "--case" else child_hold, spec)
    elif len(sys.argv) in (2, 3):
        driver(os.path.abspath(sys.argv[1]), sys.argv[2] if len(sys.argv) == 3 else None)
    else:
        raise SystemExit(__doc__)
