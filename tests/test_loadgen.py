"""The load generator against a real local streaming server whose timing is known."""

from __future__ import annotations

import os
import socket

import pytest

from tokenomy.selfhost.loadgen import (
    EndpointError,
    LoadSpec,
    run_bench_sync,
    synthetic_prompts,
)
from tokenomy.selfhost.stub_server import StubTiming, spawned_stub_server

TTFT, ITL, TOKENS = 0.2, 0.02, 16
E2EL = TTFT + (TOKENS - 1) * ITL  # 0.5 s: the true end-to-end latency of every request


@pytest.fixture(scope="module")
def url() -> object:
    with spawned_stub_server(StubTiming(TTFT, ITL, TOKENS)) as base:
        yield base


# Timing within 5% needs CPU to spare: on a machine busier than its cores (other jobs, a
# parallel suite) the client's own scheduling delay is what gets measured.
needs_idle_cpu = pytest.mark.skipif(
    os.getloadavg()[0] > (os.cpu_count() or 1),
    reason="load average above the core count: timing within 5% would measure the machine",
)


def _close(measured_ms: float, truth_s: float) -> None:
    assert measured_ms / 1e3 == pytest.approx(truth_s, rel=0.05)


@needs_idle_cpu
def test_fixed_concurrency_measures_the_known_timing(url: str) -> None:
    prompts = synthetic_prompts(8, 64, TOKENS)
    (report,) = run_bench_sync(url, prompts, [LoadSpec(num_requests=24, concurrency=8)])
    s = report.summary()
    assert (s["completed"], s["failed"]) == (24, 0)
    assert all(r.output_tokens == TOKENS and r.input_tokens == 64 for r in report.results)
    _close(s["median_ttft_ms"], TTFT)
    _close(s["mean_tpot_ms"], ITL)
    _close(s["median_itl_ms"], ITL)
    _close(s["median_e2el_ms"], E2EL)
    # Closed loop: 8 requests in flight, each taking E2EL, three rounds.
    assert report.request_throughput == pytest.approx(8 / E2EL, rel=0.05)
    assert report.output_throughput == pytest.approx(8 * TOKENS / E2EL, rel=0.05)
    assert report.usd_per_m_output(2.0) == pytest.approx(
        2.0 * 1e6 / (3600 * report.output_throughput)
    )


@needs_idle_cpu
def test_poisson_rate_and_completions_api(url: str) -> None:
    prompts = synthetic_prompts(4, 16, TOKENS)
    load = LoadSpec(num_requests=40, rate=40.0, seed=3)
    (report,) = run_bench_sync(url, prompts, [load], api="completions")
    s = report.summary()
    assert s["completed"] == 40
    _close(s["median_ttft_ms"], TTFT)
    _close(s["median_tpot_ms"], ITL)
    _close(s["median_e2el_ms"], E2EL)
    assert s["send_lag_p99_ms"] < 20  # the generator kept to its schedule
    # Open loop: the run lasts the arrivals' span plus one request.
    sent = [r.sent for r in report.results]
    assert report.duration == pytest.approx(max(sent) - min(sent) + E2EL, rel=0.05)


def test_unreachable_endpoint_is_a_clear_error() -> None:
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(EndpointError, match=f"cannot connect to 127.0.0.1:{port}"):
        run_bench_sync(
            f"http://127.0.0.1:{port}", synthetic_prompts(1, 4, 4), [LoadSpec(num_requests=1)]
        )
    with pytest.raises(EndpointError, match="not an http"):
        run_bench_sync("ftp://x", synthetic_prompts(1, 4, 4), [LoadSpec(num_requests=1)])
