"""Tiny program folders with hand-worked answers, for the verification notebooks and tests.

The bundled sample's periods are whole fiscal years and its emission factor is one constant, so
it never shows a reading split across fiscal years with two different factors.
:func:`write_energy_example` writes a program whose single period, 2013-10-01 .. 2014-09-30,
crosses 1 April 2014 (182 days in FY2013, 183 in FY2014) and whose factor kind
``national_average`` has a value per year (FY2013 0.000570, FY2014 0.000554 t-CO2/kWh, packaged
``emission_factors.csv``). Its activities and their answers (EN-R-002_EN-S-004.md rules):

====================  ============================================================  ==========
id                    data                                                          ER [t-CO2]
====================  ============================================================  ==========
EX-PV-1               4.5 kW, 5,000 kWh generated, 1,350 sold: 10 kWh/day self;    2.05122
                      1,820 kWh x 0.000570 + 1,830 kWh x 0.000554
EX-PV-2               the same reading, joined 2014-01-01: 90 + 183 days;           1.52682
                      900 kWh x 0.000570 + 1,830 kWh x 0.000554
EX-PV-3               4.0 kW, no reading: 4.0 x 1,177 x 0.30 x (1 - 0.10) x days/365 0.714364...
EX-AC-1               COP 2.8 -> 4.2, 30,000 kWh: (EL_BL - EL_PJ) = 15,000 kWh      8.429671...
EX-AC-2               cooling 18,000 kWh at 4.2/2.8, heating 12,000 at 4.5/3.2      7.797445...
EX-AC-3               the same COPs, 30,000 kWh total: conservative ratio 1.40625   6.849107...
====================  ============================================================  ==========

Each kWh is spread evenly over its reading's days; the day-weighted factor of the whole period is
``(182 x 0.000570 + 183 x 0.000554) / 365 = 0.205122 / 365`` t-CO2/kWh.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from forestcarbon.core.files import write_outputs

ENERGY_EXAMPLE_PERIOD = (dt.date(2013, 10, 1), dt.date(2014, 9, 30))
"""The example's one monitoring period (both days inclusive): it crosses 1 April 2014."""

_TOML = f"""# forestcarbon worked example: a period crossing fiscal years (forestcarbon.examples)
[program]
name = "Worked example: a period across two fiscal years"
crs = "EPSG:6673"

[[periods]]
start = {ENERGY_EXAMPLE_PERIOD[0]}
end = {ENERGY_EXAMPLE_PERIOD[1]}

[energy]
emission_factor = "national_average"   # FY2013 0.000570, FY2014 0.000554 t-CO2/kWh
"""

_SOLAR = """site_id,capacity_kw,commissioned,joined,fit_status,lon,lat
EX-PV-1,4.5,2012-06-01,2013-01-01,surplus,134.0040,35.0690
EX-PV-2,4.5,2012-06-01,2014-01-01,surplus,134.0050,35.0700
EX-PV-3,4.0,2012-06-01,2013-01-01,surplus,134.0060,35.0710
"""

_SOLAR_READINGS = """site_id,period_start,period_end,generated_kwh,sold_kwh
EX-PV-1,2013-10-01,2014-09-30,5000,1350
EX-PV-2,2013-10-01,2014-09-30,5000,1350
"""

_AIRCON = """unit_id,facility,lon,lat,installed,cop_baseline,cop_project,\
cop_baseline_cooling,cop_project_cooling,cop_baseline_heating,cop_project_heating
EX-AC-1,example city hall 市役所,134.0040,35.0695,2013-04-01,2.8,4.2,,,,
EX-AC-2,example city hall 市役所,134.0041,35.0695,2013-04-01,,,2.8,4.2,3.2,4.5
EX-AC-3,example city hall 市役所,134.0042,35.0695,2013-04-01,,,2.8,4.2,3.2,4.5
"""

_AIRCON_READINGS = """unit_id,period_start,period_end,electricity_kwh,cooling_kwh,heating_kwh
EX-AC-1,2013-10-01,2014-09-30,30000,,
EX-AC-2,2013-10-01,2014-09-30,,18000,12000
EX-AC-3,2013-10-01,2014-09-30,30000,,
"""


def write_energy_example(folder: str | Path) -> Path:
    """Write the fiscal-year-crossing energy program (see the module docstring) into ``folder``.

    Writes ``program.toml``, ``solar.csv``, ``solar_readings.csv``, ``aircon.csv`` and
    ``aircon_readings.csv`` (UTF-8), all or nothing; returns the folder.
    """
    files = {
        "program.toml": _TOML,
        "solar.csv": _SOLAR,
        "solar_readings.csv": _SOLAR_READINGS,
        "aircon.csv": _AIRCON,
        "aircon_readings.csv": _AIRCON_READINGS,
    }
    write_outputs(folder, {name: text.encode("utf-8") for name, text in files.items()})
    return Path(folder)
