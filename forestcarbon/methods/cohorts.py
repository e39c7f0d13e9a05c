"""Cohorts of the FO-001 stands: the register crop, and one crop per replanting after a final
harvest recorded in the operations (FO-001.md §3, §4).

Final harvests and replantings after the register's planting year are replayed stand by stand:
the common case (one final harvest of the whole stand, then its replanting) on arrays, the others
(partial harvests, several crops) one stand at a time.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forestcarbon.core.config import Period
from forestcarbon.core.exceptions import InputError, Problem
from forestcarbon.methods.fiscal import fiscal_year
from forestcarbon.methods.keys import RegisterKeys, register_keys


@dataclass(frozen=True)
class Cohorts:
    """Crops of the stands: one row per register crop and per replanting.

    ``share`` is the part of the stand's area [0-1]; ``origin_fy`` the planting fiscal year;
    ``planted`` the replanting date (NaT for the register crop); ``harvested`` the final-harvest
    date
    (NaT while standing).
    """

    stand: np.ndarray
    share: np.ndarray
    origin_fy: np.ndarray
    planted: np.ndarray
    harvested: np.ndarray


def reference_area(stands: pd.DataFrame) -> np.ndarray:
    """Area [ha] that operation areas are measured against: the register area where given
    (operations are recorded in register terms), else the stand area."""
    area = stands["stand_area_ha"].to_numpy(dtype=float)
    if "area_ha" not in stands.columns:
        return area
    return np.where(stands["area_ha"].notna(), stands["area_ha"].to_numpy(dtype=float), area)


def _share(area, reference: float) -> float:
    """Share of the stand [0-1] an operation covers; no area means the whole stand."""
    return 1.0 if pd.isna(area) else min(1.0, float(area) / reference)


@dataclass
class _Crop:
    """One crop of one stand while its final harvests and replantings are replayed."""

    share: float
    origin_fy: int
    planted: pd.Timestamp = pd.NaT
    harvested: pd.Timestamp = pd.NaT


def _harvest(crops: list[_Crop], want: float, date: pd.Timestamp) -> float:
    """Fell ``want`` of the stand from the oldest standing crops first; returns the share felled."""
    felled = 0.0
    for crop in sorted((c for c in crops if pd.isna(c.harvested)), key=lambda c: c.origin_fy):
        if want - felled <= 1e-12:
            break
        take = min(crop.share, want - felled)
        if take < crop.share - 1e-12:  # partial: the rest stays standing as its own crop
            crops.append(_Crop(crop.share - take, crop.origin_fy, crop.planted))
            crop.share = take
        crop.harvested = date
        felled += take
    return felled


def _replay(
    sid: str,
    register_fy: int,
    reference_ha: float,
    events: list[tuple],
    first_day: dt.date,
    file: str,
) -> tuple[list[_Crop], list[Problem]]:
    """Crops of one stand after its final harvests and replantings.

    ``events`` are (source_row, date, operation, area_ha, fiscal year) sorted by date.
    """
    crops = [_Crop(1.0, register_fy)]
    problems = []
    unplanted = 0.0  # felled share not yet replanted
    for source_row, date, operation, area_ha, fy in events:
        where = f"row {source_row} ({sid})"
        if fy <= register_fy:  # history the register already reflects
            if operation == "final_harvest" and date >= first_day:
                problems.append(
                    Problem(
                        file,
                        where,
                        "date",
                        f"final harvest on {date} is inside the monitoring "
                        f"periods, but the register's planted_year ({register_fy}) is already the "
                        "new crop: give the felled crop's planting year so its emission can be "
                        "computed",
                    )
                )
            continue
        want = _share(area_ha, reference_ha)
        if operation == "final_harvest":
            standing = sum(c.share for c in crops if pd.isna(c.harvested))
            if want > standing + 1e-9:
                problems.append(
                    Problem(
                        file,
                        where,
                        "area_ha",
                        f"final harvest of {want * reference_ha:.2f} ha "
                        f"exceeds the standing area {standing * reference_ha:.2f} ha (two final "
                        "harvests of one stand without replanting?)",
                    )
                )
                continue
            unplanted += _harvest(crops, want, pd.Timestamp(date))
        elif unplanted <= 1e-12:
            problems.append(
                Problem(
                    file,
                    where,
                    "operation",
                    f"replanting on {date} without a final harvest "
                    f"recorded after the register's planted_year ({register_fy})",
                )
            )
        elif not pd.isna(area_ha) and want > unplanted + 1e-6:
            problems.append(
                Problem(
                    file,
                    where,
                    "area_ha",
                    f"replanting of {area_ha} ha exceeds the felled "
                    f"area {unplanted * reference_ha:.2f} ha",
                )
            )
        else:
            take = unplanted if pd.isna(area_ha) else want
            crops.append(_Crop(take, int(fy), pd.Timestamp(date)))
            unplanted -= take
    return crops, problems


def build_cohorts(
    stands: pd.DataFrame,
    operations: pd.DataFrame,
    periods: tuple[Period, ...],
    *,
    file: str = "operations",
    keys: RegisterKeys | None = None,
) -> Cohorts:
    """Cohorts from the register crop and the final harvests / replantings after it.

    A final harvest or replanting in a fiscal year after the register's ``planted_year`` is applied
    (the register does not know it yet); earlier ones are history the register already reflects.
    Final harvests take area from the oldest standing crop first. ``keys``:
    :func:`~forestcarbon.methods.keys.register_keys` of the stands and operations (computed here
    when not given).

    Raises
    ------
    InputError
        A harvest larger than the standing area (e.g. two final harvests of one stand), a
        replanting without felled area, or a harvest inside a monitoring period that the register
        already replaced by the new crop (its emission could not be computed).
    """
    n = len(stands)
    stand = np.arange(n)
    share = np.ones(n)
    origin = stands["planted_year"].to_numpy(dtype=np.int64).copy()
    planted = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    harvested = planted.copy()
    extra: list[tuple[int, int, _Crop]] = []  # (group, stand row, crop)
    problems: list[Problem] = []
    keys = keys or register_keys(stands, operations)
    rows = np.flatnonzero(keys.operations_of(("final_harvest", "replanting")))
    fast_group = fast_stand = fast_origin = np.zeros(0, dtype=np.int64)
    fast_planted = _datetimes([])
    if len(rows):
        events = operations.iloc[rows].reset_index(drop=True)
        events["_row"] = keys.positions(rows)  # the stand's row in ``stands``
        events = events.sort_values(["stand_id", "date", "source_row"], kind="stable")
        at = events["_row"].to_numpy()
        fy = fiscal_year(events["date"])
        group = np.concatenate(
            [[0], np.cumsum(at[1:] != at[:-1])]
        )  # one group per stand, in stand id order
        simple = _whole_harvest_then_replanting(events, at, fy, group, origin)
        fast = np.flatnonzero(simple)
        one = events.iloc[fast]
        first = fast[np.r_[True, group[fast][1:] != group[fast][:-1]]] if len(fast) else fast
        harvest_rows = at[first]
        harvested[harvest_rows] = pd.to_datetime(events["date"].iloc[first]).to_numpy(
            dtype="datetime64[ns]"
        )
        replant = fast[one["operation"].to_numpy() == "replanting"]
        fast_stand, fast_group, fast_origin = at[replant], group[replant], fy[replant]
        fast_planted = _datetimes(pd.to_datetime(events["date"].iloc[replant]))
        general = ~simple
        _replay_all(
            events[general], at[general], group[general], fy[general], origin, stands,
            periods, file, share, harvested, extra, problems,
        )  # fmt: skip
    if problems:
        raise InputError(problems)
    crops = [c for _, _, c in extra]
    new = {  # the extra crops: replayed one by one, then on arrays
        "group": np.r_[np.array([g for g, _, _ in extra], dtype=np.int64), fast_group],
        "stand": np.r_[np.array([i for _, i, _ in extra], dtype=np.int64), fast_stand],
        "share": np.r_[np.array([c.share for c in crops], dtype=float), np.ones(len(fast_stand))],
        "origin": np.r_[np.array([c.origin_fy for c in crops], dtype=np.int64), fast_origin],
        "planted": np.r_[_datetimes([c.planted for c in crops]), fast_planted],
        "harvested": np.r_[
            _datetimes([c.harvested for c in crops]), _datetimes([pd.NaT] * len(fast_stand))
        ],
    }
    order = np.argsort(new["group"], kind="stable")  # stand by stand (id order), as replayed
    return Cohorts(
        np.concatenate([stand, new["stand"][order]]),
        np.concatenate([share, new["share"][order]]),
        np.concatenate([origin, new["origin"][order]]),
        np.concatenate([planted, new["planted"][order]]),
        np.concatenate([harvested, new["harvested"][order]]),
    )


def _datetimes(values) -> np.ndarray:
    """datetime64[ns] array of timestamps (NaT for none)."""
    return pd.DatetimeIndex(values).to_numpy(dtype="datetime64[ns]")


def _whole_harvest_then_replanting(events, at, fy, group, origin) -> np.ndarray:
    """Per event (sorted stand by stand): True where its stand's events are one final harvest of
    the whole stand after the register's planting year, then at most one replanting of all of it
    (the common case, replayed on arrays: the register crop is felled, the new crop takes its
    place)."""
    count = np.bincount(group)[group]
    first = np.r_[True, group[1:] != group[:-1]]
    harvest = events["operation"].to_numpy() == "final_harvest"
    whole = events["area_ha"].isna().to_numpy()
    head = first & harvest & whole & (fy > origin[at])  # a whole harvest the register lacks
    ok = np.zeros(len(at), dtype=bool)
    ok[first] = head[first]
    ok[~first] = ~harvest[~first] & whole[~first]  # the second: a whole replanting
    good_group = np.bincount(group, weights=ok) == np.bincount(group)
    return (count <= 2) & good_group[group]


def _replay_all(
    events, at, group, fy, origin, stands, periods, file, share, harvested, extra, problems
) -> None:
    """:func:`_replay` of each stand's events (sorted stand by stand); fills the register crops'
    ``share`` and ``harvested``, the ``extra`` crops and the ``problems``."""
    if not len(events):
        return
    reference = reference_area(stands)
    first_day = min(p.start for p in periods)
    rows = zip(
        events["source_row"].tolist(),
        events["date"].tolist(),
        events["operation"].tolist(),
        events["area_ha"].tolist(),
        fy.tolist(),
        strict=True,
    )
    keyed = zip(events["stand_id"].tolist(), at.tolist(), group.tolist(), rows, strict=True)
    for (sid, i, g), stand_events in itertools.groupby(keyed, key=lambda e: e[:3]):
        replayed = [event for _, _, _, event in stand_events]
        crops, p = _replay(sid, int(origin[i]), float(reference[i]), replayed, first_day, file)
        problems += p
        share[i], harvested[i] = crops[0].share, pd.Timestamp(crops[0].harvested).to_datetime64()
        extra += [(g, i, crop) for crop in crops[1:]]
