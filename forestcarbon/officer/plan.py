"""Stand plan updates: roll the register forward, find thinning candidates, forecast credits.

Everything here reuses the FO-001 engine so that each rule exists once:

- the state of a stand in a fiscal year (crops after final harvests and replantings, ages, volumes)
  comes from :func:`forestcarbon.fo001.build_cohorts` and the engine's standing-volume rule;
- the credits a thinning would make eligible are the difference between two engine runs
  (:func:`forestcarbon.fo001.compute_fo001`), without and with the planned thinning, so the
  eligibility rules, the treated-area rule, harvest emissions and the ruleset settings apply as in
  a monitoring run.

Fiscal years run 1 April - 31 March. "The register for FY Y" is the state at the end of FY Y
(31 March Y+1): every operation dated up to then is applied, ages are those reached in FY Y
(``Y - planted_year + 1``, FO-001.md §4) and volumes are the yield-table volumes at those ages.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import itertools
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from forestcarbon.core.exceptions import ForestCarbonError, InputError, Problem
from forestcarbon.core.files import csv_bytes, write_gpkg, write_outputs
from forestcarbon.core.params import load_table
from forestcarbon.inputs.program import ProgramInputs
from forestcarbon.inputs.readers import read_table
from forestcarbon.inputs.schemas import Column, TableSpec, parse_int, parse_species, validate
from forestcarbon.methods.fiscal import fiscal_year, fiscal_year_end, fiscal_year_period
from forestcarbon.methods.fo001 import (
    OPERATION_JA,
    Cohorts,
    build_cohorts,
    compute_fo001,
    main_cohort,
    natural_key_rank,
    reference_area,
    standing_volume,
)
from forestcarbon.methods.totals import credit_lower_bound, credited_tonnes, decimal_text, exact_sum
from forestcarbon.methods.uncertainty import interval, simulate_program

log = logging.getLogger("forestcarbon")

STATUSES = {
    "standing": "the register crop stands (立木)",
    "replanted": "felled and replanted after the register's planting year: the row shows the new "
    "crop (再造林)",
    "mixed_ages": "several crops after a partial final harvest and replanting; age of the youngest",
    "partly_felled": "part of the stand felled and not replanted",
    "felled": "felled (主伐) and not replanted: no crop, age 0",
    "not_yet_planted": "the register's planting year is after this fiscal year",
}
"""Values of the ``status`` column of a rolled-forward register."""

THINNING_RULES = TableSpec(
    "thinning_rules",
    (
        Column("species", parse_species, aliases=("樹種",)),
        Column("min_age", parse_int, min=1, max=400, unit="years", aliases=("最小林齢",)),
        Column("max_age", parse_int, min=1, max=400, unit="years", aliases=("最大林齢",)),
        Column(
            "min_years_between",
            parse_int,
            min=0,
            max=100,
            unit="years",
            aliases=("間伐間隔", "最短間隔"),
        ),
    ),
    unique=("species",),
)
"""Columns of a thinning-rules table (``[plan] thinning_rules``)."""


def next_fiscal_year(inputs: ProgramInputs) -> int:
    """The fiscal year after the last monitoring period (default year to plan)."""
    last = max(p.end for p in inputs.settings.periods)
    return int(fiscal_year([last])[0]) + 1


def crediting_years(inputs: ProgramInputs) -> tuple[int, int]:
    """First and last fiscal year of the crediting period (``[plan]`` settings)."""
    plan = inputs.settings.plan
    start = plan.crediting_start_fy or int(
        fiscal_year([min(p.start for p in inputs.settings.periods)])[0]
    )
    return start, start + plan.crediting_years - 1


def program_cohorts(inputs: ProgramInputs) -> Cohorts:
    """Crops of every stand after the recorded final harvests and replantings (engine rule)."""
    return build_cohorts(
        inputs.stands,
        inputs.operations,
        inputs.settings.periods,
        file=str(inputs.files.get("operations", "operations")),
    )


# --- register roll-forward ------------------------------------------------------------------------


def _operation_text(ops: pd.DataFrame) -> pd.Series:
    area = ops["area_ha"].map(lambda a: "" if pd.isna(a) else f" {a:g} ha")
    return ops["operation"] + " " + ops["date"].astype(str) + area


def crop_state(inputs: ProgramInputs, fy: int, *, cohorts: Cohorts | None = None) -> pd.DataFrame:
    """Crop of every stand at the end of fiscal year ``fy`` (the numbers of :func:`stand_state`).

    Returns
    -------
    DataFrame
        One row per stand in register order: stand_id, fiscal_year, planted_year (of the youngest
        standing crop; the felled crop's when none stands), age [years] (0 when no crop stands),
        volume_m3_ha [m3/ha] (stand mean over its crops; NaN without a yield curve, e.g. bamboo),
        volume_m3 [m3], standing_share [0-1], status (see :data:`STATUSES`), crops
        ("planting FY:share" of each standing crop).

    Notes
    -----
    FO-001.md §4: age ``a = Y - P + 1``; volume ``V(a)`` from the yield table (the engine's
    ``standing_volume`` at the last day of the year); a final harvest removes its crop, a
    replanting starts a new crop at age 1 in its fiscal year (:func:`~forestcarbon.fo001.
    build_cohorts`).
    """
    stands = inputs.stands
    n = len(stands)
    c = cohorts if cohorts is not None else program_cohorts(inputs)
    end = fiscal_year_end(fy)
    p_end = np.datetime64(end)
    curve = inputs.yields.curve_index(stands["species"], stands["site_class"])
    per_cohort = standing_volume(
        inputs.yields, np.where(curve < 0, 0, curve)[c.stand], c, end, inclusive=True
    )
    volume_ha = np.where(curve >= 0, np.bincount(c.stand, per_cohort, minlength=n), np.nan)
    standing = (
        (np.isnat(c.planted) | (c.planted <= p_end))
        & (np.isnat(c.harvested) | (c.harvested > p_end))
        & (fy - c.origin_fy + 1 >= 1)
    )
    standing_share = np.bincount(c.stand, np.where(standing, c.share, 0.0), minlength=n)
    n_standing = np.bincount(c.stand, standing.astype(float), minlength=n)
    main = main_cohort(c, n, p_end)
    planted_year = c.origin_fy[main]
    age = np.where(standing_share > 1e-9, np.maximum(fy - planted_year + 1, 0), 0)
    status = np.select(
        [
            planted_year > fy,
            standing_share <= 1e-9,
            standing_share < 1 - 1e-9,
            n_standing > 1,
            ~np.isnat(c.planted[main]),
        ],
        ["not_yet_planted", "felled", "partly_felled", "mixed_ages", "replanted"],
        "standing",
    )
    kept = np.flatnonzero(standing)
    order = kept[np.lexsort((c.origin_fy[kept], c.stand[kept]))]
    crops = [[] for _ in range(n)]
    for k in order:
        crops[c.stand[k]].append(f"{c.origin_fy[k]}:{c.share[k]:.3f}")
    return pd.DataFrame(
        {
            "stand_id": stands["stand_id"].to_numpy(),
            "fiscal_year": fy,
            "planted_year": planted_year,
            "age": age.astype(np.int64),
            "volume_m3_ha": volume_ha,
            "volume_m3": volume_ha * stands["stand_area_ha"].to_numpy(dtype=float),
            "standing_share": standing_share,
            "status": status,
            "crops": [";".join(x) for x in crops],
        }
    )


def stand_state(inputs: ProgramInputs, fy: int, *, cohorts: Cohorts | None = None) -> pd.DataFrame:
    """State of every stand at the end of fiscal year ``fy``: :func:`crop_state` plus the
    operations applied (last_thinning, last_operation, last_operation_date: dated up to the end
    of ``fy``; operations_in_fy: those dated within ``fy``)."""
    state = crop_state(inputs, fy, cohorts=cohorts)
    ids = inputs.stands["stand_id"]
    ops = inputs.operations
    done = ops[ops["date"] <= fiscal_year_end(fy)] if len(ops) else ops
    last = done.sort_values(["date", "source_row"], kind="stable").drop_duplicates(
        "stand_id", keep="last"
    )
    last = last.set_index("stand_id").reindex(ids)
    thinned = done[done["operation"] == "thinning"].groupby("stand_id")["date"].max()
    in_fy = ops[fiscal_year(ops["date"]) == fy] if len(ops) else ops
    in_fy_text = (
        in_fy.assign(text=_operation_text(in_fy)).groupby("stand_id")["text"].agg("; ".join)
        if len(in_fy)
        else pd.Series(dtype=str)
    )
    return state.assign(
        last_thinning=thinned.reindex(ids).map(_iso).to_numpy(),
        last_operation=last["operation"].fillna("").to_numpy(),
        last_operation_date=last["date"].map(_iso).to_numpy(),
        operations_in_fy=in_fy_text.reindex(ids).fillna("").to_numpy(),
    )


def _iso(value) -> str:
    return (
        ""
        if value is None or (not isinstance(value, dt.date) and pd.isna(value))
        else (value.isoformat())
    )


def roll_forward(
    inputs: ProgramInputs, fy: int, *, cohorts: Cohorts | None = None
) -> gpd.GeoDataFrame:
    """The stand register for fiscal year ``fy``, as a layer QGIS opens (working CRS).

    The register columns (stand_id, species, forest_type, site_class, protected, plan_id,
    area_ha, name) are kept, ``planted_year`` is that of the crop standing in ``fy`` (replanted
    stands reset to their replanting year), and the columns of :func:`stand_state` are added, so
    the layer can serve as next year's ``stands`` input.
    """
    state = stand_state(inputs, fy, cohorts=cohorts)
    reg = inputs.stands
    data = pd.DataFrame(
        {
            "stand_id": reg["stand_id"].to_numpy(),
            "species": reg["species"].to_numpy(),
            "forest_type": reg["forest_type"].to_numpy(),
            "site_class": reg["site_class"].to_numpy(),
            "protected": reg["protected"].to_numpy(dtype=bool),
            "plan_id": reg["plan_id"].to_numpy(),
            "area_ha": reg["area_ha"].to_numpy(dtype=float),
            "stand_area_ha": reg["stand_area_ha"].to_numpy(dtype=float),
            "name": reg["name"].to_numpy(),
        }
    )
    data = pd.concat([data, state.drop(columns="stand_id")], axis=1)
    return gpd.GeoDataFrame(data, geometry=reg.geometry.to_numpy(), crs=reg.crs)


def register_diff(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """What changed per stand between two rolled-forward registers (same stands, same order).

    Returns one row per stand: stand_id, species, changes (semicolon list: operations recorded
    in between, planted_year and status changes, or "aged"), from/to fiscal year, planted_year,
    age [years], volume [m3/ha] and [m3], status before and after, volume_change_m3 [m3] and
    (with :func:`update_register`) the operations recorded in between.
    """
    from_fy, to_fy = int(before["fiscal_year"].iloc[0]), int(after["fiscal_year"].iloc[0])
    out = pd.DataFrame(
        {
            "stand_id": after["stand_id"].to_numpy(),
            "species": after["species"].to_numpy(),
            "from_fy": from_fy,
            "to_fy": to_fy,
            "planted_year_before": before["planted_year"].to_numpy(),
            "planted_year_after": after["planted_year"].to_numpy(),
            "age_before": before["age"].to_numpy(),
            "age_after": after["age"].to_numpy(),
            "volume_before_m3_ha": before["volume_m3_ha"].to_numpy(),
            "volume_after_m3_ha": after["volume_m3_ha"].to_numpy(),
            "volume_before_m3": before["volume_m3"].to_numpy(),
            "volume_after_m3": after["volume_m3"].to_numpy(),
            "volume_change_m3": after["volume_m3"].to_numpy() - before["volume_m3"].to_numpy(),
            "status_before": before["status"].to_numpy(),
            "status_after": after["status"].to_numpy(),
        }
    )
    return out


def _diff_with_operations(diff: pd.DataFrame, inputs: ProgramInputs) -> pd.DataFrame:
    from_fy, to_fy = int(diff["from_fy"].iloc[0]), int(diff["to_fy"].iloc[0])
    ops = inputs.operations
    if len(ops):
        fy = fiscal_year(ops["date"])
        between = ops[(fy > from_fy) & (fy <= to_fy)]
    else:
        between = ops
    text = (
        between.assign(text=_operation_text(between)).groupby("stand_id")["text"].agg("; ".join)
        if len(between)
        else pd.Series(dtype=str)
    )
    kinds = (
        between.groupby("stand_id")["operation"].agg(lambda s: list(dict.fromkeys(s)))
        if len(between)
        else pd.Series(dtype=object)
    )
    changes = []
    for row, ops_kinds in zip(
        diff.itertuples(), kinds.reindex(diff["stand_id"]).to_numpy(), strict=True
    ):
        recorded = ops_kinds if isinstance(ops_kinds, list) else []
        items = [f"{k} ({OPERATION_JA.get(k, '')})" for k in recorded]
        if row.planted_year_before != row.planted_year_after:
            items.append(f"planted_year {row.planted_year_before} -> {row.planted_year_after}")
        if row.status_before != row.status_after:
            items.append(f"status {row.status_before} -> {row.status_after}")
        if not items:
            items.append("aged" if row.age_after != row.age_before else "no change")
        changes.append("; ".join(items))
    diff = diff.copy()
    diff.insert(2, "changes", changes)
    diff["operations"] = text.reindex(diff["stand_id"]).fillna("").to_numpy()
    return diff


def diff_text(diff: pd.DataFrame, *, program: str = "") -> str:
    """Short plain-text report of a register diff (Japanese + English labels)."""
    from_fy, to_fy = int(diff["from_fy"].iloc[0]), int(diff["to_fy"].iloc[0])
    vol_before = float(np.nansum(diff["volume_before_m3"]))
    vol_after = float(np.nansum(diff["volume_after_m3"]))
    lines = [
        f"{program}".strip(),
        f"台帳更新 Register roll-forward FY{from_fy} -> FY{to_fy}",
        f"  stands 小班: {len(diff)}",
        f"  standing volume 蓄積: {vol_before:,.0f} -> {vol_after:,.0f} m3 "
        f"({vol_after - vol_before:+,.0f} m3)",
    ]
    counts = diff["status_after"].value_counts().sort_index()
    lines.append(f"  status 状態 (FY{to_fy}): " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    special = diff[~diff["changes"].isin(["aged", "no change"])]
    lines.append(f"  stands with operations or status changes 施業・状態の変化: {len(special)}")
    order = natural_key_rank(special["stand_id"])
    for row in special.iloc[np.argsort(order, kind="stable")].itertuples():
        lines.append(f"    {row.stand_id}: {row.changes}")
    return "\n".join(line for line in lines if line) + "\n"


def update_register(
    inputs: ProgramInputs,
    to_fy: int,
    *,
    from_fy: int | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write the register for ``to_fy`` beside the old one, with a diff report.

    Writes ``stands_fy{to_fy}.gpkg`` (layer ``stands_fy{to_fy}``, working CRS) in the program
    folder, or ``out``, plus ``<name>_diff.csv`` and ``<name>_diff.txt`` comparing with the
    register for ``from_fy`` (default ``to_fy - 1``). All files are written or none.
    """

    from_fy = to_fy - 1 if from_fy is None else from_fy
    if from_fy >= to_fy:
        raise InputError(
            Problem(
                "register update", "", "--from-fy", f"must be before --to-fy ({from_fy} >= {to_fy})"
            )
        )
    target = Path(out) if out else inputs.program_dir / f"stands_fy{to_fy}.gpkg"
    if target.suffix.lower() != ".gpkg":
        raise InputError(Problem(str(target), "", "--out", "expected a .gpkg file name"))
    cohorts = program_cohorts(inputs)
    after = roll_forward(inputs, to_fy, cohorts=cohorts)
    before = roll_forward(inputs, from_fy, cohorts=cohorts)
    diff = _diff_with_operations(register_diff(before, after), inputs)
    text = diff_text(diff, program=inputs.settings.program.name)
    layer = f"stands_fy{to_fy}"
    stem = target.stem
    outputs = {
        target.name: lambda path: write_gpkg(after, path, layer=layer),
        f"{stem}_diff.csv": csv_bytes(diff),
        f"{stem}_diff.txt": text.encode("utf-8"),
    }
    return write_outputs(target.parent, outputs, overwrite=overwrite)


# --- thinning candidates --------------------------------------------------------------------------


def thinning_rules(inputs: ProgramInputs) -> pd.DataFrame:
    """Thinning rules per species: min_age, max_age, min_years_between [years].

    From the program's ``[plan] thinning_rules`` CSV when set, else the packaged
    ``thinning_rules`` table (design defaults, ``verified = false``). Species without a row are
    never candidates.
    """
    name = inputs.settings.plan.thinning_rules
    if name:
        path = inputs.program_dir / name
        table, problems = validate(read_table(path), THINNING_RULES, str(path))
        file = str(path)
    else:
        table = load_table("thinning_rules")
        problems, file = [], "thinning_rules"
    if not problems:
        for row in table.itertuples():
            if row.min_age > row.max_age:
                problems.append(
                    Problem(
                        file,
                        str(row.species),
                        "min_age",
                        f"min_age {row.min_age} is above max_age {row.max_age}",
                    )
                )
    if problems:
        raise InputError(problems)
    cols = ["min_age", "max_age", "min_years_between"]
    return table.set_index("species")[cols].astype(np.int64)


def _last_thinning_fy(inputs: ProgramInputs, fy: int) -> pd.Series:
    """Fiscal year of each stand's last thinning on or before the end of ``fy`` (NaN: never)."""
    ops = inputs.operations
    thin = ops[(ops["operation"] == "thinning") & (ops["date"] <= fiscal_year_end(fy))]
    if thin.empty:
        return pd.Series(np.nan, index=inputs.stands["stand_id"])
    last = pd.Series(fiscal_year(thin["date"]), index=thin.index).groupby(thin["stand_id"]).max()
    return last.reindex(inputs.stands["stand_id"]).astype(float)


def _harvest_scheduled(inputs: ProgramInputs, fy: int) -> np.ndarray:
    """Stands with a final harvest recorded on or after the start of ``fy``."""
    ops = inputs.operations
    later = ops[(ops["operation"] == "final_harvest") & (ops["date"] >= dt.date(fy, 4, 1))]
    return inputs.stands["stand_id"].isin(later["stand_id"]).to_numpy()


def candidate_mask(
    inputs: ProgramInputs, fy: int, rules: pd.DataFrame, *, cohorts: Cohorts | None = None
) -> tuple[np.ndarray, pd.DataFrame]:
    """Which stands the thinning rules allow to thin in fiscal year ``fy``, and why.

    A candidate is planted forest (人工林) in a management plan (森林経営計画) whose crop stands,
    whose species has a rule, whose age in ``fy`` is within [min_age, max_age], whose last
    thinning is at least ``min_years_between`` years back (or never), and with no final harvest
    recorded from ``fy`` on.

    Returns
    -------
    mask : ndarray of bool, one per stand (register order)
    detail : DataFrame
        age, last_thinning_fy, years_since_thinning (NaN: never), rule (text; candidates only)
        per stand.
    """
    stands = inputs.stands
    state = crop_state(inputs, fy, cohorts=cohorts)
    rule = rules.reindex(stands["species"].to_numpy())
    age = state["age"].to_numpy()
    last_fy = _last_thinning_fy(inputs, fy).to_numpy()
    since = fy - last_fy
    has_rule = rule["min_age"].notna().to_numpy()
    min_age = rule["min_age"].fillna(0).to_numpy()
    max_age = rule["max_age"].fillna(-1).to_numpy()
    between = rule["min_years_between"].fillna(0).to_numpy()
    mask = (
        stands["forest_type"].eq("planted").to_numpy()
        & stands["plan_id"].str.strip().ne("").to_numpy()
        & np.isin(state["status"].to_numpy(), ["standing", "replanted", "mixed_ages"])
        & has_rule
        & (age >= min_age)
        & (age <= max_age)
        & (np.isnan(since) | (since >= between))
        & ~_harvest_scheduled(inputs, fy)
    )
    text = np.full(len(stands), "", dtype=object)
    for i in np.flatnonzero(mask):
        last = (
            "never thinned"
            if np.isnan(since[i])
            else f"last thinning FY{int(last_fy[i])} ({int(since[i])} >= {int(between[i])} years)"
        )
        text[i] = (
            f"{stands['species'].iloc[i]} age {age[i]} in {int(min_age[i])}-{int(max_age[i])}; "
            + last
        )
    detail = pd.DataFrame(
        {"age": age, "last_thinning_fy": last_fy, "years_since_thinning": since, "rule": text}
    )
    return mask, detail


def _planned_thinning(inputs: ProgramInputs, idx: np.ndarray, fy: int, cohorts) -> pd.DataFrame:
    """Whole-stand thinnings of stands ``idx`` dated the first day of ``fy`` (hypothetical)."""
    stands = inputs.stands.iloc[idx]
    volume = np.full(len(idx), np.nan)
    if inputs.settings.fo001.thinning_accounting == "explicit":
        before = crop_state(inputs, fy - 1, cohorts=cohorts)["volume_m3"].to_numpy()[idx]
        volume = inputs.settings.plan.thinning_volume_share * np.nan_to_num(before)
    return pd.DataFrame(
        {
            "stand_id": stands["stand_id"].to_numpy(),
            "date": dt.date(fy, 4, 1),
            "operation": "thinning",
            "area_ha": reference_area(stands),
            "volume_m3": volume,
            "note": "planned",
            "source_row": 10**9 + np.arange(len(idx)),
        }
    )


def _net_by_year(
    inputs: ProgramInputs, idx: np.ndarray, years: list[int], extra: pd.DataFrame | None = None
) -> np.ndarray:
    """Credited net removals [t-CO2] of stands ``idx`` per fiscal year (engine run), shape
    (len(idx), len(years)); ``extra`` operations are added to the recorded ones."""
    if len(idx) == 0 or not years:
        return np.zeros((len(idx), len(years)))
    stands = inputs.stands.iloc[idx].reset_index(drop=True)
    ops = inputs.operations[inputs.operations["stand_id"].isin(stands["stand_id"])]
    if extra is not None:
        ops = pd.concat([ops, extra], ignore_index=True)
    ops = ops.sort_values(["stand_id", "date", "source_row"], kind="stable").reset_index(drop=True)
    periods = tuple(fiscal_year_period(y) for y in years)
    fo = compute_fo001(stands, ops, inputs.yields, periods, inputs.settings.fo001)
    table = fo.pivot(index="stand_id", columns="period", values="net_tco2")
    return table.reindex(index=stands["stand_id"], columns=[p.label for p in periods]).to_numpy()


def added_credits(inputs: ProgramInputs, idx: np.ndarray, fy: int, years: list[int]) -> np.ndarray:
    """Creditable net removals [t-CO2] a whole-stand thinning in ``fy`` adds, per stand ``idx``
    and fiscal year of ``years``: engine run with the thinning minus engine run without."""
    years = [y for y in years if y >= fy]
    with_thinning = _net_by_year(inputs, idx, years, _planned_thinning(inputs, idx, fy, None))
    return with_thinning - _net_by_year(inputs, idx, years)


def thinning_candidates(inputs: ProgramInputs, fy: int) -> gpd.GeoDataFrame:
    """Stands the thinning rules allow to thin in fiscal year ``fy``, with the credits a
    whole-stand thinning would make eligible over the rest of the crediting period.

    Returns
    -------
    GeoDataFrame (working CRS), sorted by added_tco2_per_ha (descending) then stand id:
        stand_id, fiscal_year, species, forest_type, site_class, plan_id, age [years],
        last_thinning_fy, years_since_thinning, thinning_area_ha [ha] (register area, else
        geometry), eligible_now (credited in ``fy`` without thinning), added_tco2 [t-CO2] over
        FY ``fy`` .. end of the crediting period, added_tco2_per_ha, crediting_years, rule.

    Notes
    -----
    ``added_tco2`` is the difference of two FO-001 engine runs (with / without the planned
    thinning), so eligibility (FO-001.md §3: qualifying work since FY1990), the treated-area rule
    and every ruleset setting apply. A stand already fully eligible adds 0: thinning it is still
    good silviculture but makes no new credits.
    """
    cohorts = program_cohorts(inputs)
    rules = thinning_rules(inputs)
    mask, detail = candidate_mask(inputs, fy, rules, cohorts=cohorts)
    idx = np.flatnonzero(mask)
    first, last = crediting_years(inputs)
    years = list(range(max(fy, first), last + 1))
    gains = added_credits(inputs, idx, fy, years) if years else np.zeros((len(idx), 0))
    base_now = _net_by_year(inputs, idx, [fy]) if len(idx) else np.zeros((0, 1))
    eligible_now = _eligible(inputs, idx, fy)
    stands = inputs.stands.iloc[idx]
    area = reference_area(stands)
    added = gains.sum(axis=1)
    table = pd.DataFrame(
        {
            "stand_id": stands["stand_id"].to_numpy(),
            "fiscal_year": fy,
            "species": stands["species"].to_numpy(),
            "forest_type": stands["forest_type"].to_numpy(),
            "site_class": stands["site_class"].to_numpy(),
            "plan_id": stands["plan_id"].to_numpy(),
            "age": detail["age"].to_numpy()[idx],
            "last_thinning_fy": detail["last_thinning_fy"].to_numpy()[idx],
            "years_since_thinning": detail["years_since_thinning"].to_numpy()[idx],
            "thinning_area_ha": area,
            "eligible_now": eligible_now,
            "net_now_tco2": base_now[:, 0],
            "added_tco2": added,
            "added_tco2_per_ha": np.divide(added, area, out=np.zeros(len(idx)), where=area > 0),
            "crediting_years": f"FY{years[0]}-FY{years[-1]}" if years else "",
            "rule": detail["rule"].to_numpy()[idx],
        }
    )
    order = np.lexsort(
        (natural_key_rank(table["stand_id"]), -np.round(table["added_tco2_per_ha"], 6))
    )
    table = table.iloc[order].reset_index(drop=True)
    geoms = inputs.stands.set_index("stand_id").geometry.reindex(table["stand_id"])
    return gpd.GeoDataFrame(table, geometry=geoms.to_numpy(), crs=inputs.stands.crs)


def _eligible(inputs: ProgramInputs, idx: np.ndarray, fy: int) -> np.ndarray:
    if len(idx) == 0:
        return np.zeros(0, dtype=bool)
    stands = inputs.stands.iloc[idx].reset_index(drop=True)
    ops = inputs.operations[inputs.operations["stand_id"].isin(stands["stand_id"])]
    fo = compute_fo001(stands, ops, inputs.yields, (fiscal_year_period(fy),), inputs.settings.fo001)
    return fo.set_index("stand_id")["eligible"].reindex(stands["stand_id"]).to_numpy(dtype=bool)


def candidates_outputs(candidates: gpd.GeoDataFrame, fy: int) -> dict:
    """Output files of ``plan candidates``: CSV, and a GeoPackage layer ``thinning_candidates``
    for QGIS and the web map."""
    name = f"thinning_candidates_fy{fy}"
    table = pd.DataFrame(candidates.drop(columns="geometry"))
    return {
        f"{name}.csv": csv_bytes(table),
        f"{name}.gpkg": lambda path: write_gpkg(candidates, path, layer="thinning_candidates"),
    }


def candidates_text(candidates: pd.DataFrame, fy: int, *, top: int = 20) -> str:
    """Plain-text summary of the candidates (Japanese + English labels)."""
    gain = candidates[candidates["added_tco2"] > 1e-9]
    lines = [
        f"間伐候補 Thinning candidates FY{fy}: {len(candidates)} stands, "
        f"{candidates['thinning_area_ha'].sum():.1f} ha",
        f"  adding credits 新たにクレジット対象: {len(gain)} stands, "
        f"{gain['thinning_area_ha'].sum():.1f} ha, {gain['added_tco2'].sum():,.1f} t-CO2 over "
        f"{candidates['crediting_years'].iloc[0] if len(candidates) else '-'}",
        f"  {'stand':<10}{'species':<10}{'age':>5}{'ha':>8}{'t-CO2':>11}{'t/ha':>8}",
    ]
    for r in candidates.head(top).itertuples():
        lines.append(
            f"  {r.stand_id:<10}{r.species:<10}{r.age:>5}{r.thinning_area_ha:>8.2f}"
            f"{r.added_tco2:>11.1f}{r.added_tco2_per_ha:>8.1f}"
        )
    if len(candidates) > top:
        lines.append(f"  ... {len(candidates) - top} more in the CSV")
    return "\n".join(lines) + "\n"


# --- choosing within a budget ---------------------------------------------------------------------


MILP_NODE_LIMIT = 500
"""Branch-and-bound nodes the integer program may explore (a work limit, not a time limit, so
the plan found is the same on every run). Small programs are solved to proven optimality well
within it; for hundreds of candidate stands it stops with the best plan found and a proven
bound (see benchmarks/bench_plan.py)."""


@dataclasses.dataclass(frozen=True)
class MilpPlan:
    """Result of :func:`solve_milp`: the plan, its value and the proven upper bound [t-CO2]."""

    chosen: np.ndarray
    value_tco2: float
    bound_tco2: float
    optimal: bool


def choose_thinning(
    value: np.ndarray, area_ha: np.ndarray, budget_ha: float, *, method: str = "greedy"
) -> np.ndarray:
    """Which year (column) to thin each stand (row) so as to maximise the total value, thinning
    at most ``budget_ha`` per year and each stand at most once.

    Parameters
    ----------
    value : ndarray, shape (n_stands, n_years)
        Creditable removals [t-CO2] if the stand is thinned in that year; NaN where the rules do
        not allow it. Pairs with value <= 0 are never chosen.
    area_ha : ndarray, shape (n_stands,)
        Area each thinning uses from the budget [ha].
    budget_ha : float
        Thinning area per year [ha].
    method : {"greedy", "milp"}
        ``greedy``: take (stand, year) pairs in order and keep each if the stand is still free
        and the year's budget allows; once ordered by creditable removals per ha, once by
        creditable removals, and the better plan is returned. ``milp``: the integer program
        (:func:`solve_milp`), optimal when proven within :data:`MILP_NODE_LIMIT` nodes.

    Returns
    -------
    ndarray of int, shape (n_stands,): year index chosen, -1 for not thinned.
    """
    if method == "greedy":
        value = np.asarray(value, dtype=float)
        area = np.asarray(area_ha, dtype=float)
        return _greedy(value, area, budget_ha, _allowed(value, area, budget_ha))
    if method == "milp":
        return solve_milp(value, area_ha, budget_ha).chosen
    raise ValueError(f"method must be 'greedy' or 'milp', got {method!r}")


def _allowed(value: np.ndarray, area: np.ndarray, budget: float) -> np.ndarray:
    return np.isfinite(value) & (value > 0) & (area[:, None] <= budget + 1e-9)


def _greedy(value, area, budget, allowed) -> np.ndarray:
    """The better of two greedy passes: by t-CO2 per ha, and by t-CO2 (the second keeps a large
    stand that small dense ones would crowd out; together the classic knapsack safeguard)."""
    s_idx, t_idx = np.nonzero(allowed)
    v = np.round(value[s_idx, t_idx], 6)  # ties are broken by stand and year, not by noise
    density = np.round(v / area[s_idx], 6)
    best, best_total = None, -1.0
    for order in (
        np.lexsort((t_idx, s_idx, -v, -density)),
        np.lexsort((t_idx, s_idx, -density, -v)),
    ):
        chosen = _first_fit(order, s_idx, t_idx, area, budget, value.shape)
        total = plan_value(value, chosen)
        if total > best_total + 1e-9:
            best, best_total = chosen, total
    return best


def _first_fit(order, s_idx, t_idx, area, budget, shape) -> np.ndarray:
    used = np.zeros(shape[1])
    chosen = np.full(shape[0], -1, dtype=np.int64)
    for k in order:
        s, t = s_idx[k], t_idx[k]
        if chosen[s] < 0 and used[t] + area[s] <= budget + 1e-9:
            chosen[s] = t
            used[t] += area[s]
    return chosen


@contextlib.contextmanager
def _quiet_stderr():
    """Silence file descriptor 2 (C libraries' messages) for the duration of the block."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def solve_exhaustive(value: np.ndarray, area_ha: np.ndarray, budget_ha: float) -> float:
    """Best total value [t-CO2] over every assignment of a year (or none) to each stand.

    Exact but exponential ((years + 1) ** stands): for checking the other solvers on small cases.
    ``value[s, t]`` is NaN/inf where stand ``s`` may not be thinned in year ``t``.
    """
    n, t = value.shape
    best = 0.0
    for choice in itertools.product(range(-1, t), repeat=n):
        used = np.zeros(t)
        total = 0.0
        for s, y in enumerate(choice):
            if y < 0:
                continue
            if not np.isfinite(value[s, y]):
                break
            used[y] += area_ha[s]
            total += value[s, y]
        else:
            if (used <= budget_ha + 1e-9).all():
                best = max(best, total)
    return best


def solve_milp(
    value: np.ndarray,
    area_ha: np.ndarray,
    budget_ha: float,
    *,
    node_limit: int = MILP_NODE_LIMIT,
) -> MilpPlan:
    """The thinning choice as an integer program, solved with scipy's HiGHS
    (:func:`scipy.optimize.milp`): binary x[s, t] for each allowed (stand, year); at most one
    year per stand; thinned area per year <= ``budget_ha``; maximise the value.
    """
    try:
        from scipy.optimize import Bounds, LinearConstraint, milp
        from scipy.sparse import coo_array
    except ImportError:  # pragma: no cover - scipy comes with scikit-learn
        raise ForestCarbonError(
            "the integer program needs scipy: pip install 'forestcarbon[plan]'"
        ) from None
    value = np.asarray(value, dtype=float)
    area = np.asarray(area_ha, dtype=float)
    n, n_years = value.shape
    chosen = np.full(n, -1, dtype=np.int64)
    s_idx, t_idx = np.nonzero(_allowed(value, area, budget_ha))
    m = len(s_idx)
    if m == 0:
        return MilpPlan(chosen, 0.0, 0.0, True)
    cols = np.arange(m)
    one_year = coo_array((np.ones(m), (s_idx, cols)), shape=(n, m)).tocsr()
    per_year = coo_array((area[s_idx], (t_idx, cols)), shape=(n_years, m)).tocsr()
    with _quiet_stderr():  # HiGHS prints solver diagnostics straight to the C stderr
        result = milp(
            -value[s_idx, t_idx],
            constraints=[
                LinearConstraint(one_year, -np.inf, 1),
                LinearConstraint(per_year, -np.inf, budget_ha),
            ],
            integrality=np.ones(m),
            bounds=Bounds(0, 1),
            options={"mip_rel_gap": 0.0, "node_limit": node_limit},
        )
    if result.x is None:
        raise ForestCarbonError(f"the integer program found no plan: {result.message}")
    pick = result.x > 0.5
    chosen[s_idx[pick]] = t_idx[pick]
    best = plan_value(value, chosen)
    bound = getattr(result, "mip_dual_bound", None)
    bound = best if result.status == 0 or bound is None else max(best, -bound)
    return MilpPlan(chosen, best, bound, result.status == 0)


def plan_value(value: np.ndarray, chosen: np.ndarray) -> float:
    """Total value [t-CO2] of a choice from :func:`choose_thinning`."""
    rows = np.flatnonzero(chosen >= 0)
    return float(np.sum(value[rows, chosen[rows]]))


# --- forecast -------------------------------------------------------------------------------------

UncertaintyBand = Callable[[pd.DataFrame], tuple[np.ndarray, np.ndarray]]
"""Uncertainty band of a forecast: given the forecast net per stand and fiscal year (columns
stand_id, fiscal_year, period, species, site_class, eligible, net_tco2 [t-CO2], planned thinning
included), return the low and high program total [t-CO2] of each forecast year, in year order.
:func:`monte_carlo_band` is the one built from ``[uncertainty]``; another error model (e.g. of
areas or of the growth after thinning) can be passed to :func:`forecast` the same way."""


def monte_carlo_band(settings) -> UncertaintyBand | None:
    """The program's Monte Carlo interval (``[uncertainty]`` draws, seed, coverage;
    :func:`forestcarbon.uncertainty.simulate`) as a forecast band; None when draws = 0."""
    u = settings.uncertainty
    if u.draws == 0:
        return None

    def band(per_stand: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:

        _, totals = simulate_program(per_stand, None, settings)
        labels = per_stand.drop_duplicates("fiscal_year").sort_values("fiscal_year")["period"]
        low, high = [], []
        for label in labels:
            _, lo, hi = interval(np.asarray(totals[("FO-001", label)]), u.coverage)
            low.append(float(lo))
            high.append(float(hi))
        return np.array(low), np.array(high)

    return band


@dataclasses.dataclass(frozen=True)
class ThinningOptions:
    """What thinning each candidate stand in each forecast year would add.

    Attributes
    ----------
    horizon : list of int
        Forecast fiscal years.
    credited : ndarray of bool
        Whether each forecast year lies in the crediting period.
    candidates : ndarray of int
        Register positions of the stands the rules allow to thin in at least one year.
    ages : ndarray, shape (n_stands, n_years)
        Age of every stand in every forecast year [years].
    base : ndarray, shape (n_stands, n_years)
        Credited net removals [t-CO2] of every stand without new thinning (engine run).
    gains : ndarray, shape (n_candidates, n_years, n_years)
        Added credited net [t-CO2] in year j (last axis) of a thinning in year k (middle axis).
    value : ndarray, shape (n_candidates, n_years)
        Added creditable removals [t-CO2] over the forecast years in the crediting period of a
        thinning in year k; NaN where the rules do not allow it.
    area : ndarray
        Thinning area of each candidate [ha] (register area, else the stand area).
    """

    horizon: list
    credited: np.ndarray
    candidates: np.ndarray
    ages: np.ndarray
    base: np.ndarray
    gains: np.ndarray
    value: np.ndarray
    area: np.ndarray


def thinning_options(inputs: ProgramInputs, *, start_fy: int, years: int) -> ThinningOptions:
    """Engine runs for the forecast: each year's candidates (:func:`candidate_mask`) and what
    a whole-stand thinning of each would add (with-minus-without, as :func:`added_credits`)."""
    horizon = list(range(start_fy, start_fy + years))
    first, last = crediting_years(inputs)
    credited = np.array([first <= y <= last for y in horizon])
    cohorts = program_cohorts(inputs)
    rules = thinning_rules(inputs)
    n = len(inputs.stands)
    allowed = np.zeros((n, len(horizon)), dtype=bool)
    ages = np.zeros((n, len(horizon)), dtype=np.int64)
    for k, fy in enumerate(horizon):
        mask, detail = candidate_mask(inputs, fy, rules, cohorts=cohorts)
        allowed[:, k], ages[:, k] = mask, detail["age"].to_numpy()
    cand = np.flatnonzero(allowed.any(axis=1))
    log.info("forecast FY%d-FY%d: %d candidate stands", horizon[0], horizon[-1], len(cand))
    base = _net_by_year(inputs, np.arange(n), horizon)
    gains = np.zeros((len(cand), len(horizon), len(horizon)))
    value = np.full((len(cand), len(horizon)), np.nan)
    for k, fy in enumerate(horizon):
        rows = np.flatnonzero(allowed[cand, k])
        if len(rows) == 0:
            continue
        idx = cand[rows]
        extra = _planned_thinning(inputs, idx, fy, cohorts)
        gain = _net_by_year(inputs, idx, horizon[k:], extra) - base[idx, k:]
        gains[rows, k, k:] = gain
        value[rows, k] = (gain * credited[k:]).sum(axis=1)
    area = reference_area(inputs.stands.iloc[cand]) if len(cand) else np.zeros(0)
    return ThinningOptions(horizon, credited, cand, ages, base, gains, value, area)


@dataclasses.dataclass
class Forecast:
    """A credit forecast: per fiscal year, the thinning schedule, and how it was chosen."""

    years: pd.DataFrame
    schedule: pd.DataFrame
    method: str
    budget_ha: float
    value_tco2: float
    greedy_tco2: float
    best_tco2: float | None
    bound_tco2: float | None
    optimal: bool | None
    text: str = ""


def forecast(
    inputs: ProgramInputs,
    *,
    start_fy: int,
    years: int,
    budget_ha: float,
    method: str = "greedy",
    band: UncertaintyBand | str | None = "settings",
    compare: bool = True,
) -> Forecast:
    """Forecast creditable removals per fiscal year with a thinning plan chosen within a budget.

    Each year of ``start_fy .. start_fy + years - 1`` the thinning rules
    (:func:`candidate_mask`) give the stands that may be thinned; a stand thinned in year t adds
    the creditable removals of the years from t to the end of the forecast that lie in the
    crediting period (engine runs with and without the thinning, :func:`added_credits`). The
    stands and years are chosen by :func:`choose_thinning`, at most ``budget_ha`` per year.

    Parameters
    ----------
    budget_ha : float
        Thinning area per fiscal year [ha].
    method : {"greedy", "milp"}
    band : callable, "settings" or None
        Uncertainty band (:data:`UncertaintyBand`); "settings" (default): the program's Monte
        Carlo model (:func:`monte_carlo_band`, off when ``[uncertainty] draws = 0``); None: no
        band.
    compare : bool
        With the greedy method, also solve the integer program (:func:`solve_milp`, when scipy
        is available), so the text reports both plans and the proven bound.

    Returns
    -------
    Forecast
        ``years``: fiscal_year, in_crediting_period, baseline_tco2 (stands credited without new
        thinning), added_tco2 (from the planned thinnings), total_tco2, credits_t (whole
        t-CO2, truncated once per year, buffer applied, from the lower bound of the band when
        ``[uncertainty] credit_basis = "lower_bound"``; 0 outside the crediting period),
        thinned_ha, n_thinned, total_low_tco2, total_high_tco2. ``schedule``: stand_id,
        fiscal_year, species, age, thinning_area_ha, added_tco2, added_tco2_per_ha.
    """
    problems = []
    if years < 1:
        problems.append(Problem("plan forecast", "", "--years", f"expected >= 1, got {years}"))
    if not budget_ha >= 0:
        problems.append(
            Problem(
                "plan forecast", "", "--thinning-ha-per-year", f"expected >= 0, got {budget_ha}"
            )
        )
    if problems:
        raise InputError(problems)
    o = thinning_options(inputs, start_fy=start_fy, years=years)
    horizon, credited, stands, n = o.horizon, o.credited, inputs.stands, len(inputs.stands)
    cand, base, gains, value, area, ages = o.candidates, o.base, o.gains, o.value, o.area, o.ages
    first, last = crediting_years(inputs)
    milp = None
    if len(cand) and (method == "milp" or compare):
        try:
            milp = solve_milp(value, area, budget_ha)
        except ForestCarbonError:
            if method == "milp":
                raise
    greedy = choose_thinning(value, area, budget_ha)
    chosen = milp.chosen if method == "milp" else greedy
    total_value = plan_value(value, chosen) if len(cand) else 0.0
    picked = np.flatnonzero(chosen >= 0)
    added = np.array([gains[picked, chosen[picked], j] for j in range(len(horizon))]).reshape(
        len(horizon), len(picked)
    )
    buffer = inputs.settings.fo001.buffer_rate
    rows = []
    for j, fy in enumerate(horizon):
        baseline = exact_sum(base[:, j])
        plus = exact_sum(added[j])
        total = baseline + plus
        in_year = picked[chosen[picked] == j]
        rows.append(
            {
                "fiscal_year": fy,
                "in_crediting_period": bool(credited[j]),
                "baseline_tco2": decimal_text(baseline),
                "added_tco2": decimal_text(plus),
                "total_tco2": decimal_text(total),
                "credits_t": credited_tonnes(total, buffer) if credited[j] else 0,
                "buffer_rate": buffer,
                "thinned_ha": round(float(area[in_year].sum()), 4),
                "n_thinned": len(in_year),
            }
        )
    table = pd.DataFrame(rows).drop(columns="buffer_rate")
    low = high = np.full(len(table), np.nan)
    if isinstance(band, str):
        band = monte_carlo_band(inputs.settings)
    if band is not None:
        net = base.copy()
        for p in picked:
            net[cand[p]] += gains[p, chosen[p]]
        per_stand = pd.DataFrame(
            {
                "stand_id": np.tile(stands["stand_id"].to_numpy(), len(horizon)),
                "fiscal_year": np.repeat(horizon, n),
                "period": np.repeat([fiscal_year_period(y).label for y in horizon], n),
                "species": np.tile(stands["species"].to_numpy(), len(horizon)),
                "site_class": np.tile(stands["site_class"].to_numpy(), len(horizon)),
                "eligible": True,
                "net_tco2": net.T.reshape(-1),
            }
        )
        low, high = (np.asarray(a, dtype=float) for a in band(per_stand))
        if inputs.settings.uncertainty.credit_basis == "lower_bound":
            rows = credit_lower_bound(
                [{**r, "methodology": "FO-001", "period": r["fiscal_year"]} for r in rows],
                pd.DataFrame({"methodology": "FO-001", "period": horizon, "total_low_tco2": low}),
            )
            table["credits_t"] = [
                r["credits_t"] if c else 0 for r, c in zip(rows, credited, strict=True)
            ]
    table["total_low_tco2"] = low
    table["total_high_tco2"] = high
    sel = stands.iloc[cand[picked]]
    schedule = pd.DataFrame(
        {
            "stand_id": sel["stand_id"].to_numpy(),
            "fiscal_year": [horizon[chosen[p]] for p in picked],
            "species": sel["species"].to_numpy(),
            "age": ages[cand[picked], chosen[picked]],
            "thinning_area_ha": area[picked],
            "added_tco2": value[picked, chosen[picked]],
        }
    )
    schedule["added_tco2_per_ha"] = schedule["added_tco2"] / schedule["thinning_area_ha"]
    order = np.lexsort((natural_key_rank(schedule["stand_id"]), schedule["fiscal_year"]))
    schedule = schedule.iloc[order].reset_index(drop=True)
    result = Forecast(
        table,
        schedule,
        method,
        budget_ha,
        total_value,
        plan_value(value, greedy) if len(cand) else 0.0,
        milp.value_tco2 if milp else None,
        milp.bound_tco2 if milp else None,
        milp.optimal if milp else None,
    )
    result.text = forecast_text(result, inputs, (first, last))
    return result


def forecast_text(result: Forecast, inputs: ProgramInputs, crediting: tuple[int, int]) -> str:
    """Plain-text report of a forecast (Japanese + English labels)."""
    t = result.years
    lines = [
        inputs.settings.program.name,
        f"クレジット見込み Credit forecast FY{t['fiscal_year'].iloc[0]}-FY"
        f"{t['fiscal_year'].iloc[-1]} (crediting period FY{crediting[0]}-FY{crediting[1]})",
        f"  thinning budget 間伐面積: {result.budget_ha:g} ha/year; method: {result.method}",
        f"  creditable removals added by the plan: {result.value_tco2:,.1f} t-CO2",
    ]
    if result.best_tco2 is not None:
        proof = (
            "proven optimal"
            if result.optimal
            else f"the optimum is at most {result.bound_tco2:,.1f} t-CO2 (proven bound after "
            f"{MILP_NODE_LIMIT} nodes)"
        )
        lines.append(f"  integer program (HiGHS): {result.best_tco2:,.1f} t-CO2, {proof}")
        best = max(result.best_tco2, result.greedy_tco2)
        share = result.greedy_tco2 / best if best > 0 else 1.0
        floor = result.greedy_tco2 / result.bound_tco2 if result.bound_tco2 > 0 else 1.0
        lines.append(
            f"  greedy (most credits per ha first): {result.greedy_tco2:,.1f} t-CO2, "
            f"{share:.2%} of the best plan found and at least {floor:.2%} of the optimum"
        )
    lines.append(
        f"  {'FY':<6}{'baseline t':>13}{'added t':>11}{'total t':>13}{'credits':>9}"
        f"{'thinned ha':>12}"
    )
    for r in t.itertuples():
        mark = "" if r.in_crediting_period else "  (outside crediting period)"
        lines.append(
            f"  {r.fiscal_year:<6}{float(r.baseline_tco2):>13,.1f}{float(r.added_tco2):>11,.1f}"
            f"{float(r.total_tco2):>13,.1f}{r.credits_t:>9,}{r.thinned_ha:>12.2f}{mark}"
        )
    if t["total_low_tco2"].isna().all():
        lines.append(
            "  uncertainty band 不確実性: off ([uncertainty] draws = 0; or pass "
            "forestcarbon.plan.forecast(band=...))"
        )
    else:
        u = inputs.settings.uncertainty
        lines.append(
            f"  uncertainty band 不確実性 ({u.coverage:.0%}, Monte Carlo {u.draws} draws, seed "
            f"{u.seed}; parameters and yield tables only, not the choice of stands):"
        )
        for r in t.itertuples():
            lines.append(
                f"    FY{r.fiscal_year}: {r.total_low_tco2:,.1f} - {r.total_high_tco2:,.1f} t-CO2"
            )
    return "\n".join(line for line in lines if line) + "\n"


def _cjk_font() -> str | None:
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for name in ("Noto Sans CJK JP", "IPAexGothic", "IPAGothic", "Noto Sans JP", "TakaoGothic"):
        if name in names:
            return name
    return None


def forecast_chart(result: Forecast, path: str | Path, *, title: str = "") -> None:
    """PNG chart of a forecast: baseline and added t-CO2 per fiscal year (stacked bars), credits,
    and the uncertainty band when present. Deterministic bytes (no timestamp metadata)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover
        raise ForestCarbonError(
            "the forecast chart needs matplotlib: pip install 'forestcarbon[plan]'"
        ) from None
    t = result.years
    font = _cjk_font()
    ja = font is not None
    rc = {"font.family": [font, "DejaVu Sans"]} if ja else {}
    with plt.rc_context(rc):
        fig, ax = plt.subplots(figsize=(9, 5.5), dpi=100)
        x = t["fiscal_year"].to_numpy()
        base = t["baseline_tco2"].astype(float).to_numpy()
        added = t["added_tco2"].astype(float).to_numpy()
        ax.bar(x, base, color="#4d8a57", label="既存の対象林分 baseline" if ja else "baseline")
        ax.bar(
            x,
            added,
            bottom=base,
            color="#a6d96a",
            label="計画間伐による追加 added by thinning" if ja else "added by planned thinning",
        )
        credits = t["credits_t"].to_numpy(dtype=float)
        ax.plot(
            x, credits, "o-", color="#1b3d24", label="クレジット credits [t]" if ja else "credits"
        )
        if t["total_low_tco2"].notna().any():
            total = t["total_tco2"].astype(float).to_numpy()
            ax.errorbar(
                x,
                total,
                yerr=[total - t["total_low_tco2"], t["total_high_tco2"] - total],
                fmt="none",
                ecolor="#555555",
                capsize=4,
                label="不確実性 uncertainty interval" if ja else "uncertainty interval",
            )
        ax.set_xlabel("年度 fiscal year" if ja else "fiscal year")
        ax.set_ylabel("t-CO2")
        ax.set_xticks(x)
        ax.set_title(title or ("クレジット見込み Credit forecast" if ja else "Credit forecast"))
        ax.grid(axis="y", alpha=0.3)
        fig.legend(loc="lower center", ncol=2, frameon=False)
        fig.tight_layout(rect=(0, 0.12, 1, 1))
        fig.savefig(path, format="png", metadata={"Software": None})
        plt.close(fig)


def forecast_outputs(result: Forecast, *, title: str = "") -> dict:
    """Output files of ``plan forecast``."""
    return {
        "credit_forecast.csv": csv_bytes(result.years),
        "thinning_schedule.csv": csv_bytes(result.schedule),
        "credit_forecast.txt": result.text.encode("utf-8"),
        "credit_forecast.png": lambda path: forecast_chart(result, path, title=title),
    }
