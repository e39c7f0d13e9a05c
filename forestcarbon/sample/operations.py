"""Operation history (施業履歴) of the sample, 1985–2024: the silvicultural regime of each crop,
one history generator per stand role (managed, pre-1990, partial, harvests, ...) and the
``operations.csv`` rows built from them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd

from forestcarbon.methods.fiscal import fiscal_year_of
from forestcarbon.methods.fo001 import OPERATION_JA, QUALIFYING_OPERATIONS
from forestcarbon.sample.growth import stand_volume

if TYPE_CHECKING:
    import geopandas as gpd

HISTORY_START = date(1985, 4, 1)
HISTORY_END = date(2024, 3, 31)
FY1990_START = date(1990, 4, 1)
"""Start of FY1990: silviculture since this day makes a planted stand eligible."""

OPERATIONS_HEADER = ("林班", "小班", "枝番", "施業", "実施日", "面積", "材積")

PLANTING_MONTHS = (4, 5)
WEEDING_MONTHS = (6, 7, 8)
CLEANING_MONTHS = (9, 10, 11)
PRUNING_MONTHS = (12, 1, 2)
THINNING_MONTHS = (10, 11, 12, 1, 2)
HARVEST_MONTHS = (10, 11, 12)

PAST_HARVEST_FYS = (2005, 2008, 2012, 2016, 2020)
"""Fiscal years of the final harvests before the monitoring periods (register updated)."""


class Event(NamedTuple):
    """One silvicultural operation before it is written as a row."""

    date: date
    operation: str
    """Canonical key (see OPERATION_JA)."""
    fraction: float
    """Treated share of the stand [-]."""
    volume_m3_ha: float | None
    """Removed stem volume per treated hectare [m3/ha], thinning and final harvest only."""


class Crop(NamedTuple):
    """One tree generation on a stand."""

    species: str
    site_class: int
    planted_fy: int


def _fy_date(rng: np.random.Generator, fy: int, months: tuple[int, ...]) -> date:
    """A random date in one of the given months of fiscal year ``fy``."""
    month = int(rng.choice(months))
    return date(fy if month >= 4 else fy + 1, month, int(rng.integers(1, 29)))


def _age(crop: Crop, fy: int) -> int:
    """Age of a crop in fiscal year ``fy`` (planting year = age 1) [yr]."""
    return fy - crop.planted_fy + 1


def _thinning_event(
    rng: np.random.Generator, crop: Crop, fy: int, fraction: float = 1.0, day: date | None = None
) -> Event:
    """A thinning (間伐) in fiscal year ``fy`` removing 15–30% of the standing volume."""
    day = day or _fy_date(rng, fy, THINNING_MONTHS)
    removed = stand_volume(crop.species, crop.site_class, _age(crop, fy)) * rng.uniform(0.15, 0.30)
    return Event(day, "thinning", fraction, float(removed))


def _harvest_event(rng: np.random.Generator, crop: Crop, fy: int) -> Event:
    """A whole-stand final harvest (主伐) in fiscal year ``fy``."""
    day = _fy_date(rng, fy, HARVEST_MONTHS)
    felled = stand_volume(crop.species, crop.site_class, _age(crop, fy)) * rng.uniform(0.80, 0.90)
    return Event(day, "final_harvest", 1.0, float(felled))


def _thinning_ages(rng: np.random.Generator) -> list[int]:
    """Thinning ages: first at 18–24, then every 8–12 years up to 50, sometimes one at 55–70."""
    ages = [int(rng.integers(18, 25))]
    while ages[-1] + 12 <= 50:
        ages.append(ages[-1] + int(rng.integers(8, 13)))
    if rng.random() < 0.4:
        ages.append(int(rng.integers(55, 71)))
    return ages


def _tending_events(rng: np.random.Generator, crop: Crop) -> list[Event]:
    """Weeding (ages 2–6), cleaning (once at 10–15) and occasional pruning of a crop."""
    fy = crop.planted_fy - 1
    events = [
        Event(_fy_date(rng, fy + age, WEEDING_MONTHS), "weeding", 1.0, None)
        for age in range(2, 6 + (rng.random() < 0.7))
    ]
    if rng.random() < 0.8:
        cleaning_fy = fy + int(rng.integers(10, 16))
        events.append(Event(_fy_date(rng, cleaning_fy, CLEANING_MONTHS), "cleaning", 1.0, None))
    if crop.species in ("sugi", "hinoki") and rng.random() < 0.3:
        fraction = 1.0 if rng.random() < 0.5 else float(rng.uniform(0.3, 0.8))
        pruning_fy = fy + int(rng.integers(12, 19))
        events.append(Event(_fy_date(rng, pruning_fy, PRUNING_MONTHS), "pruning", fraction, None))
    return events


def _crop_events(
    rng: np.random.Generator, crop: Crop, planting: str | None = "planting"
) -> list[Event]:
    """The standard regime of one crop, planting (if given) to late thinning, unfiltered."""
    events = []
    if planting:
        events.append(Event(_fy_date(rng, crop.planted_fy, PLANTING_MONTHS), planting, 1.0, None))
    events += _tending_events(rng, crop)
    for age in _thinning_ages(rng):
        fraction = float(rng.uniform(0.2, 0.7)) if rng.random() < 1 / 3 else 1.0
        events.append(_thinning_event(rng, crop, crop.planted_fy + age - 1, fraction))
    return events


def _within(events: Iterable[Event], start: date, end: date) -> list[Event]:
    """Events dated from ``start`` to ``end`` inclusive."""
    return [e for e in events if start <= e.date <= end]


def _has_full_recent_op(events: Iterable[Event]) -> bool:
    """Whether a whole-stand qualifying operation is recorded since FY1990."""
    return any(
        e.operation in QUALIFYING_OPERATIONS and e.fraction == 1.0 and e.date >= FY1990_START
        for e in events
    )


def _ensure_full_recent_op(
    rng: np.random.Generator, crop: Crop, events: list[Event], last_fy: int = 2022
) -> list[Event]:
    """Add a whole-stand thinning since FY1990 if the history has no whole-stand qualifying op."""
    if _has_full_recent_op(events):
        return events
    fy = int(rng.integers(max(1991, crop.planted_fy + 14), last_fy + 1))
    return [*events, _thinning_event(rng, crop, fy)]


def _history_managed(rng: np.random.Generator, crop: Crop) -> tuple[list[Event], int]:
    """Regular management since 1985 with at least one whole-stand qualifying op since FY1990."""
    events = _within(_crop_events(rng, crop), HISTORY_START, HISTORY_END)
    return _ensure_full_recent_op(rng, crop, events), crop.planted_fy


def _pre1990_events(rng: np.random.Generator, crop: Crop) -> list[Event]:
    """The standard regime cut at 1990-03-31, with at least one op in FY1986–1988."""
    events = _within(_crop_events(rng, crop), HISTORY_START, date(1990, 3, 31))
    if not events:
        fy = int(rng.integers(1986, 1989))
        if _age(crop, fy) >= 18:
            events = [_thinning_event(rng, crop, fy)]
        else:
            events = [Event(_fy_date(rng, fy, CLEANING_MONTHS), "cleaning", 1.0, None)]
    return events


def _history_pre1990(rng: np.random.Generator, crop: Crop) -> tuple[list[Event], int]:
    """Management abandoned before FY1990: every op dated before 1990-04-01."""
    return _pre1990_events(rng, crop), crop.planted_fy


def _history_pre1990_last_day(rng: np.random.Generator, crop: Crop) -> tuple[list[Event], int]:
    """Like ``pre1990`` with a final thinning on 1990-03-31, the last day of FY1989."""
    events = [*_pre1990_events(rng, crop), _thinning_event(rng, crop, 1989, 1.0, date(1990, 3, 31))]
    return events, crop.planted_fy


def _history_boundary(rng: np.random.Generator, crop: Crop) -> tuple[list[Event], int]:
    """Pre-1990 ops plus one whole-stand thinning on 1990-04-01, the first day of FY1990."""
    events = [*_pre1990_events(rng, crop), _thinning_event(rng, crop, 1990, 1.0, date(1990, 4, 1))]
    return events, crop.planted_fy


def _history_partial(rng: np.random.Generator, crop: Crop) -> tuple[list[Event], int]:
    """Pre-1990 ops plus one or two partial thinnings since FY1990 covering < 85% in total."""
    fractions = [float(rng.uniform(0.2, 0.45))]
    if rng.random() < 0.5:
        fractions.append(float(rng.uniform(0.2, 0.4)))
    fys = sorted(rng.choice(np.arange(1992, 2023), size=len(fractions), replace=False))
    recent = [_thinning_event(rng, crop, int(fy), f) for fy, f in zip(fys, fractions, strict=True)]
    return [*_pre1990_events(rng, crop), *recent], crop.planted_fy


def _history_no_ops(rng: np.random.Generator, crop: Crop) -> tuple[list[Event], int]:
    """No operation ever recorded."""
    return [], crop.planted_fy


def _replant_fy(rng: np.random.Generator, harvest: Event) -> tuple[date, int]:
    """Replanting date after a harvest: next March of the same FY, or April–May of the next FY."""
    fy = fiscal_year_of(harvest.date)
    if rng.random() < 0.5:
        return date(fy + 1, 3, int(rng.integers(1, 29))), fy
    return _fy_date(rng, fy + 1, PLANTING_MONTHS), fy + 1


def _harvested_old_crop(rng: np.random.Generator, crop: Crop, harvest_fy: int) -> Crop:
    """The crop felled in ``harvest_fy`` at age 50–65."""
    age = int(rng.integers(50, 66))
    return crop._replace(planted_fy=harvest_fy - age + 1)


def _old_crop_events(rng: np.random.Generator, old: Crop, harvest_fy: int) -> list[Event]:
    """Managed history of a crop up to the fiscal year before its final harvest."""
    events = _within(_crop_events(rng, old), HISTORY_START, date(harvest_fy, 3, 31))
    return _ensure_full_recent_op(rng, old, events, last_fy=harvest_fy - 2)


def _history_harvest_past(
    rng: np.random.Generator, crop: Crop, harvest_fy: int
) -> tuple[list[Event], int]:
    """Final harvest before the periods and replanting; the register shows the new crop."""
    old = _harvested_old_crop(rng, crop, harvest_fy)
    harvest = _harvest_event(rng, old, harvest_fy)
    replant_day, replant_fy = _replant_fy(rng, harvest)
    new = crop._replace(planted_fy=replant_fy)
    regrowth = _within(_crop_events(rng, new, planting=None), replant_day, HISTORY_END)
    events = [
        *_old_crop_events(rng, old, harvest_fy),
        harvest,
        Event(replant_day, "replanting", 1.0, None),
        *regrowth,
    ]
    return events, replant_fy


def _history_harvest_fy2022(rng: np.random.Generator, crop: Crop) -> tuple[list[Event], int]:
    """Final harvest in FY2022, replanting in FY2023; the register still shows the old crop."""
    old = _harvested_old_crop(rng, crop, 2022)
    harvest = _harvest_event(rng, old, 2022)
    replant = Event(_fy_date(rng, 2023, PLANTING_MONTHS), "replanting", 1.0, None)
    return [*_old_crop_events(rng, old, 2022), harvest, replant], old.planted_fy


def _history_harvest_fy2023(rng: np.random.Generator, crop: Crop) -> tuple[list[Event], int]:
    """Final harvest in FY2023, not yet replanted; the register still shows the felled crop."""
    old = _harvested_old_crop(rng, crop, 2023)
    harvest = _harvest_event(rng, old, 2023)
    return [*_old_crop_events(rng, old, 2023), harvest], old.planted_fy


HistoryFn = Callable[[np.random.Generator, Crop], tuple[list[Event], int]]

HISTORIES: dict[str, HistoryFn] = {
    "managed": _history_managed,
    "outside_plan": _history_managed,
    "cross_age_21": _history_managed,
    "beyond_table": _history_managed,
    "pre1990": _history_pre1990,
    "pre1990_last_day": _history_pre1990_last_day,
    "fy1990_boundary": _history_boundary,
    "partial": _history_partial,
    "no_ops": _history_no_ops,
    "harvest_fy2022": _history_harvest_fy2022,
    "harvest_fy2023": _history_harvest_fy2023,
    "natural_protected": _history_no_ops,
    "natural_unprotected": _history_no_ops,
    "bamboo": _history_no_ops,
}
"""History generator per role (``harvest_past`` takes its harvest year and is handled apart)."""


def _history(
    rng: np.random.Generator, role: str, crop: Crop, harvest_fys: list[int]
) -> tuple[list[Event], int]:
    """Events and register planting year of one stand."""
    if role == "harvest_past":
        return _history_harvest_past(rng, crop, harvest_fys.pop(0))
    return HISTORIES[role](rng, crop)


def _event_row(stand: pd.Series, event: Event) -> dict[str, object]:
    """One operations.csv row: keys, Japanese op name, ISO date, area [ha], volume [m3]."""
    area = max(0.01, round(stand["area_ha"] * event.fraction, 2))
    volume = "" if event.volume_m3_ha is None else f"{area * event.volume_m3_ha:.1f}"
    return {
        "林班": int(stand["rinpan"]),
        "小班": int(stand["shohan"]),
        "枝番": int(stand["edaban"]),
        "施業": OPERATION_JA[event.operation],
        "実施日": event.date.isoformat(),
        "面積": f"{area:.2f}",
        "材積": volume,
    }


def _mark_last_day_case(roles: np.ndarray) -> np.ndarray:
    """Turn the first ``pre1990`` stand into the 1990-03-31 boundary case."""
    roles = roles.copy()
    roles[np.flatnonzero(roles == "pre1990")[0]] = "pre1990_last_day"
    return roles


def make_operations(
    rng: np.random.Generator, register: gpd.GeoDataFrame
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Operation history of every stand, and the register with harvest-updated planting years.

    Parameters
    ----------
    rng : Generator
        Random generator.
    register : GeoDataFrame
        Output of :func:`forestcarbon.sample.register.make_register`.

    Returns
    -------
    operations : DataFrame
        Columns OPERATIONS_HEADER as strings/ints, sorted by stand then date.
    register : GeoDataFrame
        Copy of the input with ``planted_year`` of harvested stands set from their history.
    """
    register = register.copy()
    register["role"] = _mark_last_day_case(register["role"].to_numpy())
    harvest_fys = list(PAST_HARVEST_FYS)
    rows, planted = [], []
    for _, stand in register.iterrows():
        crop = Crop(stand["species"], int(stand["site_class"]), int(stand["planted_year"]))
        events, planted_fy = _history(rng, stand["role"], crop, harvest_fys)
        order = list(OPERATION_JA)
        for event in sorted(events, key=lambda e: (e.date, order.index(e.operation))):
            rows.append(_event_row(stand, event))
        planted.append(planted_fy)
    register["planted_year"] = np.asarray(planted, dtype="int64")
    return pd.DataFrame(rows, columns=list(OPERATIONS_HEADER)), register
