"""Credit forecast: creditable removals per fiscal year with a thinning plan chosen within a
yearly budget, its uncertainty band, text report and chart.

A stand thinned in year t adds the creditable removals of the years from t to the end of the
forecast that lie in the crediting period (engine runs with and without the thinning,
:mod:`forestcarbon.officer.candidates`); the stands and years are chosen by
:mod:`forestcarbon.officer.optimize`. This module owns the options of a forecast
(:class:`ThinningOptions`), the forecast itself (:func:`forecast`, :class:`Forecast`), its
uncertainty band (:func:`monte_carlo_band`) and the ``plan forecast`` text, chart and files.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from forestcarbon.core.exceptions import ForestCarbonError, InputError, Problem
from forestcarbon.core.files import csv_bytes
from forestcarbon.core.fonts import japanese_font
from forestcarbon.inputs.program import ProgramInputs
from forestcarbon.methods.fiscal import FISCAL_YEARS, fiscal_year_period
from forestcarbon.methods.fo001 import natural_key_rank, reference_area
from forestcarbon.methods.totals import credit_lower_bound, credited_tonnes, decimal_text, exact_sum
from forestcarbon.methods.uncertainty import interval, simulate_program
from forestcarbon.officer.candidates import (
    HELD_LABEL,
    candidate_mask,
    crediting_years,
    engine_by_year,
    held_stands,
    net_by_year,
    planned_thinning,
    thinning_rules,
)
from forestcarbon.officer.optimize import MILP_NODE_LIMIT, choose_thinning, plan_value, solve_milp
from forestcarbon.officer.register import program_cohorts

log = logging.getLogger("forestcarbon")

UncertaintyBand = Callable[[pd.DataFrame], tuple[np.ndarray, np.ndarray]]
"""Uncertainty band of a forecast: given the forecast net per stand and fiscal year (columns
stand_id, fiscal_year, period, species, site_class, eligible, net_tco2 [t-CO2], planned thinning
included), return the low and high program total [t-CO2] of each forecast year, in year order.
:func:`monte_carlo_band` is the one built from ``[uncertainty]``; another error model (e.g. of
areas or of the growth after thinning) can be passed to :func:`forecast` the same way."""

MAX_FORECAST_YEARS = 100
"""Longest forecast [fiscal years]; longer is refused (yield tables end well before)."""


def monte_carlo_band(settings) -> UncertaintyBand | None:
    """The program's Monte Carlo interval (``[uncertainty]`` draws, seed, coverage;
    :func:`forestcarbon.methods.uncertainty.simulate`) as a forecast band; None when draws = 0."""
    u = settings.uncertainty
    if u.draws == 0:
        return None

    def band(per_stand: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:

        _, totals = simulate_program(per_stand, None, settings)
        labels = per_stand.drop_duplicates("fiscal_year").sort_values("fiscal_year")["period"]
        low, high = [], []
        for label in labels:
            _, lo, hi = interval(np.asarray(totals[("FO-001", label)]), u.coverage)
            low.append(float(lo))
            high.append(float(hi))
        return np.array(low), np.array(high)

    return band


@dataclasses.dataclass(frozen=True)
class ThinningOptions:
    """What thinning each candidate stand in each forecast year would add.

    Attributes
    ----------
    horizon : list of int
        Forecast fiscal years.
    credited : ndarray of bool
        Whether each forecast year lies in the crediting period.
    candidates : ndarray of int
        Register positions of the stands the rules allow to thin in at least one year.
    ages : ndarray, shape (n_stands, n_years)
        Age of every stand in every forecast year [years].
    base : ndarray, shape (n_stands, n_years)
        Credited net removals [t-CO2] of every stand without new thinning (engine run).
    gains : ndarray, shape (n_candidates, n_years, n_years)
        Added credited net [t-CO2] in year j (last axis) of a thinning in year k (middle axis).
    value : ndarray, shape (n_candidates, n_years)
        Added creditable removals [t-CO2] over the forecast years in the crediting period of a
        thinning in year k; NaN where the rules do not allow it.
    area : ndarray
        Thinning area of each candidate [ha] (register area, else the stand area).
    held : ndarray of bool, shape (n_stands,)
        Stands whose removals are held by canopy evidence (:func:`held_stands`): never
        candidates, their removals never in ``base``.
    held_base : ndarray, shape (n_stands, n_years)
        Removals [t-CO2] of the held stands without new thinning (not creditable).
    """

    horizon: list
    credited: np.ndarray
    candidates: np.ndarray
    ages: np.ndarray
    base: np.ndarray
    gains: np.ndarray
    value: np.ndarray
    area: np.ndarray
    held: np.ndarray
    held_base: np.ndarray


def thinning_options(
    inputs: ProgramInputs, *, start_fy: int, years: int, held: np.ndarray | None = None
) -> ThinningOptions:
    """Engine runs for the forecast: each year's candidates (:func:`candidate_mask`) and what
    a whole-stand thinning of each would add (with-minus-without, as :func:`added_credits`).
    Stands whose removals are held (``held``, default :func:`held_stands`) are not candidates
    and their removals are not creditable (reported as held)."""
    horizon = list(range(start_fy, start_fy + years))
    first, last = crediting_years(inputs)
    credited = np.array([first <= y <= last for y in horizon])
    cohorts = program_cohorts(inputs)
    rules = thinning_rules(inputs)
    n = len(inputs.stands)
    held = held_stands(inputs) if held is None else np.asarray(held, dtype=bool)
    allowed = np.zeros((n, len(horizon)), dtype=bool)
    ages = np.zeros((n, len(horizon)), dtype=np.int64)
    for k, fy in enumerate(horizon):
        mask, detail = candidate_mask(inputs, fy, rules, cohorts=cohorts)
        allowed[:, k], ages[:, k] = mask & ~held, detail["age"].to_numpy()
    cand = np.flatnonzero(allowed.any(axis=1))
    log.info("forecast FY%d-FY%d: %d candidate stands", horizon[0], horizon[-1], len(cand))
    base, held_base = engine_by_year(inputs, np.arange(n), horizon, held=held)
    gains = np.zeros((len(cand), len(horizon), len(horizon)))
    value = np.full((len(cand), len(horizon)), np.nan)
    for k, fy in enumerate(horizon):
        rows = np.flatnonzero(allowed[cand, k])
        if len(rows) == 0:
            continue
        idx = cand[rows]
        extra = planned_thinning(inputs, idx, fy, cohorts)
        gain = net_by_year(inputs, idx, horizon[k:], extra) - base[idx, k:]
        gains[rows, k, k:] = gain
        value[rows, k] = (gain * credited[k:]).sum(axis=1)
    area = reference_area(inputs.stands.iloc[cand]) if len(cand) else np.zeros(0)
    return ThinningOptions(horizon, credited, cand, ages, base, gains, value, area, held, held_base)


@dataclasses.dataclass
class Forecast:
    """A credit forecast: per fiscal year, the thinning schedule, and how it was chosen."""

    years: pd.DataFrame
    schedule: pd.DataFrame
    method: str
    budget_ha: float
    value_tco2: float
    greedy_tco2: float
    best_tco2: float | None
    bound_tco2: float | None
    optimal: bool | None
    text: str = ""
    held_stands: list = dataclasses.field(default_factory=list)


def forecast(
    inputs: ProgramInputs,
    *,
    start_fy: int,
    years: int,
    budget_ha: float,
    method: str = "greedy",
    band: UncertaintyBand | str | None = "settings",
    compare: bool = True,
    held: np.ndarray | None = None,
) -> Forecast:
    """Forecast creditable removals per fiscal year with a thinning plan chosen within a budget.

    Each year of ``start_fy .. start_fy + years - 1`` the thinning rules
    (:func:`candidate_mask`) give the stands that may be thinned; a stand thinned in year t adds
    the creditable removals of the years from t to the end of the forecast that lie in the
    crediting period (engine runs with and without the thinning, :func:`added_credits`). The
    stands and years are chosen by :func:`choose_thinning`, at most ``budget_ha`` per year.

    Parameters
    ----------
    budget_ha : float
        Thinning area per fiscal year [ha].
    method : {"greedy", "milp"}
    band : callable, "settings" or None
        Uncertainty band (:data:`UncertaintyBand`); "settings" (default): the program's Monte
        Carlo model (:func:`monte_carlo_band`, off when ``[uncertainty] draws = 0``); None: no
        band.
    compare : bool
        With the greedy method, also solve the integer program (:func:`solve_milp`, when scipy
        is available), so the text reports both plans and the proven bound.
    held : ndarray of bool, optional
        Stands whose removals are held (one per stand); default :func:`held_stands` (the
        canopy step's ``canopy_below_expected`` without a recorded harvest or review).

    Returns
    -------
    Forecast
        ``years``: fiscal_year, in_crediting_period, baseline_tco2 (stands credited without new
        thinning), added_tco2 (from the planned thinnings), total_tco2, credits_t (whole
        t-CO2, truncated once per year, buffer applied, from the lower bound of the band when
        ``[uncertainty] credit_basis = "lower_bound"``; 0 outside the crediting period),
        thinned_ha, n_thinned, held_tco2 (removals of stands held by canopy evidence, in no
        other column: not creditable until reviewed), n_held, total_low_tco2,
        total_high_tco2. ``schedule``: stand_id,
        fiscal_year, species, age, thinning_area_ha, added_tco2, added_tco2_per_ha.
    """
    problems = []
    if not 1 <= years <= MAX_FORECAST_YEARS:
        problems.append(
            Problem(
                "plan forecast", "", "--years", f"expected 1..{MAX_FORECAST_YEARS}, got {years}"
            )
        )
    if not FISCAL_YEARS[0] <= start_fy <= FISCAL_YEARS[1]:
        problems.append(
            Problem(
                "plan forecast",
                "",
                "--from-fy",
                f"expected a fiscal year within {FISCAL_YEARS[0]}..{FISCAL_YEARS[1]}, "
                f"got {start_fy}",
            )
        )
    if not budget_ha >= 0:
        problems.append(
            Problem(
                "plan forecast", "", "--thinning-ha-per-year", f"expected >= 0, got {budget_ha}"
            )
        )
    if problems:
        raise InputError(problems)
    o = thinning_options(inputs, start_fy=start_fy, years=years, held=held)
    horizon, credited, stands, n = o.horizon, o.credited, inputs.stands, len(inputs.stands)
    cand, base, gains, value, area, ages = o.candidates, o.base, o.gains, o.value, o.area, o.ages
    first, last = crediting_years(inputs)
    milp = None
    if len(cand) and (method == "milp" or compare):
        try:
            milp = solve_milp(value, area, budget_ha)
        except ForestCarbonError:
            if method == "milp":
                raise
    greedy = choose_thinning(value, area, budget_ha)
    chosen = milp.chosen if method == "milp" else greedy
    total_value = plan_value(value, chosen) if len(cand) else 0.0
    picked = np.flatnonzero(chosen >= 0)
    added = np.array([gains[picked, chosen[picked], j] for j in range(len(horizon))]).reshape(
        len(horizon), len(picked)
    )
    buffer = inputs.settings.fo001.buffer_rate
    rows = []
    for j, fy in enumerate(horizon):
        baseline = exact_sum(base[:, j])
        plus = exact_sum(added[j])
        total = baseline + plus
        in_year = picked[chosen[picked] == j]
        rows.append(
            {
                "fiscal_year": fy,
                "in_crediting_period": bool(credited[j]),
                "baseline_tco2": decimal_text(baseline),
                "added_tco2": decimal_text(plus),
                "total_tco2": decimal_text(total),
                "credits_t": credited_tonnes(total, buffer) if credited[j] else 0,
                "buffer_rate": buffer,
                "thinned_ha": round(float(area[in_year].sum()), 4),
                "n_thinned": len(in_year),
                "held_tco2": decimal_text(exact_sum(o.held_base[:, j])),
                "n_held": int(((o.held_base[:, j] > 0) & o.held).sum()),
            }
        )
    table = pd.DataFrame(rows).drop(columns="buffer_rate")
    low = high = np.full(len(table), np.nan)
    if isinstance(band, str):
        band = monte_carlo_band(inputs.settings)
    if band is not None:
        net = base.copy()
        for p in picked:
            net[cand[p]] += gains[p, chosen[p]]
        per_stand = pd.DataFrame(
            {
                "stand_id": np.tile(stands["stand_id"].to_numpy(), len(horizon)),
                "fiscal_year": np.repeat(horizon, n),
                "period": np.repeat([fiscal_year_period(y).label for y in horizon], n),
                "species": np.tile(stands["species"].to_numpy(), len(horizon)),
                "site_class": np.tile(stands["site_class"].to_numpy(), len(horizon)),
                "eligible": True,
                "net_tco2": net.T.reshape(-1),
            }
        )
        low, high = (np.asarray(a, dtype=float) for a in band(per_stand))
        if inputs.settings.uncertainty.credit_basis == "lower_bound":
            rows = credit_lower_bound(
                [{**r, "methodology": "FO-001", "period": r["fiscal_year"]} for r in rows],
                pd.DataFrame({"methodology": "FO-001", "period": horizon, "total_low_tco2": low}),
            )
            table["credits_t"] = [
                r["credits_t"] if c else 0 for r, c in zip(rows, credited, strict=True)
            ]
    table["total_low_tco2"] = low
    table["total_high_tco2"] = high
    sel = stands.iloc[cand[picked]]
    schedule = pd.DataFrame(
        {
            "stand_id": sel["stand_id"].to_numpy(),
            "fiscal_year": [horizon[chosen[p]] for p in picked],
            "species": sel["species"].to_numpy(),
            "age": ages[cand[picked], chosen[picked]],
            "thinning_area_ha": area[picked],
            "added_tco2": value[picked, chosen[picked]],
        }
    )
    schedule["added_tco2_per_ha"] = schedule["added_tco2"] / schedule["thinning_area_ha"]
    order = np.lexsort((natural_key_rank(schedule["stand_id"]), schedule["fiscal_year"]))
    schedule = schedule.iloc[order].reset_index(drop=True)
    result = Forecast(
        table,
        schedule,
        method,
        budget_ha,
        total_value,
        plan_value(value, greedy) if len(cand) else 0.0,
        milp.value_tco2 if milp else None,
        milp.bound_tco2 if milp else None,
        milp.optimal if milp else None,
    )
    result.held_stands = stands["stand_id"][o.held].tolist()
    result.text = forecast_text(result, inputs, (first, last))
    return result


def forecast_text(result: Forecast, inputs: ProgramInputs, crediting: tuple[int, int]) -> str:
    """Plain-text report of a forecast (Japanese + English labels)."""
    t = result.years
    lines = [
        inputs.settings.program.name,
        f"クレジット見込み Credit forecast FY{t['fiscal_year'].iloc[0]}-FY"
        f"{t['fiscal_year'].iloc[-1]} (crediting period FY{crediting[0]}-FY{crediting[1]})",
        f"  thinning budget 間伐面積: {result.budget_ha:g} ha/year; method: {result.method}",
        f"  creditable removals added by the plan: {result.value_tco2:,.1f} t-CO2",
    ]
    if result.best_tco2 is not None:
        proof = (
            "proven optimal"
            if result.optimal
            else f"the optimum is at most {result.bound_tco2:,.1f} t-CO2 (proven bound after "
            f"{MILP_NODE_LIMIT} nodes)"
        )
        lines.append(f"  integer program (HiGHS): {result.best_tco2:,.1f} t-CO2, {proof}")
        best = max(result.best_tco2, result.greedy_tco2)
        share = result.greedy_tco2 / best if best > 0 else 1.0
        floor = result.greedy_tco2 / result.bound_tco2 if result.bound_tco2 > 0 else 1.0
        lines.append(
            f"  greedy (most credits per ha first): {result.greedy_tco2:,.1f} t-CO2, "
            f"{share:.2%} of the best plan found and at least {floor:.2%} of the optimum"
        )
    lines.append(
        f"  {'FY':<6}{'baseline t':>13}{'added t':>11}{'total t':>13}{'credits':>9}"
        f"{'thinned ha':>12}"
    )
    for r in t.itertuples():
        mark = "" if r.in_crediting_period else "  (outside crediting period)"
        lines.append(
            f"  {r.fiscal_year:<6}{float(r.baseline_tco2):>13,.1f}{float(r.added_tco2):>11,.1f}"
            f"{float(r.total_tco2):>13,.1f}{r.credits_t:>9,}{r.thinned_ha:>12.2f}{mark}"
        )
    if result.held_stands:
        held = t["held_tco2"].astype(float)
        lines.append(
            f"  {HELD_LABEL}: {len(result.held_stands)} stand(s) held by canopy evidence "
            f"({', '.join(map(str, result.held_stands))}): not planned and their removals "
            f"({held.sum():,.1f} t-CO2 over the forecast) not counted until the officer records "
            "the harvest or a review (forestcarbon review)"
        )
    if t["total_low_tco2"].isna().all():
        lines.append(
            "  uncertainty band 不確実性: off ([uncertainty] draws = 0; or pass "
            "forestcarbon.officer.forecast.forecast(band=...))"
        )
    else:
        u = inputs.settings.uncertainty
        lines.append(
            f"  uncertainty band 不確実性 ({u.coverage:.0%}, Monte Carlo {u.draws} draws, seed "
            f"{u.seed}; parameters and yield tables only, not the choice of stands):"
        )
        for r in t.itertuples():
            lines.append(
                f"    FY{r.fiscal_year}: {r.total_low_tco2:,.1f} - {r.total_high_tco2:,.1f} t-CO2"
            )
    return "\n".join(line for line in lines if line) + "\n"


def forecast_chart(result: Forecast, path: str | Path, *, title: str = "") -> None:
    """PNG chart of a forecast: baseline and added t-CO2 per fiscal year (stacked bars), credits,
    and the uncertainty band when present. Deterministic bytes (no timestamp metadata)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover
        raise ForestCarbonError(
            "the forecast chart needs matplotlib: pip install 'forestcarbon[plan]'"
        ) from None
    t = result.years
    with plt.rc_context({"font.family": [japanese_font()]}):
        fig, ax = plt.subplots(figsize=(9, 5.5), dpi=100)
        x = t["fiscal_year"].to_numpy()
        base = t["baseline_tco2"].astype(float).to_numpy()
        added = t["added_tco2"].astype(float).to_numpy()
        ax.bar(x, base, color="#4d8a57", label="既存の対象林分 baseline")
        ax.bar(
            x,
            added,
            bottom=base,
            color="#a6d96a",
            label="計画間伐による追加 added by thinning",
        )
        credits = t["credits_t"].to_numpy(dtype=float)
        ax.plot(x, credits, "o-", color="#1b3d24", label="クレジット credits [t]")
        if t["total_low_tco2"].notna().any():
            total = t["total_tco2"].astype(float).to_numpy()
            ax.errorbar(
                x,
                total,
                yerr=[total - t["total_low_tco2"], t["total_high_tco2"] - total],
                fmt="none",
                ecolor="#555555",
                capsize=4,
                label="不確実性 uncertainty interval",
            )
        ax.set_xlabel("年度 fiscal year")
        ax.set_ylabel("t-CO2")
        ax.set_xticks(x)
        ax.set_title(title or ("クレジット見込み Credit forecast"))
        ax.grid(axis="y", alpha=0.3)
        fig.legend(loc="lower center", ncol=2, frameon=False)
        fig.tight_layout(rect=(0, 0.12, 1, 1))
        fig.savefig(path, format="png", metadata={"Software": None})
        plt.close(fig)


def forecast_outputs(result: Forecast, *, title: str = "") -> dict:
    """Output files of ``plan forecast``."""
    return {
        "credit_forecast.csv": csv_bytes(result.years),
        "thinning_schedule.csv": csv_bytes(result.schedule),
        "credit_forecast.txt": result.text.encode("utf-8"),
        "credit_forecast.png": lambda path: forecast_chart(result, path, title=title),
    }
