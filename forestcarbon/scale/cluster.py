"""Where a distributed run computes: ``local:N`` or ``tcp://host:port`` -> a Dask client."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass

from forestcarbon.core.exceptions import ConfigError, Problem

log = logging.getLogger("forestcarbon")

MAX_LOCAL_WORKERS = 256
"""Most worker processes of a LocalCluster (a typo such as local:2000 is refused)."""


@dataclass(frozen=True)
class Scheduler:
    """A parsed scheduler: ``kind`` "local" (``workers`` processes) or "address"."""

    text: str
    kind: str
    workers: int = 0
    address: str = ""


def parse_scheduler(text: str, where: str = "--scheduler") -> Scheduler:
    """``local:N`` (N worker processes, 1 thread each) or ``tcp://host:port`` (an existing Dask
    scheduler); anything else is an error naming ``where`` and the accepted forms."""
    text = text.strip()
    m = re.fullmatch(r"local:(\d+)", text)
    if m and 1 <= int(m.group(1)) <= MAX_LOCAL_WORKERS:
        return Scheduler(text, "local", workers=int(m.group(1)))
    if re.fullmatch(r"(tcp|tls|ucx|inproc)://[^\s/]+", text):
        return Scheduler(text, "address", address=text)
    raise ConfigError(
        Problem(
            where,
            "",
            "scheduler",
            f"{text!r}: expected local:N (N worker processes, 1 to {MAX_LOCAL_WORKERS}) or the "
            "address of a Dask scheduler such as tcp://host:8786",
        )
    )


def _require_dask():
    try:
        import distributed
    except ImportError:  # pragma: no cover - the scale extra is part of the test extra
        raise ConfigError(
            Problem(
                "--scheduler",
                "",
                "",
                "a distributed run needs Dask: pip install 'forestcarbon[scale]'",
            )
        ) from None
    return distributed


@contextlib.contextmanager
def open_client(scheduler: Scheduler, *, memory_limit: str = "auto") -> Iterator:
    """A ``distributed.Client`` on the scheduler, closed (with its LocalCluster) on exit.

    A LocalCluster has ``scheduler.workers`` worker processes of one thread each (the engine's
    arithmetic is numpy: processes, not threads, use several cores); its dashboard is on a free
    port (logged).
    """
    distributed = _require_dask()
    if scheduler.kind == "local":
        log.info("Dask: LocalCluster of %d worker processes", scheduler.workers)
        with (
            distributed.LocalCluster(
                n_workers=scheduler.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # a free port (8787 may be taken)
                memory_limit=memory_limit,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            log.info("Dask dashboard: %s", client.dashboard_link)
            yield client
    else:
        log.info("Dask: scheduler %s", scheduler.address)
        try:
            client = distributed.Client(scheduler.address, timeout="20s")
        except OSError as e:
            raise ConfigError(
                Problem("--scheduler", "", "scheduler", f"cannot reach {scheduler.address}: {e}")
            ) from None
        with client:
            yield client


def n_workers(client) -> int:
    """Workers of the client's cluster (at least 1)."""
    return max(1, len(client.scheduler_info().get("workers", {})))
