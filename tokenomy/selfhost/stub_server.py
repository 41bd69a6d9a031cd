"""A local OpenAI-compatible streaming server with known timing, to check a load generator.

Each request waits ``ttft`` seconds, then streams ``max_tokens`` tokens (or ``tokens`` when the
request gives none) as server-sent events, one every ``itl`` seconds, on a schedule fixed
from the moment the request arrived (so sleeps never accumulate drift), followed by a usage
chunk and ``data: [DONE]``. HTTP/1.1 with keep-alive and chunked transfer encoding, as vLLM,
SGLang and llama.cpp serve it. Loopback only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["StubTiming", "serve", "spawned_stub_server"]


@dataclass(frozen=True, slots=True)
class StubTiming:
    ttft: float = 0.0  # seconds from request arrival to the first token
    itl: float = 0.0  # seconds between tokens
    tokens: int = 16  # tokens per reply when the request sets no max_tokens


def _chunk(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def _event(obj: object) -> bytes:
    return _chunk(b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n")


async def _handle(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timing: StubTiming
) -> None:
    loop = asyncio.get_running_loop()
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            arrived = loop.time()
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            body = json.loads(await reader.readexactly(length)) if length else {}
            n = int(body.get("max_tokens") or body.get("max_completion_tokens") or timing.tokens)
            chat = head.split(b" ", 2)[1].endswith(b"/chat/completions")
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                b"transfer-encoding: chunked\r\nconnection: keep-alive\r\n\r\n"
            )
            for i in range(n):
                delay = arrived + timing.ttft + i * timing.itl - loop.time()
                if delay > 0:
                    await writer.drain()
                    await asyncio.sleep(delay)
                choice = (
                    {"index": 0, "delta": {"content": "tok "}}
                    if chat
                    else {"index": 0, "text": "tok "}
                )
                writer.write(_event({"id": "stub", "object": "chunk", "choices": [choice]}))
            prompt = len(str(body.get("messages") or body.get("prompt") or "")) // 4
            writer.write(
                _event(
                    {
                        "id": "stub",
                        "choices": [],
                        "usage": {
                            "prompt_tokens": prompt,
                            "completion_tokens": n,
                            "total_tokens": prompt + n,
                        },
                    }
                )
            )
            writer.write(_chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve(
    timing: StubTiming, port: int = 0, ready: asyncio.Future[int] | None = None
) -> None:
    """Serve until cancelled; ``ready`` gets the bound port."""
    server = await asyncio.start_server(
        lambda r, w: _handle(r, w, timing), "127.0.0.1", port, backlog=4096
    )
    async with server:
        if ready is not None:
            ready.set_result(server.sockets[0].getsockname()[1])
        await server.serve_forever()


@contextlib.contextmanager
def spawned_stub_server(timing: StubTiming) -> Iterator[str]:
    """Run the stub in its own process (its own CPU and GIL, so the client under test does
    not slow it); yields its base URL and stops it on exit."""
    import subprocess
    import sys

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tokenomy.selfhost.stub_server",
            "0",
            str(timing.ttft),
            str(timing.itl),
            str(timing.tokens),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"stub server did not start: {line!r}")
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    """``python -m tokenomy.selfhost.stub_server PORT TTFT ITL TOKENS``: prints ``PORT n``."""
    import sys

    port, ttft, itl, tokens = (
        int(sys.argv[1]),
        float(sys.argv[2]),
        float(sys.argv[3]),
        int(sys.argv[4]),
    )

    async def run() -> None:
        ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        ready.add_done_callback(lambda f: print(f"PORT {f.result()}", flush=True))
        await serve(StubTiming(ttft, itl, tokens), port, ready)

    started = time.time()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    print(f"stopped after {time.time() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
