"""A per-user cache of results that are slow to compute and fully set by their inputs.

Entries are JSON files (never pickles: nothing in the cache is ever executed) in the user's cache
folder, ``platformdirs.user_cache_dir("forestcarbon")`` (``$XDG_CACHE_HOME/forestcarbon`` or
``~/.cache/forestcarbon`` on Linux, ``%LOCALAPPDATA%\\forestcarbon\\Cache`` on Windows), never in a
program or run folder. An entry's file name is the sha256 of everything its value depends on
(:func:`content_key`: the input data, the settings, the code and library versions), and the key is
stored inside the entry too and checked on reading, so a changed input, setting or version simply
misses. A missing, unreadable or foreign entry is a miss; a cache that cannot be written (a
read-only home folder) is skipped silently: the cache only ever saves time.

``FORESTCARBON_CACHE_DIR`` names another folder; ``FORESTCARBON_CACHE=off`` turns the cache off.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import platformdirs

log = logging.getLogger("forestcarbon")

CACHE_FORMAT = 1
"""Layout of a cache entry; entries of another format are ignored."""


_BYPASSED = False
"""True inside :func:`bypassed`: nothing is read from or written to the cache."""


@contextlib.contextmanager
def bypassed():
    """Compute everything afresh inside this block (``verify`` re-derives a run from its inputs
    alone: a cache entry edited by hand must never reach a verifier's figures)."""
    global _BYPASSED
    before, _BYPASSED = _BYPASSED, True
    try:
        yield
    finally:
        _BYPASSED = before


def cache_dir() -> Path | None:
    """The cache folder (created on first write), or None when the cache is turned off."""
    if _BYPASSED or os.environ.get("FORESTCARBON_CACHE", "").lower() in {"off", "0", "no", "false"}:
        return None
    named = os.environ.get("FORESTCARBON_CACHE_DIR")
    return Path(named) if named else Path(platformdirs.user_cache_dir("forestcarbon", False))


def content_key(*parts) -> str:
    """sha256 hex digest of ``parts``: strings, bytes, numbers, numpy arrays, pandas frames or
    series (values, dtypes, column names and index), or tuples/lists/dicts of those, in order."""
    h = hashlib.sha256()
    _update(h, (CACHE_FORMAT, *parts))
    return h.hexdigest()


def _update(h, part) -> None:
    if isinstance(part, pd.DataFrame):
        _update(h, ("frame", list(map(str, part.columns)), part.index))
        for name in part.columns:
            _update(h, part[name])
    elif isinstance(part, pd.Series | pd.Index):
        _update(h, ("series", str(part.dtype), len(part)))
        if part.dtype.kind in "biuf":
            _update(h, part.to_numpy())
        else:  # text, categories, mixed: each value's repr, unit-separated
            h.update("\x1f".join(map(repr, part.tolist())).encode("utf-8"))
    elif isinstance(part, np.ndarray):
        h.update(f"array {part.dtype.str} {part.shape}\x1e".encode())
        h.update(np.ascontiguousarray(part).tobytes())
    elif isinstance(part, tuple | list):
        h.update(f"seq {len(part)}\x1e".encode())
        for p in part:
            _update(h, p)
    elif isinstance(part, dict):
        _update(h, sorted(part.items()))
    elif isinstance(part, bytes):
        h.update(f"bytes {len(part)}\x1e".encode())
        h.update(part)
    elif isinstance(part, str | int | float | bool | None):
        h.update(f"{type(part).__name__} {part!r}\x1e".encode())
    else:
        raise TypeError(f"cache key: cannot hash {type(part).__name__}")


def _entry(kind: str, key: str) -> Path | None:
    folder = cache_dir()
    return None if folder is None else folder / kind / f"{key}.json"


def read_entry(kind: str, key: str) -> dict | None:
    """The value stored under ``key`` (see :func:`content_key`), or None on any miss."""
    path = _entry(kind, key)
    if path is None or not path.is_file():
        return None
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        log.debug("cache: %s unreadable (%s): ignored", path, e)
        return None
    if (
        not isinstance(entry, dict)
        or entry.get("format") != CACHE_FORMAT
        or entry.get("key") != key
    ):
        log.debug("cache: %s is not an entry for its key: ignored", path)
        return None
    return entry.get("value")


def write_entry(kind: str, key: str, value: dict) -> None:
    """Store ``value`` (JSON-serialisable; floats round-trip exactly) under ``key``, atomically.

    Never raises for the file system: a cache that cannot be written is skipped (logged at debug).
    """
    path = _entry(kind, key)
    if path is None:
        return
    text = json.dumps({"format": CACHE_FORMAT, "key": key, "value": value}, allow_nan=True)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    except OSError as e:
        log.debug("cache: %s not written (%s)", path, e)


def frame_entry(frame: pd.DataFrame) -> dict:
    """A DataFrame with a default index (0..n-1) as JSON-ready columns and their dtypes (numbers,
    booleans, text, pandas' nullable types; a ValueError for anything else)."""
    if not frame.index.equals(pd.RangeIndex(len(frame))):
        raise ValueError("cache: only frames with a default index are kept")
    if any(map(pd.api.types.is_object_dtype, frame.dtypes)):  # Python objects: no exact round trip
        raise ValueError("cache: object columns are not kept")
    return {
        "columns": [str(c) for c in frame.columns],
        "dtypes": [str(t) for t in frame.dtypes],
        "data": [frame[c].astype(object).where(frame[c].notna(), None).tolist() for c in frame],
    }


def entry_frame(entry: dict) -> pd.DataFrame:
    """The DataFrame of :func:`frame_entry` (same columns, dtypes and values)."""
    columns = {}
    for name, dtype, values in zip(entry["columns"], entry["dtypes"], entry["data"], strict=True):
        kind = pd.api.types.pandas_dtype(dtype)
        if isinstance(kind, np.dtype) and kind.kind in "fiub":
            array = np.asarray([np.nan if v is None else v for v in values], dtype=kind)
        else:
            array = pd.array(values, dtype=kind)
        columns[name] = array
    return pd.DataFrame(columns)
