"""Treated-area polygons of operations (forestcarbon.inputs.treated): a GeoPackage layer
``operations`` or a WKT column; the counted area is the union clipped to the stand. Areas are
worked by hand in the comments."""

from __future__ import annotations

import warnings

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon, box

from forestcarbon.cli.main import main
from forestcarbon.explain import explain_stand
from forestcarbon.inputs.program import load_program
from forestcarbon.run import compute
from tests.conftest import ORIGIN, assert_refused, stand

SUGI_OLD = 0.314 * 1.23 * 1.25 * 0.51 * 44 / 12  # t-CO2/m3 for sugi aged >= 21: 0.90278925
PER_HA = 10 * SUGI_OLD  # conftest sugi II, age 31 in FY2023, grows 10 m3/ha/yr: 9.0278925
X0, Y0 = ORIGIN


def rect(x1, y1, x2, y2):
    """A rectangle x1..x2, y1..y2 metres from the stand's south-west corner (ORIGIN)."""
    return box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


def write_layer(folder, rows, geoms, crs="EPSG:6673", name="operations.gpkg"):
    """Operations as a GeoPackage layer ``operations`` and program.toml pointing at it."""
    gdf = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs="EPSG:6673")
    if crs is None:
        gdf = gdf.set_crs(None, allow_override=True)
    elif crs != "EPSG:6673":
        gdf = gdf.to_crs(crs)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "'crs' was not provided", UserWarning)
        gdf.to_file(folder / name, layer="operations", engine="pyogrio")
    (folder / "operations.csv").unlink(missing_ok=True)
    return folder / name


def thin(sid="1-1-1", date="2015-06-01", **kw):
    return {"stand_id": sid, "date": date, "operation": "間伐", **kw}


def counted(folder, sid="1-1-1"):
    inputs = load_program(folder)
    fo = compute(inputs, fo001_only=True).fo001.set_index("stand_id")
    return inputs, fo, fo.loc[sid]


def test_two_overlapping_polygons_count_their_union(program):
    # a 2 ha stand (141.42 m square). Polygon A 100 x 50 m = 0.5 ha, polygon B 80 x 100 m =
    # 0.8 ha, overlapping on x 50..100, y 0..50 = 50 x 50 m = 0.25 ha:
    # union = 0.5 + 0.8 - 0.25 = 1.05 ha (the largest single one would be 0.8, the sum 1.3)
    folder = program([stand("1-1-1", ha=2.0)])
    write_layer(
        folder,
        [thin(), thin(date="2018-06-01")],
        [rect(0, 0, 100, 50), rect(50, 0, 130, 100)],
    )
    inputs, fo, row = counted(folder)
    assert row["eligible_area_ha"] == pytest.approx(1.05, abs=1e-9)
    # age 31 in FY2023, 10 m3/ha: 1.05 ha x 9.0278925 = 9.47928713 t-CO2
    assert row["net_tco2"] == pytest.approx(1.05 * PER_HA, abs=1e-9)
    ex = explain_stand(inputs, fo.reset_index(), "1-1-1", row["period"])
    assert ex.matches, str(ex)
    assert "union of the 2 polygon(s) 1.0500 ha" in str(ex)


def test_a_polygon_sticking_out_of_its_stand_is_clipped(program):
    # a 1 ha stand (100 m square); the polygon x 60..160, y 0..50 is 100 x 50 = 0.5 ha, of which
    # x 60..100 lies in the stand: 40 x 50 m = 0.2 ha counted
    folder = program([stand("1-1-1", ha=1.0)])
    write_layer(folder, [thin()], [rect(60, 0, 160, 50)])
    inputs, fo, row = counted(folder)
    assert row["eligible_area_ha"] == pytest.approx(0.2, abs=1e-9)
    assert row["net_tco2"] == pytest.approx(0.2 * PER_HA, abs=1e-9)  # 1.8055785
    assert explain_stand(inputs, fo.reset_index(), "1-1-1", row["period"]).matches


def test_a_layer_in_another_crs_is_reprojected_and_recorded_hectares_cap_it(program):
    # the same 0.5 ha polygon stored in longitude/latitude: reprojected back, still 0.5 ha (to
    # 1e-6 ha); with 0.3 ha recorded beside it, 0.3 ha counts (never more than recorded)
    folder = program([stand("1-1-1", ha=1.0)])
    write_layer(folder, [thin()], [rect(0, 0, 100, 50)], crs="EPSG:4326")
    assert counted(folder)[2]["eligible_area_ha"] == pytest.approx(0.5, abs=1e-6)
    write_layer(folder, [thin(area_ha=0.3)], [rect(0, 0, 100, 50)], crs="EPSG:4326")
    assert counted(folder)[2]["eligible_area_ha"] == pytest.approx(0.3, abs=1e-9)


def test_layer_without_polygons_and_japanese_headers_is_read(program):
    # a feature without geometry falls back to its recorded hectares: max(0.4, 0.2) = 0.4 ha
    folder = program([stand("1-1-1", ha=1.0)])
    rows = [
        {"小班ID": "1-1-1", "実施日": "2015-06-01", "施業": "間伐", "面積": 0.4},
        {"小班ID": "1-1-1", "実施日": "2016-06-01", "施業": "間伐", "面積": 0.2},
    ]
    write_layer(folder, rows, [None, None])
    assert counted(folder)[2]["eligible_area_ha"] == pytest.approx(0.4, abs=1e-12)


def test_operations_gpkg_is_found_by_name(program, capsys):
    # no operations.csv, an operations.gpkg beside program.toml: used (and said so)
    folder = program([stand("1-1-1", ha=1.0)])
    write_layer(folder, [thin()], [rect(0, 0, 100, 50)])
    assert main(["validate", str(folder)]) == 0
    assert "operations.gpkg" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("geom", "needles"),
    [
        (Polygon(), ["row 1", "'geometry'", "empty geometry"]),
        (Point(X0 + 10, Y0 + 10), ["row 1", "'geometry'", "a Point: expected the treated area"]),
        (
            Polygon([(X0, Y0), (X0 + 50, Y0 + 50), (X0 + 50, Y0), (X0, Y0 + 50)]),
            ["row 1", "'geometry'", "invalid polygon (Self-intersection"],
        ),
        # longitude/latitude typed into a metric layer: nowhere near the stand
        (box(134.0, 35.1, 134.001, 35.101), ["row 1 (1-1-1)", "shares no area with stand"]),
    ],
    ids=["empty", "point", "self-intersecting", "degrees-as-metres"],
)
def test_bad_layer_polygons_are_refused_by_run_and_validate(
    program, tmp_path, capsys, geom, needles
):
    folder = program([stand("1-1-1", ha=1.0)])
    layer = write_layer(folder, [thin()], [geom])
    assert_refused(folder, tmp_path, capsys, str(layer), *needles)


def test_layer_without_crs_or_with_metres_tagged_as_degrees_is_refused(program, tmp_path, capsys):
    folder = program([stand("1-1-1", ha=1.0)])
    write_layer(folder, [thin()], [rect(0, 0, 100, 50)], crs=None)
    assert_refused(folder, tmp_path, capsys, "operations.gpkg", "no CRS")
    gdf = gpd.GeoDataFrame(pd.DataFrame([thin()]), geometry=[rect(0, 0, 100, 50)], crs=4326)
    gdf.to_file(folder / "operations.gpkg", layer="operations", engine="pyogrio")
    assert_refused(folder, tmp_path, capsys, "operations.gpkg", "row 1", "are not degrees")


def test_wkt_polygon_outside_its_stand_is_refused(program, tmp_path, capsys):
    # a WKT written in longitude/latitude although WKT is read in the working CRS [m]
    folder = program([stand("1-1-1", ha=1.0)])
    (folder / "operations.csv").write_text(
        "stand_id,date,operation,施業区域\n"
        '1-1-1,2015-06-01,間伐,"POLYGON ((134 35, 134.001 35, 134.001 35.001, 134 35))"\n',
        encoding="utf-8",
    )
    assert_refused(folder, tmp_path, capsys, "row 2 (1-1-1)", "'施業区域'", "shares no area")


def test_wkt_overlap_union_and_explain(program):
    # the WKT column gives the same union as the layer: 0.5 + 0.8 - 0.25 = 1.05 ha
    folder = program([stand("1-1-1", ha=2.0)])
    a, b = rect(0, 0, 100, 50).wkt, rect(50, 0, 130, 100).wkt
    (folder / "operations.csv").write_text(
        f'stand_id,date,operation,wkt\n1-1-1,2015-06-01,間伐,"{a}"\n1-1-1,2018-06-01,間伐,"{b}"\n',
        encoding="utf-8",
    )
    inputs, fo, row = counted(folder)
    assert row["eligible_area_ha"] == pytest.approx(1.05, abs=1e-9)
    assert explain_stand(inputs, fo.reset_index(), "1-1-1", row["period"]).matches


def test_ops_commands_on_a_layer_say_the_store_keeps_no_polygons(program, capsys):
    folder = program(
        [stand("1-1-1", ha=1.0)], extra_toml='[inputs]\noperations = "operations.gpkg"\n'
    )
    write_layer(folder, [thin()], [rect(0, 0, 100, 50)])
    args = ["--stand", "1-1-1", "--date", "2016-06-01", "--operation", "間伐", "--area-ha", "0.2"]
    assert main(["ops", "add", str(folder), *args]) == 1
    err = capsys.readouterr().err
    assert "operations.gpkg" in err and "is a GeoPackage layer of operations" in err, err
    assert "Traceback" not in err
    assert main(["-q", "validate", str(folder)]) == 0  # the layer itself is read
