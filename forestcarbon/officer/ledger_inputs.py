"""What the credit officer types or keeps in files, read and checked for the ledger: the buyers
table, values given on the command line (tonnes, yen, dates, periods) and the city's existing
records to import (CSV/XLSX with the headers 日付, 区分, 購入者, 数量, 金額, 用途).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pandas as pd

from forestcarbon.core.config import Settings
from forestcarbon.core.exceptions import InputError, Problem
from forestcarbon.core.files import file_sha256
from forestcarbon.inputs.readers import read_table

BUYER_HEADERS = {
    "名称": "name",
    "購入者": "name",
    "種別": "kind",
    "住所": "address",
    "経度": "lon",
    "緯度": "lat",
    "公開": "public",
}
BUYER_KINDS = {
    "business": "business",
    "事業者": "business",
    "企業": "business",
    "household": "household",
    "個人": "household",
    "世帯": "household",
    "public_body": "public_body",
    "公共": "public_body",
    "団体": "public_body",
}
YES = {"yes", "y", "true", "1", "はい", "公開", "○"}
NO = {"no", "n", "false", "0", "", "いいえ", "非公開", "×"}

IMPORT_HEADERS = {
    "日付": "date",
    "区分": "kind",
    "購入者": "buyer",
    "数量": "quantity",
    "金額": "price_yen",
    "用途": "purpose",
    "方法論": "methodology",
    "期間": "period",
    "参照": "reference",
    "販売者": "holder",
}
"""Japanese headers of an import file -> field (English headers: the field names)."""
IMPORT_REQUIRED = ("date", "kind", "buyer", "quantity", "price_yen", "purpose")
KINDS = {
    "認証": "issue",
    "発行": "issue",
    "issue": "issue",
    "売却": "sell",
    "移転": "sell",
    "販売": "sell",
    "sell": "sell",
    "無効化": "retire",
    "償却": "retire",
    "retire": "retire",
    "シール": "stickers",
    "認証シール": "stickers",
    "stickers": "stickers",
}
"""区分 (kind) values -> action."""

_PERIOD = re.compile(r"^(\d{4}-\d{2}-\d{2})/(\d{4}-\d{2}-\d{2})$")


def whole_tonnes(text, what: str = "tonnes") -> int:
    """A whole number of tonnes (or a count) > 0 from text like ``5``, ``1,000`` or ``5.0``."""
    raw = str(text).strip().replace(",", "")
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"expected a whole number of {what}, got {text!r}") from None
    if value != int(value):
        raise ValueError(f"whole {what} only (got {text}): credits are whole t-CO2")
    if value <= 0:
        raise ValueError(f"expected a positive number of {what}, got {text!r}")
    return int(value)


def yen(text) -> int:
    """Whole yen >= 0 from text like ``150000``, ``150,000``, ``￥150,000`` or
    ``150,000円``; empty is 0."""
    raw = str(text).strip().replace(",", "")
    for mark in ("¥", "￥", "円"):
        raw = raw.replace(mark, "")
    if raw == "":
        return 0
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"expected an amount in yen, got {text!r}") from None
    if value < 0 or value != int(value):
        raise ValueError(f"expected whole yen >= 0, got {text!r}")
    return int(value)


def iso_date(text, today: dt.date) -> str:
    """``YYYY-MM-DD`` (or ``YYYY/MM/DD``, or an Excel date-time) not after ``today``."""
    raw = str(text).strip().replace("/", "-")[:10]
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"expected a date like 2024-10-15, got {text!r}") from None
    if day > today:
        raise ValueError(f"{day} is in the future (today is {today})")
    return day.isoformat()


def period_label(text, settings: Settings) -> str:
    """A monitoring period of the program, ``YYYY-MM-DD/YYYY-MM-DD``."""
    raw = str(text).strip()
    labels = [p.label for p in settings.periods]
    if raw not in labels:
        raise ValueError(f"{raw!r} is not a period of the program; periods: {', '.join(labels)}")
    return raw


def read_buyers(program_dir: str | Path, settings: Settings) -> pd.DataFrame:
    """The buyers table: name, kind, address, lon, lat [degrees] (NaN when empty), public (bool).

    Raises
    ------
    InputError
        Missing file, unknown columns or values, duplicate names, coordinates outside Japan; all
        at once.
    """
    path = Path(program_dir) / settings.credits.buyers
    if not path.is_file():
        raise InputError(
            Problem(
                str(path),
                "",
                "",
                "buyers table not found: a CSV/XLSX with name, kind, address, lon, lat, public "
                "(名称, 種別, 住所, 経度, 緯度, 公開), or name another file with [credits] buyers",
            )
        )
    raw = read_table(path)
    raw = raw.rename(columns={c: BUYER_HEADERS.get(c, c) for c in raw.columns})
    problems = [
        Problem(str(path), "", c, "column missing")
        for c in ("name", "kind", "address", "lon", "lat", "public")
        if c not in raw.columns
    ]
    if problems:
        raise InputError(problems)
    rows = []
    for i, r in enumerate(raw.to_dict("records")):
        where = f"row {i + 2}"
        name = str(r["name"]).strip()
        if not name:
            problems.append(Problem(str(path), where, "name", "empty"))
        kind = BUYER_KINDS.get(str(r["kind"]).strip().lower())
        if kind is None:
            problems.append(
                Problem(
                    str(path),
                    where,
                    "kind",
                    f"{r['kind']!r}: expected business/事業者, household/個人 or public_body/公共",
                )
            )
        public = str(r["public"]).strip().lower()
        if public not in YES | NO:
            problems.append(Problem(str(path), where, "public", f"{r['public']!r}: yes or no"))
        lon = pd.to_numeric(str(r["lon"]).strip() or None, errors="coerce")
        lat = pd.to_numeric(str(r["lat"]).strip() or None, errors="coerce")
        if kind == "business" and public in YES and (pd.isna(lon) or pd.isna(lat)):
            problems.append(
                Problem(str(path), where, "lon/lat", "a public business needs its location")
            )
        if not pd.isna(lon) and not (122 <= lon <= 154 and 20 <= lat <= 46):
            problems.append(
                Problem(str(path), where, "lon/lat", f"{lon:g}, {lat:g} is not in Japan (degrees)")
            )
        rows.append(
            {
                "name": name,
                "kind": kind or "",
                "address": str(r["address"]).strip(),
                "lon": float(lon),
                "lat": float(lat),
                "public": public in YES,
            }
        )
    df = pd.DataFrame(rows, columns=["name", "kind", "address", "lon", "lat", "public"])
    for name in df["name"][df["name"].duplicated() & (df["name"] != "")].unique():
        problems.append(Problem(str(path), "", "name", f"{name!r} appears more than once"))
    if problems:
        raise InputError(problems)
    return df


def run_credits(run_dir: str | Path, program_dir: Path) -> tuple[dict, str, str]:
    """Credits of a run folder per (methodology, period) [t], the sha256 of its
    ``provenance.json``, and why the run is not of ``program_dir`` ("" when it is: the folder it
    records is ``program_dir``, or its stand layer has the sha256 the run recorded)."""
    run_dir = Path(run_dir)
    summary, provenance = run_dir / "program_summary.csv", run_dir / "provenance.json"
    for path in (summary, provenance):
        if not path.is_file():
            raise InputError(Problem(str(path), "", "", "not found: is --run a run folder?"))
    table = read_table(summary)
    credits = {
        (r["methodology"], r["period"]): int(r["credits_t"])
        for r in table.to_dict("records")
        if r.get("credits_t", "") not in ("", None) and r["methodology"] and r["period"]
    }
    record = json.loads(provenance.read_text(encoding="utf-8"))
    recorded = record.get("program_dir_path", "")
    stands = record.get("inputs", {}).get("stands", {})
    same = not recorded or Path(recorded).resolve() == program_dir.resolve()
    if not same and stands.get("path"):
        path = program_dir / stands["path"]
        same = path.is_file() and file_sha256(path) == stands.get("sha256")
    other = "" if same else f"{run_dir} is a run of {recorded}, not of this program"
    return credits, file_sha256(provenance), other


def read_import(path: str | Path) -> pd.DataFrame:
    """The rows of an import file with fields renamed (:data:`IMPORT_HEADERS`), text, and the
    file's row number in ``row``."""
    path = Path(path)
    raw = read_table(path)
    raw = raw.rename(columns={c: IMPORT_HEADERS.get(c, c) for c in raw.columns})
    missing = [c for c in IMPORT_REQUIRED if c not in raw.columns]
    if missing:
        ja = {v: k for k, v in IMPORT_HEADERS.items() if v in missing}
        raise InputError(
            Problem(
                str(path),
                "",
                ", ".join(ja[c] for c in missing),
                "column missing; expected 日付, 区分, 購入者, 数量, 金額, 用途 (and optionally "
                "方法論, 期間, 参照, 販売者)",
            )
        )
    for c in IMPORT_HEADERS.values():
        if c not in raw.columns:
            raw[c] = ""
    raw["row"] = range(2, len(raw) + 2)
    return raw
