"""What the gateway adds: latency (p50/p99, whole requests and streams' time to first byte)
and the highest streamed request rate, side by side with a direct connection to the stub and
with Portkey's gateway as a peer.

    python bench/bench_gateway.py [--n 500] [--seconds 5] [--concurrency 32]
                                  [--portkey DIR]   # DIR holds node_modules/@portkey-ai/gateway

The stub upstream (``tokenomy.gateway.stub``, answering the recorded payloads of
``tests/data/gateway`` at once), the gateway (``tokenomy gateway``, recording on, its own
ledger in a scratch folder) and Portkey each run in their own process; the client is this
process (aiohttp). Latency: ``--n`` sequential requests per path, after a warm-up; "added" is
the gateway's percentile minus the direct one. Rate: ``--concurrency`` clients sending
streamed Chat Completions for ``--seconds``. Everything shares this machine's CPUs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data" / "gateway"
BODY = b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}'
STREAM_BODY = BODY[:-1] + b', "stream": true}'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(400):
        if proc.poll() is not None:
            raise SystemExit(f"process on port {port} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listening on {port}")


_STUB = """
import sys
from pathlib import Path
from aiohttp import web
from tokenomy.gateway.stub import StubUpstream
data = Path(sys.argv[2])
names = {"openai_chat.json": "openai_chat", "openai_chat_stream.sse": "openai_chat_stream"}
stub = StubUpstream({key: (data / name).read_bytes() for name, key in names.items()})
stub.requests = type("Sink", (), {"append": staticmethod(lambda x: None)})()
stub.headers = stub.requests
web.run_app(stub.app(), host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


@contextlib.contextmanager
def _process(args: list[str], port: int, **kw: object) -> Iterator[None]:
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)  # type: ignore[call-overload]
    try:
        _wait(port, proc)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _latency(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], n: int, stream: bool
) -> tuple[list[float], list[float]]:
    """(whole-request ms, time-to-first-byte ms) of ``n`` sequential requests."""
    whole, first = [], []
    body = STREAM_BODY if stream else BODY
    for _ in range(n):
        t0 = time.perf_counter()
        async with session.post(url, data=body, headers=headers) as resp:
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status}: {(await resp.text())[:200]}")
            await resp.content.readany()
            t1 = time.perf_counter()
            await resp.read()
        t2 = time.perf_counter()
        first.append((t1 - t0) * 1000)
        whole.append((t2 - t0) * 1000)
    return whole, first


async def _rate(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], seconds: float, c: int
) -> tuple[float, int]:
    done = 0
    failed = 0
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done, failed
        while time.perf_counter() < stop:
            async with session.post(url, data=STREAM_BODY, headers=headers) as resp:
                await resp.read()
                if resp.status == 200:
                    done += 1
                else:
                    failed += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(c)))
    return done / (time.perf_counter() - t0), failed


async def _measure(
    targets: dict[str, tuple[str, dict[str, str]]], args: argparse.Namespace
) -> None:
    base = {"content-type": "application/json", "authorization": "Bearer sk-bench"}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        results = {}
        for name, (url, extra) in targets.items():
            headers = {**base, **extra}
            await _latency(session, url, headers, 50, False)  # warm up
            whole, _ = await _latency(session, url, headers, args.n, False)
            try:
                await _latency(session, url, headers, 50, True)
            except RuntimeError as error:
                print(f"# {name}: streaming fails ({error}); whole requests only")
                nan = [float("nan")]
                results[name] = (whole, nan, nan, float("nan"), 0)
                continue
            swhole, sfirst = await _latency(session, url, headers, args.n, True)
            rate, failed = await _rate(session, url, headers, args.seconds, args.concurrency)
            results[name] = (whole, sfirst, swhole, rate, failed)
    direct = results["direct"]
    print(
        "path         whole_p50  whole_p99  ttfb_p50  ttfb_p99  stream_p50  stream_p99  "
        "added_p50  added_p99  stream_added_p50  stream_added_p99  streamed_rps"
    )
    for name, (whole, sfirst, swhole, rate, failed) in results.items():
        added = [
            _pct(whole, 0.5) - _pct(direct[0], 0.5),
            _pct(whole, 0.99) - _pct(direct[0], 0.99),
            _pct(swhole, 0.5) - _pct(direct[2], 0.5),
            _pct(swhole, 0.99) - _pct(direct[2], 0.99),
        ]
        cells = [
            _pct(whole, 0.5), _pct(whole, 0.99), _pct(sfirst, 0.5), _pct(sfirst, 0.99),
            _pct(swhole, 0.5), _pct(swhole, 0.99), *added,
        ]  # fmt: skip
        note = f"  ({failed} failed)" if failed else ""
        print(f"{name:<12} " + "  ".join(f"{v:9.3f}" for v in cells) + f"  {rate:12.0f}{note}")
    print("# mean whole ms: " + ", ".join(
        f"{k} {statistics.fmean(v[0]):.3f}" for k, v in results.items()))  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--portkey", type=Path, default=REPO / "bench" / "peers")
    ap.add_argument(
        "--no-record",
        dest="record",
        action="store_false",
        help="Run the gateway with recording off (the proxy alone).",
    )
    args = ap.parse_args()
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, aiohttp {aiohttp.__version__}; "
        f"load average {os.getloadavg()[0]:.1f}; recording {'on' if args.record else 'off'}"
    )
    stub_port, gw_port, pk_port = _free_port(), _free_port(), _free_port()
    stub = f"http://127.0.0.1:{stub_port}"
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        config = Path(tmp) / "gateway.toml"
        record = "" if args.record else "record = false\n"
        config.write_text(f'{record}[upstreams]\nopenai = "{stub}"\n')
        stack.enter_context(_process([sys.executable, "-c", _STUB, str(stub_port), str(DATA)],
                                     stub_port))  # fmt: skip
        env = {**os.environ, "TOKENOMY_HOME": str(Path(tmp) / "ledger")}
        gw_cmd = [sys.executable, "-m", "tokenomy", "gateway", "--port", str(gw_port),
                  "--config", str(config)]  # fmt: skip
        stack.enter_context(_process(gw_cmd, gw_port, env=env))
        targets = {
            "direct": (f"{stub}/v1/chat/completions", {}),
            "tokenomy": (f"http://127.0.0.1:{gw_port}/v1/chat/completions", {}),
        }
        server = args.portkey / "node_modules" / "@portkey-ai" / "gateway" / "build"
        if (server / "start-server.js").exists():
            pk_cmd = ["node", str(server / "start-server.js"), f"--port={pk_port}", "--headless"]
            stack.enter_context(_process(pk_cmd, pk_port))
            targets["portkey"] = (
                f"http://127.0.0.1:{pk_port}/v1/chat/completions",
                {"x-portkey-provider": "openai", "x-portkey-custom-host": f"{stub}/v1"},
            )
        else:
            print(f"# Portkey not found under {args.portkey} (npm i @portkey-ai/gateway there)")
        asyncio.run(_measure(targets, args))


if __name__ == "__main__":
    main()
