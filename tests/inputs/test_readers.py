"""Reading tables and layers: encodings (UTF-8, cp932), XLSX, empty files, CRS of layers."""

from __future__ import annotations

import datetime as dt
import time
import tracemalloc
from decimal import Decimal

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
import pytest

from forestcarbon.cli.main import main
from forestcarbon.inputs.program import load_program
from forestcarbon.inputs.readers import read_table
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


# --- inputs found by name, whatever the format (issue 13 item 7) -------------------------------


def _as_shapefile(folder, name="stands.shp", encoding="UTF-8", columns=None):
    """Replace stands.gpkg by a Shapefile whose field names are cut to 10 bytes in ``encoding``,
    as GDAL cuts them (ASCII placeholders are written, then the DBF header is patched: GDAL's own
    cutting warns through a handler that cannot be silenced)."""
    gdf = gpd.read_file(folder / "stands.gpkg")
    (folder / "stands.gpkg").unlink()
    if columns:
        gdf = gdf.rename(columns=columns)
    names = [c for c in gdf.columns if c != "geometry"]
    gdf.columns = [f"f{i}" for i in range(len(names))] + ["geometry"]
    gdf.to_file(folder / name, encoding=encoding, engine="pyogrio")
    dbf = bytearray((folder / name).with_suffix(".dbf").read_bytes())
    for i, header in enumerate(names):
        cut = header.encode(encoding)[:10]
        dbf[32 + 32 * i : 32 + 32 * i + 11] = cut.ljust(11, b"\0")
    (folder / name).with_suffix(".dbf").write_bytes(bytes(dbf))
    return gdf


def test_stands_shapefile_and_operations_xlsx_found_by_name(program, caplog):
    folder = program([stand("1-1-1"), stand("1-1-2")], ops_for("1-1-1"))
    _as_shapefile(folder)
    ops = pd.read_csv(folder / "operations.csv", dtype=str, keep_default_na=False)
    (folder / "operations.csv").unlink()
    ops.to_excel(folder / "operations.xlsx", index=False)
    with caplog.at_level("INFO", logger="forestcarbon"):
        inputs = load_program(folder)
    assert inputs.files["stands"].name == "stands.shp"
    assert inputs.files["operations"].name == "operations.xlsx"
    assert sorted(inputs.stands["stand_id"]) == ["1-1-1", "1-1-2"]
    assert list(inputs.operations["stand_id"]) == ["1-1-1"]
    assert "stands: using stands.shp (stands.gpkg is absent)" in caplog.text
    assert "operations: using operations.xlsx (operations.csv is absent)" in caplog.text


def test_two_candidate_stand_files_are_refused(program, tmp_path, capsys):
    folder = program([stand("1-1-1")], ops_for("1-1-1"))
    gdf = _as_shapefile(folder)
    gdf.to_file(folder / "stands.geojson", engine="pyogrio")
    assert_refused(
        folder, tmp_path, capsys, "[inputs] stands", "stands.geojson, stands.shp", "several"
    )


def test_default_file_wins_and_explicit_names_are_not_replaced(program, tmp_path, capsys, caplog):
    folder = program([stand("1-1-1")], ops_for("1-1-1"))
    gpd.read_file(folder / "stands.gpkg").to_file(folder / "stands.geojson", engine="pyogrio")
    with caplog.at_level("WARNING", logger="forestcarbon"):
        assert load_program(folder).files["stands"].name == "stands.gpkg"
    # the file beside the default is named, once
    assert caplog.text.count("stands: stands.gpkg used; stands.geojson beside it not used") == 1
    toml = (folder / "program.toml").read_text() + '\n[inputs]\nstands = "mine.gpkg"\n'
    (folder / "program.toml").write_text(toml)
    assert_refused(folder, tmp_path, capsys, "mine.gpkg", "file not found")


# --- Shapefile field names cut to 10 bytes (issue 13 item 8) ------------------------------------

JAPANESE_HEADERS = {
    "stand_id": "小班ID",
    "species": "樹種",
    "planted_year": "植栽年度",
    "site_class": "地位",
    "forest_type": "林種",
    "protected": "保安林",
    "plan_id": "森林経営計画",
    "area_ha": "面積",
}


@pytest.mark.parametrize("encoding", ["cp932", "UTF-8"])
def test_shapefile_cut_japanese_field_names(program, encoding):
    """森林経営計画 (cp932: 12 bytes) becomes 森林経営計; in UTF-8 (18 bytes) 森林経 plus a stray
    byte; age and its base year (林齢, 林齢基準年度 -> 林齢基準年 / 林齢基) give planted_year."""
    rows = [stand("1-1-1", planted_year=None), stand("1-1-2", planted_year=None)]
    for r, age in zip(rows, (31, 12), strict=True):
        del r["planted_year"]
        r.update(林齢=age, 林齢基準年度=2023)
    folder = program(rows, ops_for("1-1-1"))
    headers = {k: v for k, v in JAPANESE_HEADERS.items() if k != "planted_year"}
    _as_shapefile(folder, encoding=encoding, columns=headers)
    dbf = (folder / "stands.dbf").read_bytes()
    names = [dbf[i : i + 11].split(b"\0")[0] for i in range(32, dbf.index(b"\r", 32), 32)]
    cut = {"cp932": "森林経営計", "UTF-8": "森林経"}[encoding].encode(encoding)
    assert any(n.startswith(cut) for n in names) and max(map(len, names)) == 10
    inputs = load_program(folder)
    stands = inputs.stands.set_index("stand_id")
    # planted = base year - age + 1: 2023 - 31 + 1 = 1993, 2023 - 12 + 1 = 2012
    assert stands.loc["1-1-1", "planted_year"] == 1993
    assert stands.loc["1-1-2", "planted_year"] == 2012
    assert set(stands["plan_id"]) == {"P1"}


def test_shapefile_cut_english_field_names(program):
    folder = program([stand("1-1-1", forest_type="natural", protected=True)], ops_for("1-1-1"))
    gdf = _as_shapefile(folder)
    fields = pyogrio.read_info(folder / "stands.shp")["fields"]
    assert "forest_typ" in fields and "planted_ye" in fields
    assert len(gdf) == 1
    stands = load_program(folder).stands
    assert stands.loc[0, "forest_type"] == "natural" and stands.loc[0, "planted_year"] == 1993


def test_errors_name_the_officers_header_and_the_accepted_spellings(program, tmp_path, capsys):
    rows = [stand("1-1-1", site_class=7)]
    del rows[0]["planted_year"]
    rows[0].update(林齢=30)  # the base year is missing
    folder = program(rows, ops_for("1-1-1"))
    _as_shapefile(folder, encoding="cp932", columns={"site_class": "地位級", "stand_id": "小班ID"})
    err = assert_refused(
        folder,
        tmp_path,
        capsys,
        "column '地位級': expected site class (地位) 1, 2 or 3",
        "林齢基準年度/基準年度/調査年度/age_year",
        "植栽年度/植栽年/植栽年度(年度)/planted_year",
    )
    assert "rinpan" not in err and "'site_class'" not in err and "age_year'" not in err


def test_wide_header_is_refused_from_its_first_bytes_with_bounded_memory(program, capsys):
    # 100,000 columns and 300 rows of 99,999 commas: a 30 MB file. Only its first MB is read:
    # validate refuses it in well under a second, allocating a few MB (reading and decoding the
    # whole file first peaked at about 3 x 30 MB)
    folder = program([stand("1-1-1")])
    header = ",".join(f"c{i}" for i in range(100_000))
    with (folder / "operations.csv").open("w", encoding="utf-8") as f:
        f.write(header + "\n")
        f.writelines("," * 99_999 + "\n" for _ in range(300))
    assert (folder / "operations.csv").stat().st_size > 30_000_000
    start = time.perf_counter()
    assert main(["validate", str(folder)]) == 1
    elapsed = time.perf_counter() - start
    err = capsys.readouterr().err
    assert "operations.csv, row 1" in err and "more than 1000 columns (100000)" in err, err
    assert elapsed < 1.0
    tracemalloc.start()
    try:
        assert main(["validate", str(folder)]) == 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8_000_000, peak  # bytes


def test_a_header_line_longer_than_the_peek_is_refused(program, tmp_path, capsys):
    # one 2 MB header line of 999 columns (fewer than 1000 commas in its first MB, no newline)
    folder = program([stand("1-1-1")])
    names = ",".join("x" * 2_100 + str(i) for i in range(999))
    (folder / "operations.csv").write_text(names + "\n", encoding="utf-8")
    assert_refused(folder, tmp_path, capsys, "operations.csv", "row 1", "in its first MB")


def test_parquet_cells_are_the_text_a_csv_would_have(tmp_path):
    # each Arrow type converted column by column (text as it is, numbers and dates once per
    # distinct value): integers as written, whole floats without '.0' (-0.0 -> '0', 1e20 in
    # full), dates ISO, times only when not midnight, decimals as stored, nulls empty
    table = pa.table(
        {
            "int": pa.array([1, None, 2015, 1, -7]),
            "float": pa.array([3.0, -0.0, 1e20, 2.5, float("nan")]),
            "bool": pa.array([True, False, None, True, False]),
            "time": pa.array(
                [
                    dt.datetime(2023, 4, 1),
                    dt.datetime(2023, 4, 1, 12, 30),
                    None,
                    dt.datetime(2023, 4, 1),
                    dt.datetime(2024, 3, 31, 23, 59, 59),
                ],
                pa.timestamp("us"),
            ),
            "date": pa.array([dt.date(2023, 4, 1), None, dt.date(1899, 12, 31), None, None]),
            "decimal": pa.array(
                [Decimal("1.50"), None, Decimal("12.00"), Decimal("1.50"), Decimal("0.25")],
                pa.decimal128(6, 2),
            ),
            "text": pa.array(["a", None, " b ", "１２", "a"]),
        }
    )
    pq.write_table(table, tmp_path / "ops.parquet")
    assert read_table(tmp_path / "ops.parquet").to_dict("list") == {
        "int": ["1", "", "2015", "1", "-7"],
        "float": ["3", "0", "100000000000000000000", "2.5", ""],
        "bool": ["True", "False", "", "True", "False"],
        "time": ["2023-04-01", "2023-04-01T12:30:00", "", "2023-04-01", "2024-03-31T23:59:59"],
        "date": ["2023-04-01", "", "1899-12-31", "", ""],
        "decimal": ["1.50", "", "12.00", "1.50", "0.25"],
        "text": ["a", "", " b ", "１２", "a"],
    }
    # a pandas column of mixed ints and floats is stored as floats
    mixed = pd.DataFrame({"area": pd.Series([1, 2.5, None, 3, 1], dtype=object)})
    mixed.to_parquet(tmp_path / "mixed.parquet")
    assert read_table(tmp_path / "mixed.parquet")["area"].tolist() == ["1", "2.5", "", "3", "1"]
