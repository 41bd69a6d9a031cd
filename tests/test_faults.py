"""Faults: ``kill -9`` at any point of a large import, a ledger another process holds, and a
dashboard left open while other commands run. Nothing may lose or double a call, leave a
worker behind or leave a known model unpriced."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tokenomy.ledger import Ledger, LedgerBusy

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from make_corpus import replicate  # the corpus the speed benchmarks import

SAMPLE = Path(__file__).resolve().parents[1] / "tokenomy" / "data" / "sample_logs"
KILL_POINTS = 20


def copies(out: Path, n: int) -> Path:
    """``n`` copies of the shipped real sessions, each with its own ids (every call new)."""
    replicate(SAMPLE, out, n)
    return out


def tokenomy(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "tokenomy", *args]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (workers left behind by a killed import)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


def alive(pids: list[int]) -> list[int]:
    """Those of ``pids`` still running (not gone, not a zombie)."""
    out = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            out.append(pid)
    return out


def daily(logs: Path, home: Path, env: dict[str, str]) -> dict[str, object]:
    proc = tokenomy("report", "daily", str(logs), "--home", str(home), "--json", env=env)
    out, errors = proc.communicate(timeout=300)
    assert proc.returncode == 0, errors.decode()
    totals: dict[str, object] = json.loads(out)["totals"]
    return totals


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_at_random_points_of_an_import_loses_and_doubles_nothing(tmp_path: Path) -> None:
    logs = copies(tmp_path / "logs", 2)
    env = {**os.environ, "TOKENOMY_PARALLEL_MIN_BYTES": "1"}  # the worker pool, as at 1 GiB
    clean = daily(logs, tmp_path / "clean", env)
    started = time.monotonic()
    daily(logs, tmp_path / "timing", env)
    full = time.monotonic() - started
    assert clean["unpriced_calls"] == 0 and clean["calls"] == 2 * 508

    rng = random.Random(11)
    home = tmp_path / "killed"
    pool_seen = 0
    for point in range(KILL_POINTS):
        # A fresh ledger half the time (killed mid-first-import), else the same one again.
        target = home / str(point) if point % 2 else home / "shared"
        proc = tokenomy("import", str(logs), "--home", str(target), env=env)
        if point % 4 < 2:  # any moment of the run
            time.sleep(rng.uniform(0.05, full))
        else:  # while the workers read
            deadline = time.monotonic() + full * 2
            while not children(proc.pid) and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.2))
        workers = children(proc.pid)
        pool_seen += bool(workers)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 5
        while alive(workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert alive(workers) == [], f"workers left running after kill at point {point}"
        assert daily(logs, target, env) == clean, f"kill point {point}"
    assert pool_seen >= KILL_POINTS // 4  # the kills did land while workers were reading


HOLD = """
import sys, time
from tokenomy.ledger import Ledger
ledger = Ledger(sys.argv[1])
ledger.sql("SELECT 1")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def test_a_held_ledger_is_waited_for_then_named(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    holder = subprocess.Popen([sys.executable, "-c", HOLD, home, "3"], stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        started = time.monotonic()
        with pytest.raises(LedgerBusy, match=rf"in use by another process \(PID {holder.pid}\)"):
            Ledger(home, wait=0.3)
        assert time.monotonic() - started >= 0.3
        # The CLI waits for the holder to let go (the default wait is 15 s), then reports.
        out, errors = tokenomy(
            "report", "daily", str(SAMPLE), "--home", home, "--json", env={**os.environ}
        ).communicate(timeout=120)
        assert json.loads(out)["totals"]["calls"] == 508, errors.decode()
    finally:
        holder.kill()
        holder.wait()


def test_commands_run_while_the_dashboard_is_open(tmp_path: Path) -> None:
    from tokenomy.render.dashboard import Dashboard

    home = tmp_path / "home"
    with Ledger(home) as ledger:
        dash = Dashboard(ledger, [SAMPLE], port=0, poll_s=0.2)
        dash.start()
        try:
            import urllib.request

            with urllib.request.urlopen(dash.url + "api/version", timeout=30) as resp:
                assert resp.status == 200
            totals = daily(SAMPLE, home, {**os.environ})  # the same ledger, from another process
            assert totals["calls"] == 508
        finally:
            dash.close()


def test_a_damaged_ledger_file_is_named_in_one_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "ledger.duckdb").write_bytes(bytes(range(256)) * 400)  # not a DuckDB file
    proc = tokenomy("report", "daily", str(SAMPLE), "--home", str(home), env={**os.environ})
    out, errors = proc.communicate(timeout=120)
    assert proc.returncode == 1 and out == b""
    lines = errors.decode().strip().splitlines()
    assert len(lines) == 1 and "cannot be opened" in lines[0] and "ledger.duckdb" in lines[0]
    assert "Traceback" not in errors.decode() and "in use" not in lines[0]
