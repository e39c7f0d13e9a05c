"""Fixtures of the sample tests: one sample folder written by
:func:`forestcarbon.sample.program.write_sample`, its stands, operations and yield table, and the
stand ids of every FO-001 eligibility case derived from the data alone.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from forestcarbon.sample.program import write_sample

QUALIFYING = {"植栽", "下刈", "除伐", "間伐", "再造林"}
FY1990 = pd.Timestamp("1990-04-01")
REFERENCE_FY = 2023


def fiscal_year(dates: pd.Series) -> pd.Series:
    """Japanese fiscal year (April–March) of each date."""
    return dates.dt.year - (dates.dt.month < 4).astype(int)


def read_stands(folder: Path) -> gpd.GeoDataFrame:
    """The stands layer of a sample folder."""
    return gpd.read_file(folder / "stands.gpkg", layer="stands")


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample(tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="session")
def stands(sample_dir: Path) -> gpd.GeoDataFrame:
    return read_stands(sample_dir)


@pytest.fixture(scope="session")
def operations(sample_dir: Path) -> pd.DataFrame:
    ops = pd.read_csv(sample_dir / "operations.csv", encoding="cp932")
    keys = ops[["林班", "小班", "枝番"]].astype(str)
    ops["stand_id"] = keys["林班"] + "-" + keys["小班"] + "-" + keys["枝番"]
    ops["date"] = pd.to_datetime(ops["実施日"], format="%Y-%m-%d")
    ops["fy"] = fiscal_year(ops["date"])
    return ops


@pytest.fixture(scope="session")
def growth(sample_dir: Path) -> pd.DataFrame:
    return pd.read_csv(sample_dir / "growth.csv", encoding="utf-8")


@pytest.fixture(scope="session")
def cases(
    stands: gpd.GeoDataFrame, operations: pd.DataFrame, growth: pd.DataFrame
) -> dict[str, set[str]]:
    """Stand ids of each eligibility case, derived from the data alone."""
    st = stands.set_index("stand_id")
    planted = st["forest_type"] == "planted"
    natural = (st["forest_type"] == "natural") & (st["species"] != "bamboo")
    in_plan = st["plan_id"] != ""
    by_stand = operations.groupby("stand_id")
    n_ops = by_stand.size().reindex(st.index, fill_value=0)
    last = by_stand["date"].max().reindex(st.index)
    recent = operations[operations["date"] >= FY1990]
    recent_treated = (
        recent[recent["施業"].isin(QUALIFYING)]
        .groupby("stand_id")["面積"]
        .sum()
        .reindex(st.index, fill_value=0.0)
    )
    harvests = operations[operations["施業"] == "主伐"].set_index("stand_id")
    replants = operations[operations["施業"] == "再造林"].set_index("stand_id")
    harvested = set(harvests.index)
    age = REFERENCE_FY - st["planted_year"] + 1
    last_age = growth.groupby("species")["age"].max()

    def ids(mask: pd.Series) -> set[str]:
        return set(mask[mask].index)

    def harvest_case(harvest_fy: int, replant_fy: int | None) -> set[str]:
        found = set()
        for stand_id in harvests.index[harvests["fy"] == harvest_fy]:
            replant_fys = (
                set(replants.loc[[stand_id], "fy"]) if stand_id in replants.index else set()
            )
            expected = set() if replant_fy is None else {replant_fy}
            old_crop = st.at[stand_id, "planted_year"] < harvest_fy - 20
            if replant_fys == expected and old_crop:
                found.add(stand_id)
        return found

    def harvest_past() -> set[str]:
        found = set()
        for stand_id, row in harvests[harvests["fy"] < 2022].iterrows():
            later = replants.loc[[stand_id]] if stand_id in replants.index else replants.iloc[:0]
            later = later[later["date"] >= row["date"]]
            if len(later) and st.at[stand_id, "planted_year"] == later["fy"].min():
                found.add(stand_id)
        return found

    only_recent = recent.groupby("stand_id")
    boundary = {
        stand_id
        for stand_id, g in only_recent
        if len(g) == 1 and g["施業"].iloc[0] == "間伐" and g["実施日"].iloc[0] == "1990-04-01"
    }
    return {
        "managed": ids(planted & in_plan & (recent_treated >= st["area_ha"])) - harvested,
        "fy1990_boundary": boundary & ids(planted & in_plan),
        "pre1990": ids(planted & (n_ops > 0) & (last < FY1990)),
        "pre1990_last_day": ids(planted & (last == pd.Timestamp("1990-03-31"))),
        "no_ops": ids(planted & (n_ops == 0)),
        "partial": ids(planted & (recent_treated > 0) & (recent_treated < st["area_ha"])),
        "outside_plan": ids(planted & ~in_plan & (recent_treated > 0)),
        "harvest_past": harvest_past(),
        "harvest_fy2022": harvest_case(2022, 2023),
        "harvest_fy2023": harvest_case(2023, None),
        "cross_age_21": ids(planted & (st["planted_year"] == 2003)),
        "beyond_table": ids(planted & (age > st["species"].map(last_age))),
        "natural_protected": ids(natural & st["protected"]),
        "natural_unprotected": ids(natural & ~st["protected"]),
        "bamboo": ids(st["species"] == "bamboo"),
    }
