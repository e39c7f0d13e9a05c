"""Tests of the synthetic sample program generator (forestcarbon.sample).

Every FO-001 eligibility case is checked from the written data, not from the generator's internals.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from forestcarbon.sample.program import EXTENT, write_sample

COMMITTED = Path(__file__).resolve().parents[1] / "data" / "tsuyama-sample"
TEXT_FILES = ("program.toml", "operations.csv", "growth.csv", "README.md")
OPERATIONS_HEADER = ["林班", "小班", "枝番", "施業", "実施日", "面積", "材積"]
OPERATIONS_JA = {"植栽", "下刈", "除伐", "間伐", "枝打", "主伐", "再造林"}
QUALIFYING = {"植栽", "下刈", "除伐", "間伐", "再造林"}
FY1990 = pd.Timestamp("1990-04-01")
REFERENCE_FY = 2023
STAND_COLUMNS = [
    "stand_id",
    "rinpan",
    "shohan",
    "edaban",
    "species",
    "forest_type",
    "planted_year",
    "site_class",
    "protected",
    "plan_id",
    "area_ha",
    "name",
    "geometry",
]


def fiscal_year(dates: pd.Series) -> pd.Series:
    """Japanese fiscal year (April–March) of each date."""
    return dates.dt.year - (dates.dt.month < 4).astype(int)


def read_stands(folder: Path) -> gpd.GeoDataFrame:
    """The stands layer of a sample folder."""
    return gpd.read_file(folder / "stands.gpkg", layer="stands")


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample(tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="module")
def stands(sample_dir: Path) -> gpd.GeoDataFrame:
    return read_stands(sample_dir)


@pytest.fixture(scope="module")
def operations(sample_dir: Path) -> pd.DataFrame:
    ops = pd.read_csv(sample_dir / "operations.csv", encoding="cp932")
    keys = ops[["林班", "小班", "枝番"]].astype(str)
    ops["stand_id"] = keys["林班"] + "-" + keys["小班"] + "-" + keys["枝番"]
    ops["date"] = pd.to_datetime(ops["実施日"], format="%Y-%m-%d")
    ops["fy"] = fiscal_year(ops["date"])
    return ops


@pytest.fixture(scope="module")
def growth(sample_dir: Path) -> pd.DataFrame:
    return pd.read_csv(sample_dir / "growth.csv", encoding="utf-8")


@pytest.fixture(scope="module")
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


MIN_CASE_COUNT = {
    "fy1990_boundary": 1,
    "pre1990_last_day": 1,
    "harvest_fy2022": 1,
    "harvest_fy2023": 1,
    "bamboo": 1,
}


# ---------------------------------------------------------------------------------------------
# Determinism and the committed copy
# ---------------------------------------------------------------------------------------------


def test_generation_is_deterministic(sample_dir: Path, tmp_path: Path) -> None:
    again = write_sample(tmp_path / "again")
    for name in TEXT_FILES:
        assert (again / name).read_bytes() == (sample_dir / name).read_bytes(), name
    assert_geodataframe_equal(read_stands(again), read_stands(sample_dir))


def test_committed_sample_equals_fresh_generation(sample_dir: Path) -> None:
    for name in TEXT_FILES:
        assert (COMMITTED / name).read_bytes() == (sample_dir / name).read_bytes(), name
    assert_geodataframe_equal(read_stands(COMMITTED), read_stands(sample_dir))


def test_committed_sample_is_small() -> None:
    total = sum(path.stat().st_size for path in COMMITTED.iterdir())
    assert total < 3_000_000


# ---------------------------------------------------------------------------------------------
# Stand geometry
# ---------------------------------------------------------------------------------------------


def test_stands_layer_schema(sample_dir: Path, stands: gpd.GeoDataFrame) -> None:
    layers = pyogrio.list_layers(sample_dir / "stands.gpkg")
    assert [str(name) for name in layers[:, 0]] == ["stands"]
    assert stands.crs.to_epsg() == 6673
    assert list(stands.columns) == STAND_COLUMNS
    assert stands["stand_id"].is_unique
    keys = stands[["rinpan", "shohan", "edaban"]].astype(str).agg("-".join, axis=1)
    assert (keys == stands["stand_id"]).all()
    assert (stands["edaban"] == 2).sum() >= 3
    assert 300 <= len(stands) <= 600


def test_polygons_are_valid_and_inside_extent(stands: gpd.GeoDataFrame) -> None:
    assert stands.is_valid.all()
    assert (stands.geom_type == "Polygon").all()
    xmin, ymin, xmax, ymax = stands.total_bounds
    assert xmin >= EXTENT[0] and ymin >= EXTENT[1] and xmax <= EXTENT[2] and ymax <= EXTENT[3]


def test_stands_do_not_overlap(stands: gpd.GeoDataFrame) -> None:
    union = shapely.union_all(stands.geometry.to_numpy(), grid_size=0.01)
    assert union.area == pytest.approx(stands.area.sum(), rel=1e-4)


def test_stand_sizes(stands: gpd.GeoDataFrame) -> None:
    area_ha = stands.area / 1e4
    assert area_ha.min() >= 0.3
    assert area_ha.between(0.5, 6.0).mean() > 0.9
    block_ha = area_ha.groupby(stands["rinpan"]).sum()
    assert block_ha.between(15, 70).all()


def test_register_area_is_close_to_geometry(stands: gpd.GeoDataFrame) -> None:
    geometry_ha = stands.area / 1e4
    ratio = stands["area_ha"] / geometry_ha
    assert ratio.between(0.93, 1.07).all()
    mismatched = ~np.isclose(stands["area_ha"], geometry_ha.round(2))
    assert 0.05 <= mismatched.mean() <= 0.15


# ---------------------------------------------------------------------------------------------
# Register attributes
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Operations
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Eligibility cases
# ---------------------------------------------------------------------------------------------


def test_every_eligibility_case_is_present(cases: dict[str, set[str]]) -> None:
    for case, members in cases.items():
        assert len(members) >= MIN_CASE_COUNT.get(case, 3), case


def test_most_planted_stands_are_managed_since_fy1990(
    cases: dict[str, set[str]], stands: gpd.GeoDataFrame
) -> None:
    n_planted = (stands["forest_type"] == "planted").sum()
    assert len(cases["managed"]) > 0.5 * n_planted


def test_readme_examples_match_the_data(sample_dir: Path, cases: dict[str, set[str]]) -> None:
    rows = {}
    for line in (sample_dir / "README.md").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\| `(\w+)` \|", line)
        if match and match.group(1) in cases:
            rows[match.group(1)] = re.findall(r"`(\d+-\d+-\d+)`", line)
    assert set(rows) == set(cases)
    for case, example_ids in rows.items():
        assert example_ids, case
        assert set(example_ids) <= cases[case], case


# ---------------------------------------------------------------------------------------------
# Growth table and settings
# ---------------------------------------------------------------------------------------------


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


def test_program_toml(sample_dir: Path) -> None:
    settings = tomllib.loads((sample_dir / "program.toml").read_text(encoding="utf-8"))
    assert settings["program"]["crs"] == "EPSG:6673"
    assert [str(p["start"]) for p in settings["periods"]] == ["2022-04-01", "2023-04-01"]
    assert settings["fo001"]["growth"] == "growth.csv"
    assert settings["map"]["privacy_k"] == 5


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


def test_small_units_merge_into_longest_shared_edge() -> None:
    from forestcarbon.sample.program import _merge_small

    units = pd.DataFrame(
        {
            "block": [0, 0, 0],
            "seed": [0, 1, 2],
            "side": [0, 0, 0],
            "geometry": [
                shapely.box(0, 0, 100, 200),  # 2 ha
                shapely.box(100, 0, 110, 150),  # 0.15 ha: shares 150 m with unit 0
                shapely.box(100, 150, 300, 200),  # 1 ha: shares 10 m with unit 1
            ],
        }
    )
    merged = _merge_small(units)
    assert list(merged["seed"]) == [0, 2]
    assert merged["geometry"].iloc[0].area == pytest.approx(21_500)
    assert merged["geometry"].iloc[0].geom_type == "Polygon"
