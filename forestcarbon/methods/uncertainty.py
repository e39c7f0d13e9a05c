"""Monte Carlo uncertainty of credited quantities (vectorised, seeded).

Every uncertain input is a relative error ``(1 + e)``, ``e ~ Normal(0, relative_sd)``, with the
standard deviations and their basis in ``forestcarbon/data/uncertainty.csv``. Errors are shared
where the input is shared, which makes the program interval honest rather than shrunk by
averaging: wood density, BEF, root ratio and carbon fraction per parameter species; yield-table
volume per yield curve (species x site class); the emission factor across the whole program; the
estimated solar generation across all estimated sites.

Because FO-001 removals and emissions are products of these factors, a stand's net in one draw is
its computed net times the draw's multiplier of its (species, site class) group; the program's
totals are sums over groups, so the cost is draws x groups, not draws x stands.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forestcarbon.core.params import load_table, species_parameters

RELATIVE_FLOOR = -0.95
"""Relative errors are clipped here so that no multiplier becomes negative."""


def relative_sd() -> dict[tuple[str, str], float]:
    """(parameter, applies_to) -> relative standard deviation [-] from the packaged table."""
    t = load_table("uncertainty")
    return {(r.parameter, r.applies_to): float(r.relative_sd) for r in t.itertuples()}


def _sd(table: dict, parameter: str, group: str) -> float:
    return table.get((parameter, group), table.get((parameter, "all"), 0.0))


def _errors(rng: np.random.Generator, sd: np.ndarray, draws: int) -> np.ndarray:
    """draws x len(sd) relative errors, clipped at RELATIVE_FLOOR."""
    e = rng.standard_normal((draws, len(sd))) * sd
    return np.maximum(e, RELATIVE_FLOOR)


def fo001_multipliers(
    groups: pd.DataFrame, draws: int, rng: np.random.Generator, carbon_fraction: str = "inventory"
) -> np.ndarray:
    """Multipliers of the FO-001 net, draws x groups.

    Parameters
    ----------
    groups : DataFrame
        One row per (species, site_class) group, columns ``species`` and ``site_class``.

    Notes
    -----
    multiplier = (1+e_D)(1+e_BEF)(1 + R(1+e_R))/(1+R)(1+e_CF)(1+e_V), with e_D, e_BEF, e_R, e_CF
    drawn once per parameter species and e_V once per yield curve.
    """
    sd = relative_sd()
    params = species_parameters(carbon_fraction)
    species_group = load_table("species").set_index("species")["group"]
    keys = sorted(set(params.reindex(groups["species"])["parameter_species"].dropna()))
    kinds = species_group.reindex(keys).to_numpy()
    per_species = {}
    for name in ("wood_density", "bef", "root_ratio", "carbon_fraction"):
        errors = _errors(rng, np.array([_sd(sd, name, k) for k in kinds]), draws)
        per_species[name] = pd.DataFrame(errors, columns=keys)
    volume = _errors(rng, np.full(len(groups), _sd(sd, "yield_volume", "all")), draws)
    out = np.ones((draws, len(groups)))
    for j, sp in enumerate(groups["species"]):
        p = params.loc[sp] if sp in params.index else None
        if p is None:  # bamboo: no removals, multiplier irrelevant
            continue
        key, r = p["parameter_species"], p["root_ratio"]
        root = (1 + r * (1 + per_species["root_ratio"][key].to_numpy())) / (1 + r)
        out[:, j] = (
            (1 + per_species["wood_density"][key].to_numpy())
            * (1 + per_species["bef"][key].to_numpy())
            * root
            * (1 + per_species["carbon_fraction"][key].to_numpy())
            * (1 + volume[:, j])
        )
    return out


@dataclass(frozen=True)
class Interval:
    """Mean and central interval [t-CO2] of a simulated quantity."""

    mean: float
    low: float
    high: float


def interval(samples: np.ndarray, coverage: float, axis: int = 0):
    """Mean, lower and upper quantiles of a central ``coverage`` interval along ``axis``."""
    tail = (1 - coverage) / 2
    return (
        samples.mean(axis=axis),
        np.quantile(samples, tail, axis=axis),
        np.quantile(samples, 1 - tail, axis=axis),
    )


def simulate(
    fo001: pd.DataFrame,
    energy,
    *,
    draws: int,
    seed: int,
    coverage: float,
    carbon_fraction: str = "inventory",
) -> tuple[pd.DataFrame, dict]:
    """Per-stand intervals and per (methodology, period) samples of the credited totals.

    Parameters
    ----------
    fo001 : DataFrame
        :func:`forestcarbon.methods.fo001.compute_fo001` output.
    energy : EnergyResult or None
        :func:`forestcarbon.methods.energy.compute_energy` output.

    Returns
    -------
    stands : DataFrame
        ``net_mean_tco2``, ``net_low_tco2``, ``net_high_tco2`` per row of ``fo001`` [t-CO2].
    totals : dict
        (methodology, period) -> array of ``draws`` simulated totals [t-CO2].
    """
    rng = np.random.default_rng(seed)
    groups = (
        fo001[["species", "site_class"]]
        .drop_duplicates()
        .sort_values(["species", "site_class"])
        .reset_index(drop=True)
    )
    m = fo001_multipliers(groups, draws, rng, carbon_fraction)
    g_of_row = pd.MultiIndex.from_frame(groups).get_indexer(
        pd.MultiIndex.from_frame(fo001[["species", "site_class"]])
    )
    mean_m, low_m, high_m = interval(m, coverage)
    net = fo001["net_tco2"].to_numpy()
    lo = np.where(net >= 0, net * low_m[g_of_row], net * high_m[g_of_row])
    hi = np.where(net >= 0, net * high_m[g_of_row], net * low_m[g_of_row])
    stands = pd.DataFrame(
        {"net_mean_tco2": net * mean_m[g_of_row], "net_low_tco2": lo, "net_high_tco2": hi},
        index=fo001.index,
    )
    totals = {}
    eligible = fo001["eligible"].to_numpy()
    for period in sorted(fo001["period"].unique()):
        rows = eligible & (fo001["period"].to_numpy() == period)
        per_group = np.bincount(g_of_row[rows], net[rows], minlength=len(groups))
        totals[("FO-001", period)] = m @ per_group
    totals.update(_energy_totals(energy, draws, rng))
    return stands, totals


def simulate_program(fo001: pd.DataFrame, energy, settings) -> tuple[pd.DataFrame, dict]:
    """:func:`simulate` with a program's ``[uncertainty]`` draws, seed and coverage and its
    ``[fo001] carbon_fraction``."""
    u = settings.uncertainty
    return simulate(
        fo001,
        energy,
        draws=u.draws,
        seed=u.seed,
        coverage=u.coverage,
        carbon_fraction=settings.fo001.carbon_fraction,
    )


def _energy_totals(energy, draws: int, rng: np.random.Generator) -> dict:
    out = {}
    if energy is None:
        return out
    sd = relative_sd()
    ef = 1 + _errors(rng, np.array([_sd(sd, "emission_factor", "all")]), draws)[:, 0]
    pv = 1 + _errors(rng, np.array([_sd(sd, "solar_estimate", "all")]), draws)[:, 0]
    if energy.solar is not None:
        for period, g in energy.solar[energy.solar["eligible"]].groupby("period", sort=True):
            estimated = g["method"].eq("estimated").to_numpy()
            red = g["reduction_tco2"].to_numpy()
            out[("EN-R-002", period)] = ef * (red[~estimated].sum() + pv * red[estimated].sum())
    if energy.aircon is not None:
        for period, g in energy.aircon[energy.aircon["eligible"]].groupby("period", sort=True):
            out[("EN-S-004", period)] = ef * g["reduction_tco2"].sum()
    return out


def summary_intervals(totals: dict, coverage: float) -> pd.DataFrame:
    """Mean and interval per (methodology, period), plus program rows (draws summed jointly)."""
    rows = []
    by_period: dict[str, np.ndarray] = {}
    for (method, period), s in totals.items():
        rows.append((method, period, s))
        by_period[period] = by_period.get(period, 0) + s
    rows += [("program", p, s) for p, s in sorted(by_period.items())]
    methods = sorted({m for m, _ in totals})
    for method in methods:
        rows.append((method, "all", sum(s for (m, _), s in totals.items() if m == method)))
    if by_period:
        rows.append(("program", "all", sum(by_period.values())))
    out = []
    for method, period, s in rows:
        mean, low, high = interval(np.asarray(s), coverage)
        out.append(
            {
                "methodology": method,
                "period": period,
                "total_mean_tco2": float(mean),
                "total_low_tco2": float(low),
                "total_high_tco2": float(high),
            }
        )
    return pd.DataFrame(out)
