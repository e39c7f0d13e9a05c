"""Treated-area polygons kept in the record store (forestcarbon.officer.store with
forestcarbon.inputs.store_gpkg / store_postgres): ``ops add --geometry`` and ``ops import`` of a
layer keep them, checked like the program's operations layer (tests/inputs/test_treated.py);
the history, undo, ``store migrate`` and provenance keep them; the engine counts the same area
from a store as from a GeoPackage layer with the same polygons. Areas worked by hand in the
comments; every test that does not open the store itself runs on both stores."""

from __future__ import annotations

import json
import sqlite3

import geopandas as gpd
import pandas as pd
import psycopg
import pytest
import shapely
from psycopg import sql
from shapely.geometry import MultiPolygon

from forestcarbon.cli.main import main
from forestcarbon.core.exceptions import InputError
from forestcarbon.inputs.program import load_program
from forestcarbon.inputs.records import open_record_store, read_records
from forestcarbon.inputs.store_gpkg import GpkgStore, gpkg_blob
from forestcarbon.inputs.store_postgres import grant_statements
from forestcarbon.officer import store
from forestcarbon.officer.migrate import migrate_store
from forestcarbon.officer.store_init import init_store
from forestcarbon.run import compute
from tests.conftest import ORIGIN, stand
from tests.inputs.test_treated import PER_HA, rect, thin, write_layer
from tests.officer.test_store import STORE_TOML, clock
from tests.pg_cluster import store_toml

THIN_2015 = {"stand_id": "1-1-1", "date": "2015-06-01", "operation": "thinning"}


@pytest.fixture
def polygon_program(program, store_kind):
    """A 2 ha stand 1-1-1 (141.42 m square at ORIGIN) and a 1 ha stand 1-2-1 1 km east, the
    operations in the record store (GeoPackage or PostgreSQL, not created yet)."""
    return program([stand("1-1-1", 2.0), stand("1-2-1", 1.0)], [], extra_toml=store_kind)


def fo001_row(folder, sid="1-1-1"):
    inputs = load_program(folder)
    return compute(inputs, fo001_only=True).fo001.set_index("stand_id").loc[sid]


def two_thinnings_layer(path, crs="EPSG:6673"):
    """Polygon A 100 x 50 m = 0.5 ha and B 80 x 100 m = 0.8 ha overlapping on 50 x 50 m =
    0.25 ha (test_treated's hand-worked case), as a GeoPackage layer ``operations``."""
    path.mkdir(exist_ok=True)
    return write_layer(
        path,
        [thin(), thin(date="2018-06-01")],
        [rect(0, 0, 100, 50), rect(50, 0, 130, 100)],
        crs=crs,
    )


def test_imported_layer_counts_the_same_union_as_the_layer_itself(
    polygon_program, program, tmp_path
):
    # union = 0.5 + 0.8 - 0.25 = 1.05 ha; 1.05 ha x 9.0278925 t-CO2/ha = 9.47928713 t-CO2
    layer = two_thinnings_layer(tmp_path / "drawn")
    result = store.import_operations(polygon_program, layer)
    assert (result.n_added, result.action) == (2, "import")
    records = read_records(store.program_store(polygon_program))
    assert records["geometry"].map(lambda g: g.geom_type).tolist() == ["MultiPolygon"] * 2
    assert shapely.area(records["geometry"].tolist()) == pytest.approx([5000.0, 8000.0])
    row = fo001_row(polygon_program)
    assert row["eligible_area_ha"] == pytest.approx(1.05, abs=1e-9)
    assert row["net_tco2"] == pytest.approx(1.05 * PER_HA, abs=1e-9)
    # the same program with the layer as its operations gives the same credit
    from_layer = program([stand("1-1-1", 2.0), stand("1-2-1", 1.0)], [])
    two_thinnings_layer(from_layer)
    same = fo001_row(from_layer)
    assert same["eligible_area_ha"] == row["eligible_area_ha"]
    assert same["net_tco2"] == row["net_tco2"]


def test_import_of_a_table_with_a_wkt_column_keeps_its_polygons(polygon_program, tmp_path):
    # 施業区域 (WKT, working CRS): A 0.5 ha and B 0.8 ha overlapping on 0.25 ha -> 1.05 ha; a
    # weeding without a polygon on the other stand stays as it is
    csv = tmp_path / "ops.csv"
    pd.DataFrame(
        {
            "小班ID": ["1-1-1", "1-1-1", "1-2-1"],
            "施業": ["間伐", "間伐", "下刈"],
            "実施日": ["2015-06-01", "2018-06-01", "2010-06-01"],
            "面積": ["", "", "1.0"],
            "施業区域": [rect(0, 0, 100, 50).wkt, rect(50, 0, 130, 100).wkt, ""],
        }
    ).to_csv(csv, index=False, encoding="cp932")
    store.import_operations(polygon_program, csv)
    records = read_records(store.program_store(polygon_program))
    assert [g is None for g in records["geometry"]] == [False, False, True]
    assert fo001_row(polygon_program)["eligible_area_ha"] == pytest.approx(1.05, abs=1e-9)


def test_ops_add_geometry_wkt_and_a_lon_lat_file_capped_by_the_recorded_area(
    polygon_program, tmp_path, capsys
):
    # WKT in the working CRS: 100 x 50 m = 0.5 ha inside the stand
    wkt = rect(0, 0, 100, 50).wkt
    code = main(
        ["ops", "add", str(polygon_program), "--stand", "1-1-1", "--date", "2015-06-01",
         "--operation", "間伐", "--geometry", wkt]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert fo001_row(polygon_program)["eligible_area_ha"] == pytest.approx(0.5, abs=1e-9)
    # a file in lon/lat (reprojected): 0.5 ha drawn on stand 1-2-1, but 0.3 ha recorded ->
    # counted min(0.5, 0.3) = 0.3 ha (never more than the hectares recorded with it)
    drawn = gpd.GeoDataFrame(geometry=[rect(1000, 0, 1100, 50)], crs="EPSG:6673")
    drawn.to_crs("EPSG:4326").to_file(tmp_path / "drawn.geojson", engine="pyogrio")
    store.add_operation(
        polygon_program,
        stand_id="1-2-1",
        date="2015-06-01",
        operation="thinning",
        area_ha="0.3",
        geometry=str(tmp_path / "drawn.geojson"),
    )
    row = fo001_row(polygon_program, "1-2-1")
    assert row["eligible_area_ha"] == pytest.approx(0.3, abs=1e-9)
    assert row["net_tco2"] == pytest.approx(0.3 * PER_HA, abs=1e-9)
    kept = read_records(store.program_store(polygon_program)).iloc[-1]["geometry"]
    assert kept.area == pytest.approx(5000.0, rel=1e-6)  # back in EPSG:6673 metres


@pytest.mark.parametrize(
    ("geometry", "needle"),
    [
        ("POLYGON EMPTY", "expected a WKT polygon"),
        ("POINT (-30000 -110000)", "expected a WKT polygon"),
        # a bow-tie: its two triangles cross at the middle
        ("POLYGON ((-30000 -110000, -29900 -109900, -29900 -110000, -30000 -109900, "
         "-30000 -110000))", "expected a valid polygon"),
        # 5000 km from the CRS's origin: outside the working CRS's area
        ("POLYGON ((5e6 5e6, 5000100 5e6, 5000100 5000100, 5e6 5e6))", "area of use"),
        # 5 km east of the stand: shares no area with it
        ("POLYGON ((-25000 -110000, -24900 -110000, -24900 -109900, -25000 -110000))",
         "shares no area with stand 1-1-1"),
    ],
)  # fmt: skip
def test_bad_wkt_polygons_are_refused_and_nothing_is_written(polygon_program, geometry, needle):
    store.add_operation(polygon_program, stand_id="1-2-1", date="2010-06-01", operation="weeding")
    before = read_records(store.program_store(polygon_program))
    with pytest.raises(InputError) as e:
        store.add_operation(
            polygon_program,
            stand_id="1-1-1",
            date="2015-06-01",
            operation="thinning",
            geometry=geometry,
        )
    text = str(e.value)
    assert needle in text, text
    assert "geometry" in text
    pd.testing.assert_frame_equal(read_records(store.program_store(polygon_program)), before)


def test_bad_layers_are_refused_with_the_layers_messages(polygon_program, tmp_path):
    # no CRS
    layer = two_thinnings_layer(tmp_path / "nocrs", crs=None)
    with pytest.raises(InputError, match="has treated-area polygons but no CRS"):
        store.import_operations(polygon_program, layer)
    # an invalid (bow-tie) polygon: named by the feature's fid
    x, y = ORIGIN
    bowtie = shapely.Polygon([(x, y), (x + 100, y + 100), (x + 100, y), (x, y + 100)])
    folder = tmp_path / "bowtie"
    folder.mkdir()
    write_layer(folder, [thin()], [bowtie])
    with pytest.raises(InputError) as e:
        store.import_operations(polygon_program, folder / "operations.gpkg")
    assert "row 1 (1-1-1)" in str(e.value) and "Self-intersection" in str(e.value)
    assert not store.program_store(polygon_program).exists()


def test_history_undo_and_replay_keep_the_polygon(polygon_program, tmp_path):
    store.add_operation(
        polygon_program,
        stand_id="1-1-1",
        date="2015-06-01",
        operation="thinning",
        geometry=rect(0, 0, 100, 50).wkt,
        now=clock((2025, 4, 1, 9)),
    )
    path = store.program_store(polygon_program)
    rows = path.read(lambda s: s.history_rows())
    assert rows["geometry"].iloc[0].equals(MultiPolygon([rect(0, 0, 100, 50)]))
    store.undo_last(polygon_program, now=clock((2025, 4, 1, 10)))
    assert read_records(path).empty
    removed = path.read(lambda s: s.history_rows(2, "removed"))
    assert removed["geometry"].iloc[0].area == pytest.approx(5000.0)
    ok, text = store.verify_history(path)
    assert ok, text
    # the same record again: not a duplicate of the undone one
    store.add_operation(
        polygon_program,
        stand_id="1-1-1",
        date="2015-06-01",
        operation="thinning",
        geometry=rect(0, 0, 100, 50).wkt,
    )
    assert store.replay_history(path)["geometry"].iloc[0].area == pytest.approx(5000.0)


def test_ops_init_from_a_geopackage_layer_keeps_its_polygons(program, tmp_path, capsys):
    folder = program(
        [stand("1-1-1", 2.0)], [], extra_toml='[inputs]\noperations = "operations.gpkg"\n'
    )
    two_thinnings_layer(folder)
    before = fo001_row(folder)
    result = init_store(folder)
    assert result.change.n_added == 2 and result.store.name == "records.gpkg"
    assert 'operations = "records.gpkg"' in (folder / "program.toml").read_text("utf-8")
    after = fo001_row(folder)
    assert after["eligible_area_ha"] == pytest.approx(1.05, abs=1e-9)
    assert after["net_tco2"] == before["net_tco2"]
    # a record store named as the operations: still refused, with what to do
    assert main(["ops", "init", str(folder)]) == 1
    assert "already records operations in 'records.gpkg'" in capsys.readouterr().err


def test_a_store_without_the_polygon_column_gets_it_on_the_next_write(program, tmp_path):
    folder = program([stand("1-1-1", 2.0)], [], extra_toml=STORE_TOML)
    old = GpkgStore(folder / "records.gpkg")  # no CRS: the store as created before polygons
    old.change(lambda session: None)
    with sqlite3.connect(folder / "records.gpkg") as con:
        columns = {r[1] for r in con.execute("PRAGMA table_info(operations)")}
    assert "geometry" not in columns
    assert read_records(folder / "records.gpkg")["geometry"].tolist() == []
    store.add_operation(
        folder, stand_id="1-1-1", date="2015-06-01", operation="thinning",
        geometry=rect(0, 0, 100, 50).wkt,
    )  # fmt: skip
    table = gpd.read_file(folder / "records.gpkg", layer="operations", engine="pyogrio")
    assert table.crs.to_epsg() == 6673
    assert table.geometry.iloc[0].area == pytest.approx(5000.0)
    assert fo001_row(folder)["eligible_area_ha"] == pytest.approx(0.5, abs=1e-9)


def test_a_polygon_edited_in_qgis_changes_the_geopackage_input_for_verify(program, tmp_path):
    folder = program([stand("1-1-1", 2.0)], [], extra_toml=STORE_TOML)
    store.import_operations(folder, two_thinnings_layer(tmp_path / "drawn"))
    out = tmp_path / "run"
    assert main(["-q", "run", str(folder), "--out", str(out)]) == 0
    assert main(["-q", "verify", str(out)]) == 0
    with sqlite3.connect(folder / "records.gpkg") as con:  # as QGIS would save an edit
        con.execute(
            "UPDATE operations SET geometry = ? WHERE fid = 1",
            (gpkg_blob(MultiPolygon([rect(0, 0, 100, 60)]), 6673),),
        )
    # A is now 100 x 60 m, overlapping B on 50 x 60 m: union 0.6 + 0.8 - 0.3 = 1.1 ha
    assert fo001_row(folder)["eligible_area_ha"] == pytest.approx(1.1, abs=1e-9)
    assert main(["-q", "verify", str(out)]) == 1


# --- PostgreSQL ------------------------------------------------------------------------------


@pytest.fixture
def pg_polygons(program, pg_cluster):
    folder = program([stand("1-1-1", 2.0)], [], extra_toml=store_toml(pg_cluster))
    return folder


def test_postgres_polygon_edit_changes_the_record_store_hash_for_verify(pg_polygons, tmp_path):
    store.import_operations(pg_polygons, two_thinnings_layer(tmp_path / "drawn"))
    out = tmp_path / "run"
    assert main(["-q", "run", str(pg_polygons), "--out", str(out)]) == 0
    recorded = json.loads((out / "provenance.json").read_text("utf-8"))["record_store"]
    assert recorded["operations"]["records"] == 2
    assert main(["-q", "verify", str(out)]) == 0
    target = store.program_store(pg_polygons)
    with psycopg.connect(target.url, autocommit=True) as con:
        con.execute(
            sql.SQL(
                "UPDATE {s}.operations SET geometry = ST_Multi(ST_GeomFromText(%s, 6673)) "
                "WHERE fid = 1"
            ).format(s=sql.Identifier(target.schema)),
            (rect(0, 0, 100, 60).wkt,),
        )
        # the database refuses an invalid polygon, whoever writes it
        with pytest.raises(psycopg.errors.CheckViolation):
            con.execute(
                sql.SQL(
                    "UPDATE {s}.operations SET geometry = ST_Multi(ST_GeomFromText(%s, 6673)) "
                    "WHERE fid = 2"
                ).format(s=sql.Identifier(target.schema)),
                ("POLYGON ((0 0, 10 10, 10 0, 0 10, 0 0))",),
            )
    # A is now 100 x 60 m, overlapping B on 50 x 60 m: union 0.6 + 0.8 - 0.3 = 1.1 ha
    assert fo001_row(pg_polygons)["eligible_area_ha"] == pytest.approx(1.1, abs=1e-9)
    assert main(["-q", "verify", str(out)]) == 1


def test_older_postgres_schema_gets_the_column_once_by_its_owner(program, pg_cluster, tmp_path):
    toml = store_toml(pg_cluster)
    folder = program([stand("1-1-1", 2.0)], [], extra_toml=toml)
    store.add_operation(folder, stand_id="1-1-1", date="2010-06-01", operation="weeding")
    target = store.program_store(folder)
    s = sql.Identifier(target.schema)
    with psycopg.connect(target.url, autocommit=True) as con:  # the schema as made before
        con.execute(sql.SQL("ALTER TABLE {s}.operations DROP COLUMN geometry").format(s=s))
        con.execute(sql.SQL("ALTER TABLE {s}.history_rows DROP COLUMN geometry").format(s=s))
    assert read_records(target)["geometry"].tolist() == [None]  # still read
    role = "officer_" + target.schema
    pg_cluster.sql("forestcarbon", f"CREATE ROLE {role} LOGIN")
    with psycopg.connect(target.url, autocommit=True) as con:
        for statement in grant_statements(target.schema, role):
            con.execute(statement)
    officer = toml.replace("postgres@", f"{role}@")
    text = (folder / "program.toml").read_text("utf-8")
    (folder / "program.toml").write_text(text.replace(toml, officer), "utf-8")
    with pytest.raises(InputError, match="with the role owning the schema"):
        store.add_operation(folder, stand_id="1-1-1", date="2011-06-01", operation="weeding")
    (folder / "program.toml").write_text(text, "utf-8")  # the administrator, once
    store.add_operation(
        folder, stand_id="1-1-1", date="2015-06-01", operation="thinning",
        geometry=rect(0, 0, 100, 50).wkt,
    )  # fmt: skip
    assert [g is None for g in read_records(target)["geometry"]] == [True, False]
    drawn = load_program(folder).operations["geometry"]  # given to the engine
    assert drawn.iloc[0] is None and drawn.iloc[1].area == pytest.approx(5000.0)
    ok, why = store.verify_history(target)
    assert ok, why


def test_migrate_copies_the_polygons_both_ways(program, pg_cluster, tmp_path):
    folder = program([stand("1-1-1", 2.0)], [], extra_toml=STORE_TOML)
    store.import_operations(folder, two_thinnings_layer(tmp_path / "drawn"))
    source = read_records(folder / "records.gpkg")
    result = migrate_store(folder, pg_cluster.url(), schema="t_polygons")
    assert result.n_records == 2
    copied = read_records(open_record_store(pg_cluster.url(), schema="t_polygons"))
    assert all(
        a.equals_exact(b, 0) for a, b in zip(source["geometry"], copied["geometry"], strict=True)
    )
    text = (folder / "program.toml").read_text("utf-8")
    (folder / "program.toml").write_text(
        text + f'\n[store]\nurl = "{pg_cluster.url()}"\nschema = "t_polygons"\n', "utf-8"
    )
    assert fo001_row(folder)["eligible_area_ha"] == pytest.approx(1.05, abs=1e-9)
    back = migrate_store(folder, tmp_path / "back.gpkg")
    assert back.n_records == 2
    again = read_records(tmp_path / "back.gpkg")
    assert all(
        a.equals_exact(b, 0) for a, b in zip(source["geometry"], again["geometry"], strict=True)
    )


def test_an_invalid_polygon_saved_in_qgis_is_reported_by_validate(program, tmp_path, capsys):
    # the GeoPackage cannot check a polygon on save: the run reads it and refuses it by fid
    folder = program([stand("1-1-1", 2.0)], [], extra_toml=STORE_TOML)
    store.import_operations(folder, two_thinnings_layer(tmp_path / "drawn"))
    x, y = ORIGIN
    bowtie = shapely.Polygon([(x, y), (x + 100, y + 100), (x + 100, y), (x, y + 100)])
    with sqlite3.connect(folder / "records.gpkg") as con:
        con.execute(
            "UPDATE operations SET geometry = ? WHERE fid = 2",
            (gpkg_blob(MultiPolygon([bowtie]), 6673),),
        )
    assert main(["validate", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "records.gpkg" in err and "row 2 (1-1-1)" in err and "Self-intersection" in err, err
