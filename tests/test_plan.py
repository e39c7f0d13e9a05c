"""Stand plan updates (forestcarbon.plan): register roll-forward, thinning candidates, choosing
within a budget, credit forecast. Expected values are worked by hand in the comments."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest

from forestcarbon.cli.main import main
from forestcarbon.core.exceptions import InputError
from forestcarbon.inputs.program import load_program
from forestcarbon.inputs.schemas import STANDS, validate
from forestcarbon.officer import plan

from .conftest import stand

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "tsuyama-sample"
C = 44 / 12
SUGI_OLD = 0.314 * 1.23 * 1.25 * 0.51 * C  # t-CO2/m3 for sugi aged >= 21: 0.90278925
PER_HA_YEAR = 10 * SUGI_OLD  # conftest sugi II grows 10 m3/ha/yr from age 21 to 35: 9.0278925


@pytest.fixture(scope="module")
def sample():
    return load_program(SAMPLE)


# --- register roll-forward of the sample to FY2025 -----------------------------------------------
# data/tsuyama-sample/growth.csv rows used (m3/ha): sugi II 20: 145.7, 25: 205.6, 50: 450.0,
# 60: 510.3, 65: 533.7; hinoki II 5: 5.5, 50: 330.0, 55: 358.6, 60: 383.7, 65: 405.5.
# Age in FY Y = Y - planted_year + 1; volume linear between tabulated ages, from 0 at age 0.

HAND_FY2025 = {
    # stand: (planted_year, age, volume_m3_ha, status)
    # sugi II planted 1962: age 64 -> 510.3 + 4/5 * (533.7 - 510.3) = 529.02
    "1-1-1": (1962, 64, 529.02, "standing"),
    # sugi II planted 1976: age 50 -> 450.0 (tabulated)
    "1-3-1": (1976, 50, 450.0, "standing"),
    # hinoki II planted 1974: age 52 -> 330.0 + 2/5 * (358.6 - 330.0) = 341.44
    "1-2-1": (1974, 52, 341.44, "standing"),
    # sugi II replanted FY2005 (register already shows it): age 21 -> 145.7 + 1/5 * 59.9 = 157.68
    "11-6-1": (2005, 21, 157.68, "standing"),
    # hinoki II, register crop of 1959 felled 2022-10-06, replanted 2023-05-04 (FY2023):
    # planted_year reset to 2023, age 3 -> 3/5 * 5.5 = 3.3
    "5-5-1": (2023, 3, 3.3, "replanted"),
    # hinoki II planted 1970, felled 2023-10-09 and not replanted: no crop
    "15-6-1": (1970, 0, 0.0, "felled"),
}


def test_roll_forward_sample_to_fy2025_by_hand(sample):
    layer = plan.roll_forward(sample, 2025).set_index("stand_id")
    area = sample.stands.set_index("stand_id")["stand_area_ha"]
    for sid, (planted, age, volume, status) in HAND_FY2025.items():
        row = layer.loc[sid]
        assert (row["planted_year"], row["age"], row["status"]) == (planted, age, status), sid
        assert row["volume_m3_ha"] == pytest.approx(volume, abs=1e-9), sid
        assert row["volume_m3"] == pytest.approx(volume * area[sid], rel=1e-12), sid
        assert row["fiscal_year"] == 2025
    assert layer.loc["5-5-1", "last_operation"] == "replanting"
    assert layer.loc["5-5-1", "last_operation_date"] == "2023-05-04"
    assert layer.loc["5-5-1", "crops"] == "2023:1.000"
    assert layer.loc["1-1-1", "last_thinning"] == "2006-11-24"
    assert np.isnan(layer.loc["24-1-1", "volume_m3_ha"])  # bamboo: no yield curve


def test_roll_forward_is_a_valid_stands_layer(sample):
    layer = plan.roll_forward(sample, 2025)
    attrs = pd.DataFrame(layer.drop(columns="geometry"))
    _, problems = validate(attrs.astype({"age": str}), STANDS, "stands_fy2025.gpkg")
    assert problems == []
    assert layer.crs.equals("EPSG:6673")
    assert len(layer) == len(sample.stands)


def test_register_diff_fy2021_to_fy2025(sample):
    cohorts = plan.program_cohorts(sample)
    before = plan.roll_forward(sample, 2021, cohorts=cohorts)
    after = plan.roll_forward(sample, 2025, cohorts=cohorts)
    diff = plan.register_diff(before, after).set_index("stand_id")
    row = diff.loc["5-5-1"]
    # FY2021: hinoki II planted 1959, age 63 -> 383.7 + 3/5 * (405.5 - 383.7) = 396.78
    assert (row["planted_year_before"], row["planted_year_after"]) == (1959, 2023)
    assert (row["age_before"], row["age_after"]) == (63, 3)
    assert row["volume_before_m3_ha"] == pytest.approx(396.78)
    assert row["volume_after_m3_ha"] == pytest.approx(3.3)
    assert (row["status_before"], row["status_after"]) == ("standing", "replanted")
    assert diff.loc["1-1-1", "age_after"] - diff.loc["1-1-1", "age_before"] == 4


def test_register_update_cli(tmp_path, capsys):
    folder = tmp_path / "sample"
    shutil.copytree(SAMPLE, folder)
    args = ["-q", "register", "update", str(folder), "--to-fy", "2025", "--from-fy", "2021"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "5-5-1: final_harvest (主伐); replanting (再造林); planted_year 1959 -> 2023" in out
    assert "15-6-1: final_harvest (主伐); status standing -> felled" in out
    gpkg = folder / "stands_fy2025.gpkg"
    info = pyogrio.read_info(gpkg, layer="stands_fy2025")
    assert info["crs"] == "EPSG:6673" and info["geometry_type"] == "Polygon"
    assert info["features"] == 410
    diff = pd.read_csv(folder / "stands_fy2025_diff.csv", encoding="utf-8-sig")
    assert diff.loc[diff["stand_id"] == "5-5-1", "operations"].item() == (
        "final_harvest 2022-10-06 2.15 ha; replanting 2023-05-04 2.15 ha"
    )
    text = (folder / "stands_fy2025_diff.txt").read_text(encoding="utf-8")
    assert "FY2021 -> FY2025" in text
    # the old register is untouched and a second update is refused without --overwrite
    assert (folder / "stands.gpkg").read_bytes() == (SAMPLE / "stands.gpkg").read_bytes()
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "--overwrite" in err and "Traceback" not in err
    assert main([*args, "--overwrite"]) == 0
    assert main(["-q", "register", "update", str(folder), "--to-fy", "2025", "--from-fy", "2025"])
    assert "--from-fy" in capsys.readouterr().err


# --- thinning candidates on a hand-made program --------------------------------------------------


def candidate_program(program, **kw):
    """conftest program (one FY2023 period; crediting FY2023-FY2038 by default)."""
    stands = [
        stand("a", 2.0, planted_year=2004),  # age 22 in FY2025, never thinned: candidate
        stand("b", 1.0, planted_year=2015),  # age 11: too young
        stand("c", 1.0),  # age 33, thinned FY2020: only 5 years ago
        stand("d", 1.0),  # age 33, thinned FY2010: candidate, already eligible
        stand("e", 1.0, planted_year=2004, plan_id=""),  # outside any plan
        stand("f", 1.0, planted_year=2004),  # final harvest scheduled in FY2027
        stand("g", 1.0, species="nara", forest_type="natural", protected=True),  # no rule
        stand("h", 1.0, species="hinoki", planted_year=1960),  # age 66 > 55
    ]
    ops = [
        {"stand_id": "c", "date": "2020-06-01", "operation": "thinning", "area_ha": 1.0},
        {"stand_id": "d", "date": "2010-06-01", "operation": "thinning", "area_ha": 1.0},
        {"stand_id": "f", "date": "2027-10-01", "operation": "final_harvest", "area_ha": 1.0},
    ]
    return program(stands, ops, **kw)


def test_candidates_by_hand(program):
    inputs = load_program(candidate_program(program))
    c = plan.thinning_candidates(inputs, 2025)
    assert c["stand_id"].tolist() == ["a", "d"]
    a = c.iloc[0]
    # a: not eligible (no qualifying work); a whole-stand thinning in FY2025 makes it eligible
    # for FY2025-FY2038 (crediting period FY2023 + 16 years - 1): ages 22..35, each growing
    # 10 m3/ha (200 -> 300 -> 350 over ages 20 -> 30 -> 35): 14 x 10 x 0.90278925 x 2 ha
    assert a["added_tco2"] == pytest.approx(14 * PER_HA_YEAR * 2, abs=1e-6)  # 252.780990
    assert a["added_tco2_per_ha"] == pytest.approx(14 * PER_HA_YEAR, abs=1e-6)
    assert (a["age"], a["thinning_area_ha"], bool(a["eligible_now"])) == (22, 2.0, False)
    assert np.isnan(a["years_since_thinning"])
    assert a["crediting_years"] == "FY2025-FY2038"
    assert "never thinned" in a["rule"]
    d = c.iloc[1]
    # d is eligible already (thinning FY2010): a new thinning adds no credits
    assert (d["added_tco2"], bool(d["eligible_now"]), d["years_since_thinning"]) == (0, True, 15)
    assert "last thinning FY2010 (15 >= 10 years)" in d["rule"]


def test_candidates_with_program_rules(program):
    folder = candidate_program(program, extra_toml='[plan]\nthinning_rules = "rules.csv"\n')
    (folder / "rules.csv").write_text(
        "樹種,最小林齢,最大林齢,間伐間隔\nスギ,23,40,5\n", encoding="cp932"
    )
    c = plan.thinning_candidates(load_program(folder), 2025)
    # a is 22 (< 23); c is 33 and thinned 5 years ago (>= 5); hinoki has no rule now
    assert c["stand_id"].tolist() == ["c", "d"]
    (folder / "rules.csv").write_text("species,min_age,max_age,min_years_between\nsugi,40,20,5\n")
    with pytest.raises(InputError, match="min_age 40 is above max_age 20"):
        plan.thinning_candidates(load_program(folder), 2025)


def test_candidates_cli_writes_a_layer_for_the_map(program, tmp_path, capsys):
    folder = candidate_program(program)
    out = tmp_path / "plan"
    assert main(["-q", "plan", "candidates", str(folder), "--fy", "2025", "--out", str(out)]) == 0
    assert "Thinning candidates FY2025: 2 stands" in capsys.readouterr().out
    layer = gpd.read_file(out / "thinning_candidates_fy2025.gpkg", layer="thinning_candidates")
    assert layer.crs.equals("EPSG:6673")
    assert layer["stand_id"].tolist() == ["a", "d"]
    csv = pd.read_csv(out / "thinning_candidates_fy2025.csv", encoding="utf-8-sig")
    assert csv["added_tco2"].iloc[0] == pytest.approx(252.78099, abs=1e-5)


# --- choosing within a budget --------------------------------------------------------------------


# Three stands A 3 ha, B 2 ha, C 2 ha, each earning 9.0278925 t-CO2/ha per year once thinned;
# two years; 4 ha per year. Thinning in year 1 earns 2 years, in year 2 one year.
# Optimum: B + C in year 1 (4 ha x 2 years) and A in year 2 (3 ha x 1) = 11 ha-years
# = 99.3068175 t-CO2. Greedy takes A first (same t/ha, larger value), then B and C no longer fit
# in year 1: A in year 1 (6) + B + C in year 2 (4) = 10 ha-years = 90.278925 t-CO2 (10/11).
AREA = np.array([3.0, 2.0, 2.0])
VALUE = np.array([[2.0, 1.0]] * 3) * AREA[:, None] * PER_HA_YEAR


def test_greedy_and_milp_against_the_hand_optimum():
    exact = plan.choose_thinning(VALUE, AREA, 4.0, method="milp")
    greedy = plan.choose_thinning(VALUE, AREA, 4.0, method="greedy")
    assert exact.tolist() == [1, 0, 0]
    assert greedy.tolist() == [0, 1, 1]
    assert plan.plan_value(VALUE, exact) == pytest.approx(11 * PER_HA_YEAR)  # 99.3068175
    assert plan.plan_value(VALUE, greedy) == pytest.approx(10 * PER_HA_YEAR)  # 90.278925
    assert plan.solve_exhaustive(VALUE, AREA, 4.0) == pytest.approx(11 * PER_HA_YEAR)


def test_milp_matches_exhaustive_on_random_small_cases():
    rng = np.random.default_rng(7)
    for _ in range(40):
        n, t = rng.integers(2, 6), rng.integers(1, 4)
        area = rng.choice([0.5, 1.0, 1.5, 2.0, 3.0], size=n)
        value = rng.uniform(1, 50, size=(n, t)) * area[:, None]
        value[rng.random((n, t)) < 0.2] = np.nan  # years the rules do not allow
        budget = float(rng.choice([1.0, 2.0, 3.0, 4.0]))
        best = plan.solve_exhaustive(value, area, budget)
        exact = plan.plan_value(value, plan.choose_thinning(value, area, budget, method="milp"))
        greedy = plan.plan_value(value, plan.choose_thinning(value, area, budget))
        assert exact == pytest.approx(best)
        assert greedy <= best + 1e-9


# --- forecast ------------------------------------------------------------------------------------


def forecast_program(program):
    return program(
        [
            stand("A", 3.0, planted_year=2004),  # never thinned: not eligible yet
            stand("B", 2.0, planted_year=2004),
            stand("C", 2.0, planted_year=2004),
        ],
        [],
    )


@pytest.mark.parametrize(
    ("method", "schedule", "added"),
    [
        # milp (exact here): B + C in FY2025 -> 4 ha x 9.0278925 = 36.11157 in FY2025, then A joins:
        # 7 ha x 9.0278925 = 63.1952475 in FY2026
        ("milp", [("A", 2026), ("B", 2025), ("C", 2025)], [36.11157, 63.1952475]),
        # greedy: A in FY2025 (27.0836775), B + C join in FY2026 (63.1952475)
        ("greedy", [("A", 2025), ("B", 2026), ("C", 2026)], [27.0836775, 63.1952475]),
    ],
)
def test_forecast_small_case_by_hand(program, method, schedule, added):
    inputs = load_program(forecast_program(program))
    f = plan.forecast(inputs, start_fy=2025, years=2, budget_ha=4.0, method=method, band=None)
    got = list(zip(f.schedule["stand_id"], f.schedule["fiscal_year"], strict=True))
    assert sorted(got) == schedule
    years = f.years
    assert years["fiscal_year"].tolist() == [2025, 2026]
    assert years["baseline_tco2"].astype(float).tolist() == [0.0, 0.0]
    np.testing.assert_allclose(years["added_tco2"].astype(float), added, atol=1e-6)
    assert years["credits_t"].tolist() == [int(a) for a in added]
    assert f.best_tco2 == pytest.approx(11 * PER_HA_YEAR)  # 99.3068175, by hand above
    assert f.optimal and f.bound_tco2 == pytest.approx(f.best_tco2)
    assert f.value_tco2 == pytest.approx((11 if method == "milp" else 10) * PER_HA_YEAR)
    assert years["total_low_tco2"].isna().all()


def test_forecast_band_hook_and_monte_carlo(program):
    inputs = load_program(forecast_program(program))

    def band(per_stand):
        # the hook gets the forecast net per stand and year; a +-10% band around the total
        total = per_stand.groupby("fiscal_year")["net_tco2"].sum().to_numpy()
        return 0.9 * total, 1.1 * total

    f = plan.forecast(inputs, start_fy=2025, years=2, budget_ha=4.0, method="milp", band=band)
    np.testing.assert_allclose(f.years["total_low_tco2"], [0.9 * 36.11157, 0.9 * 63.1952475])
    mc = plan.forecast(inputs, start_fy=2025, years=2, budget_ha=4.0, method="milp")
    total = mc.years["total_tco2"].astype(float)
    assert (mc.years["total_low_tco2"] < total).all() and (
        total < mc.years["total_high_tco2"]
    ).all()
    assert "Monte Carlo 4000 draws" in mc.text


def test_forecast_cli_outputs_are_deterministic(program, tmp_path, capsys):
    folder = forecast_program(program)
    runs = []
    for k in range(2):
        out = tmp_path / f"run{k}"
        args = ["-q", "plan", "forecast", str(folder), "--from-fy", "2025", "--years", "2"]
        assert main([*args, "--thinning-ha-per-year", "4", "--out", str(out)]) == 0
        runs.append({p.name: p.read_bytes() for p in out.iterdir()})
    assert runs[0] == runs[1]
    assert set(runs[0]) == {
        "credit_forecast.csv",
        "thinning_schedule.csv",
        "credit_forecast.txt",
        "credit_forecast.png",
    }
    assert runs[0]["credit_forecast.png"][:8] == b"\x89PNG\r\n\x1a\n"
    text = runs[0]["credit_forecast.txt"].decode()
    assert "99.3 t-CO2, proven optimal" in text
    assert "greedy (most credits per ha first): 90.3 t-CO2, 90.91% of the best plan" in text
    schedule = pd.read_csv(io.BytesIO(runs[0]["thinning_schedule.csv"]), encoding="utf-8-sig")
    assert sorted(zip(schedule["stand_id"], schedule["fiscal_year"], strict=True)) == [
        ("A", 2026),
        ("B", 2025),
        ("C", 2025),
    ]  # [plan] forecast_method = "milp" by default: the hand optimum
    capsys.readouterr()
    assert main(["-q", "plan", "forecast", str(folder), "--years", "0"]) == 1
    err = capsys.readouterr().err
    assert "--years" in err and "Traceback" not in err


def test_forecast_sample_runs_within_the_budget(sample):
    f = plan.forecast(sample, start_fy=2025, years=3, budget_ha=5.0, band=None)
    per_year = f.schedule.groupby("fiscal_year")["thinning_area_ha"].sum()
    assert (per_year <= 5.0 + 1e-9).all()
    assert f.value_tco2 <= f.bound_tco2 + 1e-6
    assert (f.schedule["added_tco2"] > 0).all()
