"""Packaged parameter tables: names, columns, FO-001 §2 values and provenance fingerprints."""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import pytest

from forestcarbon.core.exceptions import ForestCarbonError
from forestcarbon.core.params import (
    load_table,
    species_parameters,
    table_names,
    table_version,
)

DATA = Path(__file__).resolve().parents[2] / "forestcarbon" / "data"
PACKAGED = sorted(p.stem for p in DATA.glob("*.csv"))

CONIFERS = ["sugi", "hinoki", "akamatsu", "karamatsu", "todomatsu", "ezomatsu", "other_conifer"]
BROADLEAVES = ["kunugi", "nara", "buna", "other_broadleaf"]


def test_table_names_are_the_packaged_csv_files():
    assert table_names() == PACKAGED
    assert {"species", "fo001_parameters", "emission_factors"} <= set(PACKAGED)


def test_unknown_table_names_every_valid_one():
    with pytest.raises(ForestCarbonError) as e:
        load_table("fo001_params")
    message = str(e.value)
    assert "'fo001_params'" in message
    for name in PACKAGED:
        assert name in message


@pytest.mark.parametrize("name", PACKAGED)
def test_every_table_carries_its_source_and_verified_flag(name):
    table = load_table(name)
    assert {"source", "verified"} <= set(table.columns)
    assert table["source"].notna().all() and (table["source"].str.strip() != "").all()
    assert set(table["verified"].unique()) <= {True, False}


@pytest.mark.parametrize(
    "name", ["emission_factors", "fo001_parameters", "thinning_rules", "uncertainty"]
)
def test_tables_of_one_value_column_carry_its_unit(name):
    # growth.csv has its units in the column names (volume_m3_ha, height_m); species.csv no
    # quantities: only the tables with one generic value column need a ``unit`` column.
    table = load_table(name)
    assert "unit" in table.columns
    assert table["unit"].notna().all()


def test_load_table_returns_a_copy():
    first = load_table("species")
    first.loc[:, "name_en"] = "changed"
    assert "changed" not in set(load_table("species")["name_en"])


def test_species_codes_keep_their_leading_zero():
    codes = load_table("species").set_index("species")["code"]
    assert codes["sugi"] == "01" and codes["buna"] == "10"


def test_simple_carbon_fraction_is_one_half_for_every_species():
    # FO-001.md §2: "Older simplified sheets use CF = 0.5 for every species"
    simple = species_parameters("simple")
    assert len(simple) > 0
    assert simple["carbon_fraction"].to_numpy() == pytest.approx([0.5] * len(simple))


def test_inventory_carbon_fraction_is_051_for_conifers_and_048_for_broadleaves():
    # FO-001.md §2 table: CF 0.51 for スギ ... エゾマツ, 0.48 for クヌギ, ナラ, ブナ
    # (fo001_parameters.csv: sugi,carbon_fraction,0.51 ; nara,carbon_fraction,0.48)
    inventory = species_parameters()
    assert inventory.loc["sugi", "carbon_fraction"] == pytest.approx(0.51, abs=1e-12)
    assert inventory.loc["nara", "carbon_fraction"] == pytest.approx(0.48, abs=1e-12)
    for sp in CONIFERS:
        assert inventory.loc[sp, "carbon_fraction"] == pytest.approx(0.51, abs=1e-12), sp
    for sp in BROADLEAVES:
        assert inventory.loc[sp, "carbon_fraction"] == pytest.approx(0.48, abs=1e-12), sp


def test_species_parameters_follow_fo001_table_and_mapping():
    p = species_parameters().loc["sugi"]
    # FO-001.md §2: スギ sugi (01) | 0.314 | 1.57 | 1.23 | 0.25 | 0.51
    assert p["wood_density"] == pytest.approx(0.314, abs=1e-12)
    assert p["bef_le20"] == pytest.approx(1.57, abs=1e-12)
    assert p["bef_ge21"] == pytest.approx(1.23, abs=1e-12)
    assert p["root_ratio"] == pytest.approx(0.25, abs=1e-12)
    # species.csv: その他広葉樹 -> ブナ row, その他針葉樹 -> サワラ row (D 0.287); bamboo no row
    params = species_parameters()
    assert params.loc["other_broadleaf", "parameter_species"] == "buna"
    assert params.loc["other_conifer", "wood_density"] == pytest.approx(0.287, abs=1e-12)
    assert "bamboo" not in params.index
    # the FO-001 values are not confirmed against the official text (verified = false)
    assert not params.loc["sugi", "verified"]


@pytest.mark.parametrize("name", PACKAGED)
def test_table_version_fingerprints_the_file(name):
    version = table_version(name)
    assert version["table"] == name
    assert re.fullmatch(r"[0-9a-f]{64}", version["sha256"])
    assert version["sha256"] == hashlib.sha256((DATA / f"{name}.csv").read_bytes()).hexdigest()
    with (DATA / f"{name}.csv").open(encoding="utf-8", newline="") as f:
        data_rows = sum(1 for _ in csv.reader(f)) - 1  # minus the header
    assert version["rows"] == data_rows
    assert version["rows"] == len(load_table(name))


def test_table_version_of_unknown_name_is_refused():
    with pytest.raises(ForestCarbonError, match="valid names"):
        table_version("nope")
