"""Benchmark of the thinning plan (forestcarbon.officer.optimize, .forecast) and the record store
(forestcarbon.officer.store).

1. Greedy against the integer program (scipy HiGHS, node-limited: best plan found and proven
   upper bound) on the bundled sample, with the sample's records and with no records at all (a
   program just starting: every stand the rules allow would become eligible), 10 fiscal years,
   several yearly budgets.
2. Greedy against the optimum of small random cases solved exactly by enumeration.
3. Record store: importing 200,000 operations (cp932, Japanese headers) into a store, against
   only reading and validating the same file (the cost of checks, history and the transaction).

    python benchmarks/bench_plan.py
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from forestcarbon.core.config import load_settings
from forestcarbon.inputs.program import load_program
from forestcarbon.inputs.readers import read_table
from forestcarbon.inputs.records import read_records
from forestcarbon.inputs.schemas import OPERATIONS_SPEC, validate
from forestcarbon.officer import store
from forestcarbon.officer.forecast import ThinningOptions, thinning_options
from forestcarbon.officer.optimize import choose_thinning, plan_value, solve_exhaustive, solve_milp

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "tsuyama-sample"
BUDGETS_HA = (5, 10, 20, 40, 80)


def timed(fn, *args, **kw):
    t = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t


def compare(label: str, options: ThinningOptions, *, node_limits=(500, 5000)) -> None:
    value, area = options.value, options.area
    gaining = int((np.nan_to_num(value) > 0).any(axis=1).sum())
    print(f"\n{label}: {len(options.candidates)} candidate stands, {gaining} would add credits")
    print(
        f"  {'ha/yr':>6}{'greedy t':>11}{'greedy s':>10}"
        + "".join(f"{f'milp@{k} t':>14}{'bound t':>11}{'s':>7}" for k in node_limits)
        + f"{'greedy/best':>13}{'greedy/bound':>14}"
    )
    for budget in BUDGETS_HA:
        g, tg = timed(choose_thinning, value, area, budget, method="greedy")
        vg = plan_value(value, g)
        line = f"  {budget:>6}{vg:>11.1f}{tg:>10.4f}"
        best, bound = vg, np.inf
        for k in node_limits:
            m, tm = timed(solve_milp, value, area, budget, node_limit=k)
            best, bound = max(best, m.value_tco2), min(bound, m.bound_tco2)
            mark = "*" if m.optimal else " "
            line += f"{m.value_tco2:>13.1f}{mark}{m.bound_tco2:>11.1f}{tm:>7.1f}"
        line += f"{vg / best:>13.4f}{vg / bound:>14.4f}"
        print(line)
    print("  (* = proven optimal; bound = proven upper bound on the optimum)")


def random_cases(n_cases: int = 300, n: int = 7, years: int = 3) -> None:
    """Small cases solved exactly by enumeration ((years + 1) ** n plans each)."""
    rng = np.random.default_rng(20141001)
    ratios, t_greedy, t_milp, t_enum = [], 0.0, 0.0, 0.0
    for _ in range(n_cases):
        area = rng.uniform(0.3, 8.0, n)
        rate = rng.uniform(2, 15, n)  # t-CO2/ha/yr once eligible
        value = rate[:, None] * area[:, None] * (years - np.arange(years))[None, :]
        value[rng.random((n, years)) < 0.3] = np.nan
        budget = float(rng.uniform(4, 16))
        g, tg = timed(choose_thinning, value, area, budget)
        m, tm = timed(solve_milp, value, area, budget)
        best, te = timed(solve_exhaustive, value, area, budget)
        assert abs(m.value_tco2 - best) < 1e-6 and m.optimal
        t_greedy, t_milp, t_enum = t_greedy + tg, t_milp + tm, t_enum + te
        ratios.append(plan_value(value, g) / best)
    r = np.array(ratios)
    print(
        f"\nsmall cases solved by enumeration ({n_cases} x {n} stands x {years} years): "
        f"greedy/optimum min {r.min():.4f}, mean {r.mean():.4f}, optimal in "
        f"{np.mean(r > 1 - 1e-9):.0%}; milp matched the enumeration in every case; time greedy "
        f"{t_greedy:.2f} s, milp {t_milp:.2f} s ({t_milp / t_greedy:.0f}x), enumeration "
        f"{t_enum:.1f} s"
    )


def store_import(n: int = 200_000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "program"
        shutil.copytree(SAMPLE, folder)
        toml = (folder / "program.toml").read_text(encoding="utf-8")
        toml = toml.replace("[fo001]", '[inputs]\noperations = "records.gpkg"\n\n[fo001]', 1)
        (folder / "program.toml").write_text(toml, encoding="utf-8")
        stands = load_program(folder, settings=_no_ops(folder)).stands
        ok = stands[(stands["planted_year"] < 1995) & (stands["area_ha"] >= 1.0)]["stand_id"]
        rng = np.random.default_rng(1)
        ids = rng.choice(ok.to_numpy(), n)
        days = rng.integers(0, 10_000, n)
        dates = (pd.Timestamp("1996-04-01") + pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d")
        parts = pd.Series(ids).str.split("-", expand=True)
        table = pd.DataFrame(
            {
                "林班": parts[0],
                "小班": parts[1],
                "枝番": parts[2],
                "施業": "下刈",
                "実施日": dates,
                "面積": np.round(rng.uniform(0.01, 0.99, n), 4),
            }
        )
        table = table.drop_duplicates()
        csv = Path(tmp) / "big.csv"
        table.to_csv(csv, index=False, encoding="cp932")
        (_, tv) = timed(lambda: validate(read_table(csv), OPERATIONS_SPEC, str(csv)))
        result, ti = timed(store.import_operations, folder, csv)
        _, tr = timed(read_records, folder / "records.gpkg")
        size = (folder / "records.gpkg").stat().st_size / 1e6
        print(
            f"\nstore import of {result.n_added:,} operations: {ti:.2f} s "
            f"({result.n_added / ti:,.0f} rows/s); reading+validating the CSV alone {tv:.2f} s "
            f"(import/validate {ti / tv:.1f}x); reading the store back {tr:.2f} s; "
            f"store {size:.1f} MB with its history"
        )


def _no_ops(folder):
    s = load_settings(folder)
    return dataclasses.replace(s, inputs=dataclasses.replace(s.inputs, operations=""))


def main() -> None:
    sample = load_program(SAMPLE)
    options, t = timed(thinning_options, sample, start_fy=2024, years=10)
    print(f"engine runs for the sample's options (10 years): {t:.2f} s")
    compare("sample with its records, FY2024-FY2033", options)
    bare = dataclasses.replace(sample, operations=sample.operations.iloc[0:0])
    options, t = timed(thinning_options, bare, start_fy=2024, years=10)
    print(f"\nengine runs for the no-records options (10 years): {t:.2f} s")
    compare("sample without records (program just starting), FY2024-FY2033", options)
    random_cases()
    store_import()


if __name__ == "__main__":
    main()
