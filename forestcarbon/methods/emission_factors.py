"""Electricity emission factors per fiscal year [t-CO2/kWh]: the program's setting resolved.

``[energy] emission_factor`` is a number used for every year or a kind of the packaged table
``emission_factors.csv`` (EN-R-002_EN-S-004.md, "Common": the factor of the fiscal year in which
the reduction happened, never a bare constant). Fiscal-year arithmetic is in
:mod:`forestcarbon.methods.fiscal`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from forestcarbon.core.config import CONFIG_FILE
from forestcarbon.core.exceptions import Problem
from forestcarbon.core.params import load_table


@dataclass(frozen=True)
class EmissionFactors:
    """Electricity emission factor per fiscal year [t-CO2/kWh] and where each value comes from.

    Attributes
    ----------
    setting : str or float
        ``[energy] emission_factor`` as given: a number or a kind of the packaged table.
    by_year : dict
        Fiscal year -> factor [t-CO2/kWh].
    table : DataFrame
        The rows used: fiscal_year, kind, value_t_per_kwh, unit, source, verified.
    """

    setting: object
    by_year: dict[int, float]
    table: pd.DataFrame
    sourced_years: frozenset = frozenset()
    """Fiscal years valued with a sourced factor of that very year (the others: a substitute)."""

    def __call__(self, fiscal_year: int) -> float:
        return self.by_year[fiscal_year]

    def substitutes(self) -> list[str]:
        """One line per fiscal year without a sourced factor of its own, naming the substitute
        used (a decimal, never float noise); for the run's warnings and ``provenance.json``."""
        kind = (
            f"kind {self.setting!r} of emission_factors.csv"
            if isinstance(self.setting, str)
            else "the number in [energy] emission_factor"
        )
        return [
            f"FY{fy}: no sourced emission factor of that fiscal year; substitute "
            f"{factor_text(value)} t-CO2/kWh ({kind}) used"
            for fy, value in sorted(self.by_year.items())
            if fy not in self.sourced_years
        ]


def factor_text(value: float) -> str:
    """An emission factor as plain decimal text: 0.000434, never 0.00043399999999999997."""
    return f"{value:.9g}" if "e" not in f"{value:.9g}" else f"{value:.12f}".rstrip("0")


def resolve_emission_factors(
    setting, years: list[int], *, file: str = CONFIG_FILE
) -> tuple[EmissionFactors | None, list[Problem]]:
    """The factor of each fiscal year from ``[energy] emission_factor``.

    Parameters
    ----------
    setting : float or str
        A factor [t-CO2/kWh] used for every year, or a kind of ``emission_factors.csv``: its row of
        the fiscal year, else its row without a year (a constant).
    years : list of int
        Fiscal years needed.

    Returns
    -------
    (EmissionFactors or None, problems)
    """
    key = "[energy] emission_factor"
    table = load_table("emission_factors")
    kinds = sorted(set(table["kind"]))
    if isinstance(setting, int | float) and not isinstance(setting, bool):
        value = float(setting)
        if not 0 < value <= 0.002:
            hint = " (that looks like kg-CO2/kWh; give t-CO2/kWh)" if 0.05 < value < 2 else ""
            return None, [
                Problem(
                    file,
                    "",
                    key,
                    f"expected a factor in (0, 0.002] t-CO2/kWh such as 0.000434, got "
                    f"{setting!r}{hint}",
                )
            ]
        rows = pd.DataFrame(
            {
                "fiscal_year": years,
                "kind": "program setting",
                "value_t_per_kwh": value,
                "unit": "t-CO2/kWh",
                "source": f"{CONFIG_FILE} [energy] emission_factor",
                "verified": False,
            }
        )
        return EmissionFactors(setting, dict.fromkeys(years, value), rows), []
    if not isinstance(setting, str) or setting not in kinds:
        return None, [
            Problem(
                file,
                "",
                key,
                f"expected a number [t-CO2/kWh] or a kind of the packaged table "
                f"emission_factors.csv ({', '.join(kinds)}), got {setting!r}",
            )
        ]
    of_kind = table[table["kind"] == setting]
    constant = of_kind[of_kind["fiscal_year"].isna()]
    rows, by_year, problems = [], {}, []
    for fy in years:
        match = of_kind[of_kind["fiscal_year"] == fy]
        row = match if len(match) else constant
        if not len(row):
            listed = ", ".join(f"FY{int(y)}" for y in of_kind["fiscal_year"].dropna())
            problems.append(
                Problem(
                    file,
                    "",
                    key,
                    f"kind {setting!r} has no factor for FY{fy} (it has {listed}); choose a kind "
                    f"that covers the periods or give a number [t-CO2/kWh]",
                )
            )
            continue
        row = row.iloc[0]
        by_year[fy] = float(row["value_t_per_kwh"])
        rows.append({**row.to_dict(), "fiscal_year": fy})
    if problems:
        return None, problems
    used = pd.DataFrame(rows, columns=list(table.columns))
    sourced = frozenset(fy for fy in years if (of_kind["fiscal_year"] == fy).any())
    return EmissionFactors(setting, by_year, used, sourced), []
