"""The tree of a git revision of this repository, for benchmarks that compare against it
(``--before REV`` of bench_fo001.py, bench_inputs.py and bench_run.py). Imports nothing of
forestcarbon, so a benchmark's measuring process of an older tree loads only that tree's code."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def extract(rev: str, into: Path) -> Path:
    """The tree of git revision ``rev`` of this repository, in ``into`` (created)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True
    ).stdout
    into.mkdir()
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into
