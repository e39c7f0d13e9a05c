"""Tests of the sample yield table (forestcarbon.sample.growth), checked on growth.csv."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

from forestcarbon.core.params import load_table, table_path
from forestcarbon.sample.growth import stand_in_curves
from forestcarbon.sample.program import packaged_growth_text


def test_growth_table_covers_stands(growth: pd.DataFrame, stands: gpd.GeoDataFrame) -> None:
    assert list(growth.columns) == [
        "species",
        "site_class",
        "age",
        "volume_m3_ha",
        "height_m",
        "region",
        "source",
    ]
    used = set(
        stands.loc[stands["species"] != "bamboo", ["species", "site_class"]].itertuples(
            index=False, name=None
        )
    )
    tabulated = set(growth[["species", "site_class"]].itertuples(index=False, name=None))
    assert used <= tabulated
    assert growth["source"].str.contains("SYNTHETIC").all()
    last_age = growth.groupby("species")["age"].max().to_dict()
    assert last_age == {"sugi": 90, "hinoki": 90, "akamatsu": 80, "nara": 80, "kunugi": 80}


def test_growth_curves_are_monotone_and_plausible(growth: pd.DataFrame) -> None:
    for _, curve in growth.groupby(["species", "site_class"]):
        curve = curve.sort_values("age")
        assert (curve["age"].diff().dropna() == 5).all()
        assert (curve["volume_m3_ha"].diff().dropna() >= 0).all()
        assert (curve["height_m"].diff().dropna() > 0).all()
    table = growth.set_index(["species", "site_class", "age"])
    assert table.at[("sugi", 2, 50), "volume_m3_ha"] == pytest.approx(450, rel=0.05)
    assert table.at[("hinoki", 2, 50), "volume_m3_ha"] == pytest.approx(330, rel=0.05)
    assert table.at[("sugi", 2, 40), "height_m"] == pytest.approx(20, abs=1)
    assert table.at[("hinoki", 2, 40), "height_m"] == pytest.approx(17, abs=1)
    gap = table.at[("sugi", 1, 40), "height_m"] - table.at[("sugi", 2, 40), "height_m"]
    assert gap == pytest.approx(3, abs=0.5)


def test_packaged_table_is_generated_and_covers_every_species() -> None:
    """forestcarbon/data/growth.csv is exactly what the generator writes, and every species of
    species.csv but bamboo has curves for site classes 1-3, stand-ins marked."""
    path = table_path("growth")
    assert path.read_text(encoding="utf-8") == packaged_growth_text(), (
        "regenerate: python -m forestcarbon.sample data/tsuyama-sample --packaged-growth"
    )
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    species = load_table("species")
    wanted = set(species.loc[species["group"] != "bamboo", "species"])
    assert {(s, c) for s in wanted for c in "123"} == set(
        table[["species", "site_class"]].itertuples(index=False, name=None)
    )
    # the slowest curve of each group (site class II volume at age 50: akamatsu 250 of the
    # conifers sugi 450, hinoki 330, akamatsu 250; nara 170 of the broadleaves nara, kunugi 185)
    assert stand_in_curves()["other_broadleaf"] == "nara"
    assert stand_in_curves()["karamatsu"] == "akamatsu"
    stand_ins = table[table["substituted_from"] != ""]
    assert set(stand_ins["species"]) == wanted - {"sugi", "hinoki", "akamatsu", "nara", "kunugi"}
    assert stand_ins["source"].str.contains("unverified").all()
    assert (table["verified"] == "false").all()
