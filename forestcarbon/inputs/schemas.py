"""Column specs and validation for every input table.

Each table has a declarative :class:`TableSpec`. :func:`validate` maps Japanese or English headers
to the canonical names, parses every value, and returns the clean table together with *all* problems
found (file, row or id, column, expectation), so a user fixes everything in one pass.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pandas as pd
import shapely

from forestcarbon.core.exceptions import Problem
from forestcarbon.core.params import load_table

MAX_PROBLEMS_PER_COLUMN = 20
"""Beyond this many bad values in one column, the rest are summarised in one line."""


def normalize_text(value) -> str:
    """NFKC-normalised, stripped text (full-width digits and letters become ASCII)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return unicodedata.normalize("NFKC", str(value)).strip()


def normalize_header(name) -> str:
    """Header key: NFKC, no spaces, lower case (so '面積 (ha)' and '面積(ha)' match)."""
    return re.sub(r"\s+", "", normalize_text(name)).lower()


# --- value parsers: str -> value, raising ValueError with the expectation ----------------------


def parse_str(text: str) -> str:
    """Text, as written (NFKC-normalised, stripped)."""
    return text


_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")


def parse_float(text: str) -> float:
    """A number; ``1,234`` and ``1,234.5`` are thousands, full-width digits are read (the text
    is NFKC-normalised); any other comma (``4,0``: a decimal comma?) is an error."""
    if "," in text:
        if not _THOUSANDS.match(text):
            raise ValueError(
                "expected a number with '.' as the decimal point (a comma is only a thousands "
                "separator, as in 1,234.5)"
            )
        text = text.replace(",", "")
    try:
        value = float(text)
    except ValueError:
        raise ValueError("expected a number") from None
    if not np.isfinite(value):
        raise ValueError("expected a finite number")
    return value


def parse_int(text: str) -> int:
    """A whole number (2015, also 2015.0)."""
    value = parse_float(text)
    if value != int(value):
        raise ValueError("expected a whole number")
    return int(value)


_TRUE = {"true", "1", "yes", "y", "t", "有", "あり", "○", "〇", "はい", "該当"}
_FALSE = {"false", "0", "no", "n", "f", "無", "なし", "×", "-", "いいえ", "非該当", ""}


def parse_bool(text: str) -> bool:
    """true/false, 1/0, yes/no, 有/無, ○/×; a protection kind (水源かん養保安林...) means true."""
    key = text.lower()
    if key in _TRUE or "保安林" in text or "保護林" in text or "特別地域" in text:
        return True
    if key in _FALSE:
        return False
    raise ValueError("expected true/false (also 1/0, 有/無, ○/×, or a 保安林 kind)")


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"),
)


ERAS = {
    "令和": (2018, dt.date(2019, 5, 1), None),
    "平成": (1988, dt.date(1989, 1, 8), dt.date(2019, 4, 30)),
    "昭和": (1925, dt.date(1926, 12, 25), dt.date(1989, 1, 7)),
}
"""Japanese era -> (year offset: era year 1 = offset + 1, first day, last day)."""

_ERA_LETTERS = {"r": "令和", "h": "平成", "s": "昭和"}
_ERA_DATE = re.compile(
    r"^(令和|平成|昭和|[RrHhSs])\s*(元|\d{1,2})\s*(?:年|[./-])\s*(\d{1,2})\s*(?:月|[./-])\s*"
    r"(\d{1,2})\s*日?$"
)


def _era_date(text: str) -> dt.date | None:
    """令和5年10月1日, R5.10.1, 平成10年9月1日, H10.9.1, 令和元年5月1日 -> date; None if not an era
    date; ValueError for an impossible one (a day that does not exist, or outside its era)."""
    m = _ERA_DATE.match(text)
    if not m:
        return None
    era = _ERA_LETTERS.get(m.group(1).lower(), m.group(1))
    offset, first, last = ERAS[era]
    year = offset + (1 if m.group(2) == "元" else int(m.group(2)))
    try:
        day = dt.date(year, int(m.group(3)), int(m.group(4)))
    except ValueError:
        raise ValueError(f"impossible date ({era}{m.group(2)}年 = {year})") from None
    if day < first or (last is not None and day > last):
        raise ValueError(f"{era} runs {first}..{last or ''}: the date is outside its era")
    return day


def parse_date(text: str) -> dt.date:
    """ISO date (YYYY-MM-DD); also YYYY/MM/DD, YYYY年MM月DD日 and Japanese era dates
    (令和5年10月1日, R5.10.1, 平成10年9月1日, H10.9.1). A day that does not exist
    (2023-02-30) is an error."""
    era = _era_date(text)
    if era is not None:
        return era
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            try:
                return dt.date(*map(int, m.groups()))
            except ValueError:
                raise ValueError(
                    "expected a date like 2024-10-15 (this day does not exist)"
                ) from None
    raise ValueError("expected a date like 2024-10-15 (or 令和6年10月15日, R6.10.15)")


def parse_wkt(text: str):
    """A treated-area polygon as WKT (POLYGON/MULTIPOLYGON) in the program's working CRS [m]."""
    try:
        geom = shapely.from_wkt(text)
    except shapely.errors.GEOSException:
        geom = None
    if geom is None or geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
        raise ValueError("expected a WKT polygon such as POLYGON ((x y, ...)) in the working CRS")
    if not geom.is_valid or not np.isfinite(shapely.get_coordinates(geom)).all():
        raise ValueError("expected a valid polygon with finite coordinates")
    return geom


_ROMAN = {"i": 1, "ii": 2, "iii": 3, "1": 1, "2": 2, "3": 3, "1.0": 1, "2.0": 2, "3.0": 3}


def parse_site_class(text: str) -> int:
    """地位 1-3 or I-III (also Ⅰ-Ⅲ and '地位2')."""
    key = text.lower().removeprefix("地位").removesuffix("等").strip()
    if key in _ROMAN:
        return _ROMAN[key]
    raise ValueError("expected site class (地位) 1, 2 or 3 (or I, II, III)")


@cache
def _species_lookup() -> dict[str, str]:
    table = load_table("species")
    lookup: dict[str, str] = {}
    for row in table.itertuples():
        names = [row.species, row.name_ja, row.name_en, *str(row.aliases).split("|")]
        if isinstance(row.code, str):
            names += [row.code, str(int(row.code))]
        for name in names:
            lookup[normalize_text(name).lower()] = row.species
    return lookup


def parse_species(text: str) -> str:
    """Species code 01-12, Japanese or English name -> canonical key (``sugi``, ``hinoki``, ...)."""
    key = text.lower()
    if re.fullmatch(r"\d+\.0", key):
        key = key[:-2]
    lookup = _species_lookup()
    if key in lookup:
        return lookup[key]
    raise ValueError(
        "unknown species; expected a code 01-12 or a name such as スギ/sugi, ヒノキ/hinoki, "
        "アカマツ/akamatsu, クヌギ/kunugi, ナラ/nara (see forestcarbon/data/species.csv)"
    )


_FOREST_TYPES = {
    "planted": "planted",
    "人工林": "planted",
    "育成林": "planted",
    "育成単層林": "planted",
    "育成複層林": "planted",
    "natural": "natural",
    "天然林": "natural",
    "天然生林": "natural",
}


def parse_forest_type(text: str) -> str:
    """planted/人工林/育成林 -> ``planted``; natural/天然林/天然生林 -> ``natural``."""
    if text.lower() in _FOREST_TYPES:
        return _FOREST_TYPES[text.lower()]
    raise ValueError("expected planted/人工林 or natural/天然林")


OPERATIONS = {
    "planting": ("植栽", "新植", "植付"),
    "weeding": ("下刈", "下刈り"),
    "cleaning": ("除伐",),
    "thinning": ("間伐", "保育間伐", "利用間伐", "搬出間伐", "切捨間伐"),
    "pruning": ("枝打", "枝打ち"),
    "final_harvest": ("主伐", "皆伐"),
    "replanting": ("再造林", "改植"),
}
_OPERATION_LOOKUP = (
    {k: k for k in OPERATIONS}
    | {ja: key for key, names in OPERATIONS.items() for ja in names}
    | {"final harvest": "final_harvest"}
)


def parse_operation(text: str) -> str:
    """Operation key from English or Japanese (植栽 下刈 除伐 間伐 枝打 主伐 再造林)."""
    key = text.lower()
    if key in _OPERATION_LOOKUP:
        return _OPERATION_LOOKUP[key]
    raise ValueError("expected one of " + ", ".join(f"{k}/{v[0]}" for k, v in OPERATIONS.items()))


def parse_stand_part(text: str) -> str:
    """林班/小班/枝番 part: whole numbers lose leading zeros and '.0' ('012' -> '12')."""
    if re.fullmatch(r"\d+(\.0)?", text):
        return str(int(float(text)))
    return text


# --- specs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column: canonical name, parser, requirement, bounds and header aliases."""

    name: str
    parse: Callable[[str], object] = parse_str
    required: bool = True
    min: float | None = None
    max: float | None = None
    aliases: tuple[str, ...] = ()
    unit: str = ""

    @property
    def spellings(self) -> tuple[str, ...]:
        """Every accepted header: the Japanese aliases first, then the English name."""
        return (*self.aliases, self.name)

    @property
    def label(self) -> str:
        """How messages name the column when the table lacks it: '林齢基準年度 (age_year)'."""
        return f"{self.aliases[0]} ({self.name})" if self.aliases else self.name


@dataclass(frozen=True)
class TableSpec:
    """A table: its columns, the id column used in messages and uniqueness keys."""

    name: str
    columns: tuple[Column, ...]
    id_column: str | None = None
    unique: tuple[str, ...] = ()
    alternatives: tuple[tuple[str, ...], ...] = field(default=())
    """Column groups of which one must be fully present (planted_year, or age + age_year)."""


STAND_ID_COLUMN = Column(
    "stand_id", required=False, aliases=("小班ID", "森林ID", "小班コード", "id")
)

STAND_KEY_COLUMNS = (
    STAND_ID_COLUMN,
    Column("rinpan", parse_stand_part, required=False, aliases=("林班",)),
    Column("shohan", parse_stand_part, required=False, aliases=("小班",)),
    Column("edaban", parse_stand_part, required=False, aliases=("枝番",)),
)

STANDS = TableSpec(
    "stands",
    (
        *STAND_KEY_COLUMNS,
        Column("species", parse_species, aliases=("樹種", "樹種名", "樹種コード")),
        Column(
            "planted_year",
            parse_int,
            required=False,
            min=1800,
            max=2100,
            aliases=("植栽年度", "植栽年", "植栽年度(年度)"),
        ),
        Column("age", parse_int, required=False, min=0, max=400, aliases=("林齢",)),
        Column(
            "age_year",
            parse_int,
            required=False,
            min=1900,
            max=2100,
            aliases=("林齢基準年度", "基準年度", "調査年度"),
        ),
        Column("site_class", parse_site_class, aliases=("地位", "地位級")),
        Column("forest_type", parse_forest_type, aliases=("林種", "人天別", "人工林天然林")),
        Column("protected", parse_bool, required=False, aliases=("保安林", "保安林種", "保護")),
        Column(
            "plan_id",
            required=False,
            aliases=("森林経営計画", "経営計画", "計画番号", "森林経営計画id", "計画id"),
        ),
        Column(
            "area_ha",
            parse_float,
            required=False,
            min=0.0001,
            max=10000,
            unit="ha",
            aliases=("面積", "面積(ha)", "面積ha", "area"),
        ),
        Column("name", required=False, aliases=("名称", "地名", "字")),
    ),
    id_column="stand_id",
    unique=("stand_id",),
    alternatives=(("planted_year",), ("age", "age_year")),
)

OPERATIONS_SPEC = TableSpec(
    "operations",
    (
        *STAND_KEY_COLUMNS,
        Column("date", parse_date, aliases=("実施日", "施業日", "実施年月日", "年月日")),
        Column("operation", parse_operation, aliases=("施業", "施業種", "作業種", "施業区分")),
        Column(
            "area_ha",
            parse_float,
            required=False,
            min=0.0001,
            max=10000,
            unit="ha",
            aliases=("面積", "実施面積", "施業面積", "面積(ha)"),
        ),
        Column(
            "volume_m3",
            parse_float,
            required=False,
            min=0,
            max=1e6,
            unit="m3",
            aliases=("材積", "搬出材積", "伐採材積", "材積(m3)"),
        ),
        Column("note", required=False, aliases=("備考", "メモ")),
        Column("geometry", parse_wkt, required=False, aliases=("wkt", "施業区域")),
    ),
)


PLANS_SPEC = TableSpec(
    "plans",
    (
        Column("plan_id", aliases=("計画番号", "森林経営計画", "計画id", "経営計画")),
        Column("start", parse_date, aliases=("始期", "計画始期", "開始日", "認定始期")),
        Column("end", parse_date, aliases=("終期", "計画終期", "終了日", "認定終期")),
        Column("approver", required=False, aliases=("認定者", "認定機関")),
        Column("reference", required=False, aliases=("認定番号", "参照番号")),
    ),
    id_column="plan_id",
    unique=("plan_id",),
)
"""Forest management plans (森林経営計画) and the days they are in force (both inclusive)."""


def empty_operations() -> pd.DataFrame:
    """A validated operations table with no rows (a program or store without records)."""
    return pd.DataFrame(
        {
            "stand_id": pd.Series(dtype=object),
            "date": pd.Series(dtype=object),
            "operation": pd.Series(dtype=object),
            "area_ha": pd.Series(dtype=float),
            "volume_m3": pd.Series(dtype=float),
            "note": pd.Series(dtype=object),
            "source_row": pd.Series(dtype=np.int64),
        }
    )


GROWTH = TableSpec(
    "growth",
    (
        Column("species", parse_species, aliases=("樹種",)),
        Column("site_class", parse_site_class, aliases=("地位",)),
        Column("age", parse_int, min=1, max=400, aliases=("林齢",)),
        Column(
            "volume_m3_ha",
            parse_float,
            min=0,
            max=3000,
            unit="m3/ha",
            aliases=("材積", "ha材積", "材積(m3/ha)", "蓄積"),
        ),
        Column(
            "height_m",
            parse_float,
            required=False,
            min=0,
            max=80,
            unit="m",
            aliases=("樹高", "上層樹高", "上層木平均樹高"),
        ),
        Column("region", required=False, aliases=("地域", "地方")),
        Column("source", required=False, aliases=("出典", "収穫表名")),
        Column("substituted_from", parse_species, required=False, aliases=("代用元樹種",)),
    ),
    unique=("species", "site_class", "age"),
)


DBF_FIELD_BYTES = 10
"""A Shapefile's DBF keeps at most this many bytes of a field name (GDAL cuts longer names)."""
DBF_ENCODINGS = ("cp932", "utf-8")
"""Encodings a Japanese Shapefile's field names are cut in (Shift_JIS, UTF-8)."""


def dbf_truncations(name: str) -> set[str]:
    """The names a Shapefile keeps of ``name``: its first 10 bytes in cp932 and in UTF-8.

    '林齢基準年度' is 12 bytes in cp932 and becomes '林齢基準年'; in UTF-8 (18 bytes) the 10th
    byte splits a character, so '林齢基' remains; 'planted_year' becomes 'planted_ye'. Names of
    at most 10 bytes give an empty set.
    """
    cut = set()
    for encoding in DBF_ENCODINGS:
        try:
            data = name.encode(encoding)
        except UnicodeEncodeError:
            continue
        if len(data) > DBF_FIELD_BYTES:
            cut.add(data[:DBF_FIELD_BYTES].decode(encoding, errors="ignore"))
    return {c for c in cut if c}


@cache
def header_lookup(spec: TableSpec) -> dict[str, str]:
    """Normalised header -> canonical name: every spelling, then Shapefile-cut spellings that
    name one column only and are not themselves a full spelling."""
    lookup = {}
    for col in spec.columns:
        for alias in col.spellings:
            lookup.setdefault(normalize_header(alias), col.name)
    cut: dict[str, set[str]] = {}
    for col in spec.columns:
        for alias in col.spellings:
            for short in dbf_truncations(normalize_header(alias)):
                cut.setdefault(short, set()).add(col.name)
    for short, names in cut.items():
        if len(names) == 1 and short not in lookup:
            lookup[short] = names.pop()
    return lookup


def header_map(df: pd.DataFrame, spec: TableSpec) -> dict[str, str]:
    """Officer's header -> canonical name for the columns of ``df`` that ``spec`` knows."""
    lookup = header_lookup(spec)
    mapping: dict[str, str] = {}
    for header in df.columns:
        key = normalize_header(header)
        if key in lookup and lookup[key] not in mapping.values():
            mapping[header] = lookup[key]
    return mapping


def _rename(df: pd.DataFrame, spec: TableSpec) -> tuple[pd.DataFrame, dict[str, str]]:
    """``df`` with canonical column names, and canonical name -> the officer's header."""
    mapping = header_map(df, spec)
    return df.rename(columns=mapping), {v: str(k) for k, v in mapping.items()}


def header_of(df: pd.DataFrame, name: str) -> str:
    """The officer's header of canonical column ``name`` in a table :func:`validate` returned
    (``df.attrs['headers']``); ``name`` itself when unknown."""
    return df.attrs.get("headers", {}).get(name, name)


def _listed(columns, most: int = 12, width: int = 30) -> str:
    """Column names for a message: at most ``most``, each cut to ``width`` characters (a wrong
    file's first line is never echoed whole)."""
    names = [str(c) if len(str(c)) <= width else str(c)[:width] + "…" for c in columns[:most]]
    more = f" ... ({len(columns)} in all)" if len(columns) > most else ""
    return ", ".join(names) + more


def header_collisions(df: pd.DataFrame, spec: TableSpec, file: str) -> list[Problem]:
    """Two headers that map to the same column (面積 and area_ha): an error naming both."""
    lookup = {normalize_header(a): c.name for c in spec.columns for a in (c.name, *c.aliases)}
    by_field: dict[str, list[str]] = {}
    for header in df.columns:
        name = lookup.get(normalize_header(header))
        if name is not None:
            by_field.setdefault(name, []).append(str(header))
    return [
        Problem(
            file,
            "row 1",
            name,
            f"headers {' and '.join(repr(h) for h in headers)} both mean {name}; keep one",
        )
        for name, headers in by_field.items()
        if len(headers) > 1
    ]


def row_label(index: int, ids: pd.Series | None, *, header_rows: int = 1) -> str:
    """'row N' as a spreadsheet shows it (header is row 1), plus the record id when known."""
    label = f"row {index + header_rows + 1}"
    if ids is not None:
        ident = ids.iloc[index]
        if ident:
            label += f" ({ident})"
    return label


def distinct(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes, first): a code per cell and the position of the first cell of each code (in code
    order); cells of one code are of one type and print alike (``str``), so any function of a
    cell's value and type gives them the same result.

    A column of 100,000 stands has a handful of species, dates and classes: validation parses
    each distinct value once. Floats are told apart by their bits (``-0.0`` and ``0.0`` print
    differently); an object column of mixed types (``1``, ``1.0``, ``True`` are equal in Python)
    and missing cells (``None``, ``NaN``, ``NaT``) are told apart by type and text.
    """
    dtype = values.dtype
    if isinstance(dtype, np.dtype) and dtype.kind == "f" and dtype.itemsize in (2, 4, 8):
        floats = values.to_numpy()
        floats = np.where(np.isnan(floats), np.nan, floats)  # one NaN: they print alike
        codes = pd.factorize(floats.view(f"i{dtype.itemsize}"))[0]
    elif _exact(values):
        codes = pd.factorize(values)[0]
    else:
        codes = pd.factorize(np.array([_typed(v) for v in values], dtype=object))[0]
    missing = codes < 0
    if missing.any():
        kinds = pd.factorize(np.array([_typed(v) for v in values[missing]], dtype=object))[0]
        codes[missing] = codes.max() + 1 + kinds
        codes = pd.factorize(codes)[0]  # numbered again in order of first appearance
    # in that order, the first cell of each code is where the running maximum rises to it
    first = np.searchsorted(np.maximum.accumulate(codes), np.arange(codes.max(initial=-1) + 1))
    return codes, first


_EXACT_OBJECTS = ("string", "integer", "boolean", "date", "empty")
"""Object columns (by ``infer_dtype``) whose equal values are of types that print alike."""


def _exact(values: pd.Series) -> bool:
    """Whether equal non-missing cells of ``values`` always print alike (no mixed types)."""
    dtype = values.dtype
    if pd.api.types.is_object_dtype(dtype):
        return pd.api.types.infer_dtype(values, skipna=True) in _EXACT_OBJECTS
    return isinstance(dtype, pd.StringDtype) or dtype.kind in "iubMm"


def _typed(value) -> str:
    """A cell's type and text: equal keys mean the same type printed alike."""
    return f"{type(value).__module__}.{type(value).__qualname__}:{value}"


def parse_distinct(values: pd.Series, parse: Callable) -> pd.Series:
    """``values.map(parse)`` (same index, values and dtype), with ``parse`` called once per
    distinct value (:func:`distinct`)."""
    codes, first = distinct(values)
    return values.iloc[first].map(parse).take(codes).set_axis(values.index)


TEXT_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)
"""The ``str`` dtype of pandas text columns (Arrow-backed, NaN where missing)."""

_EDGE_SPACE = r"^[\x09-\x0d\x1c-\x20]|[\x09-\x0d\x1c-\x20]$"
"""An ASCII character ``str.strip`` removes, first or last in a text."""


def normalized(values: pd.Series) -> pd.Series:
    """``values.map(normalize_text)``. A text column of ASCII without surrounding whitespace
    (stand ids: 100,000 distinct values) is taken as it is (NFKC leaves ASCII unchanged);
    others are normalised once per distinct value."""
    if values.dtype == TEXT_DTYPE:
        ascii = (values.str.isascii() | values.isna()).all()
        if ascii and not values.str.contains(_EDGE_SPACE, regex=True).any():
            return values.fillna("")
    return parse_distinct(values, normalize_text)


def _parse_column(
    values: pd.Series, col: Column, file: str, ids, problems: list[Problem], header: str
):
    """The parsed values of a column (one per row; None or NaN where missing or bad) and its
    problems: one per bad row in row order, at most MAX_PROBLEMS_PER_COLUMN, then a count."""

    def check(raw) -> tuple[object, str]:
        text = normalize_text(raw)
        if not text:
            return None, "value is missing" if col.required else ""
        try:
            value = col.parse(text)
        except ValueError as e:
            return None, f"{e}, got {text!r}"
        if col.min is not None and value < col.min:
            return None, f"expected at least {col.min} {col.unit}, got {value}".replace("  ", " ")
        if col.max is not None and value > col.max:
            return None, f"expected at most {col.max} {col.unit}, got {value}".replace("  ", " ")
        return value, ""

    codes, first = distinct(values)
    checked = [check(raw) for raw in values.iloc[first]]  # each distinct value once
    messages = [message for _, message in checked]
    bad = np.flatnonzero(np.array([bool(m) for m in messages], dtype=bool)[codes])
    for i in bad[:MAX_PROBLEMS_PER_COLUMN]:
        problems.append(Problem(file, row_label(int(i), ids), header, messages[codes[i]]))
    if len(bad) > MAX_PROBLEMS_PER_COLUMN:
        more = len(bad) - MAX_PROBLEMS_PER_COLUMN
        problems.append(Problem(file, "", header, f"... and {more} more bad values"))
    if not checked:
        return []  # an empty column, as pandas types it
    # the dtype pandas infers from the distinct values is the one of all rows (the same types)
    parsed = pd.Series([value for value, _ in checked])
    return parsed.take(codes).set_axis(values.index)


def _stand_part(value) -> str:
    return parse_stand_part(normalize_text(value))


def stand_ids(df: pd.DataFrame) -> pd.Series | None:
    """stand_id from the table, or built from 林班-小班[-枝番]; None when neither is present."""
    if "stand_id" in df.columns:
        return normalized(df["stand_id"])
    if {"rinpan", "shohan"} <= set(df.columns):
        parts = [parse_distinct(df[c], _stand_part) for c in ("rinpan", "shohan")]
        ident = parts[0] + "-" + parts[1]
        if "edaban" in df.columns:
            edaban = parse_distinct(df["edaban"], _stand_part)
            ident = ident.where(edaban == "", ident + "-" + edaban)
        return ident
    return None


def validate(
    df: pd.DataFrame,
    spec: TableSpec,
    file: str,
    *,
    needs_stand_id: bool | None = None,
    allow_empty: bool = False,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Map headers, parse and check every value of ``df`` against ``spec``.

    Returns the clean table (canonical column names, parsed values, ``None``/NaN for missing
    optional values, a ``source_row`` column with the spreadsheet row number) and every problem.
    """
    problems: list[Problem] = []
    if df.empty and not allow_empty:
        return df, [Problem(file, "", "", "the table has no rows (empty file?)")]
    problems += header_collisions(df, spec, file)
    if problems:
        return df, problems
    df, headers = _rename(df.reset_index(drop=True), spec)
    names = {c.name for c in spec.columns}
    by_name = {c.name: c for c in spec.columns}
    if needs_stand_id is None:
        needs_stand_id = "stand_id" in names
    ids = stand_ids(df) if needs_stand_id else None
    if needs_stand_id and ids is None:
        problems.append(
            Problem(
                file,
                "",
                "小班ID (stand_id)",
                "missing: give a stand id column ("
                + ", ".join(STAND_ID_COLUMN.spellings)
                + "), or 林班 and 小班 (and 枝番) columns (also rinpan, shohan, edaban)",
            )
        )
    recognised = any(c in names for c in df.columns)  # else the wrong file: never echo it
    found = (
        f"found columns: {_listed([headers.get(c, c) for c in df.columns])}"
        if recognised
        else f"none of the {len(df.columns)} column(s) is a {spec.name} column: "
        "is this the right file?"
    )
    for col in spec.columns:
        if col.required and col.name not in df.columns:
            problems.append(
                Problem(
                    file,
                    "",
                    col.label,
                    "required column is missing; accepted headers: "
                    f"{', '.join(col.spellings)}; {found}",
                )
            )
    if spec.alternatives and not any(set(g) <= set(df.columns) for g in spec.alternatives):
        groups = " or ".join(
            " with ".join("/".join(by_name[n].spellings) for n in g) for g in spec.alternatives
        )
        problems.append(
            Problem(
                file,
                "",
                " or ".join(" + ".join(by_name[n].label for n in g) for g in spec.alternatives),
                f"required: {groups}; {found}",
            )
        )
    out = pd.DataFrame(index=df.index)
    if ids is not None:
        out["stand_id"] = ids
        id_header = headers.get("stand_id") or "+".join(
            headers[c] for c in ("rinpan", "shohan", "edaban") if c in headers
        )
        headers.setdefault("stand_id", id_header)
        for i in np.flatnonzero(ids.to_numpy() == ""):
            problems.append(Problem(file, row_label(int(i), None), id_header, "value is missing"))
    labels = ids
    if labels is None and spec.id_column and spec.id_column in df.columns:
        labels = normalized(df[spec.id_column])  # name the record in row labels
    for col in spec.columns:
        if col.name in STAND_KEY_NAMES and needs_stand_id:
            continue
        if col.name in df.columns:
            out[col.name] = _parse_column(
                df[col.name], col, file, labels, problems, headers.get(col.name, col.name)
            )
    problems += _duplicates(out, list(spec.unique), file, headers)
    out["source_row"] = np.arange(len(out)) + 2
    out.attrs["headers"] = headers
    return out, problems


def _duplicates(
    out: pd.DataFrame, keys: list[str], file: str, headers: dict[str, str]
) -> list[Problem]:
    """One problem per repeated key (one column: an id; several: a combination), naming rows."""
    if not keys or not set(keys) <= set(out.columns):
        return []
    repeated = out.duplicated(keys, keep=False) & out[keys].ne("").all(axis=1)
    problems = []
    for value, group in list(out[repeated].groupby(keys, sort=True))[:MAX_PROBLEMS_PER_COLUMN]:
        rows = ", ".join(str(i + 2) for i in group.index)
        what = (
            f"duplicate id {value[0]!r}"
            if len(keys) == 1
            else "duplicate entry "
            + ", ".join(f"{k}={v}" for k, v in zip(keys, value, strict=True))
        )
        column = "+".join(headers.get(k, k) for k in keys)
        problems.append(Problem(file, f"rows {rows}", column, what))
    return problems


STAND_KEY_NAMES = {c.name for c in STAND_KEY_COLUMNS}
