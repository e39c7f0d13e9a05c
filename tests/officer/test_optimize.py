"""Choosing thinnings within a budget (forestcarbon.officer.optimize): greedy, the integer program
and exhaustive enumeration. Expected values are worked by hand in the comments."""

from __future__ import annotations

import numpy as np
import pytest

from forestcarbon.officer.optimize import choose_thinning, plan_value, solve_exhaustive

C = 44 / 12
SUGI_OLD = 0.314 * 1.23 * 1.25 * 0.51 * C  # t-CO2/m3 for sugi aged >= 21: 0.90278925
PER_HA_YEAR = 10 * SUGI_OLD  # conftest sugi II grows 10 m3/ha/yr from age 21 to 35: 9.0278925


# --- choosing within a budget --------------------------------------------------------------------


# Three stands A 3 ha, B 2 ha, C 2 ha, each earning 9.0278925 t-CO2/ha per year once thinned;
# two years; 4 ha per year. Thinning in year 1 earns 2 years, in year 2 one year.
# Optimum: B + C in year 1 (4 ha x 2 years) and A in year 2 (3 ha x 1) = 11 ha-years
# = 99.3068175 t-CO2. Greedy takes A first (same t/ha, larger value), then B and C no longer fit
# in year 1: A in year 1 (6) + B + C in year 2 (4) = 10 ha-years = 90.278925 t-CO2 (10/11).
AREA = np.array([3.0, 2.0, 2.0])
VALUE = np.array([[2.0, 1.0]] * 3) * AREA[:, None] * PER_HA_YEAR


def test_greedy_and_milp_against_the_hand_optimum():
    exact = choose_thinning(VALUE, AREA, 4.0, method="milp")
    greedy = choose_thinning(VALUE, AREA, 4.0, method="greedy")
    assert exact.tolist() == [1, 0, 0]
    assert greedy.tolist() == [0, 1, 1]
    assert plan_value(VALUE, exact) == pytest.approx(11 * PER_HA_YEAR)  # 99.3068175
    assert plan_value(VALUE, greedy) == pytest.approx(10 * PER_HA_YEAR)  # 90.278925
    assert solve_exhaustive(VALUE, AREA, 4.0) == pytest.approx(11 * PER_HA_YEAR)


def test_milp_matches_exhaustive_on_random_small_cases():
    rng = np.random.default_rng(7)
    for _ in range(40):
        n, t = rng.integers(2, 6), rng.integers(1, 4)
        area = rng.choice([0.5, 1.0, 1.5, 2.0, 3.0], size=n)
        value = rng.uniform(1, 50, size=(n, t)) * area[:, None]
        value[rng.random((n, t)) < 0.2] = np.nan  # years the rules do not allow
        budget = float(rng.choice([1.0, 2.0, 3.0, 4.0]))
        best = solve_exhaustive(value, area, budget)
        exact = plan_value(value, choose_thinning(value, area, budget, method="milp"))
        greedy = plan_value(value, choose_thinning(value, area, budget))
        assert exact == pytest.approx(best)
        assert greedy <= best + 1e-9
