"""Spreadsheet formula injection (OWASP "CSV injection"): text cells that a spreadsheet would run.

A stand id, unit id or facility name beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is a formula to Excel or LibreOffice when the output is opened (``=HYPERLINK(...)``,
``=cmd|' /C calc'!A0``). Every text cell of every CSV and XLSX output is therefore neutralised:

* CSV: such a text value gets a leading apostrophe (``'=1+1``), the documented OWASP escape; a
  value that already begins with an apostrophe gets one more, so :func:`unescape_text` recovers
  every original exactly (remove one leading apostrophe).
* XLSX: every text cell is written as a string cell, never a formula, with the original text
  unchanged.

Numbers stay numbers: a value that is a number, or text that is a plain decimal number such as
the exact total ``-12.345`` or ``+3``, is left alone.
"""

from __future__ import annotations

import re

import pandas as pd

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP)."""

ESCAPE = "'"

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def escape_text(value: str) -> str:
    """A text value made inert for a spreadsheet; plain decimal numbers are left alone."""
    if value.startswith(ESCAPE) or (value.startswith(TRIGGERS) and not _NUMBER.fullmatch(value)):
        return ESCAPE + value
    return value


def unescape_text(value: str) -> str:
    """The original of an :func:`escape_text` value."""
    return value[1:] if value.startswith(ESCAPE) else value


def escape_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every text cell escaped (number columns and non-text values unchanged)."""
    out = None
    for col in df.columns:
        series = df[col]
        if series.dtype != object and not pd.api.types.is_string_dtype(series.dtype):
            continue
        escaped = series.map(lambda v: escape_text(v) if isinstance(v, str) else v)
        if not escaped.equals(series):
            out = df.copy() if out is None else out
            out[col] = escaped
    names = [escape_text(c) if isinstance(c, str) else c for c in df.columns]
    if names != list(df.columns):
        out = (df.copy() if out is None else out).set_axis(names, axis=1)
    return df if out is None else out


def text_cells_as_strings(workbook) -> int:
    """Make every text cell of an openpyxl workbook a string cell, never a formula.

    openpyxl stores text beginning with ``=`` as a formula; this turns each such cell back into
    a plain string with the original text. Returns the number of cells changed.
    """
    changed = 0
    for ws in workbook.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f" or (isinstance(cell.value, str) and cell.data_type != "s"):
                    cell.data_type = "s"
                    changed += 1
    return changed
