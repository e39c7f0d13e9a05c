"""Reading tables and layers: encodings (UTF-8, cp932), XLSX, empty files, CRS of layers."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

from forestcarbon.inputs.program import load_program
from tests.conftest import assert_refused, ops_for, stand


def test_missing_crs(program, tmp_path, capsys):
    folder = program([stand("1-1-1")], ops_for("1-1-1"))
    gdf = gpd.read_file(folder / "stands.gpkg")
    (folder / "stands.gpkg").unlink()
    with pytest.warns(UserWarning, match="'crs' was not provided"):  # on purpose: no CRS
        gdf.set_crs(None, allow_override=True).to_file(folder / "stands.gpkg", layer="stands")
    assert_refused(folder, tmp_path, capsys, "stands.gpkg", "no CRS", "EPSG:6673")


def test_geographic_crs_for_area(program, tmp_path, capsys):
    folder = program([stand("1-1-1")], ops_for("1-1-1"))
    toml = (folder / "program.toml").read_text().replace('"EPSG:6673"', '"EPSG:4326"')
    (folder / "program.toml").write_text(toml)
    assert_refused(folder, tmp_path, capsys, "[program] crs", "not a projected")


def test_empty_file(program, tmp_path, capsys):
    folder = program([stand("1-1-1")], ops_for("1-1-1"))
    (folder / "operations.csv").write_bytes(b"")
    assert_refused(folder, tmp_path, capsys, "operations.csv", "empty")


def test_wrong_encoding(program, tmp_path, capsys):
    folder = program([stand("1-1-1")], ops_for("1-1-1"))
    text = "stand_id,date,operation\n1-1-1,2015-06-01,間伐\n"
    (folder / "operations.csv").write_bytes(text.encode("utf-16"))
    assert_refused(folder, tmp_path, capsys, "operations.csv", "neither UTF-8 nor Shift_JIS")


def test_xlsx_register(program, tmp_path):
    folder = program(
        [stand("1-1-1")], ops_for("1-1-1"), extra_toml='[inputs]\nregister = "register.xlsx"\n'
    )
    gdf = gpd.read_file(folder / "stands.gpkg")[["stand_id", "geometry"]]
    gdf.to_file(folder / "stands.gpkg", layer="stands")
    reg = pd.DataFrame(
        [
            {
                "小班ID": "1-1-1",
                "樹種": "スギ",
                "植栽年度": 1993,
                "地位": "II",
                "林種": "人工林",
                "森林経営計画": "P1",
                "面積": 1.0,
            }
        ]
    )
    reg.to_excel(folder / "register.xlsx", index=False)
    st = load_program(folder).stands
    assert st.loc[0, "species"] == "sugi" and st.loc[0, "planted_year"] == 1993


def test_other_crs_is_reprojected(program):
    folder = program([stand("1-1-1", 2.0)], ops_for("1-1-1"), crs="EPSG:4326")
    st = load_program(folder).stands
    assert st.crs.to_epsg() == 6673
    assert st.loc[0, "geometry_area_ha"] == pytest.approx(2.0, rel=1e-4)
