"""A worker killed mid-run: Dask runs its partitions again elsewhere; results are unchanged."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from forestcarbon.run import run_program
from forestcarbon.scale.engine import DaskEngine
from forestcarbon.scale.synthetic import write_synthetic_program

distributed = pytest.importorskip("distributed")


class StallFirstFO001(distributed.WorkerPlugin):
    """The first worker to start an FO-001 partition writes its pid to ``flag`` and stalls (so
    the test kills it mid-run); later workers, and the restarted one, run normally."""

    def __init__(self, flag: str):
        self.flag = flag

    def setup(self, worker):
        self.worker = worker

    def transition(self, key, start, finish, **kwargs):
        name = key[0] if isinstance(key, tuple) else str(key)
        if finish != "executing" or not name.startswith("fo001_task"):
            return
        try:
            fd = os.open(self.flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        time.sleep(120)  # killed long before


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


@pytest.mark.slow  # about 30 s: a cluster, a kill, a worker restarted
def test_killed_worker_is_retried_and_results_are_unchanged(client, tmp_path):
    program = write_synthetic_program(tmp_path / "syn", 2_000, per_partition=500)
    single = tmp_path / "single"
    run_program(program, single, fo001_only=True)
    flag = tmp_path / "stalled.pid"
    client.register_plugin(StallFirstFO001(str(flag)), name="stall-first-fo001")
    pids_before = set(client.run(os.getpid).values())
    out = tmp_path / "dist"
    errors = []

    def run():
        try:
            run_program(program, out, fo001_only=True, engine=DaskEngine(client, "local:2", 6))
        except Exception as e:  # reported by the assertion below
            errors.append(e)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 60
    while not (flag.exists() and flag.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    pid = int(flag.read_text())
    assert pid in pids_before  # one of the cluster's workers, stalled inside a partition
    os.kill(pid, signal.SIGKILL)
    thread.join(timeout=120)
    assert not thread.is_alive() and not errors, errors
    for name in ("fo001_stands.csv", "program_summary.csv"):
        assert (out / name).read_bytes() == (single / name).read_bytes(), name
    # the nanny started a new worker in place of the killed one
    client.wait_for_workers(2, timeout=60)
    pids_after = set(client.run(os.getpid).values())
    assert pid not in pids_after
