"""Energy test programs: program folders with solar and air-conditioning tables, and their results.

Shared by the tests of :mod:`forestcarbon.inputs.energy` and of the EN-R-002 / EN-S-004 methods
(``tests/inputs/test_energy.py``, ``tests/methods/test_en_r002.py``, ...).
"""

from __future__ import annotations

from forestcarbon.core.config import load_settings
from forestcarbon.inputs.energy import load_energy
from forestcarbon.methods.energy import compute_energy
from forestcarbon.methods.totals import program_summary

FY2023 = ("2023-04-01", "2024-03-31")

CITY_HALL = (134.004, 35.069)
"""Tsuyama city hall [lon, lat]: inside EPSG:6673's area of use."""

SITES = "site_id,capacity_kw,commissioned,joined,lon,lat"

READINGS = "site_id,period_start,period_end,generated_kwh,sold_kwh"

UNITS = "unit_id,facility,lon,lat,cop_baseline,cop_project"

UNITS_SPLIT = (
    "unit_id,facility,lon,lat,cop_baseline_cooling,cop_project_cooling,"
    "cop_baseline_heating,cop_project_heating"
)

AC_READINGS = "unit_id,period_start,period_end,electricity_kwh"

AC_SPLIT = "unit_id,period_start,period_end,cooling_kwh,heating_kwh"


def site(sid, kw=4.5, commissioned="2015-06-01", joined="2016-01-01", lon=134.004, lat=35.069):
    return f"{sid},{kw},{commissioned},{joined},{lon},{lat}"


def reading(sid, gen, sold, start=FY2023[0], end=FY2023[1]):
    return f"{sid},{start},{end},{gen},{sold}"


def csv(header, *rows):
    return "\n".join([header, *rows]) + "\n"


def energy_program(
    folder,
    *,
    solar=None,
    solar_readings=None,
    aircon=None,
    aircon_readings=None,
    energy="",
    inputs="",
    periods=(FY2023,),
    write_toml=True,
):
    """A program folder with program.toml and the given energy tables (CSV text or bytes)."""
    folder.mkdir(parents=True, exist_ok=True)
    toml = ['[program]\nname = "energy test"\ncrs = "EPSG:6673"\n']
    for start, end in periods:
        toml.append(f"[[periods]]\nstart = {start}\nend = {end}\n")
    if energy:
        toml.append(f"[energy]\n{energy}\n")
    if inputs:
        toml.append(f"[inputs]\n{inputs}\n")
    if write_toml:
        (folder / "program.toml").write_text("\n".join(toml), encoding="utf-8")
    files = {
        "solar.csv": solar,
        "solar_readings.csv": solar_readings,
        "aircon.csv": aircon,
        "aircon_readings.csv": aircon_readings,
    }
    for name, content in files.items():
        if content is not None:
            data = content if isinstance(content, bytes) else content.encode("utf-8")
            (folder / name).write_bytes(data)
    return folder


def compute(folder):
    settings = load_settings(folder)
    return compute_energy(load_energy(folder, settings), settings)


def summary(result):
    return program_summary(result.summary_rows()).set_index(["methodology", "period"])
