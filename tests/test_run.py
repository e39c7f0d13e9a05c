"""End-to-end runs: the bundled sample, outputs, determinism, provenance, atomic writes."""

from __future__ import annotations

from decimal import Decimal

import geopandas as gpd
import pandas as pd
import pytest

from forestcarbon import SAMPLE_PROGRAM, run
from forestcarbon.canopy import volume_model
from forestcarbon.methods.fo001 import compute_fo001
from forestcarbon.run import run_program
from tests.conftest import stand

CONTRACT = [
    "stand_id",
    "period",
    "eligible",
    "reason",
    "area_ha",
    "age_start",
    "age_end",
    "volume_start_m3_ha",
    "volume_end_m3_ha",
    "removals_tco2",
    "emissions_tco2",
    "net_tco2",
    "flags",
]


def test_sample_outputs_follow_the_contract(sample_run):
    out, _ = sample_run
    fo = pd.read_csv(out / "fo001_stands.csv")
    assert set(CONTRACT) <= set(fo.columns)
    assert len(fo) == 410 * 2
    summary = pd.read_csv(out / "program_summary.csv")
    assert {"total_tco2", "credits_t", "n_activities"} <= set(summary.columns)
    layer = gpd.read_file(out / "fo001_stands.gpkg", layer="fo001_stands")
    assert len(layer) == len(fo) and layer.crs.to_epsg() == 6673


def test_sample_exercises_every_eligibility_rule(sample_run):
    _, result = sample_run
    fo = result.fo001[result.fo001["period"] == "2023-04-01/2024-03-31"].set_index("stand_id")
    expect = {
        "1-1-1": "eligible: planted forest",
        "15-9-1": "eligible: planted forest",
        "8-5-1": "no planting, weeding",
        "4-5-1": "no planting, weeding",
        "1-2-1": "no planting, weeding",
        "4-13-1": "outside any forest management plan",
        "2-13-1": "eligible: natural forest",
        "3-12-1": "not under legal protection",
        "24-1-1": "bamboo",
    }
    for sid, text in expect.items():
        assert text in fo.loc[sid, "reason"], (sid, fo.loc[sid, "reason"])
    assert "partial_treated_area" in fo.loc["2-8-1", "flags"]
    assert "age_20_to_21" in fo.loc["19-1-1", "flags"]
    assert "beyond_yield_table" in fo.loc["2-4-1", "flags"]
    assert "harvested" in fo.loc["15-6-1", "flags"] and fo.loc["15-6-1", "emissions_tco2"] > 0
    assert "replanted" in fo.loc["5-5-1", "flags"] and fo.loc["5-5-1", "age_end"] == 1


def test_summary_equals_exact_sum_of_stands(sample_run):
    out, result = sample_run
    summary = pd.read_csv(out / "program_summary.csv", dtype={"total_tco2": str})
    fo = result.fo001
    counted = fo[fo["in_boundary"] & (fo["eligible"] | (fo["emissions_tco2"] > 0))]
    for period, g in counted.groupby("period"):
        row = summary[(summary["methodology"] == "FO-001") & (summary["period"] == period)].iloc[0]
        total = Decimal(row["total_tco2"])
        assert float(total) == pytest.approx(g["net_tco2"].sum(), abs=1e-6)
        assert row["credits_t"] == int(total)  # truncated, buffer 0
        assert row["n_activities"] == len(g)


def test_same_inputs_give_byte_identical_outputs(sample_run, tmp_path):
    out, _ = sample_run
    run_program(SAMPLE_PROGRAM, tmp_path)
    for name in ("fo001_stands.csv", "program_summary.csv", "provenance.json"):
        assert (out / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_buffer_and_packaged_growth_settings(program, tmp_path):
    folder = program(
        [stand("1-1-1", 10.0)],
        [{"stand_id": "1-1-1", "date": "2015-06-01", "operation": "thinning", "area_ha": ""}],
        extra_toml="[fo001]\nbuffer_rate = 0.1\n",
    )
    result = run_program(folder, tmp_path / "a")
    row = result.summary.iloc[0]
    net = result.fo001["net_tco2"].sum()  # 10 ha x 10 m3/ha x 0.90278925 = 90.278925
    assert net == pytest.approx(90.278925)
    assert row["credits_t"] == 81  # 90.278925 x 0.9 = 81.25 -> 81
    assert Decimal(row["buffer_tco2"]) == Decimal("9.0278925")


def test_sample_unrecorded_harvests_are_held(sample_run):
    # the sample's planted problem: 6-9-1, 12-4-1, 12-11-1 clear-felled without a record
    out, result = sample_run
    fo = result.fo001
    held = fo[fo["held_tco2"] > 0]
    assert sorted(set(held["stand_id"])) == ["12-11-1", "12-4-1", "6-9-1"]
    assert (held["removals_tco2"] == 0).all()
    summary = pd.read_csv(out / "program_summary.csv", dtype={"held_tco2": str})
    for period, g in held.groupby("period"):
        row = summary[(summary["methodology"] == "FO-001") & (summary["period"] == period)].iloc[0]
        assert float(row["held_tco2"]) == pytest.approx(g["held_tco2"].sum(), abs=1e-6)
    assert "held 保留" in result.text()


def test_sample_plan_lapsing_in_fy2023(sample_run):
    # 津山-2021-04 ends 2023-09-30: its eligible stands count 183 of FY2023's 366 days
    _, result = sample_run
    fo = result.fo001
    fy2023 = fo[fo["period"] == "2023-04-01/2024-03-31"]
    lapsing = fy2023[(fy2023["plan_id"] == "津山-2021-04") & fy2023["eligible"]]
    assert len(lapsing) > 0
    assert (lapsing["counted_days"] <= 183).all()
    assert (lapsing["counted_to"] == "2023-09-30").all()
    fy2022 = fo[(fo["period"] == "2022-04-01/2023-03-31") & (fo["plan_id"] == "津山-2021-04")]
    assert not fy2022["flags"].str.contains("plan_partly_in_force").any()


def test_validate_checks_everything_but_builds_no_report(monkeypatch):
    def no_report(result):
        raise AssertionError("validate built the monitoring report")

    monkeypatch.setattr(run, "report_files", no_report)
    text = run.validate_program(SAMPLE_PROGRAM)
    # 410 stands of the sample, its two fiscal-year periods
    assert ": ok (410 stands," in text and text.endswith("2 period(s))")


def test_validate_fits_no_volume_model_and_computes_fo001_once(sample_run, monkeypatch):
    """validate makes every check of the run but not its canopy results: no volume model fit,
    FO-001 computed once (the run computes it again with the canopy's site classes for the credit
    effect table). Its FO-001 is the run's, but for the flag the model sets (volume_differs)."""
    _, result = sample_run
    fits, computed = [], []

    def no_fit(*args, **kwargs):
        fits.append(args)
        raise AssertionError("validate fitted the volume model")

    def counted(*args, **kwargs):
        computed.append(args)
        return compute_fo001(*args, **kwargs)

    monkeypatch.setattr(volume_model, "fit_volume_model", no_fit)
    monkeypatch.setattr(run, "compute_fo001", counted)
    checked = run.compute(run.load_for_run(SAMPLE_PROGRAM), checks_only=True)
    assert not fits and len(computed) == 1
    assert checked.canopy.model is None and checked.canopy.changes.empty
    assert result.canopy.model is not None and not result.canopy.changes.empty

    def without_model_flag(flags: pd.Series) -> pd.Series:
        return flags.str.split(";").map(lambda f: ";".join(x for x in f if x != "volume_differs"))

    assert result.fo001["flags"].str.contains("volume_differs").any()
    assert not checked.fo001["flags"].str.contains("volume_differs").any()
    pd.testing.assert_series_equal(
        without_model_flag(checked.fo001["flags"]), without_model_flag(result.fo001["flags"])
    )
    pd.testing.assert_frame_equal(
        checked.fo001.drop(columns="flags"), result.fo001.drop(columns="flags")
    )
    pd.testing.assert_frame_equal(checked.summary, result.summary)
