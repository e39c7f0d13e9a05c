"""The credit ledger as tables for reports, the map and the sticker look-up page.

Only effective entries count here: an entry reversed by an undo and the undo itself cancel out
(``credits history`` shows both). Tables (pandas DataFrames, columns in order):

``holdings``
    holder, methodology, period, held_t, retired_t [t-CO2], stickers.
``transfers`` (移転)
    entry, date, holder (seller), buyer, methodology, period, tonnes [t-CO2], price_yen [JPY],
    yen_per_t [JPY/t-CO2], reference.
``retirements`` (無効化)
    entry, date, holder, methodology, period, tonnes [t-CO2], purpose, stickers, reference.
``stickers`` (認証シール)
    entry, date, holder, methodology, period, retirement, serial_first, serial_last, count,
    per_tonne, purpose (of the retirement).
``revenue`` (資金循環)
    fiscal_year, tonnes [t-CO2], price_yen [JPY], yen_per_t, buyers: the city's sales per Japanese
    fiscal year (April-March).
``use`` (活用)
    Per methodology and period: issued_t (認証), city_held_t (市保有), sold_t (移転), retired_t
    (無効化) [t-CO2], stickers, revenue_yen [JPY] (the city's sales of that vintage).
``users``
    Per buyer that bought or retired credits: name, kind, address, lon, lat, public, bought_t,
    retired_t [t-CO2], stickers, purposes (retirement purposes joined by "; ").
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from forestcarbon.core.config import Settings, load_settings
from forestcarbon.methods.fiscal import fiscal_year_of
from forestcarbon.officer.ledger import balance_table, read_ledger
from forestcarbon.officer.ledger_inputs import read_buyers
from forestcarbon.officer.ledger_state import CITY, replay

TRANSFER_COLUMNS = (
    "entry",
    "date",
    "holder",
    "buyer",
    "methodology",
    "period",
    "tonnes",
    "price_yen",
    "yen_per_t",
    "reference",
)
RETIREMENT_COLUMNS = (
    "entry",
    "date",
    "holder",
    "methodology",
    "period",
    "tonnes",
    "purpose",
    "stickers",
    "reference",
)
STICKER_COLUMNS = (
    "entry",
    "date",
    "holder",
    "methodology",
    "period",
    "retirement",
    "serial_first",
    "serial_last",
    "count",
    "per_tonne",
    "purpose",
)
REVENUE_COLUMNS = ("fiscal_year", "tonnes", "price_yen", "yen_per_t", "buyers")
USER_COLUMNS = (
    "name",
    "kind",
    "address",
    "lon",
    "lat",
    "public",
    "bought_t",
    "retired_t",
    "stickers",
    "purposes",
)


def effective(entries: list[dict]) -> list[dict]:
    """Entries neither reversed by an undo nor undos themselves."""
    undone = {e["undoes"] for e in entries if e["action"] == "undo"}
    return [e for e in entries if e["action"] != "undo" and e["entry"] not in undone]


def _frame(rows: list[dict], columns) -> pd.DataFrame:
    return pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=list(columns))


def ledger_tables(entries: list[dict], buyers: pd.DataFrame | None = None) -> dict:
    """Every table of the module docstring from the ledger's entries (and the buyers table)."""
    live = effective(entries)
    sales = [
        e | {"yen_per_t": round(e["price_yen"] / e["tonnes"]) if e["tonnes"] else None}
        for e in live
        if e["action"] == "sell"
    ]
    sticker_rows = [e for e in live if e["action"] == "stickers"]
    counts: dict[int, int] = {}
    for e in sticker_rows:
        counts[e["retirement"]] = (
            counts.get(e["retirement"], 0) + e["serial_last"] - e["serial_first"] + 1
        )
    retired = [e | {"stickers": counts.get(e["entry"], 0)} for e in live if e["action"] == "retire"]
    purpose = {e["entry"]: e["purpose"] for e in retired}
    sticker_rows = [
        e | {"count": e["serial_last"] - e["serial_first"] + 1, "purpose": purpose[e["retirement"]]}
        for e in sticker_rows
    ]
    revenue: dict[int, dict] = {}
    for e in sales:
        if e["holder"] != CITY:
            continue
        fy = fiscal_year_of(dt.date.fromisoformat(e["date"]))
        r = revenue.setdefault(fy, {"fiscal_year": fy, "tonnes": 0, "price_yen": 0, "b": set()})
        r["tonnes"] += e["tonnes"]
        r["price_yen"] += e["price_yen"] or 0
        r["b"].add(e["buyer"])
    revenue_rows = [
        r | {"yen_per_t": round(r["price_yen"] / r["tonnes"]), "buyers": len(r["b"])}
        for _, r in sorted(revenue.items())
    ]
    tables = {
        "holdings": balance_table(replay(entries)),
        "transfers": _frame(sales, TRANSFER_COLUMNS),
        "retirements": _frame(retired, RETIREMENT_COLUMNS),
        "stickers": _frame(sticker_rows, STICKER_COLUMNS),
        "revenue": _frame(revenue_rows, REVENUE_COLUMNS),
    }
    tables["users"] = _users(tables, buyers)
    tables["use"] = _use(live, tables)
    return tables


USE_COLUMNS = (
    "methodology",
    "period",
    "issued_t",
    "city_held_t",
    "sold_t",
    "retired_t",
    "stickers",
    "revenue_yen",
)


def _use(live: list[dict], tables: dict) -> pd.DataFrame:
    rows: dict[tuple, dict] = {}

    def row(e) -> dict:
        key = (e["methodology"], e["period"])
        empty = dict.fromkeys(USE_COLUMNS[2:], 0)
        return rows.setdefault(key, {"methodology": key[0], "period": key[1], **empty})

    for e in live:
        r = row(e)
        if e["action"] == "issue":
            r["issued_t"] += e["tonnes"]
        elif e["action"] == "sell" and e["holder"] == CITY:
            r["sold_t"] += e["tonnes"]
            r["revenue_yen"] += e["price_yen"] or 0
        elif e["action"] == "retire":
            r["retired_t"] += e["tonnes"]
        elif e["action"] == "stickers":
            r["stickers"] += e["serial_last"] - e["serial_first"] + 1
    h = tables["holdings"]
    for (m, p), r in rows.items():
        mine = h[(h["holder"] == CITY) & (h["methodology"] == m) & (h["period"] == p)]
        r["city_held_t"] = int(mine["held_t"].sum())
    return _frame([rows[k] for k in sorted(rows)], USE_COLUMNS)


def _users(tables: dict, buyers: pd.DataFrame | None) -> pd.DataFrame:
    t, r, s = tables["transfers"], tables["retirements"], tables["stickers"]
    names = sorted(set(t["buyer"]) | (set(r["holder"]) - {CITY}))
    info = (
        buyers.set_index("name") if buyers is not None else pd.DataFrame(columns=USER_COLUMNS[1:6])
    )
    rows = []
    for name in names:
        b = info.loc[name] if name in info.index else None
        mine = r[r["holder"] == name]
        rows.append(
            {
                "name": name,
                "kind": "" if b is None else b["kind"],
                "address": "" if b is None else b["address"],
                "lon": float("nan") if b is None else b["lon"],
                "lat": float("nan") if b is None else b["lat"],
                "public": False if b is None else bool(b["public"]),
                "bought_t": int(t.loc[t["buyer"] == name, "tonnes"].sum()),
                "retired_t": int(mine["tonnes"].sum()),
                "stickers": int(s.loc[s["holder"] == name, "count"].sum()),
                "purposes": "; ".join(dict.fromkeys(mine["purpose"])),
            }
        )
    return _frame(rows, USER_COLUMNS)


def program_ledger(program_dir: str | Path, settings: Settings | None = None) -> dict | None:
    """:func:`ledger_tables` of a program's ledger, None when it has no ledger entries. The
    buyers table is read when it exists (its problems are errors then). ``settings``: default
    program.toml's."""
    settings = settings or load_settings(program_dir)
    _, entries, _ = read_ledger(program_dir, settings)
    if not entries:
        return None
    buyers = None
    if (Path(program_dir) / settings.credits.buyers).is_file():
        buyers = read_buyers(program_dir, settings)
    return ledger_tables(entries, buyers)
