"""FO-001 forest management: eligibility, removals and emissions per stand and monitoring period.

The rules are those of ``docs/FO-001.md`` (cited by section in each docstring). Rules
that are not confirmed against the official text are settings of
:class:`~forestcarbon.core.config.FO001Settings`.

Time model (FO-001.md §4): Japanese 林齢 counts the planting fiscal year as age 1, so in fiscal year
``Y`` a stand planted in ``P`` reaches age ``a = Y - P + 1`` and grows ``V(a) - V(a-1)``. A period
that is not whole fiscal years takes each fiscal year's growth pro rata by days.

A stand is held as *cohorts*: the register crop, and one cohort per replanting after a final harvest
recorded in the operations. Everything is computed on numpy arrays over cohorts, so a million stands
take seconds.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from forestcarbon.core.config import FO001Settings, Period
from forestcarbon.core.exceptions import InputError, Problem
from forestcarbon.core.params import CO2_PER_C, species_parameters
from forestcarbon.methods.cohorts import Cohorts, build_cohorts, reference_area
from forestcarbon.methods.eligibility import (
    OPERATION_JA,
    QUALIFYING_OPERATIONS,
    eligibility,
)
from forestcarbon.methods.fiscal import (
    elapsed_share,
    fiscal_year_fractions,
    fiscal_year_of,
    fiscal_year_of_days,
    fiscal_year_or_never,
)
from forestcarbon.methods.growth import YieldTable
from forestcarbon.methods.keys import RegisterKeys, register_keys
from forestcarbon.methods.text import (
    Coded,
    column,
    day_text,
    factorize_rows,
    numeric_parts,
    render,
    spread,
)

__all__ = [
    "OPERATION_JA",
    "QUALIFYING_OPERATIONS",
    "Cohorts",
    "build_cohorts",
    "carbon_tco2",
    "compute_fo001",
    "reference_area",
]

BEF_SWITCH_AGE = 20
"""BEF of the young stand applies up to this age [years]; the older value from age 21 (§2)."""

FLAGS = {
    "age_20_to_21": "crossed age 20 -> 21 in the period (BEF changes)",
    "beyond_yield_table": "older than the last tabulated age: volume held flat (no growth)",
    "harvested": "final harvest (主伐) in the period: felled stock booked as an emission",
    "replanted": "replanted (再造林) in the period: the new crop grows from age 1",
    "felled_not_replanted": "all or part of the stand was felled and is not replanted",
    "partial_treated_area": "only part of the stand has qualifying work (treated-area rule)",
    "treated_area_assumed": "an operation has no area: the whole stand was assumed treated",
    "prorated": "the period is not whole fiscal years: growth pro-rated by days",
    "not_yet_planted": "planted after the period: no growth",
    "net_negative": "emissions exceed removals: no credits from this stand",
    "species_substituted": "computed with another species' yield curve or parameter row "
    "(e.g. その他広葉樹 with ブナ's parameters): a documented but unverified substitution",
    "plan_dates_unknown": "no plans table: the plan's validity period was not checked",
    "eligible_from_in_period": "eligibility earned inside the period: removals from that day",
    "plan_partly_in_force": "the plan is in force for part of the period only: removals pro rata",
    "held": "canopy evidence: removals held (held_tco2), not credited until an officer's record",
}
"""Flag names in ``fo001_stands.csv`` and their meaning."""


def carbon_tco2(area_ha, volume_m3_ha, wood_density, bef, root_ratio, carbon_fraction):
    r"""Carbon dioxide [t-CO2] held in (or removed as) a stem volume: the FO-001 equation.

    .. math::

        C = A \times \Delta V \times D \times BEF \times (1 + R) \times CF \times \frac{44}{12}

    The one place where the equation is computed: growth of a cohort (``ΔV`` the volume increment
    of the period), a stock (``V`` at a date, for the stock-difference convention and for the
    felled stock of a final harvest) and a thinned volume all go through it. Works elementwise on
    numpy arrays.

    Parameters
    ----------
    area_ha : array_like
        A, the area [ha] (1 for a recorded whole volume, then ``volume_m3_ha`` is [m3]).
    volume_m3_ha : array_like
        ΔV or V, stem volume per ha [m3/ha] from the yield table (収穫表).
    wood_density : array_like
        D, basic wood density [t d.m./m3].
    bef : array_like
        BEF, biomass expansion factor [-] (age <= 20 or >= 21 value).
    root_ratio : array_like
        R, root-to-shoot ratio [-].
    carbon_fraction : array_like
        CF, carbon fraction of dry matter [t-C/t d.m.].

    Returns
    -------
    ndarray
        C [t-CO2].

    Notes
    -----
    FO-001.md §2 (J-クレジット制度 方法論 FO-001 森林経営活動, 算定式); 44/12 converts t-C to
    t-CO2. Parameter values and their sources are in ``forestcarbon/data/fo001_parameters.csv``.
    """
    return (
        area_ha * volume_m3_ha * wood_density * bef * (1 + root_ratio) * carbon_fraction * CO2_PER_C
    )


PARAMETER_COLUMNS = ("wood_density", "bef_le20", "bef_ge21", "root_ratio", "carbon_fraction")
"""Columns of the parameter table the equation uses."""


def _parameters(p: dict[str, np.ndarray], age: np.ndarray) -> tuple:
    """(D, BEF, R, CF) per element, BEF by ``age``; ``p``: the :data:`PARAMETER_COLUMNS` of each
    element's species row (NaN for a species with none, e.g. bamboo)."""
    bef = np.where(age <= BEF_SWITCH_AGE, p["bef_le20"], p["bef_ge21"])
    return p["wood_density"], bef, p["root_ratio"], p["carbon_fraction"]


def _tco2(p: dict[str, np.ndarray], age, area_ha, volume_m3_ha) -> np.ndarray:
    """:func:`carbon_tco2` with the species' parameters at ``age``; 0 for species with no row."""
    return np.nan_to_num(carbon_tco2(area_ha, volume_m3_ha, *_parameters(p, age)))


def standing_volume(yields, curve, cohorts: Cohorts, day: dt.date, *, inclusive: bool):
    """Volume per ha of stand area [m3/ha] held by each cohort at the start (or end) of ``day``."""
    fy, share = elapsed_share(day, inclusive=inclusive)
    a = fy - cohorts.origin_fy + 1
    v = yields.volume_at(curve, a - 1) + share * (
        yields.volume_at(curve, a) - yields.volume_at(curve, a - 1)
    )
    moment = np.datetime64(day) + (np.timedelta64(1, "D") if inclusive else 0)
    exists = np.isnat(cohorts.planted) | (cohorts.planted < moment)
    standing = np.isnat(cohorts.harvested) | (cohorts.harvested >= moment)
    return np.where(exists & standing & (a >= 1), v, 0.0) * cohorts.share


def _volume_scale(stands: pd.DataFrame, c: Cohorts) -> np.ndarray:
    """Factor on the yield-table volumes of each cohort [-].

    The register crop takes the stand's optional ``volume_scale`` (a yield curve calibrated to a
    measured or modelled volume, see ``[canopy] volume_source``); crops replanted later, and
    stands without a value, take 1.
    """
    if "volume_scale" not in stands.columns:
        return np.ones(len(c.stand))
    per_stand = stands["volume_scale"].fillna(1.0).to_numpy(dtype=float)
    return np.where(np.isnat(c.planted), per_stand[c.stand], 1.0)


def compute_period(
    stands: pd.DataFrame,
    operations: pd.DataFrame,
    yields: YieldTable,
    cohorts: Cohorts,
    period: Period,
    settings: FO001Settings,
    params: pd.DataFrame,
    plans: pd.DataFrame | None = None,
    *,
    plans_file: str = "plans.csv",
    keys: RegisterKeys | None = None,
) -> pd.DataFrame:
    """FO-001 result of every stand for one monitoring period (see :func:`compute_fo001`)."""
    n = len(stands)
    keys = keys or register_keys(stands, operations)
    elig = eligibility(
        stands, operations, period, settings, plans, plans_file=plans_file, keys=keys
    )
    c = cohorts
    species_code, species_names = pd.factorize(stands["species"], use_na_sentinel=False)
    species_names = np.asarray(species_names, dtype=object)
    rows = params.reindex(species_names)  # one row per distinct species
    per_stand = {col: rows[col].to_numpy()[species_code] for col in PARAMETER_COLUMNS}
    p_cohort = {col: v[c.stand] for col, v in per_stand.items()}
    site = stands["site_class"].to_numpy().copy()  # copies: the frame below shares its arrays
    pair, first = factorize_rows([species_code, site])  # a handful of (species, site class)
    stand_curve = yields.curve_index(species_names[species_code[first]], site[first])[pair]
    curve = np.where(stand_curve < 0, 0, stand_curve)[c.stand]  # bamboo: any curve, factor 0
    scale = _volume_scale(stands, c)
    bamboo = (species_names == "bamboo")[species_code][c.stand]
    area = stands["stand_area_ha"].to_numpy(dtype=float).copy()
    last_age = yields.last_age[curve]
    p_end = np.datetime64(period.end)
    p_start = np.datetime64(period.start)
    exists = np.isnat(c.planted) | (c.planted <= p_end)
    harvest_fy = fiscal_year_or_never(c.harvested)
    felled_by_end = ~np.isnat(c.harvested) & (c.harvested <= p_end)

    cohort_area = area[c.stand] * c.share  # A of each cohort [ha]
    gross = np.zeros(len(c.stand))  # whole stand, every day [t-CO2]
    counted_gross = np.zeros(len(c.stand))  # on the days removals count [t-CO2]
    crossed = np.zeros(len(c.stand), dtype=bool)
    beyond = np.zeros(len(c.stand), dtype=bool)
    fractions = fiscal_year_fractions(period)
    for fy, frac in fractions:
        a = fy - c.origin_fy + 1
        growing = exists & (a >= 1) & (~felled_by_end | (harvest_fy > fy))
        # the year's volumes, pro rata by the period's days in it [m3/ha]
        v_now = yields.volume_at(curve, a) * scale * frac
        v_before = yields.volume_at(curve, a - 1) * scale * frac
        if settings.bef_convention == "increment":
            tco2 = _tco2(p_cohort, a, cohort_area, v_now - v_before)
        else:
            tco2 = _tco2(p_cohort, a, cohort_area, v_now) - _tco2(
                p_cohort, a - 1, cohort_area, v_before
            )
        gross += np.where(growing, tco2, 0.0)
        lo = max(period.start, dt.date(fy, 4, 1))
        hi = min(period.end, dt.date(fy + 1, 3, 31))
        counted_gross += np.where(growing, tco2, 0.0) * elig.day_share(lo, hi)[c.stand]
        crossed |= growing & (a == BEF_SWITCH_AGE + 1) & ~bamboo
        beyond |= growing & (a > last_age) & ~bamboo

    harvested_now = ~np.isnat(c.harvested) & (c.harvested >= p_start) & (c.harvested <= p_end)
    a_h = np.where(harvested_now, harvest_fy - c.origin_fy + 1, 0)
    felled = _tco2(p_cohort, a_h, cohort_area, yields.volume_at(curve, a_h) * scale)
    emission = np.where(harvested_now, felled, 0.0)
    replanted_now = ~np.isnat(c.planted) & (c.planted >= p_start) & (c.planted <= p_end)

    removals_gross = np.bincount(c.stand, gross, minlength=n)
    emissions_gross = np.bincount(c.stand, emission, minlength=n)
    if settings.thinning_accounting == "explicit":
        emissions_gross += _thinning_emissions(stands, operations, period, per_stand, keys)

    share_counted = np.divide(elig.counted_area_ha, area, out=np.zeros(n), where=area > 0)
    # removals: the counted area on the counted days; emissions: every felling in the boundary
    removals = np.bincount(c.stand, counted_gross, minlength=n) * share_counted
    emissions = np.where(elig.in_boundary, emissions_gross, 0.0)
    net = removals - emissions

    main = main_cohort(c, n, p_end)
    fy_start, fy_end = fiscal_year_of(period.start), fiscal_year_of(period.end)
    origin = c.origin_fy[main]
    vol_start = np.bincount(
        c.stand,
        standing_volume(yields, curve, c, period.start, inclusive=False) * scale,
        minlength=n,
    )
    vol_end = np.bincount(
        c.stand, standing_volume(yields, curve, c, period.end, inclusive=True) * scale, minlength=n
    )

    any_ = lambda mask: np.bincount(c.stand, mask.astype(float), minlength=n) > 0  # noqa: E731
    mapped = rows["parameter_species"].fillna("").to_numpy(dtype=object)
    flags = {
        "age_20_to_21": any_(crossed),
        "beyond_yield_table": any_(beyond),
        "harvested": any_(harvested_now),
        "replanted": any_(replanted_now),
        "felled_not_replanted": _felled_not_replanted(c, n, p_end),
        "partial_treated_area": elig.partial,
        "treated_area_assumed": elig.assumed,
        "prorated": np.full(n, any(f < 1 for _, f in fractions)),
        "not_yet_planted": stands["planted_year"].to_numpy() > fy_end,
        "net_negative": elig.in_boundary & (net < 0),
        "species_substituted": _species_substituted(
            yields, stand_curve, (mapped != "") & (mapped != species_names), species_code
        ),
        "plan_dates_unknown": elig.plan_dates_unknown,
        "eligible_from_in_period": elig.started_in_period,
        "plan_partly_in_force": elig.eligible
        & ~elig.started_in_period
        & (elig.counted_days < period.days),
    }
    return pd.DataFrame(
        {
            "stand_id": _text(stands["stand_id"]),
            "period": period.label,
            "eligible": elig.eligible,
            "in_boundary": elig.in_boundary,
            "reason": elig.reason,
            "species": _text(stands["species"]),
            "forest_type": _text(stands["forest_type"]),
            "site_class": site,
            "plan_id": _text(stands["plan_id"]),
            "area_ha": area,
            "eligible_area_ha": elig.counted_area_ha,
            "counted_days": elig.counted_days,
            "counted_from": _dates(elig.window_start, elig.eligible),
            "counted_to": _dates(elig.window_end, elig.eligible),
            "age_start": np.maximum(fy_start - origin + 1, 0),
            "age_end": np.maximum(fy_end - origin + 1, 0),
            "volume_start_m3_ha": vol_start,
            "volume_end_m3_ha": vol_end,
            "removals_tco2": removals,
            "emissions_tco2": emissions,
            "net_tco2": net,
            "held_tco2": np.zeros(n),
            "gross_net_tco2": removals_gross - emissions_gross,
            "flags": _join_flags(flags),
            "parameter_species": column(spread(Coded(species_code, mapped.tolist()))),
            "wood_density_t_m3": per_stand["wood_density"],
            "bef_le20": per_stand["bef_le20"],
            "bef_ge21": per_stand["bef_ge21"],
            "root_ratio": per_stand["root_ratio"],
            "carbon_fraction": per_stand["carbon_fraction"],
            "bef_convention": settings.bef_convention,
        },
        copy=False,  # every array is this period's own: no copy, no consolidation
    )


def _species_substituted(yields: YieldTable, curve, by_species, species_code) -> np.ndarray:
    """Stands computed with another species' yield curve or parameter row (その他広葉樹 with ブナ's
    parameters and a stand-in curve): unverified substitutions, flagged. ``by_species``: per
    distinct species (``species_code``), whether its parameter row is another species'."""
    found = np.asarray(curve) >= 0
    by_curve = found & yields.is_substituted(np.where(found, curve, 0))
    return by_curve | by_species[species_code]


def main_cohort(c: Cohorts, n: int, p_end) -> np.ndarray:
    """Per stand, the youngest cohort standing at the period end (else the register crop)."""
    main = np.arange(n)
    if len(c.stand) == n:  # one cohort per stand: the register crop
        return main
    # only the stands with several cohorts need choosing
    several = np.flatnonzero(np.bincount(c.stand, minlength=n)[c.stand] > 1)
    stand = c.stand[several]
    planted, harvested = c.planted[several], c.harvested[several]
    standing = (np.isnat(planted) | (planted <= p_end)) & (
        np.isnat(harvested) | (harvested > p_end)
    )
    order = np.lexsort((c.origin_fy[several], standing, stand))
    last = np.r_[stand[order][1:] != stand[order][:-1], True]
    main[stand[order][last]] = several[order[last]]
    return main


def _felled_not_replanted(c: Cohorts, n: int, p_end) -> np.ndarray:
    felled = np.bincount(
        c.stand,
        np.where(~np.isnat(c.harvested) & (c.harvested <= p_end), c.share, 0.0),
        minlength=n,
    )
    replanted = np.bincount(
        c.stand, np.where(~np.isnat(c.planted) & (c.planted <= p_end), c.share, 0.0), minlength=n
    )
    return felled - replanted > 1e-9


def _thinning_emissions(
    stands, operations, period: Period, per_stand: dict, keys: RegisterKeys
) -> np.ndarray:
    """Thinned stem volume booked as emission [t-CO2] per stand (explicit thinning accounting)."""
    day = keys.op_day
    rows = np.flatnonzero(
        keys.operations_of(("thinning",))
        & (day >= np.datetime64(period.start, "D"))
        & (day <= np.datetime64(period.end, "D"))
    )
    out = np.zeros(len(stands))
    if not len(rows):
        return out
    idx = keys.positions(rows)
    age = fiscal_year_of_days(day[rows]) - stands["planted_year"].to_numpy()[idx] + 1
    # a whole volume: A = 1, ΔV in [m3]
    volume_m3 = operations["volume_m3"].to_numpy(dtype=float)[rows]
    p = {col: v[idx] for col, v in per_stand.items()}
    np.add.at(out, idx, _tco2(p, age, 1.0, volume_m3))
    return out


def _dates(days: np.ndarray, mask: np.ndarray):
    """ISO dates where ``mask`` (open ends as empty text), else empty text."""
    open_end = (days <= np.datetime64("1000-01-01")) | (days >= np.datetime64("9999-12-31"))
    keys = days.astype("datetime64[D]").view(np.int64)
    return column(render([keys], day_text, mask=mask & ~open_end))


def _join_flags(flags: dict[str, np.ndarray]):
    """The names of the flags set on each row, joined by ";" in the order of ``flags``."""
    names = list(flags)
    bits = np.zeros(len(next(iter(flags.values()))), dtype=np.int64)
    for i, mask in enumerate(flags.values()):
        bits |= np.asarray(mask, dtype=np.int64) << i
    return column(render([bits], lambda b: ";".join(n for i, n in enumerate(names) if b >> i & 1)))


_TEXT_DTYPE = pd.Series(["text"]).dtype
"""The dtype pandas gives a column of Python ``str`` values."""


def _text(values: pd.Series):
    """A text column of the stands as the output column (kept as it is when already text)."""
    return values.array.copy() if values.dtype == _TEXT_DTYPE else values.to_numpy()


def check_operations(
    operations: pd.DataFrame, settings: FO001Settings, *, file: str = "operations"
) -> None:
    """Refuse what the settings cannot compute (explicit thinning without a volume)."""
    if settings.thinning_accounting != "explicit":
        return
    bad = operations[(operations["operation"] == "thinning") & operations["volume_m3"].isna()]
    problems = [
        Problem(
            file,
            f"row {r.source_row} ({r.stand_id})",
            "volume_m3",
            "missing: thinning_accounting = 'explicit' needs the thinned volume",
        )
        for r in bad.itertuples()
    ]
    if problems:
        raise InputError(problems)


def compute_fo001(
    stands: pd.DataFrame,
    operations: pd.DataFrame,
    yields: YieldTable,
    periods: tuple[Period, ...],
    settings: FO001Settings,
    *,
    file: str = "operations",
    plans: pd.DataFrame | None = None,
    plans_file: str = "plans.csv",
) -> pd.DataFrame:
    """FO-001 eligibility, removals and emissions of every stand for every period.

    Parameters
    ----------
    stands : DataFrame
        Validated stands (see :class:`~forestcarbon.inputs.program.ProgramInputs`), with
        ``stand_area_ha`` [ha].
    operations : DataFrame
        Validated operations: stand_id, date, operation, area_ha [ha], volume_m3 [m3].
    yields : YieldTable
    periods : tuple of Period
    settings : FO001Settings
    plans : DataFrame, optional
        plan_id, start, end (dates, inclusive) of every forest management plan; None: validity
        unknown (every stand in a plan flagged ``plan_dates_unknown``).

    Returns
    -------
    DataFrame
        One row per stand and period, sorted by period then stand id: eligible, reason, area_ha
        [ha], eligible_area_ha [ha], age_start, age_end [years], volume_start_m3_ha,
        volume_end_m3_ha [m3/ha], removals_tco2, emissions_tco2, net_tco2 [t-CO2] (credited part),
        gross_net_tco2 [t-CO2] (whole stand, eligible or not), flags and the parameters used.

    Notes
    -----
    FO-001.md §1 (formula, BEF conventions), §3 (eligibility, harvest, treated area), §4 (age,
    interpolation, pro-rating). Ineligible stands have zero removals; final harvests of every stand
    with a plan id (the project boundary) are emissions, eligible or not. ``held_tco2`` is 0 here
    (see :func:`forestcarbon.methods.holds.hold_flagged`).
    """
    check_operations(operations, settings, file=file)
    params = species_parameters(settings.carbon_fraction)
    stands = stands.reset_index(drop=True)
    keys = register_keys(stands, operations)
    cohorts = build_cohorts(stands, operations, periods, file=file, keys=keys)
    frames = [
        compute_period(
            stands,
            operations,
            yields,
            cohorts,
            p,
            settings,
            params,
            plans,
            plans_file=plans_file,
            keys=keys,
        )
        for p in periods
    ]
    result = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    # by period, then stand id in natural order: the stands' ranks, once per period
    rank = np.tile(_rank(keys.stand_ids, keys.stand_code), len(periods))
    order = np.lexsort((rank, result["period"].to_numpy()))
    if (order == np.arange(len(order))).all():  # already in order (a sorted register)
        return result.reset_index(drop=True)
    return result.iloc[order].reset_index(drop=True)


def natural_key_rank(ids: pd.Series) -> np.ndarray:
    """Rank of ids in natural order ("2-1-1" before "10-1-1"), as an integer array.

    Equal keys ("01-1", "1-1") rank in order of first appearance. Ids made only of digit groups
    joined by "-" are ranked on their numbers as integer arrays; others through
    :func:`_natural_key`.
    """
    code, unique = pd.factorize(pd.Series(ids), use_na_sentinel=False)
    return _rank(unique, code)


def _rank(unique, code: np.ndarray) -> np.ndarray:
    """:func:`natural_key_rank` of the ids ``unique[code]`` (distinct ``unique`` in order of
    first appearance)."""
    parts = numeric_parts(unique) if len(unique) else None
    if parts is None:
        keys = sorted(unique, key=_natural_key)
        rank = pd.Series(np.arange(len(keys)), index=keys)
        return rank.reindex(np.asarray(unique, dtype=object)).to_numpy()[code]
    order = np.lexsort(parts.T[::-1])  # first part first; stable: ties by appearance
    unique_rank = np.empty(len(unique), dtype=np.int64)
    unique_rank[order] = np.arange(len(unique))
    return unique_rank[code]


def _natural_key(text: str):
    return [
        (0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", str(text)) if t
    ]
