"""Reading program folders: Japanese headers, cp932, XLSX, register join, and bad inputs.

Every bad input must give exit code 1, a message naming the culprit, and write nothing.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Polygon, box

from forestcarbon import compute
from forestcarbon.inputs.program import load_program
from tests.conftest import ORIGIN, THIN, assert_refused, ops_for, run_cli, square, stand


def test_good_program_runs(program, tmp_path, capsys):
    folder = program([stand("1-1-1", 2.0)], ops_for("1-1-1"))
    code, captured, out = run_cli(folder, tmp_path, capsys)
    assert code == 0, captured.err
    assert {p.name for p in out.iterdir()} >= {
        "fo001_stands.csv",
        "fo001_stands.gpkg",
        "program_summary.csv",
        "provenance.json",
    }


# --- the 15+ bad inputs of issue #2 --------------------------------------------------------------


def test_operation_for_unknown_stand(program, tmp_path, capsys):
    folder = program([stand("1-1-1")], ops_for("1-1-1", "9-9-9"))
    assert_refused(folder, tmp_path, capsys, "operations.csv", "row 3", "unknown stand '9-9-9'")


def test_invalid_geometry(program, tmp_path, capsys):
    x, y = ORIGIN
    bowtie = Polygon([(x, y), (x + 100, y + 100), (x + 100, y), (x, y + 100)])
    folder = program([stand("1-1-1", geometry=bowtie)], ops_for("1-1-1"))
    assert_refused(
        folder, tmp_path, capsys, "feature 1 (1-1-1)", "invalid geometry", "Self-intersection"
    )


def test_period_end_before_start(program, tmp_path, capsys):
    folder = program([stand("1-1-1")], ops_for("1-1-1"))
    toml = (folder / "program.toml").read_text().replace("end = 2024-03-31", "end = 2022-03-31")
    (folder / "program.toml").write_text(toml)
    assert_refused(folder, tmp_path, capsys, "period 1", "before its start")


def test_polygon_without_register_row(program, tmp_path, capsys):
    folder = program(
        [stand("1-1-1"), stand("1-1-2")],
        ops_for("1-1-1"),
        extra_toml='[inputs]\nregister = "register.csv"\n',
    )
    gdf = gpd.read_file(folder / "stands.gpkg")[["stand_id", "geometry"]]
    gdf.to_file(folder / "stands.gpkg", layer="stands")
    pd.DataFrame([stand("1-1-1")]).to_csv(folder / "register.csv", index=False)
    assert_refused(folder, tmp_path, capsys, "polygon '1-1-2' has no register row")


def test_register_row_without_polygon(program, tmp_path, capsys):
    folder = program(
        [stand("1-1-1")], ops_for("1-1-1"), extra_toml='[inputs]\nregister = "register.csv"\n'
    )
    gdf = gpd.read_file(folder / "stands.gpkg")[["stand_id", "geometry"]]
    gdf.to_file(folder / "stands.gpkg", layer="stands")
    pd.DataFrame([stand("1-1-1"), stand("7-7-7")]).to_csv(folder / "register.csv", index=False)
    assert_refused(folder, tmp_path, capsys, "register.csv", "'7-7-7' has no polygon")


def test_operation_area_larger_than_stand(program, tmp_path, capsys):
    folder = program([stand("1-1-1", 1.0)], [{"stand_id": "1-1-1", **THIN, "area_ha": 3.0}])
    assert_refused(folder, tmp_path, capsys, "row 2 (1-1-1)", "larger than the stand")


def test_unknown_setting_and_bad_choice(program, tmp_path, capsys):
    folder = program(
        [stand("1-1-1")],
        ops_for("1-1-1"),
        extra_toml='[fo001]\nbef_convention = "average"\nbufer_rate = 0.1\n',
    )
    assert_refused(
        folder,
        tmp_path,
        capsys,
        "[fo001] bef_convention",
        "'increment'",
        "[fo001] bufer_rate",
        "unknown setting",
    )


def test_missing_program_toml(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert_refused(tmp_path / "empty", tmp_path, capsys, "program.toml", "not found")


# --- officers' formats ---------------------------------------------------------------------------

REGISTER_JA = """林班,小班,枝番,樹種,林齢,林齢基準年度,地位,林種,保安林,森林経営計画,面積(ha)
12,3,1,スギ,31,2023,Ⅱ,人工林,水源かん養保安林,津山-01,1.30
12,3,2,02,21,2023,2,人工林,,津山-01,0.70
"""

OPS_JA = """林班,小班,枝番,施業,実施日,面積,材積
12,3,1,間伐,2015/06/01,1.30,
12,3,2,下刈,2004年7月15日,0.70,
"""


def test_japanese_register_cp932_with_edaban_sharing_a_polygon(tmp_path):
    # one 小班 polygon "12-3" of 2.0 ha carries two 枝番 register rows (sugi 1.3 + hinoki 0.7)
    folder = tmp_path / "ja"
    folder.mkdir()
    (folder / "program.toml").write_text(
        '[program]\nname = "ja"\n[[periods]]\nstart = 2023-04-01\nend = 2024-03-31\n'
        '[inputs]\nregister = "森林簿.csv"\n',
        encoding="utf-8",
    )
    gpd.GeoDataFrame({"林班": [12], "小班": [3]}, geometry=[square(2.0)], crs="EPSG:6673").to_file(
        folder / "stands.gpkg", layer="stands"
    )
    (folder / "森林簿.csv").write_bytes(REGISTER_JA.encode("cp932"))
    (folder / "operations.csv").write_bytes(OPS_JA.encode("cp932"))
    inputs = load_program(folder)
    st = inputs.stands.set_index("stand_id")
    assert list(st.index) == ["12-3-1", "12-3-2"]
    assert list(st["species"]) == ["sugi", "hinoki"]
    assert list(st["planted_year"]) == [1993, 2003]
    assert list(st["site_class"]) == [2, 2]
    assert list(st["protected"]) == [True, False]
    assert st["geometry_area_ha"].tolist() == pytest.approx([1.3, 0.7])
    ops = inputs.operations
    assert list(ops["operation"]) == ["thinning", "weeding"]
    assert list(ops["date"]) == [dt.date(2015, 6, 1), dt.date(2004, 7, 15)]
    assert inputs.files["growth"].name == "growth.csv"  # the packaged table


def test_register_area_source(program):
    folder = program(
        [stand("1-1-1", area_ha=1.15, geometry=square(1.0))],  # 15 %: within the 20 % tolerance
        ops_for("1-1-1"),
        extra_toml='[fo001]\narea_source = "register"\n',
    )
    st = load_program(folder).stands
    assert st.loc[0, "stand_area_ha"] == 1.15
    assert st.loc[0, "geometry_area_ha"] == pytest.approx(1.0)


def test_box_helper_area():
    assert box(0, 0, 100, 100).area / 10_000 == 1.0
    assert square(2.5).area == pytest.approx(25_000)


@pytest.mark.parametrize("species", ["11", "その他広葉樹", "07", "04", "10"])
def test_every_species_code_runs_with_the_packaged_table(program, species):
    """A register with その他広葉樹 (11), その他針葉樹 (07), カラマツ (04) or ブナ (10) runs with
    the packaged yield table (stand-in curves) and is flagged instead of stopping."""
    folder = program(
        [stand("1-1-1", species=species)], ops_for("1-1-1"), extra_toml='[fo001]\ngrowth = ""\n'
    )
    result = compute(load_program(folder))
    row = result.stands.iloc[0]
    assert "species_substituted" in row["flags"].split(";")
    assert row["eligible"] and row["net_tco2"] > 0


def test_other_broadleaf_removals_by_hand(program):
    """その他広葉樹, 1 ha, site II, planted 1993: FY2023 is age 31 on the nara stand-in curve,
    V(30) = 111.0, V(35) = 129.1 m3/ha -> ΔV = (129.1 - 111.0) / 5 = 3.62 m3; ブナ's parameters
    0.573 x 1.32 x (1 + 0.26) x 0.48 x 44/12 = 1.677304 t-CO2/m3 -> 6.07184 t-CO2."""
    folder = program(
        [stand("1-1-1", species="11")], ops_for("1-1-1"), extra_toml='[fo001]\ngrowth = ""\n'
    )
    row = compute(load_program(folder)).stands.iloc[0]
    assert row["parameter_species"] == "buna"
    assert row["net_tco2"] == pytest.approx(3.62 * 0.573 * 1.32 * 1.26 * 0.48 * 44 / 12, rel=1e-9)
    assert row["net_tco2"] == pytest.approx(6.07184, abs=1e-5)
