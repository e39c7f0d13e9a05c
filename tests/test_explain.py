"""The hand re-derivation (explain.py) agrees with the engine for every stand of the sample."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from forestcarbon import SAMPLE_PROGRAM
from forestcarbon.core.config import load_settings
from forestcarbon.explain import (
    explain_site,
    explain_stand,
    explain_unit,
    fiscal_year_pieces,
    pick_energy_examples,
    pick_examples,
    tabulated_volume,
)
from forestcarbon.inputs.energy import load_energy
from forestcarbon.inputs.program import load_program
from forestcarbon.methods.energy import compute_energy
from forestcarbon.methods.fo001 import compute_fo001
from forestcarbon.sample.examples import write_energy_example


@pytest.fixture(scope="module")
def sample():
    return load_program(SAMPLE_PROGRAM)


def engine(inputs, **fo001):
    s = dataclasses.replace(inputs.settings.fo001, **fo001)
    inputs = dataclasses.replace(inputs, settings=dataclasses.replace(inputs.settings, fo001=s))
    ops = inputs.operations
    fo = compute_fo001(
        inputs.stands, ops, inputs.yields, inputs.settings.periods, s, plans=inputs.plans
    )
    return inputs, fo


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"bef_convention": "stock_difference"},
        {"carbon_fraction": "simple", "eligible_area": "stand"},
        {"treated_area_sum": "sum"},
    ],
)
def test_every_sample_stand_is_reproduced_by_hand(sample, options):
    inputs, fo = engine(sample, **options)
    for row in fo.itertuples():
        ex = explain_stand(inputs, fo, row.stand_id, row.period)
        assert ex.matches, str(ex)


def test_every_stand_of_a_sample_run_is_reproduced_by_hand(sample_run):
    # the run's own results: plans.csv (a plan lapsing in FY2023), canopy holds, boundary fellings
    _, result = sample_run
    fo = result.fo001
    assert (fo["held_tco2"] > 0).sum() == 6  # 3 held stands x 2 periods
    assert fo["flags"].str.contains("plan_partly_in_force").any()
    for row in fo.itertuples():
        ex = explain_stand(result.inputs, fo, row.stand_id, row.period)
        assert ex.matches, str(ex)


def test_explicit_thinning_is_reproduced(sample):
    ops = sample.operations.copy()
    thin = (ops["operation"] == "thinning") & ops["volume_m3"].isna()
    ops.loc[thin, "volume_m3"] = 5.0
    inputs = dataclasses.replace(sample, operations=ops)
    inputs, fo = engine(inputs, thinning_accounting="explicit")
    period = inputs.settings.periods[-1].label
    thinned = set(
        ops.loc[
            (ops["operation"] == "thinning") & (ops["date"] >= inputs.settings.periods[-1].start),
            "stand_id",
        ]
    )
    for sid in sorted(thinned):
        ex = explain_stand(inputs, fo, sid, period)
        assert ex.matches, str(ex)


def test_examples_cover_each_kind(sample):
    _, fo = engine(sample)
    kinds = pick_examples(fo, sample.settings.periods[-1].label)
    assert {
        "eligible planted",
        "partial thinning",
        "protected natural",
        "harvested",
        "ineligible",
    } <= set(kinds)


def test_tabulated_volume_text(sample):
    v, text = tabulated_volume(sample.yields.table, "hinoki", 2, 54)
    assert v == pytest.approx(330 + (358.6 - 330) * 4 / 5)
    assert text.startswith("V(54) = 330 + (358.6 - 330)")


# --- EN-R-002 and EN-S-004 ------------------------------------------------------------------------

FY13, FY14 = 0.000570, 0.000554  # national_average, packaged emission_factors.csv


def energy_run(folder, **energy_options):
    settings = load_settings(folder)
    es = dataclasses.replace(settings.energy, **energy_options)
    settings = dataclasses.replace(settings, energy=es)
    energy = load_energy(folder, settings)
    return energy, settings, compute_energy(energy, settings)


@pytest.fixture(scope="module")
def sample_energy():
    return energy_run(SAMPLE_PROGRAM)


def test_every_sample_site_and_unit_is_reproduced_by_hand(sample_energy):
    energy, settings, result = sample_energy
    for row in result.solar.itertuples():
        ex = explain_site(energy, settings, result.solar, row.site_id, row.period)
        assert ex.matches, str(ex)
    for row in result.aircon.itertuples():
        ex = explain_unit(energy, settings, result.aircon, row.unit_id, row.period)
        assert ex.matches, str(ex)


def test_energy_examples_cover_each_kind(sample_energy):
    _, settings, result = sample_energy
    first = pick_energy_examples(result.solar, result.aircon, settings.periods[0].label)
    last = pick_energy_examples(result.solar, result.aircon, settings.periods[-1].label)
    assert {"PV measured", "PV estimated", "PV blocked by subsidy", "PV not yet joined"} <= set(
        first
    )
    assert {
        "PV joined in the period",
        "AC single ratio",
        "AC cooling/heating metered apart",
    } <= set(last)
    assert {"AC conservative ratio", "AC standard unit (old unit unknown)"} <= set(last)
    assert "AC ineligible" in first  # installed in FY2023


def test_fiscal_year_pieces_by_hand():
    assert fiscal_year_pieces(dt.date(2013, 10, 1), dt.date(2014, 9, 30)) == [
        (2013, dt.date(2013, 10, 1), dt.date(2014, 3, 31), 182),
        (2014, dt.date(2014, 4, 1), dt.date(2014, 9, 30), 183),
    ]
    assert [p[3] for p in fiscal_year_pieces(dt.date(2024, 3, 31), dt.date(2024, 4, 1))] == [1, 1]
    assert [p[3] for p in fiscal_year_pieces(dt.date(2023, 4, 1), dt.date(2024, 3, 31))] == [366]
    assert fiscal_year_pieces(dt.date(2024, 1, 2), dt.date(2024, 1, 1)) == []


def test_hand_worked_period_across_fiscal_years(tmp_path):
    energy, settings, result = energy_run(write_energy_example(tmp_path))
    period = settings.periods[0].label
    weighted = (182 * FY13 + 183 * FY14) / 365  # t-CO2/kWh over the whole period
    expected = {
        "EX-PV-1": 1820 * FY13 + 1830 * FY14,  # 10 kWh/day self-consumed
        "EX-PV-2": 900 * FY13 + 1830 * FY14,  # joined 2014-01-01: 90 + 183 days
        "EX-PV-3": 4.0 * 1177 * 0.30 * (1 - 0.10) * weighted,  # estimated, discounted
    }
    for site_id, tco2 in expected.items():
        ex = explain_site(energy, settings, result.solar, site_id, period)
        assert ex.matches, str(ex)
        assert ex.recomputed_tco2 == pytest.approx(tco2, abs=1e-9)
    assert expected["EX-PV-1"] == pytest.approx(2.05122, abs=1e-12)
    text = str(explain_site(energy, settings, result.solar, "EX-PV-2", period))
    assert "3650 kWh x 90/365 days = 900.0000 kWh x 0.00057 t-CO2/kWh = 0.513000 t-CO2" in text
    assert "3650 kWh x 183/365 days = 1830.0000 kWh x 0.000554 t-CO2/kWh = 1.013820 t-CO2" in text
    assert "kind 'national_average', FY2014 row, verified=True" in text
    expected = {
        "EX-AC-1": 30000 * (4.2 / 2.8 - 1) * weighted,
        "EX-AC-2": (18000 * (4.2 / 2.8 - 1) + 12000 * (4.5 / 3.2 - 1)) * weighted,
        "EX-AC-3": 30000 * (min(4.2 / 2.8, 4.5 / 3.2) - 1) * weighted,  # conservative
    }
    for unit_id, tco2 in expected.items():
        ex = explain_unit(energy, settings, result.aircon, unit_id, period)
        assert ex.matches, str(ex)
        assert ex.recomputed_tco2 == pytest.approx(tco2, abs=1e-9)
    text = str(explain_unit(energy, settings, result.aircon, "EX-AC-3", period))
    assert "single (conservative) min = 1.406250" in text
    assert "EL_PJ = 30000 x 182/365 = 14958.9041 kWh" in text


@pytest.mark.parametrize(
    "options",
    [
        {"emission_factor": 0.000434},
        {"estimated_discount": 0.25, "self_consumption_ratio": 0.4, "pv_yield_kwh_per_kw": 1014},
        {"activity_cap_tco2_per_yr": 2.5},  # EX-PV-1 (2.05/yr) stays; the AC facility is out
        {"estimate_missing": False},
    ],
)
def test_hand_derivation_follows_the_energy_settings(tmp_path, options):
    energy, settings, result = energy_run(write_energy_example(tmp_path), **options)
    period = settings.periods[0].label
    for row in result.solar.itertuples():
        assert explain_site(energy, settings, result.solar, row.site_id, period).matches
    for row in result.aircon.itertuples():
        assert explain_unit(energy, settings, result.aircon, row.unit_id, period).matches
    if "activity_cap_tco2_per_yr" in options:
        assert not result.aircon["eligible"].any()
        assert result.solar.set_index("site_id").loc["EX-PV-1", "eligible"]


def test_a_differing_toolkit_figure_is_reported(tmp_path):
    energy, settings, result = energy_run(write_energy_example(tmp_path))
    period = settings.periods[0].label
    solar = result.solar.assign(reduction_tco2=result.solar["reduction_tco2"] + 0.001)
    ex = explain_site(energy, settings, solar, "EX-PV-1", period)
    assert not ex.matches
    assert "DIFFERS from the toolkit's 2.052220 t-CO2" in str(ex)
