"""Checks of a streamed run that no part can make alone: ids repeated across parts, overlaps.

Each part validates its own stands (ids unique within the part, overlaps within the part), but a
stand id in two parts, or two stands of different parts overlapping, would count land twice.

- Ids: each part returns the sorted 64-bit hashes of its ids
  (:func:`forestcarbon.scale.stream.id_hashes`); the driver finds the hashes in more than one part
  (``np.unique``), then confirms them by reading only the id columns of the parts concerned (a
  hash collision is not reported).
- Overlaps: each part returns its bounding box; for each pair of parts whose boxes intersect, one
  task reads only the two parts' geometries inside the other's box and applies the run's own rule
  (:func:`forestcarbon.inputs.geometry.overlap_problems`, ``[fo001] overlap_tolerance_ha``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import shapely

from forestcarbon.core.config import load_settings
from forestcarbon.core.exceptions import Problem
from forestcarbon.inputs.geometry import overlap_problems
from forestcarbon.inputs.schemas import STAND_ID_COLUMN, STAND_KEY_COLUMNS
from forestcarbon.scale.convert import stand_ids

_KEY_HEADERS = {name for c in STAND_KEY_COLUMNS for name in (c.name, *c.aliases)}


def _key_columns(path: Path) -> list[str]:
    """The stand-key columns of a GeoParquet part (``小班ID``/``stand_id``, ``林班``...); every
    column but the geometry when none is named exactly so (validation then finds the id as a run
    does, or says what is missing)."""
    names = pq.read_schema(path).names
    keys = [n for n in names if str(n).strip() in _KEY_HEADERS]
    return keys or [n for n in names if n != _geometry_column(path)]


def _geometry_column(path: Path) -> str:
    """The primary geometry column of a GeoParquet file (its ``geo`` metadata)."""
    meta = pq.read_schema(path).metadata or {}
    try:
        return json.loads(meta[b"geo"])["primary_column"]
    except (KeyError, ValueError, TypeError):
        return "geometry"


def read_ids(path: Path) -> tuple[pd.Series, str]:
    """Stand id of every row of a part, reading only its key columns; and the id's header."""
    columns = _key_columns(path)
    table = pq.read_table(path, columns=columns).to_pandas()
    table = table.astype(object).where(table.notna(), "").astype(str)
    id_names = (STAND_ID_COLUMN.name, *STAND_ID_COLUMN.aliases)
    id_headers = [c for c in columns if c.strip() in id_names]
    header = id_headers[0] if id_headers else "+".join(columns) or "stand_id"
    return stand_ids(table, str(path)).reset_index(drop=True), header


def repeated_id_problems(parts: list[Path], hashes: list[np.ndarray]) -> list[Problem]:
    """A stand id found in two or more parts: one problem per id, naming every part and the
    column (file ``a.parquet, b.parquet``, where ``stand ID``)."""
    if not parts:
        return []
    every = np.concatenate(hashes)
    values, counts = np.unique(every, return_counts=True)
    repeated = values[counts > 1]
    if not len(repeated):
        return []
    where: dict[str, list[str]] = {}
    header = "stand_id"
    for path, h in zip(parts, hashes, strict=True):
        if not np.isin(repeated, h, assume_unique=True).any():
            continue
        ids, header = read_ids(path)
        hashed = pd.util.hash_array(ids.to_numpy(dtype=object))  # row order, unlike id_hashes
        for ident in ids[np.isin(hashed, repeated)].unique():
            where.setdefault(ident, []).append(str(path))
    return [
        Problem(
            ", ".join(files),
            f"stand {ident}",
            header,
            f"the same stand id in {len(files)} parts: a stand must be in exactly one part "
            "(each part would credit it); give each stand one id",
        )
        for ident, files in sorted(where.items())
        if len(files) > 1
    ]


def pairs_to_check(bounds: list[tuple]) -> list[tuple[int, int]]:
    """Pairs (i, j), i < j, of parts whose bounding boxes intersect (touching included)."""
    boxes = shapely.box(*np.asarray(bounds, dtype=float).T) if bounds else np.array([])
    if not len(boxes):
        return []
    left, right = shapely.STRtree(boxes).query(boxes, predicate="intersects")
    keep = left < right
    return sorted(zip(left[keep].tolist(), right[keep].tolist(), strict=True))


def _inside(path: Path, box: tuple, crs) -> tuple[gpd.GeoDataFrame, pd.Series]:
    """A part's stands (working CRS) whose geometry intersects ``box``, with their ids and rows."""
    columns = _key_columns(path)
    gdf = gpd.read_parquet(path, columns=[*columns, _geometry_column(path)])
    if crs is not None and gdf.crs is not None and gdf.crs != crs:
        gdf = gdf.to_crs(crs)
    ids, _ = read_ids(path)
    keep = gdf.geometry.intersects(shapely.box(*box)).to_numpy()
    rows = np.flatnonzero(keep)
    labels = pd.Series(
        [f"{ids.iloc[i]} in {path.name} feature {i + 1}" for i in rows], dtype=object
    )
    return gdf.iloc[rows].reset_index(drop=True), labels


_FEATURE = re.compile(r"feature \d+ \((.*?)\)")


def overlap_pair_task(
    program_dir: str, a: str, b: str, box_a: tuple, box_b: tuple
) -> list[Problem]:
    """Stands of part ``a`` overlapping stands of part ``b`` by more than the tolerance (a
    task): each part read only inside the other's box; the run's overlap rule."""
    program_dir = Path(program_dir)
    settings = load_settings(program_dir)
    crs = settings.program.crs or None
    pa, pb = program_dir / a, program_dir / b
    ga, ia = _inside(pa, box_b, crs)
    gb, ib = _inside(pb, box_a, crs)
    if not len(ga) or not len(gb):
        return []
    both = gpd.GeoDataFrame(pd.concat([ga, gb], ignore_index=True), crs=ga.crs)
    ids = pd.concat([ia, ib], ignore_index=True)
    found = overlap_problems(both, ids, f"{pa}, {pb}", settings.fo001.overlap_tolerance_ha)
    out = []
    for p in found:
        labels = _FEATURE.findall(p.message) + _FEATURE.findall(p.where)
        # within one part the part's own validation applies: keep pairs across the two parts
        in_a = [label for label in labels if f" in {pa.name} " in label]
        in_b = [label for label in labels if f" in {pb.name} " in label]
        if not in_a or not in_b:
            continue
        out.append(
            Problem(
                p.file,
                _FEATURE.sub(r"\1", p.where),
                p.column,
                _FEATURE.sub(r"\1", p.message),
            )
        )
    return out
