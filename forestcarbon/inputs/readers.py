"""Reading layers and tables (encodings, Japanese headers) and writing outputs atomically."""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pyogrio

from forestcarbon.core.config import CONFIG_FILE
from forestcarbon.core.exceptions import CRSError, InputError, Problem
from forestcarbon.core.files import note_input, read_input
from forestcarbon.inputs.crs import require_metres
from forestcarbon.inputs.schemas import parse_distinct

MAX_COLUMNS = 1000
"""Most columns an input table may have: a wider header is refused before parsing (a header of
100,000 columns would otherwise take minutes and gigabytes)."""

MAX_TABLE_BYTES = 2_000_000_000
"""Largest CSV/XLSX input [bytes] (2 GB; a city's records are megabytes): a larger file is
refused before it is read, so it cannot exhaust memory."""

HEADER_PEEK_BYTES = 1 << 20
"""The first line of a CSV is checked within this many bytes [bytes] before the file is read
(1,000 columns of up to 1,000 bytes each)."""

log = logging.getLogger("forestcarbon")


def _peek_header(path: Path) -> None:
    """Refuse a CSV whose header is wider than :data:`MAX_COLUMNS` (or longer than
    :data:`HEADER_PEEK_BYTES`) from its first bytes only, before the whole file is read.

    A comma is the byte 0x2C in UTF-8 and in Shift_JIS (never part of a double-byte
    character), so it is counted in the raw bytes."""
    with path.open("rb") as f:
        head = f.read(HEADER_PEEK_BYTES)
    end = head.find(b"\n")
    line = head if end < 0 else head[:end]
    if line.count(b",") >= MAX_COLUMNS or (end < 0 and len(head) == HEADER_PEEK_BYTES):
        commas = line.count(b",")
        raise InputError(
            Problem(
                str(path),
                "row 1",
                "",
                f"the header has more than {MAX_COLUMNS} columns ("
                + (f"{commas + 1}" if end >= 0 else f"at least {commas + 1} in its first MB")
                + "); is this the right file?",
            )
        )


TABLE_SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm", ".parquet")
LAYER_SUFFIXES = (".gpkg", ".shp", ".geojson", ".json", ".fgb", ".parquet", ".gml", ".kml")
"""Vector formats looked for by name when the default ``stands.gpkg`` is absent."""

PARQUET = ".parquet"
"""Suffix of (Geo)Parquet files; a folder of them (``stands/part-00000.parquet``, ...) is one
partitioned input (``forestcarbon convert PROGRAM --to geoparquet`` writes them)."""


def parquet_parts(path: Path) -> list[Path]:
    """The ``.parquet`` files of a partitioned input folder, in name order (empty: not one)."""
    if not path.is_dir():
        return []
    return sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == PARQUET)


def locate_input(program_dir: Path, configured: str, default: str, suffixes, key: str) -> Path:
    """The file of one input: ``configured`` when it exists or was set in program.toml; when the
    default file is absent, the one file of the same name in another format.

    ``stands.gpkg`` absent and ``stands.shp`` present -> ``stands.shp`` (logged, so the run says
    which file it used); a folder ``stands/`` of ``.parquet`` files (partitioned GeoParquet) is
    found the same way; two candidates (``stands.shp`` and ``stands.geojson``) are an error
    naming both. Suffixes match case-insensitively (``STANDS.SHP``). The default file wins when
    it exists; a file of the same name in another format beside it is then named in a warning
    (an officer who added ``stands.shp`` learns that ``stands.gpkg`` is the one used).
    """
    path = program_dir / configured
    if configured != default or not program_dir.is_dir():
        return path
    stem = Path(default).stem.lower()
    wanted = {f"{stem}{s}" for s in suffixes}
    found = sorted(
        p
        for p in program_dir.iterdir()
        if (p.is_file() and p.name.lower() in wanted)
        or (PARQUET in suffixes and p.name.lower() == stem and parquet_parts(p))
    )
    if path.exists():
        others = [p.name for p in found if p.name != default]
        if others:
            log.warning(
                "%s: %s used; %s beside it not used (name the file to use with [inputs] %s)",
                key,
                default,
                ", ".join(others),
                key,
            )
        return path
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise InputError(
            Problem(
                str(program_dir / CONFIG_FILE),
                "",
                f"[inputs] {key}",
                f"{default} is absent and several files could replace it ({names}); name the "
                f'one to use, e.g. [inputs] {key} = "{found[0].name}"',
            )
        )
    if not found:
        return path
    log.info("%s: using %s (%s is absent)", key, found[0].name, default)
    return found[0]


ENCODINGS = ("utf-8-sig", "cp932")
"""CSV encodings tried in order: UTF-8 (with or without BOM), then Shift_JIS (Windows cp932)."""


def decode_text(data: bytes, file: str) -> str:
    """Decode CSV bytes as UTF-8 or Shift_JIS (cp932); anything else is an error."""
    if b"\x00" in data:
        nul = data.index(b"\x00")
        raise InputError(
            Problem(
                file,
                f"byte {nul}",
                "",
                "text is neither UTF-8 "
                "nor Shift_JIS (cp932): it has NUL bytes (UTF-16?); save the "
                "file as CSV UTF-8 or CSV (Shift_JIS) from Excel",
            )
        )
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    bad = _first_bad_byte(data)
    raise InputError(
        Problem(
            file,
            f"byte {bad}",
            "",
            "text is neither UTF-8 nor Shift_JIS "
            "(cp932); save the file as CSV UTF-8 or CSV (Shift_JIS) from Excel",
        )
    )


def _first_bad_byte(data: bytes) -> int:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        return e.start
    return 0


def read_table(path: str | Path, *, sheet: str | int = 0) -> pd.DataFrame:
    """Read a CSV (UTF-8 or cp932) or XLSX table with every cell as text.

    Values are kept as text so that validation, not the reader, decides what is valid.
    """
    path = Path(path)
    if parquet_parts(path) or (path.is_file() and path.suffix.lower() == PARQUET):
        df = _parquet_table(path)
        df.columns = [str(c).strip() for c in df.columns]
        return df
    if not path.is_file():
        raise InputError(Problem(str(path), "", "", "file not found"))
    size = path.stat().st_size
    if size > MAX_TABLE_BYTES:
        raise InputError(
            Problem(
                str(path),
                "",
                "",
                f"the file is {size / 1e9:.1f} GB, larger than the {MAX_TABLE_BYTES / 1e9:g} GB a "
                "table may be; is this the right file?",
            )
        )
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        _peek_header(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        data = read_input(path)
        try:
            header = _xlsx_header(data, sheet)
        except Exception as e:  # openpyxl raises many types for broken files
            raise InputError(Problem(str(path), "", "", f"cannot read as XLSX: {e}")) from None
        width = len(header)
        if width > MAX_COLUMNS:
            raise InputError(
                Problem(
                    str(path),
                    "row 1",
                    "",
                    f"the sheet has more than {MAX_COLUMNS} columns ({width}); is this the "
                    "right file?",
                )
            )
        _check_repeated([("" if h is None else str(h)) for h in header], str(path))
        try:
            df = pd.read_excel(io.BytesIO(data), sheet_name=sheet, dtype=str, keep_default_na=False)
        except Exception as e:  # openpyxl raises many types for broken files
            raise InputError(Problem(str(path), "", "", f"cannot read as XLSX: {e}")) from None
    else:
        data = read_input(path)
        if not data.strip():
            raise InputError(Problem(str(path), "", "", "the file is empty"))
        text = decode_text(data, str(path))
        check_header(text, str(path))
        try:
            df = pd.read_csv(
                io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True
            )
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
            raise InputError(Problem(str(path), "", "", f"not a valid CSV table: {e}")) from None
    df.columns = [str(c).strip() for c in df.columns]
    return df


ARROW_TEXT = (pa.string(), pa.large_string())
"""Arrow types of text columns: read as they are (nulls as empty cells)."""


def _parquet_table(path: Path) -> pd.DataFrame:
    """A Parquet file, or a folder of them, as a table of text (as a CSV would be read): numbers
    and dates written as text, nulls as empty cells; a geometry column is left out."""
    parts = parquet_parts(path) or [path]
    frames = []
    for part in parts:
        note_input(part)
        try:
            table = pq.read_table(part)
        except (pa.ArrowException, OSError) as e:
            raise InputError(Problem(str(part), "", "", f"cannot read as Parquet: {e}")) from None
        if table.num_columns > MAX_COLUMNS:
            raise InputError(
                Problem(str(part), "", "", f"more than {MAX_COLUMNS} columns; the right file?")
            )
        table = table.drop_columns([c for c in ("geometry",) if c in table.column_names])
        df = table.to_pandas()
        same = list(df.columns) == table.column_names  # else pandas made some an index
        for i in range(df.shape[1]):  # by position: a name may repeat (refused later)
            if same and table.num_rows and table.schema.types[i] in ARROW_TEXT:
                text = pc.fill_null(table.column(i), "").to_pandas()  # text as it is
            else:  # each distinct number, date... written once
                text = parse_distinct(df.iloc[:, i].astype(object), _cell_text)
            df.isetitem(i, text.set_axis(df.index))
        frames.append((part, df))
    return _same_columns(frames)


def _cell_text(value) -> str:
    """A Parquet cell as a CSV cell: 3 -> '3', 2.5 -> '2.5', a date -> '2023-04-01', a null
    -> ''."""
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    return str(value)


def _same_columns(frames: list) -> pd.DataFrame:
    """Concatenate the parts of a partitioned input; a part whose columns differ from the first
    part's is an error naming the part and the column."""
    first_part, first = frames[0]
    for part, df in frames[1:]:
        missing = [c for c in first.columns if c not in df.columns]
        extra = [c for c in df.columns if c not in first.columns]
        if missing or extra:
            col = (missing or extra)[0]
            what = (
                f"column missing (present in {first_part.name})"
                if missing
                else f"column not in {first_part.name} (every part must have the same columns)"
            )
            raise InputError(Problem(str(part), "", col, what))
    if len(frames) == 1:
        return first
    return pd.concat([df for _, df in frames], ignore_index=True)


def _xlsx_header(data: bytes, sheet: str | int) -> tuple:
    """The header row of a worksheet, read without loading the other cells."""
    # imported here, not at the top: it takes ~0.2 s, which every command (a CSV-only program's
    # `forestcarbon validate` too, issue #13) would pay; only an XLSX input needs it
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    try:
        ws = wb.worksheets[sheet] if isinstance(sheet, int) else wb[sheet]
        row = list(next(ws.iter_rows(min_row=1, max_row=1, values_only=True), ()))
        while row and row[-1] in (None, ""):  # formatted but empty cells at the end
            row.pop()
        return tuple(row)
    finally:
        wb.close()


def check_header(text: str, file: str) -> None:
    """Refuse a CSV header wider than MAX_COLUMNS or with a repeated column name.

    Only the first record is parsed, so an absurd header is refused in milliseconds. A repeated
    name would otherwise be renamed silently by the CSV reader ('面積', '面積.1').
    """
    first = text[: text.find("\n") + 1 or len(text)]
    if first.count(",") >= MAX_COLUMNS:  # cheap bound before parsing quotes
        raise InputError(
            Problem(
                file,
                "row 1",
                "",
                f"the header has more than {MAX_COLUMNS} columns "
                f"({first.count(',') + 1}); is this the right file?",
            )
        )
    try:
        header = next(csv.reader(io.StringIO(text)), [])
    except csv.Error:
        return  # pandas reports the malformed CSV
    _check_repeated(header, file)
    if len(header) > MAX_COLUMNS:
        raise InputError(
            Problem(file, "row 1", "", f"the header has more than {MAX_COLUMNS} columns")
        )


def _check_repeated(header: list[str], file: str) -> None:
    """A header naming a column twice is an error naming both positions."""
    seen: dict[str, int] = {}
    for i, name in enumerate(header, start=1):
        key = name.strip()
        if key and key in seen:
            raise InputError(
                Problem(
                    file,
                    "row 1",
                    key,
                    f"the header names this column twice (columns {seen[key]} and {i}); "
                    "rename or delete one",
                )
            )
        seen.setdefault(key, i)


def read_layer(path: str | Path, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a vector layer (GeoPackage, Shapefile, GeoJSON, FlatGeobuf, GeoParquet, ...).

    Attribute values are returned as read; the CRS is required (no CRS is an error with the fix).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(Problem(str(path), "", "", "file not found"))
    if path.stat().st_size == 0:
        raise InputError(Problem(str(path), "", "", "the file is empty"))
    if path.is_file():
        note_input(path)
    try:
        if parquet_parts(path):
            gdf = _read_geoparquet_folder(path)
        elif path.suffix.lower() == PARQUET:
            gdf = gpd.read_parquet(path)
        else:
            if layer is None:
                layers = [name for name, _ in pyogrio.list_layers(path)]
                layer = "stands" if "stands" in layers else layers[0] if len(layers) == 1 else None
                if layer is None:
                    raise InputError(
                        Problem(
                            str(path),
                            "",
                            "",
                            "several layers and none named "
                            f"'stands': {', '.join(layers)}; set [inputs] "
                            "stands_layer",
                        )
                    )
            gdf = _read_ogr(path, layer)
    except InputError:
        raise
    except Exception as e:  # GDAL errors come in many types
        raise InputError(
            Problem(str(path), "", "", f"cannot read as a vector layer: {e}")
        ) from None
    if gdf.empty:
        raise InputError(Problem(str(path), "", "", "the layer has no features"))
    if gdf.crs is None:
        raise CRSError(
            Problem(
                str(path),
                "",
                "",
                "the layer has no CRS. Set it in QGIS (Layer > "
                "Set Layer CRS, then save) or add the .prj file; for Okayama the "
                "usual CRS is EPSG:6673 (JGD2011 zone V)",
            )
        )
    return gdf


def _read_geoparquet_folder(path: Path) -> gpd.GeoDataFrame:
    """The parts of a partitioned GeoParquet folder as one layer, in part order; a part that is not
    GeoParquet, has other columns or another CRS is an error naming it."""
    frames = []
    for part in parquet_parts(path):
        note_input(part)
        try:
            gdf = gpd.read_parquet(part)
        except Exception as e:  # pyarrow and geopandas raise many types for a broken file
            raise InputError(
                Problem(str(part), "", "geometry", f"cannot read as GeoParquet: {e}")
            ) from None
        if frames and gdf.crs != frames[0][1].crs:
            raise InputError(
                Problem(
                    str(part),
                    "",
                    "geometry",
                    f"CRS {gdf.crs} differs from {frames[0][0].name}'s ({frames[0][1].crs})",
                )
            )
        frames.append((part, gdf))
    crs = frames[0][1].crs
    merged = _same_columns(frames)
    return gpd.GeoDataFrame(merged, geometry=frames[0][1].geometry.name, crs=crs)


def _read_ogr(path: Path, layer: str | None) -> gpd.GeoDataFrame:
    """Read one OGR layer; a UTF-8 Shapefile whose field names GDAL cut to 10 bytes in the middle
    of a character (林齢基準年度 -> 林齢基 + one stray byte) is read with the broken character
    dropped from the names."""
    try:
        return gpd.read_file(path, layer=layer, engine="pyogrio")
    except UnicodeDecodeError:
        if path.suffix.lower() not in (".shp", ".dbf"):
            raise
    # raw bytes as latin1 (spelled so: pyogrio hands "latin-1" to GDAL, which recodes it)
    gdf = gpd.read_file(path, layer=layer, engine="pyogrio", encoding="latin1")

    def utf8(text, errors="strict"):
        return text.encode("latin1").decode("utf-8", errors) if isinstance(text, str) else text

    gdf.columns = [c if c == gdf.geometry.name else utf8(c, "ignore") for c in gdf.columns]
    for col in gdf.columns:
        if gdf[col].dtype == object and col != gdf.geometry.name:
            gdf[col] = gdf[col].map(utf8)
    return gdf


def ensure_metric(crs, file: str) -> None:
    """Refuse a CRS that is not projected in metres where areas are computed."""
    require_metres(crs, file)
