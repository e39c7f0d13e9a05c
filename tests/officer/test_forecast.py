"""Credit forecast (forestcarbon.officer.forecast): the plan chosen within a budget, the
uncertainty band and the ``plan forecast`` files. Expected values are worked by hand in the
comments."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forestcarbon.cli.main import main
from forestcarbon.inputs.program import load_program
from forestcarbon.officer.forecast import forecast
from tests.conftest import stand

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "tsuyama-sample"
C = 44 / 12
SUGI_OLD = 0.314 * 1.23 * 1.25 * 0.51 * C  # t-CO2/m3 for sugi aged >= 21: 0.90278925
PER_HA_YEAR = 10 * SUGI_OLD  # conftest sugi II grows 10 m3/ha/yr from age 21 to 35: 9.0278925


@pytest.fixture(scope="module")
def sample():
    return load_program(SAMPLE)


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
def test_forecast_small_case_by_hand(stored_program, method, schedule, added):
    inputs = load_program(forecast_program(stored_program))
    f = forecast(inputs, start_fy=2025, years=2, budget_ha=4.0, method=method, band=None)
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


def test_forecast_band_hook_and_monte_carlo(stored_program):
    inputs = load_program(forecast_program(stored_program))

    def band(per_stand):
        # the hook gets the forecast net per stand and year; a +-10% band around the total
        total = per_stand.groupby("fiscal_year")["net_tco2"].sum().to_numpy()
        return 0.9 * total, 1.1 * total

    f = forecast(inputs, start_fy=2025, years=2, budget_ha=4.0, method="milp", band=band)
    np.testing.assert_allclose(f.years["total_low_tco2"], [0.9 * 36.11157, 0.9 * 63.1952475])
    mc = forecast(inputs, start_fy=2025, years=2, budget_ha=4.0, method="milp")
    total = mc.years["total_tco2"].astype(float)
    assert (mc.years["total_low_tco2"] < total).all() and (
        total < mc.years["total_high_tco2"]
    ).all()
    assert "Monte Carlo 4000 draws" in mc.text


def test_forecast_cli_outputs_are_deterministic(stored_program, tmp_path, capsys):
    folder = forecast_program(stored_program)
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
    f = forecast(sample, start_fy=2025, years=3, budget_ha=5.0, band=None)
    per_year = f.schedule.groupby("fiscal_year")["thinning_area_ha"].sum()
    assert (per_year <= 5.0 + 1e-9).all()
    assert f.value_tco2 <= f.bound_tco2 + 1e-6
    assert (f.schedule["added_tco2"] > 0).all()


def test_forecast_leaves_held_stands_out_by_hand(stored_program):
    # A (3 ha) and D (1 ha, thinned FY2010: eligible, age 33-34 growing 10 m3/ha/yr) are held by
    # canopy evidence; B (2 ha) is free. Budget 4 ha: only B may be thinned (FY2025), adding
    # 2 ha x 9.0278925 = 18.055785 t-CO2 in each of FY2025 and FY2026; D's removals,
    # 1 ha x 9.0278925 = 9.0278925 t-CO2 a year, are held, not baseline (A earns none yet)
    folder = stored_program(
        [
            stand("A", 3.0, planted_year=2004),
            stand("B", 2.0, planted_year=2004),
            stand("D", 1.0),
        ],
        [{"stand_id": "D", "date": "2010-06-01", "operation": "thinning", "area_ha": 1.0}],
    )
    inputs = load_program(folder)
    held = np.array([True, False, True])
    f = forecast(inputs, start_fy=2025, years=2, budget_ha=4.0, method="milp", band=None, held=held)
    assert list(zip(f.schedule["stand_id"], f.schedule["fiscal_year"], strict=True)) == [
        ("B", 2025)
    ]
    y = f.years
    assert y["baseline_tco2"].astype(float).tolist() == [0.0, 0.0]
    np.testing.assert_allclose(y["added_tco2"].astype(float), [2 * PER_HA_YEAR] * 2, atol=1e-9)
    np.testing.assert_allclose(y["held_tco2"].astype(float), [PER_HA_YEAR] * 2, atol=1e-9)
    assert y["n_held"].tolist() == [1, 1]
    assert y["credits_t"].tolist() == [18, 18]  # 18.055785 truncated, not 27.08 with D
    assert f.held_stands == ["A", "D"]
    assert "保留（要確認） held — awaiting review: 2 stand(s)" in f.text
    assert "(A, D)" in f.text and "18.1 t-CO2 over the forecast" in f.text
    # not held: D is baseline (9.0278925 a year) and A (3 ha, 27.08 t/yr) is planned first
    free = forecast(
        inputs, start_fy=2025, years=2, budget_ha=4.0, method="milp", band=None,
        held=np.zeros(3, dtype=bool),
    )  # fmt: skip
    np.testing.assert_allclose(free.years["baseline_tco2"].astype(float), [PER_HA_YEAR] * 2)
    assert free.years["held_tco2"].astype(float).tolist() == [0.0, 0.0]
    pairs = zip(free.schedule["stand_id"], free.schedule["fiscal_year"], strict=True)
    assert ("A", 2025) in set(pairs)
