"""Per-row text (reasons, flags, dates) built without a Python loop over the rows.

A million stands have a million reason texts, but only a few distinct *pieces*: each distinct
combination of the values a piece depends on is formatted once, in Python, and spread to every row
by an index (:func:`render`); the pieces are then joined row by row with array operations
(:func:`join`). With pyarrow installed (the ``scale`` extra; pandas uses it for its text columns)
the joins run in pyarrow's compute kernels, else on numpy object arrays; the text is the same.

A *text array* here is a ``pyarrow.Array`` of strings (or a numpy object array of ``str``), one
entry per row; :func:`column` turns it into the pandas column the outputs carry.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

try:
    import pyarrow as pa
    import pyarrow.compute as pc
except ImportError:  # pragma: no cover - pyarrow is optional; the numpy path gives the same text
    pa = pc = None

FAST_FIXED_UNITS = 1e8
"""Largest value, in units of the last decimal, that :func:`fixed` rounds as an integer (the
product ``value * 10**decimals`` is then within 1.2e-8 of exact); larger ones are formatted one by
one."""


@dataclass(frozen=True)
class Coded:
    """Text of every row as a code into a few distinct texts (-1: the empty text)."""

    code: np.ndarray
    texts: list[str]

    def __or__(self, other: Coded) -> Coded:
        """The rows of ``other`` that have a text, over this one's."""
        code = np.where(other.code >= 0, other.code + len(self.texts), self.code)
        return Coded(code, self.texts + other.texts)


def spread(coded: Coded):
    """The text array of ``coded``."""
    texts = [*coded.texts, ""]  # code -1: the empty text, last
    code = np.where(coded.code >= 0, coded.code, len(texts) - 1)
    if pa is None:
        return np.asarray(texts, dtype=object)[code]
    return pa.array(texts, type=pa.large_string()).take(pa.array(code))


def _small_codes(key: np.ndarray) -> tuple[np.ndarray, int]:
    """(code, number of codes) of a key: its own value for booleans and narrow integer ranges,
    else through a hash table."""
    if key.dtype == bool:
        return key.astype(np.int64), 2
    if key.dtype.kind in "iu" and len(key):
        lo, hi = int(key.min()), int(key.max())
        if hi - lo < 1 << 24:
            return key.astype(np.int64) - lo, hi - lo + 1
    code, uniques = pd.factorize(key, use_na_sentinel=False)
    return code.astype(np.int64), max(len(uniques), 1)


def factorize_rows(keys: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(code per row, first row of each code) of the distinct combinations of ``keys``.

    Codes number the combinations in order of first appearance; ``first[code]`` is a row holding
    that combination (to read the values back).
    """
    n = len(keys[0]) if keys else 0
    code, count = np.zeros(n, dtype=np.int64), 1
    for key in keys:
        k, m = _small_codes(np.asarray(key))
        if count * m >= 1 << 62:  # renumber densely before the combined code could overflow
            code, uniques = pd.factorize(code)
            count = len(uniques)
        code, count = code * m + k, count * m
    code, uniques = pd.factorize(code)
    first = np.full(len(uniques), n, dtype=np.int64)
    np.minimum.at(first, code, np.arange(n))
    return code.astype(np.int64), first


def encode(keys: Sequence[np.ndarray], fmt: Callable[..., str], mask=None) -> Coded:
    """:class:`Coded` text ``fmt(*values of the row's keys)``, called once per distinct
    combination; rows outside ``mask`` (when given) have no text and are not formatted."""
    keys = [np.asarray(k) for k in keys]
    if mask is None:
        code, first = factorize_rows(keys)
        return Coded(code, [fmt(*(k[i] for k in keys)) for i in first])
    mask = np.asarray(mask, dtype=bool)
    code, first = factorize_rows([mask, *keys])  # the mask's rows are combinations of their own
    kept = mask[first]
    renumber = np.where(kept, np.cumsum(kept) - 1, -1)
    texts = [fmt(*(k[i] for k in keys)) for i in first[kept]]
    return Coded(renumber[code], texts)


def render(keys: Sequence[np.ndarray], fmt: Callable[..., str], mask=None):
    """Text array of :func:`encode` (the empty text outside ``mask``)."""
    return spread(encode(keys, fmt, mask))


def render_joined(pieces: Sequence[tuple[Sequence[np.ndarray], Callable[..., str]]], limit=None):
    """Text array of the pieces' texts joined row by row; ``pieces``: (keys, fmt) as for
    :func:`render`.

    When the rows have at most ``limit`` distinct combinations of all the keys (by default 4096
    or a sixteenth of the rows), each combination's whole text is formatted once and the text
    written once; else each piece is rendered and the pieces joined.
    """
    keys = [np.asarray(k) for ks, _ in pieces for k in ks]
    code, first = factorize_rows(keys)
    if len(first) > (max(4096, len(code) // 16) if limit is None else limit):
        return join(*(render(ks, fmt) for ks, fmt in pieces))
    bounds = np.cumsum([0, *(len(ks) for ks, _ in pieces)])
    texts = []
    for i in first:
        values = [k[i] for k in keys]
        texts.append(
            "".join(
                fmt(*values[lo:hi])
                for (_, fmt), lo, hi in zip(pieces, bounds[:-1], bounds[1:], strict=True)
            )
        )
    return spread(Coded(code, texts))


def fixed_key(values, decimals: int = 2) -> tuple[np.ndarray, Callable[[int], str]]:
    """(integer key, key -> text) for ``format(value, f".{decimals}f")`` of every value, exactly
    as Python formats: equal texts, equal keys, so each distinct text is formatted once.

    Non-negative values below :data:`FAST_FIXED_UNITS` units of the last decimal and not within
    1e-6 units of a rounding tie are rounded as integers (the scaled value is within 1.2e-8 of
    exact, so its nearest integer is the correctly rounded one); the others (near ties, negative,
    huge, NaN) get a negative key and are formatted by Python one by one.
    """
    x = np.asarray(values, dtype=float)
    scale = 10**decimals
    with np.errstate(invalid="ignore"):
        y = x * scale
        tie = np.abs(y - np.floor(y) - 0.5) <= 1e-6
        fast = (x >= 0) & (y < FAST_FIXED_UNITS) & ~tie
    key = np.where(fast, np.rint(np.where(fast, y, 0.0)), 0).astype(np.int64)
    slow = np.flatnonzero(~fast)
    key[slow] = -1 - np.arange(len(slow))

    def text(k) -> str:
        if k < 0:
            return format(x[slow[-1 - k]], f".{decimals}f")
        return f"{k // scale}.{k % scale:0{decimals}d}" if decimals else str(k)

    return key, text


def join(*parts):
    """Row-by-row concatenation of text arrays and plain ``str`` pieces (same for every row)."""
    if pa is None:
        out = np.full(_length(parts), "", dtype=object)
        for p in parts:
            out = out + (p if isinstance(p, str) else np.asarray(p, dtype=object))
        return out
    if not any(not isinstance(p, str) for p in parts):
        raise ValueError("join needs at least one text array")
    return pc.binary_join_element_wise(*map(_arrow, parts), _arrow(""))


def column(text) -> pd.Series | np.ndarray:
    """The text array as the pandas column a frame built from Python ``str`` values would get."""
    if pa is None:
        return np.asarray(text, dtype=object)
    out = text.to_pandas()
    if out.dtype == object:  # pandas < 3: text columns are object columns of str
        return out.to_numpy()
    return out


def day_text(value) -> str:
    """ISO text of a date given as datetime64 or as whole days since 1970-01-01 (2023-04-01)."""
    if isinstance(value, int | np.integer):
        value = int(value)
    return str(np.datetime64(value, "D"))


def numeric_parts(texts, sep: str = "-") -> np.ndarray | None:
    """Whole numbers of texts made of ASCII digit groups joined by ``sep`` ("12-3-1").

    Returns
    -------
    ndarray of int64, shape (len(texts), most parts), or None
        One row per text, one column per part, -1 past a text's last part; None when pyarrow is
        not installed or any text is something else (a letter, a missing value, a group of over
        18 digits): the caller then goes the general way.
    """
    if pa is None:
        return None
    try:
        arr = pa.array(texts, type=pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if arr.null_count:
        return None
    group = "[0-9]{1,18}"
    pattern = f"^{group}(?:{re.escape(sep)}{group})*$"
    if len(arr) and not pc.all(pc.match_substring_regex(arr, pattern)).as_py():
        return None
    lists = pc.split_pattern(arr, sep)
    counts = pc.list_value_length(lists).to_numpy(zero_copy_only=False).astype(np.int64)
    values = pc.cast(lists.flatten(), pa.int64()).to_numpy(zero_copy_only=False)
    out = np.full((len(arr), int(counts.max()) if len(arr) else 0), -1, dtype=np.int64)
    rows = np.repeat(np.arange(len(arr)), counts)
    out[rows, np.arange(len(values)) - np.repeat(np.cumsum(counts) - counts, counts)] = values
    return out


def _length(parts) -> int:
    for p in parts:
        if not isinstance(p, str):
            return len(p)
    raise ValueError("join needs at least one text array")


def _arrow(part):
    """A plain ``str`` as a pyarrow scalar of the arrays' type (large_string)."""
    return pa.scalar(part, type=pa.large_string()) if isinstance(part, str) else part
