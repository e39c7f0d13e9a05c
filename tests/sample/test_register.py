"""Tests of the sample's register attributes (forestcarbon.sample.register), checked on the written
layer.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np

from tests.sample.conftest import REFERENCE_FY


def test_register_area_is_close_to_geometry(stands: gpd.GeoDataFrame) -> None:
    geometry_ha = stands.area / 1e4
    ratio = stands["area_ha"] / geometry_ha
    assert ratio.between(0.93, 1.07).all()
    mismatched = ~np.isclose(stands["area_ha"], geometry_ha.round(2))
    assert 0.05 <= mismatched.mean() <= 0.15


def test_species_shares(stands: gpd.GeoDataFrame) -> None:
    share = stands["species"].value_counts(normalize=True)
    assert set(share.index) == {"sugi", "hinoki", "akamatsu", "nara", "kunugi", "bamboo"}
    assert 0.40 <= share["hinoki"] <= 0.50
    assert 0.25 <= share["sugi"] <= 0.35
    assert 0.05 <= share["akamatsu"] <= 0.11
    assert 0.11 <= share["nara"] + share["kunugi"] <= 0.19
    assert (stands["species"] == "bamboo").sum() == 1


def test_forest_type_follows_species(stands: gpd.GeoDataFrame) -> None:
    conifer = stands["species"].isin(["sugi", "hinoki", "akamatsu"])
    assert (stands.loc[conifer, "forest_type"] == "planted").all()
    assert (stands.loc[~conifer, "forest_type"] == "natural").all()
    assert stands["site_class"].isin([1, 2, 3]).all()
    assert stands["site_class"].value_counts().idxmax() == 2


def test_conifer_age_structure(stands: gpd.GeoDataFrame) -> None:
    conifer = stands[stands["species"].isin(["sugi", "hinoki", "akamatsu"])]
    age = REFERENCE_FY - conifer["planted_year"] + 1
    bucket = (age - 5) // 10 * 10 + 5  # 10-year buckets [5, 15), [15, 25), ...
    mode = bucket.value_counts().idxmax()
    assert mode >= 45 and mode + 10 <= 65
    assert age.between(1, 20).sum() >= 3
    assert (age > 95).sum() >= 2
    broadleaf_age = (
        REFERENCE_FY - stands.loc[stands["forest_type"] == "natural", "planted_year"] + 1
    )
    assert broadleaf_age.between(40, 90).all()


def test_protection_and_plans(stands: gpd.GeoDataFrame) -> None:
    broadleaf = stands["species"].isin(["nara", "kunugi"])
    assert 0.4 <= stands.loc[broadleaf, "protected"].mean() <= 0.6
    assert stands.loc[stands["forest_type"] == "planted", "protected"].sum() >= 2
    outside = (stands["plan_id"] == "").mean()
    assert 0.02 <= outside <= 0.06
    assert stands.loc[stands["plan_id"] != "", "plan_id"].str.fullmatch(r"津山-\d{4}-\d{2}").all()
