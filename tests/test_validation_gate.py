"""``validate`` is the gate (issue #10): for every item of the validation list, a bad input is
refused by ``run`` and ``validate`` alike, with the same problems (file, row/id, column,
expectation), exit 1, no traceback and nothing written (:func:`tests.conftest.assert_refused`).

One case per item, so that a new check without its case, or a check ``validate`` skips, shows
here; the detailed tests of each check live beside its module."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Polygon

from forestcarbon.cli.main import main
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


def test_full_width_digits_and_era_dates_are_read_by_hand(program, tmp_path, capsys):
    # 1-1-1: thinned ２０１５－０６－０１ on ０．５ ha -> 0.5 ha counted all FY2023 (sugi age 31,
    # 10 m3/ha/yr x 0.90278925 t-CO2/m3): 0.5 x 9.0278925 = 4.51394625 t-CO2.
    # 1-2-1: first thinned R5.10.1 (2023-10-01) on １ ha -> eligible 2023-10-01..2024-03-31,
    # 183 of the period's 366 days: 1 x 9.0278925 x 183 / 366 = 4.51394625 t-CO2
    folder = program([stand("1-1-1"), stand("1-2-1")])
    (folder / "operations.csv").write_text(
        "stand_id,date,operation,area_ha\n"
        "1-1-1,２０１５－０６－０１,間伐,０．５\n"
        "1-2-1,R5.10.1,間伐,１\n",
        encoding="cp932",
    )
    assert main(["-q", "validate", str(folder)]) == 0
    out = tmp_path / "out"
    assert main(["-q", "fo001", str(folder), "--out", str(out)]) == 0
    fo = pd.read_csv(out / "fo001_stands.csv", encoding="utf-8-sig").set_index("stand_id")
    per_ha = 0.314 * 1.23 * 1.25 * 0.51 * 44 / 12 * 10  # 9.0278925 t-CO2/ha in FY2023
    assert fo.loc["1-1-1", "eligible_area_ha"] == pytest.approx(0.5, abs=1e-12)
    assert fo.loc["1-1-1", "net_tco2"] == pytest.approx(0.5 * per_ha, abs=1e-9)
    assert fo.loc["1-2-1", "counted_days"] == 183
    assert fo.loc["1-2-1", "net_tco2"] == pytest.approx(per_ha * 183 / 366, abs=1e-9)
