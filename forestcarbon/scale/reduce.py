"""Per-partition FO-001 summary rows reduced exactly into the program's rows.

Each partition's rows come from :func:`forestcarbon.methods.totals.fo001_summary` (the same
boundary and counting rules as one process). Their totals are exact decimals of integer
nano-tonnes, so the reduction adds them exactly (integer addition is associative and
commutative): the program's removals, emissions, total, buffer and credits are those of one
process whatever the partitioning. Stands are partitioned by id (each stand is in exactly one
partition), so activity counts add too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd

from forestcarbon.methods.totals import (
    add_intervals,
    credit_lower_bound,
    credited_tonnes,
    decimal_text,
    fo001_summary,
    program_summary,
)
from forestcarbon.methods.uncertainty import Contribution, program_intervals


@dataclass
class Partial:
    """The FO-001 summary of one partition (or of several, reduced).

    ``rows``: period -> dict of exact Decimals ``removals``, ``emissions``, ``held`` [t-CO2],
    ``n`` (stands counted) and, when kept, ``ids`` (frozenset of counted activity ids);
    ``n_any``: stands counted in any period.
    """

    rows: dict = field(default_factory=dict)
    n_any: int = 0


def partial_of(fo: pd.DataFrame, buffer_rate: float, *, ids: bool = True) -> Partial:
    """The summary of one partition's FO-001 results (held removals applied).

    ``ids=False`` keeps counts only (a national run: the program's ids are not gathered on one
    machine)."""
    out = Partial()
    every = set()
    for row in fo001_summary(fo, buffer_rate):
        held = row.get("held_tco2", "")
        out.rows[row["period"]] = {
            "removals": Decimal(row["removals_tco2"]),
            "emissions": Decimal(row["emissions_tco2"]),
            "held": Decimal(held) if held != "" else None,
            "n": row["n_activities"],
            "ids": set(row["activity_ids"]) if ids else None,
        }
        every.update(row["activity_ids"])
    out.n_any = len(every)
    return out


def _add(a, b):
    return None if a is None and b is None else (a or Decimal(0)) + (b or Decimal(0))


def merge(a: Partial, b: Partial) -> Partial:
    """Two partials of disjoint sets of stands as one (exact)."""
    rows = {}
    for period in sorted(set(a.rows) | set(b.rows)):
        x, y = a.rows.get(period), b.rows.get(period)
        if x is None or y is None:
            rows[period] = dict(x or y)
            continue
        rows[period] = {
            "removals": x["removals"] + y["removals"],
            "emissions": x["emissions"] + y["emissions"],
            "held": _add(x["held"], y["held"]),
            "n": x["n"] + y["n"],
            "ids": None if x["ids"] is None or y["ids"] is None else x["ids"] | y["ids"],
        }
    return Partial(rows, a.n_any + b.n_any)


def reduce_partials(partials) -> Partial:
    """All partitions' partials as the program's (exact; any order gives the same)."""
    total = Partial()
    for p in partials:
        total = merge(total, p)
    return total


def fo001_rows(total: Partial, buffer_rate: float) -> list[dict]:
    """The program's FO-001 summary rows, as :func:`~forestcarbon.methods.totals.fo001_summary`
    gives them in one process (whole credits truncated once, on the program's total)."""
    rows = []
    for period, t in sorted(total.rows.items()):
        net = t["removals"] - t["emissions"]
        row = {
            "methodology": "FO-001",
            "period": period,
            "removals_tco2": decimal_text(t["removals"]),
            "emissions_tco2": decimal_text(t["emissions"]),
            "total_tco2": decimal_text(net),
            "buffer_rate": buffer_rate,
            "buffer_tco2": decimal_text(max(net, Decimal(0)) * Decimal(str(buffer_rate))),
            "credits_t": credited_tonnes(net, buffer_rate),
            "n_activities": t["n"],
            "activity_ids": pd.Index(sorted(t["ids"] or ()), dtype=object),
        }
        if t["held"] is not None:
            row["held_tco2"] = decimal_text(t["held"])
        rows.append(row)
    return rows


def summary_table(total: Partial, buffer_rate: float) -> pd.DataFrame:
    """``program_summary.csv`` of an FO-001 program from its reduced partial (counts kept
    without ids: periods' rows count the stands of the period, "all" rows those of any
    period)."""
    table = program_summary(fo001_rows(total, buffer_rate))
    per_period = {p: t["n"] for p, t in total.rows.items()}
    table["n_activities"] = [
        total.n_any if period == "all" else per_period[period] for period in table["period"]
    ]
    return table


def streamed_summary(
    total: Partial, share: Contribution, settings, energy_rows: list[dict] | None = None
) -> pd.DataFrame:
    """``program_summary.csv`` of a streamed program from its reduced FO-001 partial, its Monte
    Carlo contribution and the energy summary rows (computed on the driver), as one process
    writes it: the interval columns when ``[uncertainty] draws`` is not 0 (drawn once from the
    exact contribution: any partitioning gives the same), credits on the lower bound when
    ``credit_basis`` asks.

    FO-001 counts are kept without ids: FO-001 rows count the stands of the period (of any
    period for "all"); whole-program rows add them to the energy activities they count.
    """
    u = settings.uncertainty
    rows = fo001_rows(total, settings.fo001.buffer_rate) + list(energy_rows or [])
    intervals = program_intervals(share, settings) if u.draws else None
    if intervals is not None and u.credit_basis == "lower_bound":
        rows = credit_lower_bound(rows, intervals)
    table = program_summary(rows)
    per_period = {p: t["n"] for p, t in total.rows.items()}
    fo001_n = [
        total.n_any if period == "all" else per_period.get(period, 0) for period in table["period"]
    ]
    method = table["methodology"].to_numpy()
    n = table["n_activities"].to_numpy()
    table["n_activities"] = [
        f if m == "FO-001" else (k + f if m == "program" else k)
        for m, k, f in zip(method, n, fo001_n, strict=True)
    ]
    if intervals is not None:
        table = add_intervals(table, intervals, u.credit_basis)
    return table
