"""The stand register rolled forward: the state of every stand at the end of a fiscal year.

Everything here reuses the FO-001 engine so that each rule exists once: the state of a stand in a
fiscal year (crops after final harvests and replantings, ages, volumes) comes from
:func:`forestcarbon.methods.fo001.build_cohorts` and the engine's standing-volume rule.

Fiscal years run 1 April - 31 March. "The register for FY Y" is the state at the end of FY Y
(31 March Y+1): every operation dated up to then is applied, ages are those reached in FY Y
(``Y - planted_year + 1``, FO-001.md §4) and volumes are the yield-table volumes at those ages.
This module owns the roll-forward (:func:`crop_state`, :func:`stand_state`,
:func:`roll_forward`), the register diff and its text, and ``register update``
(:func:`update_register`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from forestcarbon.core.exceptions import InputError, Problem
from forestcarbon.core.files import csv_bytes, write_gpkg, write_outputs
from forestcarbon.inputs.program import ProgramInputs
from forestcarbon.methods.fiscal import FISCAL_YEARS, fiscal_year, fiscal_year_end
from forestcarbon.methods.fo001 import (
    OPERATION_JA,
    Cohorts,
    build_cohorts,
    main_cohort,
    natural_key_rank,
    standing_volume,
)

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


def program_cohorts(inputs: ProgramInputs) -> Cohorts:
    """Crops of every stand after the recorded final harvests and replantings (engine rule)."""
    return build_cohorts(
        inputs.stands,
        inputs.operations,
        inputs.settings.periods,
        file=str(inputs.files.get("operations", "operations")),
    )


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
    replanting starts a new crop at age 1 in its fiscal year
    (:func:`~forestcarbon.methods.fo001.build_cohorts`).
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
    for flag, fy in (("--to-fy", to_fy), ("--from-fy", from_fy)):
        if not FISCAL_YEARS[0] <= fy <= FISCAL_YEARS[1]:
            raise InputError(
                Problem(
                    "register update",
                    "",
                    flag,
                    f"expected a fiscal year within {FISCAL_YEARS[0]}..{FISCAL_YEARS[1]}, got {fy}",
                )
            )
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
    protected = [Path(p) for p in inputs.files.values()]
    return write_outputs(target.parent, outputs, overwrite=overwrite, protected=protected)
