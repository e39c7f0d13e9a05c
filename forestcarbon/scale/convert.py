"""``forestcarbon convert PROGRAM --to geoparquet``: a program folder as partitioned GeoParquet.

The stands layer becomes ``stands/part-NNNNN.parquet`` (GeoParquet), sorted along a Hilbert curve
and cut into partitions of compact areas (:mod:`forestcarbon.inputs.partitions`); the operations
become ``operations/part-NNNNN.parquet``, each operation in the part of its stand (same number), so
that a partition pair computes on its own (:mod:`forestcarbon.scale.stream`). Attribute columns
are kept as they are (the officer's headers, values as read), so the converted program is
validated exactly like the original and gives the same results; every other file of the folder
is copied unchanged. Nothing is written on error.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from forestcarbon.core.config import CONFIG_FILE, InputSettings, load_settings
from forestcarbon.core.exceptions import ConfigError, InputError, Problem
from forestcarbon.inputs.partitions import hilbert_order, partition_numbers, route
from forestcarbon.inputs.readers import (
    LAYER_SUFFIXES,
    TABLE_SUFFIXES,
    locate_input,
    read_layer,
    read_table,
)
from forestcarbon.inputs.schemas import STAND_KEY_COLUMNS, TableSpec, validate
from forestcarbon.outputs.parquet import part_name, write_geoparquet

log = logging.getLogger("forestcarbon")

ROWS_PER_PARTITION = 100_000
"""Default stands per partition: a partition's FO-001 takes about 0.2-1 GB of a worker's memory."""

FORMATS = ("geoparquet",)
"""Formats ``convert --to`` writes."""

_KEYS = TableSpec("keys", STAND_KEY_COLUMNS)


def stand_ids(table: pd.DataFrame, file: str) -> pd.Series:
    """Stand id of every row (the officer's id columns, as validation reads them)."""
    keys, problems = validate(table, _KEYS, file, allow_empty=True)
    if problems:
        raise InputError(problems)
    return keys["stand_id"].astype(str)


def _explicit(settings, key: str) -> None:
    if getattr(settings.inputs, key) != getattr(InputSettings, key):
        raise ConfigError(
            Problem(
                CONFIG_FILE,
                "",
                f"[inputs] {key}",
                f"set to {getattr(settings.inputs, key)!r}: convert writes {key}/ (found without "
                "the setting); remove the setting or convert a copy that uses the default name",
            )
        )


def convert_program(
    program_dir: str | Path,
    out_dir: str | Path,
    *,
    rows_per_partition: int = ROWS_PER_PARTITION,
    overwrite: bool = False,
) -> dict:
    """Write ``program_dir`` as partitioned GeoParquet in ``out_dir`` (see the module docstring).

    Returns
    -------
    dict
        ``partitions`` (number), ``stands`` and ``operations`` (rows written), ``copied`` (names
        of the files copied unchanged).

    Raises
    ------
    InputError
        An unreadable stands layer or operations table, ids that cannot be read, ``[inputs]
        stands``/``operations`` set to other names, an output folder that exists (without
        ``overwrite``) or lies inside the program.
    """
    program_dir, out_dir = Path(program_dir), Path(out_dir)
    settings = load_settings(program_dir)
    for key in ("stands", "operations"):
        _explicit(settings, key)
    if settings.inputs.register:
        raise ConfigError(
            Problem(
                CONFIG_FILE,
                "",
                "[inputs] register",
                "convert reads a stands layer holding the register's columns; join the register "
                "table to the polygons first",
            )
        )
    if out_dir.resolve().is_relative_to(program_dir.resolve()):
        raise InputError(Problem(str(out_dir), "", "", "inside the program folder: choose another"))
    if out_dir.exists() and not overwrite:
        raise InputError(Problem(str(out_dir), "", "", "exists: use --overwrite to replace it"))
    stands_file = locate_input(
        program_dir, settings.inputs.stands, InputSettings.stands, LAYER_SUFFIXES, "stands"
    )
    layer = read_layer(stands_file, layer=settings.inputs.stands_layer or None)
    ids = stand_ids(pd.DataFrame(layer.drop(columns=layer.geometry.name)), str(stands_file))
    n = max(1, -(-len(layer) // max(1, rows_per_partition)))
    part = partition_numbers(layer.geometry, n)
    order = hilbert_order(layer.geometry)  # each partition is a run of this order
    ops_file = locate_input(
        program_dir,
        settings.inputs.operations,
        InputSettings.operations,
        TABLE_SUFFIXES,
        "operations",
    )
    ops = ops_part = None
    if ops_file.exists():
        if ops_file.suffix.lower() == ".gpkg":
            raise InputError(
                Problem(
                    str(ops_file),
                    "",
                    "",
                    "a record store (forestcarbon ops): export its operations to CSV first",
                )
            )
        ops = read_table(ops_file)
        ops_ids = stand_ids(ops, str(ops_file)) if len(ops) else pd.Series([], dtype=str)
        ops_part = route(ops_ids, ids, part)
        prefix = route(ops_ids.str.rsplit("-", n=1).str[0], ids, part)  # 枝番 of a 小班 polygon
        ops_part = np.where(ops_part < 0, prefix, ops_part)
        ops_part = np.where(ops_part < 0, 0, ops_part)  # unknown stands: validation reports them
    skip = {p.resolve() for p in (stands_file, ops_file)}
    sidecars = {stands_file.stem.lower()} if stands_file.is_file() else set()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        copied = _copy_rest(program_dir, staging, skip, sidecars, stands_file)
        (staging / "stands").mkdir()
        for i in np.unique(part):
            rows = layer.iloc[order[part[order] == i]]
            write_geoparquet(rows.reset_index(drop=True), staging / "stands" / part_name(int(i)))
        if ops is not None:
            (staging / "operations").mkdir()
            for i in np.unique(part):
                table = ops[ops_part == i].reset_index(drop=True)
                table.to_parquet(
                    staging / "operations" / part_name(int(i)), index=False, compression="zstd"
                )
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    log.info(
        "converted %d stands into %d partitions in %s", len(layer), len(np.unique(part)), out_dir
    )
    return {
        "partitions": len(np.unique(part)),
        "stands": len(layer),
        "operations": 0 if ops is None else len(ops),
        "copied": copied,
    }


def _copy_rest(program_dir: Path, out: Path, skip: set, sidecars: set, stands_file: Path) -> list:
    """Copy every other file and folder of the program (not the converted inputs)."""
    copied = []
    for path in sorted(program_dir.iterdir()):
        if path.resolve() in skip or path.name.startswith("."):
            continue
        if path.is_file() and path.stem.lower() in sidecars and path.parent == stands_file.parent:
            continue  # .dbf/.shx/.prj of a Shapefile
        if path.is_dir():
            shutil.copytree(path, out / path.name, symlinks=True)
        else:
            shutil.copy2(path, out / path.name)
        copied.append(path.name)
    return copied
