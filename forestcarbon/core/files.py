"""Writing outputs: deterministic CSV, JSON and GeoPackage bytes, atomic sets of files, hashes."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from forestcarbon.core.cells import escape_frame
from forestcarbon.core.exceptions import OutputError


def file_sha256(path: str | Path) -> str:
    """sha256 hex digest of a file's bytes; of a folder (a partitioned GeoParquet input), the
    digest of its files' relative names and digests in name order."""
    h = hashlib.sha256()
    if Path(path).is_dir():
        for part in sorted(p for p in Path(path).rglob("*") if p.is_file()):
            h.update(f"{part.relative_to(path).as_posix()}\0{file_sha256(part)}\n".encode())
        return h.hexdigest()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_AS_READ: dict[Path, str] = {}
"""Resolved input path -> sha256 of the bytes the last read of it used (see :func:`read_input`)."""


def read_input(path: str | Path) -> bytes:
    """An input file's bytes, read once; their sha256 is remembered for provenance."""
    path = Path(path)
    data = path.read_bytes()
    _AS_READ[path.resolve()] = hashlib.sha256(data).hexdigest()
    return data


def note_input(path: str | Path) -> str:
    """Remember the sha256 of an input file about to be read by a library (GDAL, SQLite)."""
    path = Path(path)
    sha = file_sha256(path)
    _AS_READ[path.resolve()] = sha
    return sha


def sha_as_read(path: str | Path) -> str | None:
    """sha256 of the bytes last read from ``path`` by :func:`read_input`/:func:`note_input`."""
    return _AS_READ.get(Path(path).resolve())


def changed_since_read(paths) -> list[Path]:
    """Inputs whose bytes now differ from those read (an edit or ``ops add`` during a run)."""
    out = []
    for path in paths:
        recorded = sha_as_read(path)
        if recorded is not None and (not Path(path).exists() or file_sha256(path) != recorded):
            out.append(Path(path))
    return out


def csv_bytes(df: pd.DataFrame) -> bytes:
    """Deterministic UTF-8 CSV (with BOM so Excel shows Japanese correctly), LF line ends.

    Text cells a spreadsheet would run as formulas get a leading apostrophe (``core/cells.py``).
    """
    text = escape_frame(df).to_csv(index=False, lineterminator="\n")
    return ("\ufeff" + text).encode("utf-8")


def json_bytes(obj) -> bytes:
    """Deterministic, human-readable JSON."""
    return (json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def write_gpkg(gdf: gpd.GeoDataFrame, path: Path, *, layer: str) -> None:
    """Write a GeoPackage layer; the file's timestamps are fixed so reruns differ in nothing."""
    with gdal_config(OGR_CURRENT_DATE="2000-01-01T00:00:00Z"):
        gdf.to_file(path, layer=layer, driver="GPKG", engine="pyogrio")


@contextlib.contextmanager
def gdal_config(**options: str):
    """Temporarily set GDAL config options."""
    saved = {k: pyogrio.get_gdal_config_option(k) for k in options}
    pyogrio.set_gdal_config_options(options)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(saved)


Writer = Callable[[Path], None]

COMPLETION_FILE = "run_complete.json"
"""The completion record of a run folder: written last, lists every output and its sha256."""


def _check_target(out: Path, name: str, protected: set[Path]) -> Path:
    """The final path of output ``name``: refused when it (or a folder on the way) is a link,
    when it is a folder, or when it is one of the program's input files."""
    final = out / name
    part = out
    for piece in Path(name).parts[:-1]:
        part = part / piece
        if part.is_symlink():
            raise OutputError(f"{part} is a symbolic link; outputs are never written through links")
    if final.is_symlink():
        raise OutputError(f"{final} is a symbolic link; outputs are never written through links")
    if final.is_dir():
        raise OutputError(f"{final} is a folder, not an output file; it is left alone")
    if final.exists() and final.resolve() in protected:
        raise OutputError(f"{final} is an input of the program; it is never overwritten")
    return final


def write_file(target: Path, content: bytes | Writer) -> None:
    """Write one output at ``target`` (its folder created): bytes, or a function that writes it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        content(target)


def write_outputs(
    out_dir: str | Path,
    outputs: dict[str, bytes | Writer],
    *,
    overwrite: bool = True,
    protected: tuple[str | Path, ...] | list = (),
) -> list[Path]:
    """Write several output files so that each is written whole or not at all.

    Every file is first produced in a staging folder inside ``out_dir``; only when all of them
    were produced are they moved into place (``os.replace``, atomic on one file system).
    Refused before anything is written: an output folder or output path that is a symbolic
    link, an output name where a folder is, an output that would replace one of ``protected``
    (the program's input files), and a complete run folder (its files are written only by
    ``run``, as one set). Run folders are written by ``core.runfolder.publish_run``.

    Parameters
    ----------
    outputs : dict
        Relative file name -> bytes, or a function that writes the file at the given path.
    """
    out = Path(out_dir)
    if out.is_symlink():
        raise OutputError(f"{out} is a symbolic link; outputs are never written through links")
    if (out / COMPLETION_FILE).exists():
        raise OutputError(
            f"{out} is a run folder (it has {COMPLETION_FILE}); its files are written only by "
            "`forestcarbon run`: choose another output folder"
        )
    keep = {Path(p).resolve() for p in protected}
    finals = {name: _check_target(out, name, keep) for name in outputs}
    if not overwrite:
        existing = [name for name, final in finals.items() if final.exists()]
        if existing:
            raise OutputError(f"{out} already has {', '.join(existing)}; use --overwrite")
    try:
        out.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))
    except OSError as e:
        raise OutputError(f"cannot create output folder {out}: {e.strerror or e}") from None
    try:
        for name, content in outputs.items():
            write_file(staging / name, content)
        written = []
        for name, final in finals.items():
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / name, final)
            written.append(final)
        return written
    except OSError as e:
        raise OutputError(f"cannot write the outputs in {out}: {e}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
