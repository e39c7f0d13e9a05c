"""Monte Carlo uncertainty: agreement with analytic propagation, seeding, conservative credits;
keyed draws (independent of the order and partitioning of the stands)."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from forestcarbon.methods.energy import EnergyResult
from forestcarbon.methods.totals import credit_lower_bound, summary_row
from forestcarbon.methods.uncertainty import (
    combine,
    contribution,
    draw_totals,
    keyed_errors,
    partition_draws,
    program_intervals,
    program_stand_intervals,
    relative_sd,
    simulate,
    stand_intervals,
    summary_intervals,
)
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


# --- keyed draws ----------------------------------------------------------------------------------


def documented_normals(text: str, n: int) -> np.ndarray:
    """The module's documented scheme, written out here from numpy alone."""
    key = int.from_bytes(hashlib.sha256(text.encode()).digest()[:16], "little")
    return np.random.Generator(np.random.Philox(key=key)).standard_normal(n)


def test_a_known_draw_is_the_documented_philox_stream():
    # draw 7 of sugi/2's yield-curve error: the 8th normal of Philox keyed by
    # sha256("forestcarbon-mc-1/20141001/yield_volume/sugi/2")[:16], times sd 0.15
    z = documented_normals("forestcarbon-mc-1/20141001/yield_volume/sugi/2", 8)[7]
    assert z == pytest.approx(1.1331264, abs=1e-6)  # pinned: a numpy stream change shows here
    assert keyed_errors(20141001, "yield_volume", "sugi/2", 0.15, 50)[7] == pytest.approx(0.15 * z)
    # the same draw with fewer draws: draw j never depends on how many follow
    assert keyed_errors(20141001, "yield_volume", "sugi/2", 0.15, 8)[7] == pytest.approx(0.15 * z)


def test_a_stands_total_in_one_draw_is_the_product_of_its_keyed_errors():
    seed, j, n = 5, 3, 10
    e = {
        name: sd * documented_normals(f"forestcarbon-mc-1/{seed}/{name}/{group}", n)[j]
        for name, group, sd in [
            ("wood_density", "sugi", 0.08),  # conifer
            ("bef", "sugi", 0.10),
            ("root_ratio", "sugi", 0.30),
            ("carbon_fraction", "sugi", 0.02),
            ("yield_volume", "sugi/2", 0.15),
        ]
    }
    r = 0.25  # sugi root ratio
    multiplier = (
        (1 + e["wood_density"])
        * (1 + e["bef"])
        * (1 + r * (1 + e["root_ratio"]))
        / (1 + r)
        * (1 + e["carbon_fraction"])
        * (1 + e["yield_volume"])
    )
    _, totals = simulate(one_stand(100.0), None, draws=n, seed=seed, coverage=0.9)
    assert totals[("FO-001", PERIOD)][j] == pytest.approx(100.0 * multiplier, rel=1e-12)


def many_stands(n=300, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "stand_id": [f"s{i}" for i in range(n)],
            "period": rng.choice([PERIOD, "2024-04-01/2025-03-31"], n),
            "eligible": rng.random(n) < 0.8,
            "species": rng.choice(["sugi", "hinoki", "akamatsu", "kunugi", "bamboo"], n),
            "site_class": rng.integers(1, 4, n),
            "net_tco2": rng.normal(20, 15, n),
        }
    )


def energy_sites(n=40, seed=1) -> EnergyResult:
    rng = np.random.default_rng(seed)
    solar = pd.DataFrame(
        {
            "period": PERIOD,
            "eligible": rng.random(n) < 0.9,
            "method": rng.choice(["measured", "estimated"], n),
            "reduction_tco2": rng.uniform(0, 2, n),
        }
    )
    aircon = pd.DataFrame({"period": PERIOD, "eligible": True, "reduction_tco2": [1.5, 2.25]})
    return EnergyResult(solar, aircon, None)


def energy_part(energy: EnergyResult, solar_rows, aircon_rows) -> EnergyResult:
    return EnergyResult(energy.solar.iloc[solar_rows], energy.aircon.iloc[aircon_rows], None)


OPTIONS = dict(draws=500, seed=11)


def test_shuffled_stands_give_identical_intervals_and_totals():
    fo, energy = many_stands(), energy_sites()
    stands, totals = simulate(fo, energy, coverage=0.9, **OPTIONS)
    order = np.random.default_rng(2).permutation(len(fo))
    sites = np.random.default_rng(3).permutation(40)
    s_stands, s_totals = simulate(
        fo.iloc[order], energy_part(energy, sites, [1, 0]), coverage=0.9, **OPTIONS
    )
    pd.testing.assert_frame_equal(s_stands.loc[stands.index], stands, check_exact=True)
    assert sorted(s_totals) == sorted(totals)
    for key, draws in totals.items():
        assert np.array_equal(s_totals[key], draws), key


def test_three_partitions_add_up_to_the_single_run_exactly():
    fo, energy = many_stands(), energy_sites()
    stands, totals = simulate(fo, energy, coverage=0.9, **OPTIONS)
    parts = np.array_split(np.random.default_rng(3).permutation(len(fo)), 3)
    sites = np.array_split(np.arange(40), 3)
    energies = [energy_part(energy, sites[0], [0]), energy_part(energy, sites[1], [1])]
    energies.append(energy_part(energy, sites[2], []))
    pieces = [contribution(fo.iloc[p], e) for p, e in zip(parts, energies, strict=True)]
    reduced = draw_totals(combine(pieces[::-1]), **OPTIONS)
    added = {}
    for p, e in zip(parts, energies, strict=True):
        for key, draws in partition_draws(fo.iloc[p], e, **OPTIONS).items():
            added[key] = added.get(key, 0) + draws
    for key, draws in totals.items():
        assert np.array_equal(reduced[key], draws), key  # integer contributions: bit-identical
        np.testing.assert_allclose(added[key], draws, rtol=1e-12)  # float vectors: to rounding
    per_part = pd.concat([stand_intervals(fo.iloc[p], coverage=0.9, **OPTIONS) for p in parts])
    pd.testing.assert_frame_equal(per_part.loc[stands.index], stands, check_exact=True)
    # the program's eligible total is the mean of nothing random: check the reduced integers
    eligible = fo[fo["eligible"]]
    for period, groups in combine(pieces).fo001.items():
        expected = eligible.loc[eligible["period"] == period, "net_tco2"].sum()
        assert sum(groups.values()) / 1e9 == pytest.approx(expected, abs=1e-6)


def test_partitioned_sample_reproduces_the_runs_intervals(sample_run):
    _, result = sample_run
    fo, energy = result.fo001, result.energy
    rows = np.array_split(np.random.default_rng(4).permutation(len(fo)), 3)
    sites = np.array_split(np.arange(len(energy.solar)), 3)
    units = np.array_split(np.arange(len(energy.aircon)), 3)
    pieces = [
        contribution(fo.iloc[r], energy_part(energy, s, a))
        for r, s, a in zip(rows, sites, units, strict=True)
    ]
    intervals = program_intervals(combine(pieces), result.inputs.settings)
    columns = ["total_mean_tco2", "total_low_tco2", "total_high_tco2"]
    recorded = result.summary.set_index(["methodology", "period"])[columns]
    got = intervals.set_index(["methodology", "period"])[columns].loc[recorded.index]
    pd.testing.assert_frame_equal(got, recorded, check_exact=True)
    per_stand = pd.concat(
        [program_stand_intervals(fo.iloc[r], result.inputs.settings) for r in rows]
    ).sort_index()
    pd.testing.assert_frame_equal(per_stand, fo[per_stand.columns], check_exact=True)


def test_a_period_without_eligible_stands_totals_zero_in_every_draw():
    fo = one_stand()
    fo["eligible"] = False
    _, totals = simulate(fo, None, draws=100, seed=1, coverage=0.9)
    assert np.array_equal(totals[("FO-001", PERIOD)], np.zeros(100))
