"""Benchmark of the FO-001 engine on synthetic registers of 10k, 100k and 1M stands.

Each size runs in its own process (so peak memory is that size's own), for one fiscal year, with
one thinning per stand (eligibility) and final harvest + replanting on 1% of the stands. Prints
stands per second and peak resident memory, and, at 10k stands, the ratio against a per-stand Python
loop computing the same numbers the spreadsheet way.

    python benchmarks/bench_fo001.py            # all sizes
    python benchmarks/bench_fo001.py --size N   # one size (used internally)

Targets (issue #2): time per stand at 1M no more than 1.5x that at 100k; 1M under 4 GB peak.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd

from forestcarbon.core.config import FO001Settings, Period
from forestcarbon.core.params import species_parameters
from forestcarbon.inputs.growth import load_yield_table
from forestcarbon.methods.fo001 import carbon_tco2, compute_fo001
from forestcarbon.methods.totals import fo001_summary

SIZES = (10_000, 100_000, 1_000_000)
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
    t0 = time.perf_counter()
    result = compute_fo001(stands, ops, yields, period, FO001Settings())
    summary = fo001_summary(result, 0.0)
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {
        "stands": n,
        "seconds": seconds,
        "stands_per_s": n / seconds,
        "peak_mb": peak_mb,
        "total_tco2": summary[0]["total_tco2"],
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int)
    args = parser.parse_args()
    if args.size:
        print(json.dumps(run_size(args.size)))
        return
    rows = []
    for n in SIZES:
        proc = subprocess.run(
            [sys.executable, __file__, "--size", str(n)], capture_output=True, text=True, check=True
        )
        rows.append(json.loads(proc.stdout))
    print(f"{'stands':>10} {'seconds':>9} {'stands/s':>11} {'us/stand':>9} {'peak MB':>9}")
    for r in rows:
        print(
            f"{r['stands']:>10,} {r['seconds']:>9.2f} {r['stands_per_s']:>11,.0f} "
            f"{1e6 * r['seconds'] / r['stands']:>9.2f} {r['peak_mb']:>9.0f}"
        )
    per = {r["stands"]: r["seconds"] / r["stands"] for r in rows}
    ratio = per[1_000_000] / per[100_000]
    print(f"time per stand, 1M vs 100k: {ratio:.2f}x (target <= 1.5x)")
    print(f"peak memory at 1M: {rows[-1]['peak_mb'] / 1024:.2f} GB (target < 4 GB)")
    small = rows[0]
    print(
        f"10k stands: vectorised engine {small['seconds']:.2f} s vs per-stand loop "
        f"{small['loop_seconds']:.2f} s (estimated from 2,000 stands): "
        f"{small['loop_seconds'] / small['seconds']:.0f}x faster"
    )


if __name__ == "__main__":
    main()
