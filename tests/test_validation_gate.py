"""``validate`` is the gate (issue #10): for every item of the validation list, a bad input is
refused by ``run`` and ``validate`` alike, with the same problems (file, row/id, column,
expectation), exit 1, no traceback and nothing written (:func:`tests.conftest.assert_refused`).

One case per item, so that a new check without its case, or a check ``validate`` skips, shows
here; the detailed tests of each check live beside its module."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon

from forestcarbon.inputs.geometry import FAR_KM
from tests.conftest import ORIGIN, assert_refused, square, stand

THIN = "1-1-1,2015-06-01,間伐,1.0"


def _ops(*lines):
    def apply(folder):
        text = "stand_id,date,operation,area_ha\n" + "\n".join(lines) + "\n"
        (folder / "operations.csv").write_text(text, encoding="utf-8")

    return apply


def _plans(*lines):
    def apply(folder):
        (folder / "plans.csv").write_text(
            "計画番号,始期,終期\n" + "\n".join(lines) + "\n", encoding="utf-8"
        )

    return apply


def _stands(*geoms, crs="EPSG:6673"):
    def apply(folder):
        gdf = gpd.read_file(folder / "stands.gpkg")
        gdf = gdf.set_geometry(list(geoms), crs="EPSG:6673")
        if crs != "EPSG:6673":
            gdf = gdf.to_crs(crs)
        gdf.to_file(folder / "stands.gpkg", layer="stands", engine="pyogrio")

    return apply


def _swapped(folder):
    gdf = gpd.read_file(folder / "stands.gpkg").to_crs(4326)
    gdf.geometry = shapely.transform(gdf.geometry.to_numpy(), lambda xy: xy[:, ::-1])
    gdf.to_file(folder / "stands.gpkg", layer="stands", engine="pyogrio")


def _area(folder):
    gdf = gpd.read_file(folder / "stands.gpkg")
    gdf.loc[0, "area_ha"] = 1.5  # polygon 1.0 ha: 50% apart
    gdf.to_file(folder / "stands.gpkg", layer="stands", engine="pyogrio")


def _wide(folder):
    header = ",".join(f"c{i}" for i in range(100_000))
    (folder / "operations.csv").write_text(header + "\n", encoding="utf-8")


X0, Y0 = ORIGIN
FAR = square(1.0, (FAR_KM + 10) * 1000)
NON_FINITE = Polygon([(X0, Y0), (X0 + 100, Y0), (X0 + 100, np.inf), (X0, Y0)])

CASES = {
    # harvest sequences (the engine's checks, run by validate too)
    "two-final-harvests": (
        _ops(THIN, "1-1-1,2020-06-01,主伐,", "1-1-1,2022-06-01,主伐,"),
        ["row 4 (1-1-1)", "two final harvests"],
    ),
    "replanting-without-harvest": (
        _ops(THIN, "1-1-1,2020-06-01,再造林,1.0"),
        ["1-1-1", "replant"],
    ),
    "duplicate-operation-rows": (_ops(THIN, THIN), ["rows 2, 3 (1-1-1)", "exact duplicate row"]),
    "unknown-stand": (_ops(THIN, "9-9-9,2015-06-01,間伐,1.0"), ["row 3", "unknown stand"]),
    "treated-area-larger-than-stand": (
        _ops("1-1-1,2015-06-01,間伐,3.0"),
        ["row 2 (1-1-1)", "larger than the stand"],
    ),
    # plan dates
    "plan-ends-before-it-starts": (
        _plans("P1,2020-04-01,2019-03-31"),
        ["plans.csv", "row 2 (P1)", "'end'", "before it starts"],
    ),
    "plan-impossible-date": (_plans("P1,2020-04-01,2025-02-30"), ["plans.csv", "does not exist"]),
    "plan-twice": (
        _plans("P1,2020-04-01,2025-03-31", "P1,2021-04-01,2026-03-31"),
        ["plans.csv", "duplicate id 'P1'"],
    ),
    # numbers
    "decimal-comma-4,0": (_ops('1-1-1,2015-06-01,間伐,"4,0"'), ["row 2 (1-1-1)", "'4,0'"]),
    "decimal-comma-3,5": (_ops('1-1-1,2015-06-01,間伐,"3,5"'), ["row 2 (1-1-1)", "'3,5'"]),
    "decimal-comma-120,5": (_ops('1-1-1,2015-06-01,間伐,"120,5"'), ["row 2", "'120,5'"]),
    # dates
    "impossible-date": (_ops("1-1-1,2023-02-30,間伐,1.0"), ["row 2 (1-1-1)", "does not exist"]),
    "impossible-era-date": (_ops("1-1-1,R5.2.30,間伐,1.0"), ["row 2 (1-1-1)", "'date'"]),
    # geometry
    "overlap": (
        _stands(square(1.0), square(1.0, 50.0), square(1.0, 2_000.0)),
        ["feature 2 (1-2-1)", "overlaps feature 1 (1-1-1) by 0.5000 ha"],
    ),
    "duplicate-polygon": (
        _stands(square(1.0), square(1.0), square(1.0, 2_000.0)),
        ["feature 2 (1-2-1)", "the same polygon as feature 1"],
    ),
    "swapped-lon-lat": (_swapped, ["feature 1 (1-1-1)", "not degrees"]),
    "far-from-the-rest": (
        _stands(square(1.0), square(1.0, 2_000.0), FAR),
        ["feature 3 (1-3-1)", "from the middle"],
    ),
    "non-finite-coordinates": (
        _stands(square(1.0), NON_FINITE, square(1.0, 2_000.0)),
        ["feature 2 (1-2-1)", "Invalid Coordinate[-29900 inf]"],
    ),
    "register-vs-polygon-area": (_area, ["1-1-1", "'area_ha'", "differ by 50%"]),
    "treated-polygon-outside-its-stand": (
        lambda folder: (folder / "operations.csv").write_text(
            "stand_id,date,operation,wkt\n"
            '1-1-1,2015-06-01,間伐,"POLYGON ((134 35, 134.01 35, 134.01 35.01, 134 35))"\n',
            encoding="utf-8",
        ),
        ["row 2 (1-1-1)", "'wkt'", "shares no area"],
    ),
    # wide files
    "100000-column-header": (_wide, ["operations.csv", "row 1", "more than 1000 columns"]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_refused_by_run_and_validate_alike(name, program, tmp_path, capsys):
    apply, needles = CASES[name]
    stands = [stand("1-1-1"), stand("1-2-1"), stand("1-3-1")]
    ops = [{"stand_id": s["stand_id"], "date": "2015-06-01", "operation": "間伐"} for s in stands]
    folder = program(stands, ops)
    apply(folder)
    assert_refused(folder, tmp_path, capsys, *needles)
