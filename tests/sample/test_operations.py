"""Tests of the sample's operation history (forestcarbon.sample.operations), checked on the written
operations.csv: every FO-001 eligibility case is checked from the data, not from the generator's
internals.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

OPERATIONS_HEADER = ["林班", "小班", "枝番", "施業", "実施日", "面積", "材積"]
OPERATIONS_JA = {"植栽", "下刈", "除伐", "間伐", "枝打", "主伐", "再造林"}


MIN_CASE_COUNT = {
    "fy1990_boundary": 1,
    "pre1990_last_day": 1,
    "harvest_fy2022": 1,
    "harvest_fy2023": 1,
    "bamboo": 1,
}


def test_operations_csv_is_cp932_with_japanese_headers(sample_dir: Path) -> None:
    raw = (sample_dir / "operations.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("cp932")
    assert text.splitlines()[0].split(",") == OPERATIONS_HEADER


def test_operations_content(operations: pd.DataFrame, stands: gpd.GeoDataFrame) -> None:
    assert set(operations["施業"]) == OPERATIONS_JA
    assert set(operations["stand_id"]) <= set(stands["stand_id"])
    assert operations["date"].min() >= pd.Timestamp("1985-04-01")
    assert operations["date"].max() <= pd.Timestamp("2024-03-31")
    assert (operations["面積"] > 0).all()
    with_volume = operations["材積"].notna()
    assert (with_volume <= operations["施業"].isin(["間伐", "主伐"])).all()
    assert operations.loc[operations["施業"] == "主伐", "材積"].notna().all()
    natural_ids = stands.loc[stands["forest_type"] == "natural", "stand_id"]
    assert not operations["stand_id"].isin(natural_ids).any()


def test_operations_sorted_by_stand_then_date(operations: pd.DataFrame) -> None:
    keys = operations[["林班", "小班", "枝番", "実施日"]]
    assert keys.equals(keys.sort_values(["林班", "小班", "枝番", "実施日"], kind="stable"))


def test_thinning_regime(operations: pd.DataFrame, stands: gpd.GeoDataFrame) -> None:
    thin = operations[operations["施業"] == "間伐"].merge(stands[["stand_id", "area_ha"]])
    partial = thin["面積"] < thin["area_ha"] - 0.005
    assert 0.2 <= partial.mean() <= 0.45


def test_final_harvests(operations: pd.DataFrame, stands: gpd.GeoDataFrame) -> None:
    harvests = operations[operations["施業"] == "主伐"]
    assert 5 <= len(harvests) <= 8
    assert harvests["fy"].between(2005, 2023).all()
    area = harvests.merge(stands[["stand_id", "area_ha"]])
    assert (area["面積"] == area["area_ha"]).all()
    replants = operations[operations["施業"] == "再造林"]
    for _, harvest in harvests.iterrows():
        after = replants[(replants["stand_id"] == harvest["stand_id"])]
        after = after[after["date"] > harvest["date"]]
        if harvest["fy"] == 2023:
            assert after.empty
        else:
            assert after["fy"].min() - harvest["fy"] in (0, 1)


def test_every_eligibility_case_is_present(cases: dict[str, set[str]]) -> None:
    for case, members in cases.items():
        assert len(members) >= MIN_CASE_COUNT.get(case, 3), case


def test_most_planted_stands_are_managed_since_fy1990(
    cases: dict[str, set[str]], stands: gpd.GeoDataFrame
) -> None:
    n_planted = (stands["forest_type"] == "planted").sum()
    assert len(cases["managed"]) > 0.5 * n_planted


def test_planting_recorded_for_stands_planted_since_1985(
    stands: gpd.GeoDataFrame, operations: pd.DataFrame
) -> None:
    recent = stands[(stands["forest_type"] == "planted") & (stands["planted_year"] >= 1985)]
    planting = operations[operations["施業"].isin(["植栽", "再造林"])]
    recorded = set(zip(planting["stand_id"], planting["fy"], strict=True))
    missing = [
        stand_id
        for stand_id, fy in zip(recent["stand_id"], recent["planted_year"], strict=True)
        if (stand_id, fy) not in recorded
    ]
    assert len(recent) >= 10
    assert missing == []
