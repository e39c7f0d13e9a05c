"""Benchmark of the FO-001 engine on synthetic registers of 10k, 100k and 1M stands.

Each size runs in its own process (so peak memory is that size's own), for one fiscal year, with
one thinning per stand (eligibility) and final harvest + replanting on 1% of the stands; the time
is ``compute_fo001`` and the FO-001 summary. Prints stands per second (wall and CPU: the machine may
be shared, CPU time is the steadier figure), peak resident memory, and, at 10k stands, the ratio
against a per-stand Python loop computing the same numbers the spreadsheet way. With
``--before REV`` the same sizes also run on that git revision of the engine (extracted with
``git archive`` into a temporary folder, same Python environment), the two take turns, and the
speed-up and whether the per-stand results are identical (SHA-256 of their CSV) are printed.

    python benchmarks/bench_fo001.py                 # all sizes
    python benchmarks/bench_fo001.py --before main   # and the speed-up against main
    python benchmarks/bench_fo001.py --size N        # one size (used internally)

Targets: issue #2, time per stand at 1M no more than 1.5x that at 100k, 1M under 4 GB peak;
issue #15, at least 150,000 stands/s at 1M stands (one process).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from git_tree import extract  # benchmarks/ is the script's folder, first on sys.path

from forestcarbon.core.config import FO001Settings, Period
from forestcarbon.core.params import species_parameters
from forestcarbon.inputs.growth import load_yield_table
from forestcarbon.methods.fo001 import carbon_tco2, compute_fo001
from forestcarbon.methods.totals import fo001_summary

SIZES = (10_000, 100_000, 1_000_000)
ROOT = Path(__file__).resolve().parents[1]
TARGET_PER_S = 150_000
"""Stands per second at 1M stands (issue #15)."""
PERIOD_START, PERIOD_END = dt.date(2023, 4, 1), dt.date(2024, 3, 31)


def synthetic_register(n: int, seed: int = 1):
    """Stands and operations like the sample's mix, at any size."""

    rng = np.random.default_rng(seed)
    species = rng.choice(
        ["hinoki", "sugi", "akamatsu", "nara", "kunugi"], n, p=[0.45, 0.3, 0.08, 0.1, 0.07]
    )
    natural = np.isin(species, ["nara", "kunugi"])
    stands = pd.DataFrame(
        {
            "stand_id": [f"{i // 1000 + 1}-{i % 1000 + 1}-1" for i in range(n)],
            "species": species,
            "planted_year": np.clip(rng.normal(1970, 14, n).round(), 1925, 2022).astype(np.int64),
            "site_class": rng.choice([1, 2, 3], n, p=[0.25, 0.5, 0.25]),
            "forest_type": np.where(natural, "natural", "planted"),
            "protected": rng.random(n) < 0.5,
            "plan_id": np.where(rng.random(n) < 0.96, "P1", ""),
            "stand_area_ha": rng.uniform(0.5, 6, n),
        }
    )
    thin = pd.DataFrame(
        {
            "stand_id": stands["stand_id"],
            "date": dt.date(2015, 6, 1),
            "operation": "thinning",
            "area_ha": np.nan,
            "volume_m3": np.nan,
        }
    )
    cut = stands.sample(frac=0.01, random_state=seed)
    cut = cut[cut["forest_type"] == "planted"]["stand_id"]
    harvest = pd.DataFrame(
        {
            "stand_id": cut,
            "date": dt.date(2023, 6, 1),
            "operation": "final_harvest",
            "area_ha": np.nan,
            "volume_m3": np.nan,
        }
    )
    replant = harvest.assign(date=dt.date(2023, 11, 1), operation="replanting")
    ops = pd.concat([thin, harvest, replant], ignore_index=True)
    ops["source_row"] = np.arange(len(ops)) + 2
    return stands, ops, load_yield_table()


def run_size(n: int) -> dict:
    stands, ops, yields = synthetic_register(n)
    period = (Period(PERIOD_START, PERIOD_END),)
    t0, c0 = time.perf_counter(), time.process_time()
    result = compute_fo001(stands, ops, yields, period, FO001Settings())
    summary = fo001_summary(result, 0.0)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {
        "stands": n,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "stands_per_s": n / seconds,
        "peak_mb": peak_mb,
        "total_tco2": summary[0]["total_tco2"],
        "csv_sha256": hashlib.sha256(result.to_csv(index=False).encode()).hexdigest(),
    }
    if n <= 10_000:
        out["loop_seconds"] = loop_baseline(stands.head(2_000), ops, yields) * n / 2_000
    return out


def loop_baseline(stands, ops, yields) -> float:
    """Seconds for a per-stand Python loop (one stand at a time, as a spreadsheet row does)."""
    params = species_parameters()
    qualifying = set(ops.loc[ops["operation"] == "thinning", "stand_id"])
    t0 = time.perf_counter()
    total = 0.0
    for row in stands.itertuples():
        if not row.plan_id or row.stand_id not in qualifying or row.species == "bamboo":
            continue
        curve = yields.curve_index([row.species], [row.site_class])
        age = 2023 - row.planted_year + 1
        growth = (yields.volume_at(curve, [age]) - yields.volume_at(curve, [age - 1]))[0]
        p = params.loc[row.species]
        bef = p["bef_le20"] if age <= 20 else p["bef_ge21"]
        total += carbon_tco2(
            row.stand_area_ha, growth, p["wood_density"], bef, p["root_ratio"], p["carbon_fraction"]
        )
    return time.perf_counter() - t0


def one_size(tree: Path, n: int) -> dict:
    """:func:`run_size` in a fresh process with the engine of ``tree``."""
    proc = subprocess.run(
        [sys.executable, __file__, "--size", str(n)],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ, PYTHONPATH=str(tree)),
    )
    return json.loads(proc.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int)
    parser.add_argument("--before", metavar="REV", help="git revision to compare against")
    args = parser.parse_args()
    if args.size:
        print(json.dumps(run_size(args.size)))
        return 0
    work = Path(tempfile.mkdtemp(prefix="bench_fo001_"))
    try:
        trees = {"after": ROOT}
        if args.before:
            trees = {"before": extract(args.before, work / "before"), "after": ROOT}
        rows = {label: [] for label in trees}
        for n in SIZES:
            for label, tree in trees.items():  # turns, so that a change of load weighs on both
                rows[label].append(one_size(tree, n))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average {load} ({os.cpu_count()} CPUs)")
    header = f"{'stands':>10} {'seconds':>8} {'cpu s':>7} {'stands/s':>10} {'stands/cpu s':>13}"
    header += f" {'peak MB':>8}"
    if "before" in rows:
        header += f" {'before s':>9} {'before/s':>9} {'speed-up':>9} {'identical':>10}"
    print(header)
    for i, r in enumerate(rows["after"]):
        line = (
            f"{r['stands']:>10,} {r['seconds']:>8.2f} {r['cpu_seconds']:>7.2f} "
            f"{r['stands_per_s']:>10,.0f} {r['stands'] / r['cpu_seconds']:>13,.0f} "
            f"{r['peak_mb']:>8.0f}"
        )
        if "before" in rows:
            b = rows["before"][i]
            same = b["csv_sha256"] == r["csv_sha256"] and b["total_tco2"] == r["total_tco2"]
            line += (
                f" {b['seconds']:>9.2f} {b['stands_per_s']:>9,.0f} "
                f"{b['seconds'] / r['seconds']:>8.1f}x {'yes' if same else 'NO':>10}"
            )
        print(line)
    after = rows["after"]
    per = {r["stands"]: r["seconds"] / r["stands"] for r in after}
    print(f"time per stand, 1M vs 100k: {per[1_000_000] / per[100_000]:.2f}x (target <= 1.5x)")
    print(f"peak memory at 1M: {after[-1]['peak_mb'] / 1024:.2f} GB (target < 4 GB)")
    big = after[-1]["stands_per_s"]
    print(
        f"1M stands: {big:,.0f} stands/s (target >= {TARGET_PER_S:,}): "
        f"{'ok' if big >= TARGET_PER_S else 'under target'}"
    )
    small = after[0]
    print(
        f"10k stands: vectorised engine {small['seconds']:.2f} s vs per-stand loop "
        f"{small['loop_seconds']:.2f} s (estimated from 2,000 stands): "
        f"{small['loop_seconds'] / small['seconds']:.0f}x faster"
    )
    if "before" in rows:
        return (
            0
            if all(
                b["csv_sha256"] == a["csv_sha256"]
                for b, a in zip(rows["before"], after, strict=True)
            )
            else 1
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
