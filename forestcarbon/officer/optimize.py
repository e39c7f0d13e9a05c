"""Choosing which stands to thin in which year within a yearly area budget.

Three solvers of the same problem (at most one thinning per stand, thinned area per year within
the budget, maximise the creditable removals added): the greedy heuristic
(:func:`choose_thinning`), the integer program (:func:`solve_milp`, scipy's HiGHS) and exhaustive
enumeration for checking both on small cases (:func:`solve_exhaustive`). Pure numpy: the values
come from :func:`forestcarbon.officer.forecast.thinning_options`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import os
import sys

import numpy as np

from forestcarbon.core.exceptions import ForestCarbonError

MILP_NODE_LIMIT = 500
"""Branch-and-bound nodes the integer program may explore (a work limit, not a time limit, so
the plan found is the same on every run). Small programs are solved to proven optimality well
within it; for hundreds of candidate stands it stops with the best plan found and a proven
bound (see benchmarks/bench_plan.py)."""


@dataclasses.dataclass(frozen=True)
class MilpPlan:
    """Result of :func:`solve_milp`: the plan, its value and the proven upper bound [t-CO2]."""

    chosen: np.ndarray
    value_tco2: float
    bound_tco2: float
    optimal: bool


def choose_thinning(
    value: np.ndarray, area_ha: np.ndarray, budget_ha: float, *, method: str = "greedy"
) -> np.ndarray:
    """Which year (column) to thin each stand (row) so as to maximise the total value, thinning
    at most ``budget_ha`` per year and each stand at most once.

    Parameters
    ----------
    value : ndarray, shape (n_stands, n_years)
        Creditable removals [t-CO2] if the stand is thinned in that year; NaN where the rules do
        not allow it. Pairs with value <= 0 are never chosen.
    area_ha : ndarray, shape (n_stands,)
        Area each thinning uses from the budget [ha].
    budget_ha : float
        Thinning area per year [ha].
    method : {"greedy", "milp"}
        ``greedy``: take (stand, year) pairs in order and keep each if the stand is still free
        and the year's budget allows; once ordered by creditable removals per ha, once by
        creditable removals, and the better plan is returned. ``milp``: the integer program
        (:func:`solve_milp`), optimal when proven within :data:`MILP_NODE_LIMIT` nodes.

    Returns
    -------
    ndarray of int, shape (n_stands,): year index chosen, -1 for not thinned.
    """
    if method == "greedy":
        value = np.asarray(value, dtype=float)
        area = np.asarray(area_ha, dtype=float)
        return _greedy(value, area, budget_ha, _allowed(value, area, budget_ha))
    if method == "milp":
        return solve_milp(value, area_ha, budget_ha).chosen
    raise ValueError(f"method must be 'greedy' or 'milp', got {method!r}")


def _allowed(value: np.ndarray, area: np.ndarray, budget: float) -> np.ndarray:
    return np.isfinite(value) & (value > 0) & (area[:, None] <= budget + 1e-9)


def _greedy(value, area, budget, allowed) -> np.ndarray:
    """The better of two greedy passes: by t-CO2 per ha, and by t-CO2 (the second keeps a large
    stand that small dense ones would crowd out; together the classic knapsack safeguard)."""
    s_idx, t_idx = np.nonzero(allowed)
    v = np.round(value[s_idx, t_idx], 6)  # ties are broken by stand and year, not by noise
    density = np.round(v / area[s_idx], 6)
    best, best_total = None, -1.0
    for order in (
        np.lexsort((t_idx, s_idx, -v, -density)),
        np.lexsort((t_idx, s_idx, -density, -v)),
    ):
        chosen = _first_fit(order, s_idx, t_idx, area, budget, value.shape)
        total = plan_value(value, chosen)
        if total > best_total + 1e-9:
            best, best_total = chosen, total
    return best


def _first_fit(order, s_idx, t_idx, area, budget, shape) -> np.ndarray:
    used = np.zeros(shape[1])
    chosen = np.full(shape[0], -1, dtype=np.int64)
    for k in order:
        s, t = s_idx[k], t_idx[k]
        if chosen[s] < 0 and used[t] + area[s] <= budget + 1e-9:
            chosen[s] = t
            used[t] += area[s]
    return chosen


@contextlib.contextmanager
def _quiet_stderr():
    """Silence file descriptor 2 (C libraries' messages) for the duration of the block."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def solve_exhaustive(value: np.ndarray, area_ha: np.ndarray, budget_ha: float) -> float:
    """Best total value [t-CO2] over every assignment of a year (or none) to each stand.

    Exact but exponential ((years + 1) ** stands): for checking the other solvers on small cases.
    ``value[s, t]`` is NaN/inf where stand ``s`` may not be thinned in year ``t``.
    """
    n, t = value.shape
    best = 0.0
    for choice in itertools.product(range(-1, t), repeat=n):
        used = np.zeros(t)
        total = 0.0
        for s, y in enumerate(choice):
            if y < 0:
                continue
            if not np.isfinite(value[s, y]):
                break
            used[y] += area_ha[s]
            total += value[s, y]
        else:
            if (used <= budget_ha + 1e-9).all():
                best = max(best, total)
    return best


def solve_milp(
    value: np.ndarray,
    area_ha: np.ndarray,
    budget_ha: float,
    *,
    node_limit: int = MILP_NODE_LIMIT,
) -> MilpPlan:
    """The thinning choice as an integer program, solved with scipy's HiGHS
    (:func:`scipy.optimize.milp`): binary x[s, t] for each allowed (stand, year); at most one
    year per stand; thinned area per year <= ``budget_ha``; maximise the value.
    """
    try:
        from scipy.optimize import Bounds, LinearConstraint, milp
        from scipy.sparse import coo_array
    except ImportError:  # pragma: no cover - scipy comes with scikit-learn
        raise ForestCarbonError(
            "the integer program needs scipy: pip install 'forestcarbon[plan]'"
        ) from None
    value = np.asarray(value, dtype=float)
    area = np.asarray(area_ha, dtype=float)
    n, n_years = value.shape
    chosen = np.full(n, -1, dtype=np.int64)
    s_idx, t_idx = np.nonzero(_allowed(value, area, budget_ha))
    m = len(s_idx)
    if m == 0:
        return MilpPlan(chosen, 0.0, 0.0, True)
    cols = np.arange(m)
    one_year = coo_array((np.ones(m), (s_idx, cols)), shape=(n, m)).tocsr()
    per_year = coo_array((area[s_idx], (t_idx, cols)), shape=(n_years, m)).tocsr()
    with _quiet_stderr():  # HiGHS prints solver diagnostics straight to the C stderr
        result = milp(
            -value[s_idx, t_idx],
            constraints=[
                LinearConstraint(one_year, -np.inf, 1),
                LinearConstraint(per_year, -np.inf, budget_ha),
            ],
            integrality=np.ones(m),
            bounds=Bounds(0, 1),
            options={"mip_rel_gap": 0.0, "node_limit": node_limit},
        )
    if result.x is None:
        raise ForestCarbonError(f"the integer program found no plan: {result.message}")
    pick = result.x > 0.5
    chosen[s_idx[pick]] = t_idx[pick]
    best = plan_value(value, chosen)
    bound = getattr(result, "mip_dual_bound", None)
    bound = best if result.status == 0 or bound is None else max(best, -bound)
    return MilpPlan(chosen, best, bound, result.status == 0)


def plan_value(value: np.ndarray, chosen: np.ndarray) -> float:
    """Total value [t-CO2] of a choice from :func:`choose_thinning`."""
    rows = np.flatnonzero(chosen >= 0)
    return float(np.sum(value[rows, chosen[rows]]))
