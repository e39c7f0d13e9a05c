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

from forestcarbon.core.exceptions import OutputError


def file_sha256(path: str | Path) -> str:
    """sha256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def csv_bytes(df: pd.DataFrame) -> bytes:
    """Deterministic UTF-8 CSV (with BOM so Excel shows Japanese correctly), LF line ends."""
    text = df.to_csv(index=False, lineterminator="\n")
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


def write_outputs(
    out_dir: str | Path, outputs: dict[str, bytes | Writer], *, overwrite: bool = True
) -> list[Path]:
    """Write several output files so that each is written whole or not at all.

    Every file is first produced in a staging folder inside ``out_dir``; only when all of them
    were produced are they moved into place (``os.replace``, atomic on one file system).

    Parameters
    ----------
    outputs : dict
        Relative file name -> bytes, or a function that writes the file at the given path.
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create output folder {out}: {e}") from None
    if not overwrite:
        existing = [name for name in outputs if (out / name).exists()]
        if existing:
            raise OutputError(f"{out} already has {', '.join(existing)}; use --overwrite")
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))
    try:
        for name, content in outputs.items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                content(target)
        written = []
        for name in outputs:
            final = out / name
            final.parent.mkdir(parents=True, exist_ok=True)
            if final.is_dir():
                shutil.rmtree(final)
            os.replace(staging / name, final)
            written.append(final)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)
