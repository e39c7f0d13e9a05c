"""Tests of the sample yield table (forestcarbon.sample.growth), checked on growth.csv."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest


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
