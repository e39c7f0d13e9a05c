"""Monte Carlo uncertainty: agreement with analytic propagation, seeding, conservative credits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forestcarbon.methods.totals import credit_lower_bound, summary_row
from forestcarbon.methods.uncertainty import relative_sd, simulate, summary_intervals
from forestcarbon.run import run_program
from tests.conftest import stand

PERIOD = "2023-04-01/2024-03-31"


def one_stand(net=100.0):
    return pd.DataFrame(
        {
            "stand_id": ["a"],
            "period": [PERIOD],
            "eligible": [True],
            "species": ["sugi"],
            "site_class": [2],
            "net_tco2": [net],
        }
    )


def analytic_relative_sd() -> float:
    """Exact relative SD of a product of independent (1 + e_i): sqrt(prod(1 + s_i^2) - 1)."""
    sd = relative_sd()
    r = 0.25  # sugi root ratio; its error enters through (1 + R(1 + e)) / (1 + R)
    parts = [
        sd[("wood_density", "conifer")],
        sd[("bef", "conifer")],
        sd[("root_ratio", "all")] * r / (1 + r),
        sd[("carbon_fraction", "all")],
        sd[("yield_volume", "all")],
    ]
    return float(np.sqrt(np.prod([1 + s**2 for s in parts]) - 1))


def test_single_stand_interval_matches_analytic_propagation():
    stands, totals = simulate(one_stand(100.0), None, draws=40_000, seed=7, coverage=0.9)
    half_mc = (stands.loc[0, "net_high_tco2"] - stands.loc[0, "net_low_tco2"]) / 2
    half_analytic = 1.6448536 * analytic_relative_sd() * 100.0  # normal 90% half-width
    # first order: 1.645 x sqrt(.08² + .10² + .06² + .02² + .15²) x 100 = 1.645 x 20.71 = 34.07
    assert half_analytic == pytest.approx(34.07, abs=0.3)
    assert half_mc == pytest.approx(half_analytic, rel=0.05)
    assert stands.loc[0, "net_mean_tco2"] == pytest.approx(100.0, rel=0.01)
    assert totals[("FO-001", PERIOD)].mean() == pytest.approx(100.0, rel=0.01)


def test_fixed_seed_gives_identical_intervals():
    a = simulate(one_stand(), None, draws=2000, seed=3, coverage=0.9)
    b = simulate(one_stand(), None, draws=2000, seed=3, coverage=0.9)
    pd.testing.assert_frame_equal(a[0], b[0])
    c = simulate(one_stand(), None, draws=2000, seed=4, coverage=0.9)
    assert not a[0].equals(c[0])


def test_negative_net_interval_is_ordered():
    stands, _ = simulate(one_stand(-50.0), None, draws=2000, seed=1, coverage=0.9)
    assert stands.loc[0, "net_low_tco2"] < -50 < stands.loc[0, "net_high_tco2"]


def test_lower_bound_credits():
    rows = [summary_row("FO-001", PERIOD, [100.0], [0.0], ["a"], 0.0)]
    intervals = summary_intervals({("FO-001", PERIOD): np.array([80.4, 100.0, 120.0])}, 0.9)
    low = intervals.loc[0, "total_low_tco2"]
    assert low == pytest.approx(80.4 + 0.1 * (100.0 - 80.4))  # linear quantile: position 0.1
    assert credit_lower_bound(rows, intervals)[0]["credits_t"] == int(low)


def test_run_reports_intervals_and_credits_the_lower_bound(program, tmp_path):
    ops = [{"stand_id": "1-1-1", "date": "2015-06-01", "operation": "thinning", "area_ha": ""}]
    folder = program(
        [stand("1-1-1", 10.0)],
        ops,
        extra_toml='[uncertainty]\ncredit_basis = "lower_bound"\ndraws = 5000\n',
    )
    result = run_program(folder, tmp_path / "out")
    row = result.summary.iloc[0]
    assert row["total_tco2"] == "90.278925"
    assert row["total_low_tco2"] < 90.278925 < row["total_high_tco2"]
    assert row["credits_t"] == int(row["total_low_tco2"]) < 90
    assert row["credit_basis"] == "lower_bound"
    fo = result.fo001.iloc[0]
    assert fo["net_low_tco2"] == pytest.approx(row["total_low_tco2"])
