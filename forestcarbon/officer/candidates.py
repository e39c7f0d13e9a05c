"""Thinning candidates: which stands the thinning rules allow to thin in a fiscal year, and the
credits a whole-stand thinning of each would make eligible.

The credits a thinning would make eligible are the difference between two FO-001 engine runs
(:func:`forestcarbon.methods.fo001.compute_fo001`), without and with the planned thinning, so the
eligibility rules, the treated-area rule, harvest emissions and the ruleset settings apply as in a
monitoring run. This module owns the thinning rules (``[plan] thinning_rules``), the planning
years of a program (:func:`next_fiscal_year`, :func:`crediting_years`), those engine runs
(:func:`planned_thinning`, :func:`net_by_year`, :func:`added_credits`) and the ``plan
candidates`` table, files and text.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd

from forestcarbon.canopy.step import compute_canopy
from forestcarbon.core.config import program_file
from forestcarbon.core.exceptions import InputError, Problem
from forestcarbon.core.files import csv_bytes, write_gpkg
from forestcarbon.core.params import load_table
from forestcarbon.inputs.program import ProgramInputs
from forestcarbon.inputs.readers import read_table
from forestcarbon.inputs.reviews import latest_decisions, read_reviews
from forestcarbon.inputs.schemas import Column, TableSpec, parse_int, parse_species, validate
from forestcarbon.methods.fiscal import fiscal_year, fiscal_year_end, fiscal_year_period
from forestcarbon.methods.fo001 import (
    Cohorts,
    compute_fo001,
    natural_key_rank,
    reference_area,
)
from forestcarbon.methods.holds import hold_flagged
from forestcarbon.officer.register import crop_state, program_cohorts

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


def thinning_rules(inputs: ProgramInputs) -> pd.DataFrame:
    """Thinning rules per species: min_age, max_age, min_years_between [years].

    From the program's ``[plan] thinning_rules`` CSV when set, else the packaged
    ``thinning_rules`` table (design defaults, ``verified = false``). Species without a row are
    never candidates.
    """
    name = inputs.settings.plan.thinning_rules
    if name:
        path = program_file(inputs.program_dir, name, inputs.settings, "[plan] thinning_rules")
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


def planned_thinning(inputs: ProgramInputs, idx: np.ndarray, fy: int, cohorts) -> pd.DataFrame:
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


HELD_LABEL = "保留（要確認） held — awaiting review"
"""How plans name a stand whose removals are held by canopy evidence."""


def held_stands(inputs: ProgramInputs, canopy_flags: pd.Series | None = None) -> np.ndarray:
    """Which stands (register order) have their removals held, as a monitoring run holds them
    (:func:`forestcarbon.methods.holds.hold_flagged`): flagged ``canopy_below_expected`` by the
    canopy step, with neither a final harvest nor a review that the stand is standing recorded.
    Plans do not count a held stand's removals as creditable until the officer decides.

    ``canopy_flags`` (flags text per stand id) replaces the canopy step (computed from the
    program's rasters; none without a canopy height raster).
    """
    n = len(inputs.stands)
    if not inputs.settings.fo001.hold_canopy_flagged:
        return np.zeros(n, dtype=bool)
    if canopy_flags is None:
        canopy = compute_canopy(inputs)
        if canopy is None:
            return np.zeros(n, dtype=bool)
        canopy_flags = canopy.table.set_index("stand_id")["flags"]
    ids = inputs.stands["stand_id"]
    probe = pd.DataFrame(
        {
            "stand_id": ids.to_numpy(),
            "flags": canopy_flags.reindex(ids).fillna("").astype(str).to_numpy(),
            "removals_tco2": 1.0,
            "net_tco2": 1.0,
            "reason": "",
        }
    )
    reviews = inputs.reviews if inputs.reviews is not None else read_reviews("")
    held = hold_flagged(probe, inputs.operations, latest_decisions(reviews), inputs.settings.fo001)
    return held["held_tco2"].to_numpy() > 0


def engine_by_year(
    inputs: ProgramInputs,
    idx: np.ndarray,
    years: list[int],
    extra: pd.DataFrame | None = None,
    held: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Credited net removals and held removals [t-CO2] of stands ``idx`` per fiscal year
    (engine run), each of shape (len(idx), len(years)); ``extra`` operations are added to the
    recorded ones; ``held`` (one per ``idx``) marks stands whose removals are held (moved from
    the net to the held t-CO2 as a monitoring run does; their emissions stay)."""
    shape = (len(idx), len(years))
    if len(idx) == 0 or not years:
        return np.zeros(shape), np.zeros(shape)
    stands = inputs.stands.iloc[idx].reset_index(drop=True)
    ops = inputs.operations[inputs.operations["stand_id"].isin(stands["stand_id"])]
    if extra is not None:
        ops = pd.concat([ops, extra], ignore_index=True)
    ops = ops.sort_values(["stand_id", "date", "source_row"], kind="stable").reset_index(drop=True)
    periods = tuple(fiscal_year_period(y) for y in years)
    fo = compute_fo001(
        stands, ops, inputs.yields, periods, inputs.settings.fo001, plans=inputs.plans
    )
    removals = fo["removals_tco2"].to_numpy()
    on_hold = np.zeros(len(fo), dtype=bool)
    if held is not None and held.any():
        on_hold = fo["stand_id"].isin(stands["stand_id"][held]).to_numpy() & (removals > 0)
    fo = fo.assign(
        net_tco2=fo["net_tco2"] - np.where(on_hold, removals, 0.0),
        held_tco2=np.where(on_hold, removals, 0.0),
    )
    labels = [p.label for p in periods]
    out = []
    for column in ("net_tco2", "held_tco2"):
        table = fo.pivot(index="stand_id", columns="period", values=column)
        out.append(table.reindex(index=stands["stand_id"], columns=labels).to_numpy())
    return out[0], out[1]


def net_by_year(
    inputs: ProgramInputs,
    idx: np.ndarray,
    years: list[int],
    extra: pd.DataFrame | None = None,
    held: np.ndarray | None = None,
) -> np.ndarray:
    """Credited net removals [t-CO2] of stands ``idx`` per fiscal year (engine run), shape
    (len(idx), len(years)); see :func:`engine_by_year`."""
    return engine_by_year(inputs, idx, years, extra, held)[0]


def added_credits(
    inputs: ProgramInputs,
    idx: np.ndarray,
    fy: int,
    years: list[int],
    held: np.ndarray | None = None,
) -> np.ndarray:
    """Creditable net removals [t-CO2] a whole-stand thinning in ``fy`` adds, per stand ``idx``
    and fiscal year of ``years``: engine run with the thinning minus engine run without (0 for
    a stand whose removals are ``held``)."""
    years = [y for y in years if y >= fy]
    extra = planned_thinning(inputs, idx, fy, None)
    with_thinning = net_by_year(inputs, idx, years, extra, held)
    return with_thinning - net_by_year(inputs, idx, years, held=held)


def thinning_candidates(
    inputs: ProgramInputs, fy: int, *, held: np.ndarray | None = None
) -> gpd.GeoDataFrame:
    """Stands the thinning rules allow to thin in fiscal year ``fy``, with the credits a
    whole-stand thinning would make eligible over the rest of the crediting period.

    Returns
    -------
    GeoDataFrame (working CRS), sorted by added_tco2_per_ha (descending) then stand id:
        stand_id, fiscal_year, species, forest_type, site_class, plan_id, age [years],
        last_thinning_fy, years_since_thinning, thinning_area_ha [ha] (register area, else
        geometry), eligible_now (credited in ``fy`` without thinning), held (removals held by
        canopy evidence: :func:`held_stands`), net_now_tco2 [t-CO2] (credited in ``fy``, held
        removals left out), held_now_tco2 [t-CO2] (removals held in ``fy``), added_tco2
        [t-CO2] over FY ``fy`` .. end of the crediting period (0 for a held stand),
        added_tco2_per_ha, crediting_years, rule.

    ``held`` (one per stand, register order) replaces :func:`held_stands`.

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
    on_hold = (held_stands(inputs) if held is None else np.asarray(held, dtype=bool))[idx]
    first, last = crediting_years(inputs)
    years = list(range(max(fy, first), last + 1))
    gains = added_credits(inputs, idx, fy, years, on_hold) if years else np.zeros((len(idx), 0))
    base_now, held_now = engine_by_year(inputs, idx, [fy], held=on_hold)
    rule = detail["rule"].to_numpy()[idx].copy()
    for i in np.flatnonzero(on_hold):
        rule[i] = (
            f"{HELD_LABEL}: canopy far below the yield table (felled without a record?); "
            "record the final harvest or a review (forestcarbon review) first; " + rule[i]
        )
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
            "held": on_hold,
            "net_now_tco2": base_now[:, 0],
            "held_now_tco2": held_now[:, 0],
            "added_tco2": added,
            "added_tco2_per_ha": np.divide(added, area, out=np.zeros(len(idx)), where=area > 0),
            "crediting_years": f"FY{years[0]}-FY{years[-1]}" if years else "",
            "rule": rule,
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
    fo = compute_fo001(
        stands,
        ops,
        inputs.yields,
        (fiscal_year_period(fy),),
        inputs.settings.fo001,
        plans=inputs.plans,
    )
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
            + ("  held 保留" if getattr(r, "held", False) else "")
        )
    if len(candidates) > top:
        lines.append(f"  ... {len(candidates) - top} more in the CSV")
    if "held" in candidates.columns and candidates["held"].any():
        held = candidates[candidates["held"]]
        lines.append(
            f"  {HELD_LABEL}: {len(held)} stand(s), not counted as creditable until the officer "
            f"records the harvest or a review (forestcarbon review): "
            f"{', '.join(held['stand_id'].astype(str))}; "
            f"{held['held_now_tco2'].sum():,.1f} t-CO2 held in FY{fy}"
        )
    return "\n".join(lines) + "\n"
