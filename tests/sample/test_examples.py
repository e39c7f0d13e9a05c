"""The worked energy example (forestcarbon.sample.examples): a period across 1 April 2014, its
answers worked by hand in the module docstring, recomputed through the public API."""

from __future__ import annotations

import datetime as dt

import pytest

import forestcarbon as fc
from forestcarbon.sample.examples import ENERGY_EXAMPLE_PERIOD, write_energy_example

FILES = {"program.toml", "solar.csv", "solar_readings.csv", "aircon.csv", "aircon_readings.csv"}

# Period 2013-10-01 .. 2014-09-30: FY2013 part 2013-10-01 .. 2014-03-31 = 31+30+31+31+31+28+31
# = 182 days, FY2014 part 2014-04-01 .. 2014-09-30 = 30+31+30+31+31+30 = 183 days; 365 in all.
# national_average factors (EN-R-002_EN-S-004.md): FY2013 0.570, FY2014 0.554 kg-CO2/kWh.
# Day-weighted factor: (182 x 0.000570 + 183 x 0.000554) / 365 = (0.10374 + 0.101382) / 365
#   = 0.205122 / 365 t-CO2/kWh.
EXPECTED_SOLAR = {
    # 5,000 - 1,350 = 3,650 kWh over 365 days = 10 kWh/day:
    # 1,820 kWh x 0.000570 + 1,830 kWh x 0.000554 = 1.0374 + 1.01382 = 2.05122
    "EX-PV-1": 2.05122,
    # joined 2014-01-01: 31+28+31 = 90 days in FY2013 -> 900 x 0.000570 + 1,830 x 0.000554
    #   = 0.513 + 1.01382 = 1.52682
    "EX-PV-2": 1.52682,
    # no reading: 4.0 kW x 1,177 kWh/kW/yr x 0.30 x (1 - 0.10) = 1,271.16 kWh in 365/365 yr;
    # 1,271.16 x 0.205122 / 365 = 260.742880 / 365 = 0.714364
    "EX-PV-3": 0.714364,
}
EXPECTED_AIRCON = {
    # 30,000 x 4.2/2.8 = 45,000; 15,000 kWh x 0.205122 / 365 = 3,076.83 / 365 = 8.429671
    "EX-AC-1": 8.429671,
    # 18,000 x 1.5 + 12,000 x 4.5/3.2 = 27,000 + 16,875 = 43,875; 13,875 kWh
    #   x 0.205122 / 365 = 2,846.06775 / 365 = 7.797446
    "EX-AC-2": 7.797446,
    # conservative ratio min(1.5, 1.40625): 30,000 x 0.40625 = 12,187.5 kWh
    #   x 0.205122 / 365 = 2,499.924375 / 365 = 6.849108
    "EX-AC-3": 6.849108,
}


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    folder = write_energy_example(tmp_path_factory.mktemp("example") / "energy-example")
    settings = fc.load_settings(folder)
    return folder, settings, fc.compute_energy(fc.load_energy(folder, settings), settings)


def test_writes_the_program_files(example):
    folder, _, _ = example
    assert {p.name for p in folder.iterdir()} == FILES
    for name in FILES:
        (folder / name).read_bytes().decode("utf-8")  # UTF-8, as documented


def test_its_one_period_crosses_1_april_2014(example):
    _, settings, _ = example
    assert len(settings.periods) == 1
    period = settings.periods[0]
    assert (period.start, period.end) == ENERGY_EXAMPLE_PERIOD
    assert period.start < dt.date(2014, 4, 1) <= period.end
    assert period.days == 365  # 182 + 183


def test_solar_answers_of_the_docstring(example):
    _, _, result = example
    solar = result.solar.set_index("site_id")
    assert set(solar.index) == set(EXPECTED_SOLAR)
    for site, tco2 in EXPECTED_SOLAR.items():
        assert solar.loc[site, "reduction_tco2"] == pytest.approx(tco2, abs=1e-6), site
        assert "fiscal_year_split" in solar.loc[site, "flags"]
    assert solar.loc["EX-PV-1", "self_consumed_kwh"] == pytest.approx(3650.0)
    assert solar.loc["EX-PV-2", "counted_days"] == 90 + 183
    assert solar.loc["EX-PV-3", "method"] == "estimated"


def test_aircon_answers_of_the_docstring(example):
    _, _, result = example
    aircon = result.aircon.set_index("unit_id")
    assert set(aircon.index) == set(EXPECTED_AIRCON)
    for unit, tco2 in EXPECTED_AIRCON.items():
        assert aircon.loc[unit, "reduction_tco2"] == pytest.approx(tco2, abs=1e-6), unit
    assert aircon.loc["EX-AC-2", "baseline_kwh"] == pytest.approx(43_875.0)
    assert aircon.loc["EX-AC-3", "method"] == "conservative_ratio"


def test_rewriting_gives_the_same_files_and_leaves_no_staging_folder(tmp_path):
    folder = write_energy_example(tmp_path / "ex")
    before = {name: (folder / name).read_bytes() for name in FILES}
    (folder / "solar.csv").write_bytes(b"edited")
    assert write_energy_example(folder) == folder
    assert {p.name for p in folder.iterdir()} == FILES  # no .staging-* left behind
    assert {name: (folder / name).read_bytes() for name in FILES} == before
