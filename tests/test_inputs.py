"""Reading program folders: Japanese headers, cp932, XLSX, register join, and bad inputs.

Every bad input must give exit code 1, a message naming the culprit, and write nothing.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Polygon, box

from forestcarbon.cli.main import main
from forestcarbon.core.exceptions import InputError
from forestcarbon.inputs.program import load_program

from .conftest import ORIGIN, square, stand

THIN = {"date": "2015-06-01", "operation": "thinning", "area_ha": ""}


def ops_for(*ids):
    return [{"stand_id": i, **THIN} for i in ids]


def run_cli(folder, tmp_path, capsys, *args):
    out = tmp_path / "out"
    code = main(["run", str(folder), "--out", str(out), *args])
    return code, capsys.readouterr(), out


def assert_refused(folder, tmp_path, capsys, *needles):
    code, captured, out = run_cli(folder, tmp_path, capsys)
    assert code == 1, captured.err
    assert "Traceback" not in captured.err
    for needle in needles:
        assert needle in captured.err, captured.err
    assert not out.exists() or not any(out.iterdir())
    return captured.err


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


def test_missing_crs(program, tmp_path, capsys):
    folder = program([stand("1-1-1")], ops_for("1-1-1"))
    gdf = gpd.read_file(folder / "stands.gpkg")
    (folder / "stands.gpkg").unlink()
    gdf.set_crs(None, allow_override=True).to_file(folder / "stands.gpkg", layer="stands")
    assert_refused(folder, tmp_path, capsys, "stands.gpkg", "no CRS", "EPSG:6673")


def test_geographic_crs_for_area(program, tmp_path, capsys):
    folder = program([stand("1-1-1")], ops_for("1-1-1"))
    toml = (folder / "program.toml").read_text().replace('"EPSG:6673"', '"EPSG:4326"')
    (folder / "program.toml").write_text(toml)
    assert_refused(folder, tmp_path, capsys, "[program] crs", "not a projected")


def test_duplicate_ids(program, tmp_path, capsys):
    folder = program([stand("1-1-1"), stand("1-1-1")], ops_for("1-1-1"))
    assert_refused(folder, tmp_path, capsys, "stand_id", "duplicate id '1-1-1'")


def test_unknown_species(program, tmp_path, capsys):
    folder = program([stand("1-1-1", species="ユーカリ")], ops_for("1-1-1"))
    assert_refused(
        folder, tmp_path, capsys, "(1-1-1)", "'species'", "unknown species", "'ユーカリ'"
    )


def test_operation_for_unknown_stand(program, tmp_path, capsys):
    folder = program([stand("1-1-1")], ops_for("1-1-1", "9-9-9"))
    assert_refused(folder, tmp_path, capsys, "operations.csv", "row 3", "unknown stand '9-9-9'")


def test_site_class_4(program, tmp_path, capsys):
    folder = program([stand("1-1-1", site_class=4)], ops_for("1-1-1"))
    assert_refused(folder, tmp_path, capsys, "(1-1-1)", "'site_class'", "1, 2 or 3")


def test_negative_area(program, tmp_path, capsys):
    folder = program([stand("1-1-1", area_ha=-1.0, geometry=square(1.0))], ops_for("1-1-1"))
    assert_refused(folder, tmp_path, capsys, "(1-1-1)", "'area_ha'", "at least")


def test_unparseable_date(program, tmp_path, capsys):
    folder = program([stand("1-1-1")], [{"stand_id": "1-1-1", **THIN, "date": "2015-13-45"}])
    assert_refused(
        folder,
        tmp_path,
        capsys,
        "operations.csv",
        "row 2",
        "'date'",
        "expected a date like 2024-10-15",
        "'2015-13-45'",
    )


def test_invalid_geometry(program, tmp_path, capsys):
    x, y = ORIGIN
    bowtie = Polygon([(x, y), (x + 100, y + 100), (x + 100, y), (x, y + 100)])
    folder = program([stand("1-1-1", geometry=bowtie)], ops_for("1-1-1"))
    assert_refused(
        folder, tmp_path, capsys, "feature 1 (1-1-1)", "invalid geometry", "Self-intersection"
    )


def test_empty_file(program, tmp_path, capsys):
    folder = program([stand("1-1-1")], ops_for("1-1-1"))
    (folder / "operations.csv").write_bytes(b"")
    assert_refused(folder, tmp_path, capsys, "operations.csv", "empty")


def test_wrong_encoding(program, tmp_path, capsys):
    folder = program([stand("1-1-1")], ops_for("1-1-1"))
    text = "stand_id,date,operation\n1-1-1,2015-06-01,間伐\n"
    (folder / "operations.csv").write_bytes(text.encode("utf-16"))
    assert_refused(folder, tmp_path, capsys, "operations.csv", "neither UTF-8 nor Shift_JIS")


def test_missing_required_column(program, tmp_path, capsys):
    rows = [stand("1-1-1")]
    del rows[0]["species"]
    folder = program(rows, ops_for("1-1-1"))
    assert_refused(folder, tmp_path, capsys, "'species'", "required column is missing", "樹種")


def test_period_end_before_start(program, tmp_path, capsys):
    folder = program([stand("1-1-1")], ops_for("1-1-1"))
    toml = (folder / "program.toml").read_text().replace("end = 2024-03-31", "end = 2022-03-31")
    (folder / "program.toml").write_text(toml)
    assert_refused(folder, tmp_path, capsys, "period 1", "before its start")


def test_growth_table_missing_a_species(program, tmp_path, capsys):
    folder = program([stand("1-1-1", species="karamatsu")], ops_for("1-1-1"))
    assert_refused(
        folder,
        tmp_path,
        capsys,
        "growth.csv",
        "no yield curve for species 'karamatsu' site class 2",
        "1-1-1",
    )


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


def test_every_problem_reported_at_once(program, tmp_path, capsys):
    folder = program(
        [stand("1-1-1", site_class=5), stand("1-1-2", species="??")],
        [*ops_for("1-1-1"), {"stand_id": "1-1-1", **THIN, "date": "yesterday"}],
    )
    err = assert_refused(folder, tmp_path, capsys, "3 problems", "site_class", "species", "date")
    assert err.count("\n  - ") == 3


def test_existing_outputs_need_overwrite(program, tmp_path, capsys):
    folder = program([stand("1-1-1")], ops_for("1-1-1"))
    assert run_cli(folder, tmp_path, capsys)[0] == 0
    code, captured, _ = run_cli(folder, tmp_path, capsys)
    assert code == 1 and "--overwrite" in captured.err
    assert run_cli(folder, tmp_path, capsys, "--overwrite")[0] == 0


def test_usage_error_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["run"])
    assert e.value.code == 2


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


def test_register_area_source(program):
    folder = program(
        [stand("1-1-1", area_ha=1.25, geometry=square(1.0))],
        ops_for("1-1-1"),
        extra_toml='[fo001]\narea_source = "register"\n',
    )
    st = load_program(folder).stands
    assert st.loc[0, "stand_area_ha"] == 1.25
    assert st.loc[0, "geometry_area_ha"] == pytest.approx(1.0)


def test_other_crs_is_reprojected(program):
    folder = program([stand("1-1-1", 2.0)], ops_for("1-1-1"), crs="EPSG:4326")
    st = load_program(folder).stands
    assert st.crs.to_epsg() == 6673
    assert st.loc[0, "geometry_area_ha"] == pytest.approx(2.0, rel=1e-4)


def test_input_error_lists_problem_fields():
    from forestcarbon.core.exceptions import Problem

    e = InputError([Problem("a.csv", "row 3", "species", "unknown")])
    assert str(e) == "a.csv, row 3, column 'species': unknown"


def test_box_helper_area():
    assert box(0, 0, 100, 100).area / 10_000 == 1.0
    assert square(2.5).area == pytest.approx(25_000)


def test_growth_table_duplicate_entry(program, tmp_path, capsys):
    from .conftest import GROWTH

    growth = GROWTH + "sugi,2,30,310,18,test,hand-made test table\n"
    folder = program([stand("1-1-1")], ops_for("1-1-1"), growth=growth)
    assert_refused(
        folder,
        tmp_path,
        capsys,
        "growth.csv",
        "rows 3, 10",
        "duplicate entry species=sugi, site_class=2, age=30",
    )
