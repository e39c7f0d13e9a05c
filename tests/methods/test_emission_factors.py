"""Electricity emission factors: packaged kinds by fiscal year; a period crossing fiscal years."""

from __future__ import annotations

import datetime as dt

import pytest

from forestcarbon.methods.emission_factors import factor_text, resolve_emission_factors
from forestcarbon.methods.fiscal import fiscal_year_days
from tests.energy_fixtures import READINGS, SITES, compute, csv, energy_program, reading, site


def test_fiscal_year_days_split_at_1_april():
    assert fiscal_year_days(dt.date(2023, 10, 1), dt.date(2024, 9, 30)) == [
        (2023, 183),
        (2024, 183),
    ]
    assert fiscal_year_days(dt.date(2024, 3, 31), dt.date(2024, 4, 1)) == [(2023, 1), (2024, 1)]
    assert fiscal_year_days(dt.date(2023, 4, 1), dt.date(2024, 3, 31)) == [(2023, 366)]
    assert fiscal_year_days(dt.date(2024, 1, 1), dt.date(2023, 1, 1)) == []


def test_packaged_factors_by_kind_and_year():
    factors, problems = resolve_emission_factors("chugoku_actual", [2013])
    assert not problems and factors(2013) == 0.000719
    factors, _ = resolve_emission_factors("national_average", [2013, 2014])
    assert (factors(2013), factors(2014)) == (0.000570, 0.000554)
    factors, _ = resolve_emission_factors("substitute", [2022, 2023])  # a constant kind
    assert factors(2022) == factors(2023) == 0.000434
    assert not factors.table["verified"].any()  # [M] in the methodology note


def test_period_crossing_fiscal_years_uses_each_years_factor(tmp_path):
    # 10 kWh/day self-consumed over 2013-10-01..2014-09-30 (365 days):
    # FY2013 182 days x 10 x 0.000570 = 1.0374 t; FY2014 183 days x 10 x 0.000554 = 1.01382 t
    period = ("2013-10-01", "2014-09-30")
    folder = energy_program(
        tmp_path,
        solar=csv(SITES, site("S1", joined="2013-01-01", commissioned="2012-06-01")),
        solar_readings=csv(READINGS, reading("S1", 5000, 1350, *period)),
        energy='emission_factor = "national_average"',
        periods=(period,),
    )
    row = compute(folder).solar.iloc[0]
    assert row["reduction_tco2"] == pytest.approx(1.0374 + 1.01382, abs=1e-9)
    assert row["ef_t_per_kwh"] == pytest.approx(2.05122 / 3650, rel=1e-12)
    assert "fiscal_year_split" in row["flags"]


def test_years_without_a_sourced_factor_are_named_with_the_substitute():
    # national_average has FY2013 and FY2014 rows only: FY2013 is sourced, a constant kind is not
    sourced, _ = resolve_emission_factors("national_average", [2013, 2014])
    assert sourced.substitutes() == []
    constant, _ = resolve_emission_factors("legacy_default", [2013])
    assert constant.substitutes() == [
        "FY2013: no sourced emission factor of that fiscal year; substitute 0.000555 t-CO2/kWh "
        "(kind 'legacy_default' of emission_factors.csv) used"
    ]
    number, _ = resolve_emission_factors(0.000434, [2023])
    assert "0.000434 t-CO2/kWh (the number in [energy] emission_factor)" in number.substitutes()[0]


def test_factor_text_is_a_plain_decimal():
    assert factor_text(0.1 * 0.00434) == "0.000434"  # 0.00043400000000000003 as a float
    assert factor_text(0.000719) == "0.000719"
