"""Benchmark of reading and validating inputs: ``load_program`` and ``part_task`` on one synthetic
GeoParquet part of 100,000 stands, for this tree and for a git revision (issue #15, item 5).

A synthetic program of two parts (``forestcarbon.scale.synthetic``, SYNTHETIC data) is written once;
then each tree, in its own process, reads ``part-00000`` once (warm-up: imports, caches) and times,
on ``part-00001``:

- ``load_program`` of the part (read, validate, every geometry check), as ``part_task`` calls it;
- ``part_task`` (the same, then FO-001, holds and the summary partial; no output written).

The two trees take turns (``--rounds`` times; the best of each is kept) so that a change of load
weighs on both. Wall and CPU seconds, stands per second and the ratio before/after are printed
with the load average (the machine may be shared: CPU time is the steadier figure), and whether the
two trees gave the same validated inputs and the same partial (SHA-256 of their CSV/WKB).

    python benchmarks/bench_inputs.py                    # against main's c416f00
    python benchmarks/bench_inputs.py --before HEAD~3 --rounds 5
    python benchmarks/bench_inputs.py --measure PROGRAM  # one tree's figures (used internally)

Targets (issue #15): ``load_program`` of a 100k-stand part at most 1.5 s, ``part_task`` at most
2.5 s.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from git_tree import extract  # benchmarks/ is the script's folder, first on sys.path

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "c416f00"
"""main when the input path was made fast (the revision compared against by default)."""
PER_PART = 100_000
PART = "part-00001.parquet"
TARGETS = {"load_program": 1.5, "part_task": 2.5}
"""Wall seconds for one 100k-stand part (issue #15)."""


def load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def timed(f) -> tuple[object, float, float]:
    """``f()``, and its wall and CPU seconds."""
    t0, c0 = time.perf_counter(), time.process_time()
    result = f()
    return result, time.perf_counter() - t0, time.process_time() - c0


def measure(program: Path) -> dict:
    """Figures of the tree on PYTHONPATH (run in a fresh process)."""
    from forestcarbon.core.config import load_settings
    from forestcarbon.inputs.program import load_program
    from forestcarbon.scale.stream import part_task

    def part_program():
        settings = load_settings(program)
        inputs = dataclasses.replace(
            settings.inputs, stands=f"stands/{PART}", operations=f"operations/{PART}"
        )
        return load_program(program, settings=dataclasses.replace(settings, inputs=inputs))

    part_task(str(program), "part-00000.parquet", None)  # warm-up
    inputs, load_wall, load_cpu = timed(part_program)
    result, task_wall, task_cpu = timed(lambda: part_task(str(program), PART, None))
    stands = inputs.stands
    digest = hashlib.sha256()
    digest.update(stands.drop(columns="geometry").to_csv(index=False).encode())
    digest.update(b"".join(stands.geometry.to_wkb()))
    digest.update(inputs.operations.to_csv(index=False).encode())
    return {
        "stands": len(stands),
        "load_program": (load_wall, load_cpu),
        "part_task": (task_wall, task_cpu),
        "inputs_sha256": digest.hexdigest(),
        "partial_sha256": hashlib.sha256(repr(result.partial).encode()).hexdigest(),
    }


def one_run(tree: Path, program: Path) -> dict:
    """:func:`measure` in a fresh process with the code of ``tree``."""
    proc = subprocess.run(
        [sys.executable, __file__, "--measure", str(program)],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ, PYTHONPATH=str(tree)),
    )
    return json.loads(proc.stdout.splitlines()[-1])


def best(runs: list[dict], key: str) -> tuple[float, float]:
    """The lowest wall and the lowest CPU seconds of ``key`` over the runs."""
    return min(r[key][0] for r in runs), min(r[key][1] for r in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE, metavar="REV", help=f"default {BEFORE}")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--measure", metavar="PROGRAM", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(Path(args.measure))))
        return 0
    from forestcarbon.scale.synthetic import write_synthetic_program

    work = Path(tempfile.mkdtemp(prefix="bench_inputs_"))
    try:
        program = write_synthetic_program(work / "program", 2 * PER_PART, PER_PART)
        trees = {"before": extract(args.before, work / "before"), "after": ROOT}
        print(f"load average at start {load()} ({os.cpu_count()} CPUs)")
        runs: dict[str, list[dict]] = {label: [] for label in trees}
        for _ in range(args.rounds):
            for label, tree in trees.items():  # turns: a change of load weighs on both
                runs[label].append(one_run(tree, program))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average at end {load()}; best of {args.rounds} runs per tree")
    stands = runs["after"][0]["stands"]
    print(f"one part of {stands:,} stands (SYNTHETIC); before = {args.before}, after = this tree")
    print(
        f"{'':14} {'before s':>9} {'cpu s':>7} {'after s':>8} {'cpu s':>7} {'speed-up':>9} "
        f"{'cpu':>6} {'stands/s':>9} {'target':>7}"
    )
    for key, target in TARGETS.items():
        (bw, bc), (aw, ac) = best(runs["before"], key), best(runs["after"], key)
        print(
            f"{key:14} {bw:>9.2f} {bc:>7.2f} {aw:>8.2f} {ac:>7.2f} {bw / aw:>8.1f}x "
            f"{bc / ac:>5.1f}x {stands / aw:>9,.0f} {'ok' if aw <= target else 'over':>7}"
        )
    same = all(
        r[k] == runs["before"][0][k]
        for r in runs["before"] + runs["after"]
        for k in ("inputs_sha256", "partial_sha256")
    )
    print(f"identical validated inputs and partial: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
