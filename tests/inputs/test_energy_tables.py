"""Parsers of the solar and air-conditioning table values: Japanese and English spellings."""

from __future__ import annotations

import pytest

from forestcarbon.inputs.energy_tables import (
    AIRCON_READINGS,
    AIRCON_UNITS,
    SOLAR_READINGS,
    SOLAR_SITES,
    parse_drive,
    parse_fit_status,
)


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("surplus", "surplus"),
        ("Surplus", "surplus"),
        ("余剰", "surplus"),
        ("余剰買取", "surplus"),
        ("余剰売電", "surplus"),
        ("full", "full"),
        ("FULL", "full"),
        ("全量", "full"),
        ("全量買取", "full"),
        ("全量売電", "full"),
        ("none", "none"),
        ("なし", "none"),
        ("無", "none"),
        ("自家消費", "none"),
        ("post_fit", "post_fit"),
        ("卒 FIT", "post_fit"),  # spaces are ignored
        ("卒FIT", "post_fit"),
        ("卒fit", "post_fit"),
        ("FIT終了", "post_fit"),
    ],
)
def test_fit_status_spellings(text, status):
    assert parse_fit_status(text) == status


@pytest.mark.parametrize("text", ["", "surplus-ish", "余剰電力", "post-fit", "FIT"])
def test_unknown_fit_status_names_the_expected_values(text):
    with pytest.raises(ValueError) as e:
        parse_fit_status(text)
    message = str(e.value)
    for spelling in ("surplus/余剰", "full/全量", "none/自家消費", "post_fit/卒FIT"):
        assert spelling in message


@pytest.mark.parametrize(
    ("text", "drive"),
    [
        ("electric", "electric"),
        ("Electric", "electric"),
        ("電気", "electric"),
        ("電動", "electric"),
        ("EHP", "electric"),
        ("ehp", "electric"),
        ("gas", "gas"),
        ("GAS", "gas"),
        ("ガス", "gas"),
        ("GHP", "gas"),
    ],
)
def test_drive_spellings(text, drive):
    assert parse_drive(text) == drive


@pytest.mark.parametrize("text", ["", "oil", "灯油", "e hp", "electricity"])
def test_unknown_drive_names_the_expected_values(text):
    with pytest.raises(ValueError) as e:
        parse_drive(text)
    assert "electric/電気/EHP or gas/ガス/GHP" in str(e.value)


def test_specs_use_the_parsers_for_their_columns():
    fit = next(c for c in SOLAR_SITES.columns if c.name == "fit_status")
    drive = next(c for c in AIRCON_UNITS.columns if c.name == "drive")
    assert fit.parse is parse_fit_status and fit.required is False
    assert drive.parse is parse_drive and drive.required is False


@pytest.mark.parametrize(
    ("spec", "id_column", "required"),
    [
        (SOLAR_SITES, "site_id", {"site_id", "capacity_kw", "commissioned", "joined"}),
        (
            SOLAR_READINGS,
            "site_id",
            {"site_id", "period_start", "period_end", "generated_kwh", "sold_kwh"},
        ),
        (AIRCON_UNITS, "unit_id", {"unit_id", "facility"}),
        (AIRCON_READINGS, "unit_id", {"unit_id", "period_start", "period_end"}),
    ],
)
def test_required_columns_of_each_table(spec, id_column, required):
    assert spec.id_column == id_column
    assert {c.name for c in spec.columns if c.required} == required


def test_kwh_columns_are_bounded_and_carry_their_unit():
    kwh = [c for c in SOLAR_READINGS.columns if c.name.endswith("_kwh")]
    assert {c.name for c in kwh} == {"generated_kwh", "sold_kwh"}
    for c in kwh:
        assert (c.min, c.max, c.unit) == (0, 1e8, "kWh")
