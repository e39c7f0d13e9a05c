"""Wall time of the first commands a person runs: ``--help``, ``validate``, ``run`` of the sample.

Each measurement is a fresh process (imports included, as a person sees it); the median of
``--repeat`` runs (default 5) is printed with the CPU time (user + system) of the same runs, the
machine's load average (the machine may be shared: CPU time is the steadier figure) and the target
of issue #13. With ``--before REV`` the same commands run on that git revision of this repository
too (extracted with ``git archive`` into a temporary folder, same Python environment), and the
before/after ratio is printed, and the CSVs of both runs are compared byte for byte.

    python benchmarks/bench_run.py                  # this tree
    python benchmarks/bench_run.py --before main    # and the ratio against main

Targets (issue #13): ``run`` of the sample under 6 s, ``validate`` under 1.5 s, ``--help`` under
0.5 s (wall, on the project's 2-core machine).

The canopy zonal statistics and the volume model's fit are kept in the user's cache
(``core/cache.py``): the benchmark uses a cache folder of its own per tree; ``validate (cold)``
and ``run (cold)`` empty it before every run (a program validated or run for the first time, or
after its plots or rasters changed), ``validate`` and ``run`` are measured with it filled (a
program validated or run again: the usual case). ``run (cold)`` comes just before ``run``, so its
last repetition fills the cache ``run`` reads (``validate`` never fits the volume model since
this revision: only a run fills that entry). Python's bytecode is cached
as in an installed package (pip compiles it; ``PYTHONPYCACHEPREFIX`` in the benchmark's temporary
folder, so nothing is written in the tree, even where ``PYTHONDONTWRITEBYTECODE`` is set), after
one unmeasured run of each command.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from git_tree import extract  # benchmarks/ is the script's folder, first on sys.path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "tsuyama-sample"

TARGETS = {
    "--help": 0.5,
    "validate (cold)": 1.5,
    "validate": 1.5,
    "run (cold)": None,
    "run": 6.0,
}
"""Wall-time targets [s] of issue #13 (a first validate, empty cache, included: it is a city
officer's first try; none for a first run, which fits the canopy volume model)."""


def commands(out: Path) -> dict[str, list[str]]:
    return {
        "--help": ["--help"],
        "validate (cold)": ["-q", "validate", str(SAMPLE)],
        "validate": ["-q", "validate", str(SAMPLE)],
        "run (cold)": ["-q", "run", str(SAMPLE), "--out", str(out)],
        "run": ["-q", "run", str(SAMPLE), "--out", str(out)],
    }


def timed(tree: Path, args: list[str], out: Path, cache: Path) -> tuple[float, float]:
    """(wall [s], CPU user + system [s]) of one fresh ``python -m forestcarbon`` process."""
    shutil.rmtree(out, ignore_errors=True)
    env = dict(os.environ, PYTHONPATH=str(tree), FORESTCARBON_CACHE_DIR=str(cache))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(cache.parent / f"pycache_{cache.name}")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "forestcarbon", *args],
        env=env,
        cwd=tree,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(trees: dict[str, Path], repeat: int, work: Path) -> dict[str, dict]:
    """Tree -> command -> (median wall [s], median CPU [s]) over ``repeat`` fresh processes.

    The trees take turns (before, after, before, ...) so that a change in the machine's load
    during the benchmark weighs on both alike.
    """
    runs: dict[str, dict[str, list]] = {label: {} for label in trees}
    for label, tree in trees.items():  # bytecode compiled, as after pip install (not measured)
        out, cache = work / f"out_{label}", work / f"cache_{label}"
        for args in commands(out).values():
            timed(tree, args, out, cache)
    for name in TARGETS:
        for _ in range(repeat):
            for label, tree in trees.items():
                out, cache = work / f"out_{label}", work / f"cache_{label}"
                if name.endswith("(cold)"):
                    shutil.rmtree(cache, ignore_errors=True)
                args = commands(out)[name]
                runs[label].setdefault(name, []).append(timed(tree, args, out, cache))
    return {
        label: {
            name: (statistics.median(w for w, _ in r), statistics.median(c for _, c in r))
            for name, r in by_name.items()
        }
        for label, by_name in runs.items()
    }


def csv_hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.csv")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per command (median)")
    parser.add_argument("--before", metavar="REV", help="git revision to compare against")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_run_"))
    try:
        trees = {"after": ROOT}
        if args.before:
            trees = {"before": extract(args.before, work / "before"), "after": ROOT}
        start = os.getloadavg()
        figures = measure(trees, args.repeat, work)
        outs = {label: work / f"out_{label}" for label in trees}
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(
            f"median of {args.repeat} fresh processes; load average {load} at the end, "
            f"{start[0]:.1f} at the start ({os.cpu_count()} CPUs)"
        )
        header = f"{'command':<16}{'target s':>10}{'wall s':>10}{'cpu s':>9}"
        if "before" in figures:
            header += f"{'before wall':>13}{'before cpu':>12}{'ratio wall':>12}{'ratio cpu':>11}"
        print(header)
        for name, target in TARGETS.items():
            wall, cpu = figures["after"][name]
            shown = "-" if target is None else f"{target:.1f}"
            line = f"{name:<16}{shown:>10}{wall:>10.2f}{cpu:>9.2f}"
            if "before" in figures:
                bw, bc = figures["before"][name]
                line += f"{bw:>13.2f}{bc:>12.2f}{wall / bw:>12.2f}{cpu / bc:>11.2f}"
            if target is not None:
                line += "  ok" if wall < target else "  over target"
            print(line)
        if "before" in figures:
            same = csv_hashes(outs["before"]) == csv_hashes(outs["after"])
            print(f"CSVs byte-identical before/after: {'yes' if same else 'NO'}")
            return 0 if same else 1
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
