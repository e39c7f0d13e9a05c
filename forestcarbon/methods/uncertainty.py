"""Monte Carlo uncertainty of credited quantities (vectorised, keyed, partition-independent).

Every uncertain input is a relative error ``(1 + e)``, ``e ~ Normal(0, relative_sd)``, with the
standard deviations and their basis in ``forestcarbon/data/uncertainty.csv``. Errors are shared
where the input is shared, which makes the program interval honest rather than shrunk by
averaging: wood density, BEF, root ratio and carbon fraction per parameter species; yield-table
volume per yield curve (species x site class); the emission factor across the whole program; the
estimated solar generation across all estimated sites.

Keyed draws
-----------
A shared error is drawn from a key, never from a running sequence, so a group gets the same
errors however the stands are split, ordered or partitioned (one process or a Dask cluster):
the ``draws`` errors of ``parameter`` for ``group`` are ::

    key = int.from_bytes(sha256(f"forestcarbon-mc-1/{seed}/{parameter}/{group}").digest()[:16],
                         "little")
    e[j] = Generator(Philox(key=key)).standard_normal(draws)[j] * relative_sd   (j = 0, 1, ...)

clipped at RELATIVE_FLOOR: numpy's counter-based Philox4x64 bit generator keyed by the 128-bit
key, its counter starting at 0, so draw ``j`` is the ``j``-th normal variate of that stream
whatever the number of draws. ``group`` is the parameter species (``sugi``) for wood_density, bef,
root_ratio and carbon_fraction, ``species/site_class`` (``sugi/2``) for yield_volume and
``program`` for emission_factor and solar_estimate (:func:`draw_key`). This scheme replaced a
sequential generator in 2026-12 (issue #15): intervals from before differ by their random stream,
not by their model.

Partitions
----------
Because FO-001 removals and emissions are products of these factors, a stand's net in one draw is
its computed net times the draw's multiplier of its (species, site class) group, and the program's
totals are sums over groups, so the cost is draws x groups, not draws x stands. A partition of
stands (or energy sites) contributes exact integer nano-tonnes per group (:func:`contribution`);
contributions add exactly (:meth:`Contribution.__add__`, associative), and :func:`draw_totals`
turns the reduced contribution into per-draw totals, so a distributed run's intervals are
bit-identical to the single-process run's. :func:`partition_draws` gives a partition's own
per-draw sums (adding those float vectors agrees to rounding only: reduce contributions for
identical bytes); :func:`stand_intervals` the per-stand intervals of a partition's rows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import reduce

import numpy as np
import pandas as pd

from forestcarbon.core.params import load_table, species_parameters

RELATIVE_FLOOR = -0.95
"""Relative errors are clipped here so that no multiplier becomes negative."""

KEY_PREFIX = "forestcarbon-mc-1"
"""Version tag hashed into every draw key (changing it changes every random stream)."""

NANO = 10**9
"""Nano-tonnes per tonne: contributions are exact integers in this unit."""

PROGRAM_GROUP = "program"
"""Group label of the program-wide errors (emission factor, estimated solar)."""

SPECIES_PARAMETERS = ("wood_density", "bef", "root_ratio", "carbon_fraction")
"""Errors drawn once per parameter species."""


def relative_sd() -> dict[tuple[str, str], float]:
    """(parameter, applies_to) -> relative standard deviation [-] from the packaged table."""
    t = load_table("uncertainty")
    return {(r.parameter, r.applies_to): float(r.relative_sd) for r in t.itertuples()}


def _sd(table: dict, parameter: str, group: str) -> float:
    return table.get((parameter, group), table.get((parameter, "all"), 0.0))


def draw_key(seed: int, parameter: str, group: str) -> int:
    """128-bit Philox key of one shared error: the first 16 bytes of
    ``sha256("forestcarbon-mc-1/{seed}/{parameter}/{group}")`` as a little-endian integer."""
    text = f"{KEY_PREFIX}/{int(seed)}/{parameter}/{group}".encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:16], "little")


def keyed_errors(seed: int, parameter: str, group: str, sd: float, draws: int) -> np.ndarray:
    """The ``draws`` relative errors [-] of ``parameter`` for ``group`` (see the module notes),
    clipped at RELATIVE_FLOOR; the same arguments give the same values in any process."""
    if sd == 0 or draws == 0:
        return np.zeros(draws)
    rng = np.random.Generator(np.random.Philox(key=draw_key(seed, parameter, group)))
    return np.maximum(rng.standard_normal(draws) * sd, RELATIVE_FLOOR)


def _site_key(site_class):
    """A site class as a group key: an integral number as int, a missing one as None."""
    if site_class is None or pd.isna(site_class):
        return None
    if isinstance(site_class, float | np.floating) and float(site_class).is_integer():
        return int(site_class)
    if isinstance(site_class, np.integer):
        return int(site_class)
    return site_class


def curve_label(species: str, site_class) -> str:
    """Yield-curve group label ``species/site_class`` (``sugi/2``; an integral float as int, a
    missing site class as ``NA``)."""
    site_class = _site_key(site_class)
    return f"{species}/{'NA' if site_class is None else site_class}"


def fo001_multipliers(
    groups: pd.DataFrame, draws: int, seed: int, carbon_fraction: str = "inventory"
) -> np.ndarray:
    """Multipliers of the FO-001 net, draws x groups.

    Parameters
    ----------
    groups : DataFrame
        One row per (species, site_class) group, columns ``species`` and ``site_class``.
    seed : int
        ``[uncertainty] seed``; a group's column depends only on the seed and the group.

    Notes
    -----
    multiplier = (1+e_D)(1+e_BEF)(1 + R(1+e_R))/(1+R)(1+e_CF)(1+e_V), with e_D, e_BEF, e_R, e_CF
    keyed by parameter species and e_V by yield curve.
    """
    sd = relative_sd()
    params = species_parameters(carbon_fraction)
    kind_of = load_table("species").set_index("species")["group"]
    out = np.ones((draws, len(groups)))
    cache: dict[tuple[str, str], np.ndarray] = {}

    def species_error(name: str, key: str) -> np.ndarray:
        if (name, key) not in cache:
            cache[name, key] = keyed_errors(
                seed, name, key, _sd(sd, name, kind_of.get(key, "all")), draws
            )
        return cache[name, key]

    for j, (sp, site_class) in enumerate(zip(groups["species"], groups["site_class"], strict=True)):
        if sp not in params.index:  # bamboo: no removals, multiplier irrelevant
            continue
        key, r = params.loc[sp, "parameter_species"], params.loc[sp, "root_ratio"]
        volume = keyed_errors(
            seed, "yield_volume", curve_label(sp, site_class), _sd(sd, "yield_volume", "all"), draws
        )
        out[:, j] = (
            (1 + species_error("wood_density", key))
            * (1 + species_error("bef", key))
            * (1 + r * (1 + species_error("root_ratio", key)))
            / (1 + r)
            * (1 + species_error("carbon_fraction", key))
            * (1 + volume)
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


def _nano(values: np.ndarray) -> np.ndarray:
    """t-CO2 floats -> int64 nano-tonnes (rounded); a sum that could wrap is an error."""
    values = np.asarray(values, dtype=float)
    if not np.isfinite(values).all():
        raise ValueError("a t-CO2 value to be simulated is not finite (NaN or infinite)")
    if np.abs(values).sum() >= 9e9:  # int64 holds 9.2e18 nano-tonnes
        raise ValueError("more than 9e9 t-CO2 in one partition: split it")
    return np.rint(values * NANO).astype(np.int64)


def _merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out.get(k, {}), v) if isinstance(v, dict) else out.get(k, 0) + v
    return out


@dataclass(frozen=True)
class Contribution:
    """What some stands and energy sites add to the simulated totals, in exact integers.

    Attributes
    ----------
    fo001 : dict
        period -> {(species, site_class): eligible net [nano-tonnes CO2]}.
    solar : dict
        period -> {"measured": ..., "estimated": ...} eligible EN-R-002 reductions [nano-t].
    aircon : dict
        period -> eligible EN-S-004 reductions [nano-t].

    Contributions of disjoint partitions add with ``+`` (integer sums: exact, associative,
    commutative); :func:`draw_totals` turns the program's sum into per-draw totals.
    """

    fo001: dict = field(default_factory=dict)
    solar: dict = field(default_factory=dict)
    aircon: dict = field(default_factory=dict)

    def __add__(self, other: Contribution) -> Contribution:
        return Contribution(
            _merge(self.fo001, other.fo001),
            _merge(self.solar, other.solar),
            _merge(self.aircon, other.aircon),
        )


def contribution(fo001: pd.DataFrame | None, energy=None) -> Contribution:
    """Exact contribution of a partition's FO-001 rows and energy sites (no random draws).

    Parameters
    ----------
    fo001 : DataFrame or None
        Rows of :func:`forestcarbon.methods.fo001.compute_fo001` output (any subset, any order):
        ``period``, ``eligible``, ``species``, ``site_class``, ``net_tco2`` [t-CO2].
    energy : EnergyResult or None
        :func:`forestcarbon.methods.energy.compute_energy` output of a partition of sites.
    """
    fo: dict = {}
    if fo001 is not None and len(fo001):
        rows = fo001[fo001["eligible"].to_numpy(dtype=bool)]
        nano = pd.Series(_nano(rows["net_tco2"].to_numpy()), index=rows.index)
        keys = [rows["period"], rows["species"], rows["site_class"]]
        for (period, sp, site_class), v in (
            nano.groupby(keys, sort=True, dropna=False).sum().items()
        ):
            fo.setdefault(period, {})[(sp, _site_key(site_class))] = int(v)
        for period in fo001["period"].unique():
            fo.setdefault(period, {})
    solar: dict = {}
    aircon: dict = {}
    if energy is not None and energy.solar is not None:
        s = energy.solar[energy.solar["eligible"].to_numpy(dtype=bool)]
        for period, g in s.groupby("period", sort=True):
            estimated = g["method"].eq("estimated").to_numpy()
            nano = _nano(g["reduction_tco2"].to_numpy())
            solar[period] = {
                "measured": int(nano[~estimated].sum()),
                "estimated": int(nano[estimated].sum()),
            }
    if energy is not None and energy.aircon is not None:
        a = energy.aircon[energy.aircon["eligible"].to_numpy(dtype=bool)]
        for period, g in a.groupby("period", sort=True):
            aircon[period] = int(_nano(g["reduction_tco2"].to_numpy()).sum())
    return Contribution(fo, solar, aircon)


def combine(parts) -> Contribution:
    """Sum of partitions' contributions (exact; any order or grouping gives the same)."""
    return reduce(lambda a, b: a + b, parts, Contribution())


def draw_totals(
    total: Contribution, *, draws: int, seed: int, carbon_fraction: str = "inventory"
) -> dict:
    """(methodology, period) -> array of ``draws`` simulated totals [t-CO2] of a contribution.

    Each group's term is added in sorted group order, so the result depends only on the
    contribution's integers (never on how they were partitioned).
    """
    out = {}
    keys = sorted({k for groups in total.fo001.values() for k in groups}, key=_group_sort)
    frame = pd.DataFrame(keys, columns=["species", "site_class"], dtype=object)
    m = fo001_multipliers(frame, draws, seed, carbon_fraction) if keys else None
    for period in sorted(total.fo001):  # a period without eligible stands totals 0 in every draw
        acc = np.zeros(draws)
        for j, k in enumerate(keys):
            nano = total.fo001[period].get(k, 0)
            if nano:
                acc += m[:, j] * (nano / NANO)
        out[("FO-001", period)] = acc
    if total.solar or total.aircon:
        sd = relative_sd()
        ef = 1 + keyed_errors(
            seed, "emission_factor", PROGRAM_GROUP, _sd(sd, "emission_factor", "all"), draws
        )
        pv = 1 + keyed_errors(
            seed, "solar_estimate", PROGRAM_GROUP, _sd(sd, "solar_estimate", "all"), draws
        )
        for period in sorted(total.solar):
            s = total.solar[period]
            out[("EN-R-002", period)] = ef * (s["measured"] / NANO + pv * (s["estimated"] / NANO))
        for period in sorted(total.aircon):
            out[("EN-S-004", period)] = ef * (total.aircon[period] / NANO)
    return out


def _group_sort(key: tuple) -> tuple[str, str]:
    return (str(key[0]), curve_label(*key))


def partition_draws(
    fo001: pd.DataFrame | None,
    energy=None,
    *,
    draws: int,
    seed: int,
    carbon_fraction: str = "inventory",
) -> dict:
    """Per-draw sums [t-CO2] of one partition's stands and sites, (methodology, period) -> array.

    Adding partitions' arrays gives the program's draws up to float rounding (about 1e-15
    relative); for bit-identical results reduce :func:`contribution` instead and call
    :func:`draw_totals` once.
    """
    return draw_totals(
        contribution(fo001, energy), draws=draws, seed=seed, carbon_fraction=carbon_fraction
    )


def stand_intervals(
    fo001: pd.DataFrame,
    *,
    draws: int,
    seed: int,
    coverage: float,
    carbon_fraction: str = "inventory",
) -> pd.DataFrame:
    """``net_mean_tco2``, ``net_low_tco2``, ``net_high_tco2`` [t-CO2] per row of ``fo001``.

    A row's interval is its net times the mean and quantiles of its group's multiplier, which are
    keyed: any subset of rows, in any order, gets the same values as in the whole program.
    """
    groups = (
        fo001[["species", "site_class"]]
        .drop_duplicates()
        .sort_values(["species", "site_class"])
        .reset_index(drop=True)
    )
    m = fo001_multipliers(groups, draws, seed, carbon_fraction)
    g_of_row = pd.MultiIndex.from_frame(groups).get_indexer(
        pd.MultiIndex.from_frame(fo001[["species", "site_class"]])
    )
    mean_m, low_m, high_m = interval(m, coverage)
    net = fo001["net_tco2"].to_numpy()
    lo = np.where(net >= 0, net * low_m[g_of_row], net * high_m[g_of_row])
    hi = np.where(net >= 0, net * high_m[g_of_row], net * low_m[g_of_row])
    return pd.DataFrame(
        {"net_mean_tco2": net * mean_m[g_of_row], "net_low_tco2": lo, "net_high_tco2": hi},
        index=fo001.index,
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
    options = dict(draws=draws, seed=seed, carbon_fraction=carbon_fraction)
    stands = stand_intervals(fo001, coverage=coverage, **options)
    return stands, draw_totals(contribution(fo001, energy), **options)


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


def program_stand_intervals(fo001: pd.DataFrame, settings) -> pd.DataFrame:
    """:func:`stand_intervals` of some rows with a program's ``[uncertainty]`` and
    ``[fo001] carbon_fraction`` settings (a distributed run: per partition)."""
    u = settings.uncertainty
    return stand_intervals(
        fo001,
        draws=u.draws,
        seed=u.seed,
        coverage=u.coverage,
        carbon_fraction=settings.fo001.carbon_fraction,
    )


def program_intervals(total: Contribution, settings) -> pd.DataFrame:
    """:func:`summary_intervals` of the program's reduced :class:`Contribution` with its settings
    (what :func:`simulate_program` and :func:`summary_intervals` give in one process)."""
    u = settings.uncertainty
    totals = draw_totals(
        total, draws=u.draws, seed=u.seed, carbon_fraction=settings.fo001.carbon_fraction
    )
    return summary_intervals(totals, u.coverage)


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
