"""Reading the solar and air-conditioning inputs: formats, headers, points, readings, bad inputs."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point

from forestcarbon.cli.main import main
from forestcarbon.core.exceptions import InputError
from forestcarbon.inputs.energy import load_energy
from tests.conftest import _problem_lines, stand, write_program
from tests.energy_fixtures import (
    AC_READINGS,
    CITY_HALL,
    FY2023,
    READINGS,
    SITES,
    UNITS,
    compute,
    csv,
    energy_program,
    reading,
    site,
)

# --- input formats -------------------------------------------------------------------------------


def test_japanese_headers_in_cp932(tmp_path):
    text = csv(
        "設備ID,容量(kW),運転開始日,加入日,経度,緯度,発電量(kWh),売電量(kWh)",
        'S1,4.5,2015/06/01,2016年1月1日,134.004,35.069,"5,300",3710',
    )
    folder = energy_program(tmp_path, solar=text.encode("cp932"))
    row = compute(folder).solar.iloc[0]
    assert row["reduction_tco2"] == pytest.approx(0.69006, abs=1e-12)
    assert row["joined"] == dt.date(2016, 1, 1)


def test_geopackage_points_and_xy_with_a_crs(tmp_path):
    point = gpd.GeoSeries([Point(*CITY_HALL)], crs="EPSG:4326").to_crs("EPSG:6673")
    layer = gpd.GeoDataFrame(
        {"site_id": ["S1"], "capacity_kw": [4.5], "commissioned": ["2015-06-01"],
         "joined": [dt.date(2016, 1, 1)]},
        geometry=point.to_numpy(),
        crs="EPSG:6673",
    )  # fmt: skip
    a = energy_program(tmp_path / "gpkg", solar_readings=csv(READINGS, reading("S1", 5300, 3710)))
    layer.to_file(a / "solar.gpkg", layer="solar", engine="pyogrio")
    x, y = point.iloc[0].x, point.iloc[0].y
    b = energy_program(
        tmp_path / "xy",
        solar=csv(
            "site_id,capacity_kw,commissioned,joined,x,y", f"S1,4.5,2015-06-01,2016-01-01,{x},{y}"
        ),
        solar_readings=csv(READINGS, reading("S1", 5300, 3710)),
        inputs='points_crs = "EPSG:6673"',
    )
    for folder in (a, b):
        result = compute(folder)
        assert result.solar.iloc[0]["reduction_tco2"] == pytest.approx(0.69006, abs=1e-12)
        assert result.solar.crs.to_epsg() == 6673
        assert result.solar.geometry.iloc[0].distance(point.iloc[0]) < 0.01


def test_readings_as_columns_of_the_sites_table(tmp_path):
    folder = energy_program(
        tmp_path, solar=csv(SITES + ",generated_kwh,sold_kwh", site("S1") + ",5300,3710")
    )
    assert compute(folder).solar.iloc[0]["reduction_tco2"] == pytest.approx(0.69006, abs=1e-12)


def test_header_only_readings_table_means_no_readings(tmp_path):
    folder = energy_program(
        tmp_path, solar=csv(SITES, site("S1", kw=4.0)), solar_readings=csv(READINGS)
    )
    row = compute(folder).solar.iloc[0]
    assert row["method"] == "estimated"
    assert row["reduction_tco2"] == pytest.approx(0.553194901, abs=1e-9)


# --- bad inputs ----------------------------------------------------------------------------------


GOOD_SITE = site("S1")


GOOD_READING = reading("S1", 5300, 3710)


GOOD_UNIT = "A1,市役所,134.004,35.069,2.8,4.2"


GOOD_AC = f"A1,{FY2023[0]},{FY2023[1]},30000"


BAD_INPUTS = {
    "negative kWh": (
        dict(solar_readings=csv(READINGS, reading("S1", -5, 0))),
        ["solar_readings.csv", "row 2 (S1)", "generated_kwh", "at least 0"],
    ),
    "sold more than generated": (
        dict(solar_readings=csv(READINGS, reading("S1", 3000, 3710))),
        ["row 2 (S1)", "sold_kwh", "more than generated"],
    ),
    "COP not positive": (
        dict(aircon=csv(UNITS, "A1,市役所,134.004,35.069,2.8,0")),
        ["aircon.csv", "row 2 (A1)", "cop_project", "at least 1"],
    ),
    "unknown site in readings": (
        dict(solar_readings=csv(READINGS, GOOD_READING, reading("S9", 10, 1))),
        ["row 3 (S9)", "unknown site_id 'S9'"],
    ),
    "duplicate site ids": (
        dict(solar=csv(SITES, GOOD_SITE, site("S1", kw=3))),
        ["solar.csv", "rows 2, 3", "duplicate id 'S1'"],
    ),
    "reading outside the program's periods": (
        dict(solar_readings=csv(READINGS, reading("S1", 10, 1, "2022-04-01", "2023-03-31"))),
        ["row 2 (S1)", "outside the program's periods"],
    ),
    "reading crossing the period end": (
        dict(solar_readings=csv(READINGS, reading("S1", 10, 1, "2024-01-01", "2024-04-30"))),
        ["row 2 (S1)", "outside the program's periods"],
    ),
    "x/y without a CRS": (
        dict(
            solar=csv(
                "site_id,capacity_kw,commissioned,joined,x,y",
                "S1,4.5,2015-06-01,2016-01-01,-30000,-103200",
            )
        ),
        ["solar.csv", "x/y", "points_crs"],
    ),
    "reading ends before it starts": (
        dict(solar_readings=csv(READINGS, reading("S1", 10, 1, "2023-09-01", "2023-08-01"))),
        ["row 2 (S1)", "before it starts"],
    ),
    "overlapping readings": (
        dict(
            solar_readings=csv(
                READINGS,
                reading("S1", 10, 1, "2023-04-01", "2023-09-30"),
                reading("S1", 10, 1, "2023-09-01", "2024-03-31"),
            )
        ),
        ["rows 2 and 3 (S1)", "overlap"],
    ),
    "missing capacity column": (
        dict(solar=csv("site_id,commissioned,joined,lon,lat", "S1,2015-06-01,2016-01-01,134,35")),
        ["solar.csv", "capacity_kw", "required column is missing"],
    ),
    "bad joining date": (
        dict(solar=csv(SITES, site("S1", joined="2016-13-01"))),
        ["row 2 (S1)", "joined", "expected a date"],
    ),
    "lon/lat swapped": (
        dict(solar=csv(SITES, site("S1", lon=35.069, lat=134.004))),
        ["row 2 (S1)", "lat", "at most 90"],
    ),
    "point outside the CRS's area of use": (
        dict(solar=csv(SITES, site("S1", lon=139.767, lat=35.681))),
        ["row 2 (S1)", "outside the area of use of EPSG:6673"],
    ),
    "absurd capacity": (
        dict(solar=csv(SITES, site("S1", kw=5000))),
        ["row 2 (S1)", "capacity_kw", "at most 1000"],
    ),
    "unknown FIT status": (
        dict(solar=csv(SITES + ",fit_status", GOOD_SITE + ",maybe")),
        ["row 2 (S1)", "fit_status", "surplus/余剰"],
    ),
    "unknown emission factor kind": (
        dict(energy='emission_factor = "chugoku"'),
        ["program.toml", "[energy] emission_factor", "chugoku_actual"],
    ),
    "emission factor in kg per kWh": (
        dict(energy="emission_factor = 0.434"),
        ["[energy] emission_factor", "kg-CO2/kWh"],
    ),
    "factor kind without the fiscal year": (
        dict(energy='emission_factor = "national_average"'),
        ["[energy] emission_factor", "no factor for FY2023", "FY2013, FY2014"],
    ),
    "heating kWh without cooling": (
        dict(aircon_readings=csv("unit_id,period_start,period_end,heating_kwh", GOOD_AC)),
        ["aircon_readings.csv", "row 2 (A1)", "cooling_kwh/heating_kwh"],
    ),
    "gas-fired unit": (
        dict(aircon=csv(UNITS + ",drive", GOOD_UNIT + ",GHP")),
        ["row 2 (A1)", "drive", "gas-fired"],
    ),
    "unknown old unit without a standard COP": (
        dict(aircon=csv(UNITS, "A1,市役所,134.004,35.069,,4.2")),
        ["row 2 (A1)", "standard_cop_cooling"],
    ),
    "readings given twice": (
        dict(solar=csv(SITES + ",generated_kwh,sold_kwh", GOOD_SITE + ",5300,3710")),
        ["solar.csv", "readings given twice"],
    ),
    "reading for an unknown unit": (
        dict(aircon_readings=csv(AC_READINGS, f"B7,{FY2023[0]},{FY2023[1]},1000")),
        ["aircon_readings.csv", "row 2 (B7)", "unknown unit_id 'B7'"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_energy_input_is_refused(tmp_path, capsys, case):
    changes, needles = BAD_INPUTS[case]
    files = dict(
        solar=csv(SITES, GOOD_SITE),
        solar_readings=csv(READINGS, GOOD_READING),
        aircon=csv(UNITS, GOOD_UNIT),
        aircon_readings=csv(AC_READINGS, GOOD_AC),
    )
    files.update(changes)
    folder = energy_program(tmp_path / "p", **files)
    out = tmp_path / "out"
    code = main(["energy", str(folder), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, (needle, err)
    assert not out.exists() or not any(out.iterdir())
    # validate is the gate: it reports every problem the energy step reports (and here that
    # this energy-only folder has no stands layer, which run needs)
    assert main(["validate", str(folder)]) == 1
    checked = capsys.readouterr().err
    for line in _problem_lines(err):
        assert line.removeprefix("error: ").removeprefix("  - ") in checked, (line, checked)


def test_every_problem_of_every_energy_file_is_listed_at_once(tmp_path, capsys):
    folder = write_program(tmp_path / "p", [stand("1-1-1")])
    energy_program(
        folder,
        solar=csv(SITES, site("S1", kw=-1), site("S2", joined="yesterday")),
        solar_readings=csv(READINGS, reading("S1", 3000, 3710)),
        aircon=csv(UNITS, "A1,市役所,134.004,35.069,0.5,4.2"),
        write_toml=False,
    )
    out = tmp_path / "out"
    assert main(["run", str(folder), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    for needle in ("row 2 (S1), column 'capacity_kw'", "row 3 (S2), column 'joined'",
                   "aircon.csv, row 2 (A1), column 'cop_baseline'"):  # fmt: skip
        assert needle in err, err
    assert not out.exists()


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_point_layer_problems(tmp_path, capsys):
    folder = energy_program(tmp_path / "p", solar_readings=csv(READINGS, GOOD_READING))
    layer = gpd.GeoDataFrame(
        {"site_id": ["S1"], "capacity_kw": [4.5], "commissioned": ["2015-06-01"],
         "joined": ["2016-01-01"]},
        geometry=[LineString([(0, 0), (1, 1)])],
        crs=None,
    )  # fmt: skip
    layer.to_file(folder / "solar.gpkg", layer="solar", engine="pyogrio")
    out = tmp_path / "out"
    assert main(["energy", str(folder), "--out", str(out)]) == 1
    assert "solar.gpkg: the layer has no CRS" in capsys.readouterr().err
    layer.set_crs("EPSG:6673").to_file(folder / "solar.gpkg", layer="solar", engine="pyogrio")
    assert main(["energy", str(folder), "--out", str(out)]) == 1
    assert "feature 1 (S1), column 'geometry': expected a Point, got LineString" in (
        capsys.readouterr().err
    )
    assert not out.exists()


def test_load_energy_raises_one_input_error(tmp_path):
    folder = energy_program(
        tmp_path, solar=csv(SITES, GOOD_SITE), solar_readings=csv(READINGS, reading("S1", -1, -1))
    )
    with pytest.raises(InputError) as info:
        load_energy(folder)
    assert len(info.value.problems) == 2
