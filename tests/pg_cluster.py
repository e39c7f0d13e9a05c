"""A throwaway PostgreSQL + PostGIS cluster for the tests (Debian's packages, no mocks).

``initdb`` + ``pg_ctl`` in a temporary directory, on a free local port, trust authentication on
127.0.0.1 only, torn down after the session. As root the server runs as the ``postgres`` user
(PostgreSQL refuses to run as root). Where PostgreSQL or PostGIS is not installed the tests that
need it are skipped with a message saying what to install (``.ci/run`` installs both).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

INSTALL_HINT = "apt-get install postgresql postgresql-15-postgis-3 (or the postgis package)"
DATABASE = "forestcarbon"


def _bindir() -> Path | None:
    """The newest PostgreSQL server binaries with PostGIS beside them, or None."""
    for version_dir in sorted(Path("/usr/lib/postgresql").glob("*"), reverse=True):
        control = Path(f"/usr/share/postgresql/{version_dir.name}/extension/postgis.control")
        if (version_dir / "bin" / "initdb").exists() and control.exists():
            return version_dir / "bin"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


class Cluster:
    """A running cluster: ``url(user)`` gives a connection URL (no password: trust on 127.0.0.1)."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="forestcarbon-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, *cmd: str) -> None:
        subprocess.run(_as_server_user(list(cmd)), check=True, capture_output=True, cwd="/")

    def start(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
        )
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
            "-c max_connections=60 -c max_pred_locks_per_transaction=256"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "server.log"),
            "-w",
            "start",
        )
        self.sql("postgres", f"CREATE DATABASE {DATABASE}")
        self.sql(DATABASE, "CREATE EXTENSION postgis")

    def sql(self, database: str, statement: str) -> None:
        """Run one administrative statement (fixed text from the tests) as the superuser."""
        psql = self.bindir / "psql"
        self._run(
            str(psql), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database,
            "-v", "ON_ERROR_STOP=1", "-c", statement,
        )  # fmt: skip

    def url(self, user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{DATABASE}"

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster():
    """The session's PostgreSQL cluster (skips when PostgreSQL/PostGIS is not installed)."""
    bindir = _bindir()
    if bindir is None:
        pytest.skip(f"PostgreSQL with PostGIS is not installed: {INSTALL_HINT}")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL as 'postgres'")
    cluster = Cluster(bindir)
    try:
        cluster.start()
    except subprocess.CalledProcessError as e:
        cluster.stop()
        pytest.skip(f"cannot start a PostgreSQL cluster: {e.stderr.decode(errors='replace')}")
    yield cluster
    cluster.stop()


def store_toml(cluster: Cluster | None, *, user: str = "postgres") -> str:
    """program.toml lines selecting a record store: the GeoPackage (cluster None) or a fresh
    schema of the test cluster."""
    if cluster is None:
        return '[inputs]\noperations = "records.gpkg"\n'
    schema = "t_" + uuid.uuid4().hex[:12]
    return f'[store]\nurl = "{cluster.url(user)}"\nschema = "{schema}"\n'


def kill_mid_transaction(url: str, cli_args: list[str], writing: str, poll_s: float) -> int:
    """Run ``python -m forestcarbon.cli CLI_ARGS``, SIGKILL it as soon as the SQL condition
    ``writing`` on ``pg_stat_activity`` holds for its connection (application_name
    'forestcarbon'), wait until the server has dropped that connection (its transaction rolled
    back) and return the process's return code (``-SIGKILL``)."""
    import psycopg  # the postgres extra

    proc = subprocess.Popen(
        [sys.executable, "-m", "forestcarbon.cli", *cli_args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    ours = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'forestcarbon'"
    deadline = time.monotonic() + 300
    with psycopg.connect(url, autocommit=True) as con:
        while not con.execute(f"{ours} AND {writing}").fetchone()[0]:
            assert proc.poll() is None, f"the command ended before it wrote: {proc.stderr.read()!r}"
            assert time.monotonic() < deadline
            time.sleep(poll_s)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
        while con.execute(ours).fetchone()[0]:  # the server notices the dead client, rolls back
            assert time.monotonic() < deadline
            time.sleep(0.05)
    return proc.returncode
