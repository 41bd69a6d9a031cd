"""A throwaway PostgreSQL server for tests and benchmarks: ``initdb`` + ``pg_ctl`` on a free
port in a temporary directory, with a password-protected superuser over TCP.

Debian's ``postgresql`` package puts the binaries in ``/usr/lib/postgresql/<major>/bin`` (not on
PATH); ``$PG_BIN`` overrides. PostgreSQL refuses to run as root: as root the server runs as the
``postgres`` user (``runuser``). ``$TOKENOMY_TEST_PG_URL`` points the tests at an existing
server instead (its user must be allowed to create databases).
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

__all__ = ["PASSWORD", "Server", "find_bin", "start", "why_not"]

PASSWORD = "s3cr3t-Pa55word"  # the tests check it never appears in any output
USER = "tokenomy"


def find_bin() -> Path | None:
    """The directory of ``initdb`` and ``pg_ctl``, or None."""
    candidates = [os.environ.get("PG_BIN", "")]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    which = shutil.which("initdb")
    if which:
        candidates.append(str(Path(which).parent))
    for folder in candidates:
        if folder and (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def why_not() -> str | None:
    """Why no test server can be started here (None when one can)."""
    if os.environ.get("TOKENOMY_TEST_PG_URL"):
        return None
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'tokenomy[postgres]')"
    if find_bin() is None:
        return "no PostgreSQL server binaries (apt-get install postgresql, or set PG_BIN)"
    if os.geteuid() == 0 and (shutil.which("runuser") is None or not _has_user("postgres")):
        return "running as root without a 'postgres' user to run the server as"
    return None


def _has_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A running server; ``database()`` makes a fresh database and returns its URL."""

    def __init__(self, admin_url: str, stop: list[str] | None = None, root: Path | None = None):
        self.admin_url = admin_url
        self._stop = stop
        self._root = root

    def url(self, database: str) -> str:
        base, _, _ = self.admin_url.rpartition("/")
        return f"{base}/{database}"

    def database(self, prefix: str = "t") -> str:
        import psycopg

        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # a generated name: safe
        return self.url(name)

    def stop(self) -> None:
        if self._stop:
            subprocess.run(self._stop, capture_output=True, check=False)
            self._stop = None
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None


def start(fast: bool = True) -> Server:
    """Start a server (``fast``: no fsync, as tests want; benchmarks keep the defaults but
    ``synchronous_commit``)."""
    existing = os.environ.get("TOKENOMY_TEST_PG_URL")
    if existing:
        return Server(existing)
    reason = why_not()
    if reason:
        raise RuntimeError(reason)
    bin_dir = find_bin()
    assert bin_dir is not None
    root = Path(tempfile.mkdtemp(prefix="tokenomy-pg-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    pwfile = root / "pw"
    pwfile.write_text(PASSWORD + "\n")
    prefix: list[str] = []
    if os.geteuid() == 0:
        prefix = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
        shutil.chown(pwfile, "postgres")
    port = _free_port()
    subprocess.run(
        [*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", USER, f"--pwfile={pwfile}",
         "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8",
         "--no-sync"],
        check=True, capture_output=True,
    )  # fmt: skip
    options = f"-p {port} -k {sockets} -h 127.0.0.1 -c max_connections=200"
    if fast:
        options += " -F -c synchronous_commit=off -c full_page_writes=off"
    subprocess.run(
        [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w",
         "-t", "60", "-o", options, "start"],
        check=True, capture_output=True,
    )  # fmt: skip
    stop = [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]
    server = Server(f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{port}/postgres", stop, root)
    atexit.register(server.stop)  # never left running, whatever ends the process
    return server
