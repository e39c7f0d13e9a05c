"""EN-R-002 household solar and EN-S-004 air conditioning together: one result, summary rows.

The rules are those of ``docs/EN-R-002_EN-S-004.md``: reduction ``ER = EM_BL - EM_PJ`` with
the electricity emission factor of the fiscal year (April-March) in which the reduction happened; a
reading that crosses fiscal years is split by days, each part with its year's factor
(:func:`forestcarbon.methods.fiscal.fiscal_year_days`); each activity (a PV site; an
air-conditioned facility) must stay at or below ``[energy] activity_cap_tco2_per_yr`` (500
t-CO2/yr); one above it is excluded.

Where things are: the household solar computation is :mod:`forestcarbon.methods.en_r002`, the air
conditioning one :mod:`forestcarbon.methods.en_s004`, what they share (the site x period grid,
output precision, flags) :mod:`forestcarbon.methods.energy_common`, the factors
:mod:`forestcarbon.methods.emission_factors`; reading and validating the inputs is
:mod:`forestcarbon.inputs.energy`. This module runs both methodologies on validated inputs
(:func:`compute_energy`) and holds their joint result (:class:`EnergyResult`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from forestcarbon.core.config import Settings
from forestcarbon.methods.emission_factors import EmissionFactors
from forestcarbon.methods.en_r002 import SOLAR_COLUMNS, compute_solar
from forestcarbon.methods.en_s004 import AIRCON_COLUMNS, compute_aircon
from forestcarbon.methods.totals import summary_row

if TYPE_CHECKING:
    from forestcarbon.inputs.energy import EnergyInputs

log = logging.getLogger("forestcarbon")

EN_R_002 = "EN-R-002"
EN_S_004 = "EN-S-004"


@dataclass
class EnergyResult:
    """EN-R-002 and EN-S-004 results (``None`` for an activity the program does not have)."""

    solar: gpd.GeoDataFrame | None
    aircon: gpd.GeoDataFrame | None
    factors: EmissionFactors | None

    def summary_rows(self) -> list[dict]:
        """Summary rows per methodology and period.

        One :func:`forestcarbon.methods.totals.summary_row` per methodology and period.

        ``removals_tco2`` holds the baseline emissions EM_BL and ``emissions_tco2`` the project
        emissions EM_PJ of the eligible activities, so ``total_tco2`` is the reduction ER; energy
        reductions have no buffer. The activities counted are the eligible PV sites, and the
        facilities with an eligible air-conditioning unit (upgrading a facility is one activity).
        """
        rows = []
        if self.solar is not None:
            for period, g in self.solar.groupby("period", sort=True):
                e = g[g["eligible"]]
                rows.append(
                    summary_row(EN_R_002, period, e["reduction_tco2"], [0.0], e["site_id"], 0.0)
                )
        if self.aircon is not None:
            for period, g in self.aircon.groupby("period", sort=True):
                e = g[g["eligible"]]
                rows.append(
                    summary_row(
                        EN_S_004,
                        period,
                        e["baseline_tco2"],
                        e["project_tco2"],
                        e["facility"],
                        0.0,
                    )
                )
        return rows

    def tables(self) -> dict[str, pd.DataFrame]:
        """Output file name -> table (no geometry: household points stay internal)."""
        out = {}
        if self.solar is not None:
            out["solar_sites.csv"] = pd.DataFrame(self.solar[SOLAR_COLUMNS])
        if self.aircon is not None:
            out["aircon_units.csv"] = pd.DataFrame(self.aircon[AIRCON_COLUMNS])
        return out


def compute_energy(inputs: EnergyInputs, settings: Settings) -> EnergyResult:
    """EN-R-002 and EN-S-004 results of validated inputs (pure: writes nothing).

    Parameters
    ----------
    inputs : EnergyInputs
        Validated inputs (:func:`forestcarbon.inputs.energy.load_energy`) with the emission
        factors [t-CO2/kWh] of the periods' fiscal years.
    settings : Settings
        The program's settings: periods and ``[energy]``.

    Returns
    -------
    EnergyResult
        :func:`~forestcarbon.methods.en_r002.compute_solar` and
        :func:`~forestcarbon.methods.en_s004.compute_aircon` per activity and period [t-CO2]
        (``None`` for an activity the program does not have).
    """
    solar = aircon = None
    if inputs.solar is not None:
        log.info(
            "EN-R-002: %d PV sites x %d period(s)",
            len(inputs.solar),
            len(settings.periods),
            extra={"progress": 0.4},
        )
        for line in inputs.factors.substitutes():
            log.warning("emission factor: %s", line)
        solar = compute_solar(
            inputs.solar, inputs.solar_readings, settings.periods, settings.energy, inputs.factors
        )
    if inputs.aircon is not None:
        log.info("EN-S-004: %d air-conditioning units", len(inputs.aircon))
        aircon = compute_aircon(
            inputs.aircon, inputs.aircon_readings, settings.periods, settings.energy, inputs.factors
        )
    return EnergyResult(solar, aircon, inputs.factors)
