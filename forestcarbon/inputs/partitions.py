"""Stands in partitions: compact areas along a Hilbert curve, each stand's records with it.

A distributed run (:mod:`forestcarbon.scale`) computes FO-001 partition by partition; the partitions
written by ``forestcarbon convert PROGRAM --to geoparquet`` are the same kind. A partition is a run
of stands consecutive along the Hilbert curve of their centres (geopandas ``hilbert_distance``), so
each is a compact area and a worker reading rasters for it reads few windows. Every operation goes
to its stand's partition, so each partition computes on its own. The assignment depends only on
the stands (their order and geometry) and the number of partitions: the same program gives the
same partitions, which ``verify`` re-derives from provenance.json.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

HILBERT_LEVEL = 16
"""Hilbert curve level (2^16 cells a side): over a prefecture of 100 km, cells of 1.5 m."""


def hilbert_order(geoms: gpd.GeoSeries) -> np.ndarray:
    """Row positions of ``geoms`` sorted along the Hilbert curve of their bounding boxes' centres
    over the square enclosing them (ties in row order); empty or missing geometries last."""
    geoms = gpd.GeoSeries(geoms).reset_index(drop=True)
    usable = ~(geoms.isna() | geoms.is_empty)
    key = np.full(len(geoms), np.iinfo(np.int64).max, dtype=np.int64)
    if usable.any():
        # a square around the stands: geopandas scales each axis to the bounds given, and a
        # long thin program would otherwise be cut across rather than along
        x0, y0, x1, y1 = geoms[usable].total_bounds
        side = max(x1 - x0, y1 - y0, 1e-9)
        key[usable.to_numpy()] = geoms[usable].hilbert_distance(
            total_bounds=(x0, y0, x0 + side, y0 + side), level=HILBERT_LEVEL
        )
    return np.argsort(key, kind="stable")


def partition_numbers(geoms: gpd.GeoSeries, n_partitions: int) -> np.ndarray:
    """Partition number [0, n) of every row: ``n`` runs of equal size (within one stand) along
    the Hilbert curve; fewer partitions when there are fewer stands."""
    n_rows = len(geoms)
    n = max(1, min(int(n_partitions), n_rows))
    part = np.empty(n_rows, dtype=np.int64)
    part[hilbert_order(geoms)] = np.arange(n_rows, dtype=np.int64) * n // max(n_rows, 1)
    return part


def route(ids: pd.Series, stand_ids: pd.Series, part: np.ndarray) -> np.ndarray:
    """Partition number of each record (an operation) by its stand id; -1 for an unknown stand
    (validation reports those)."""
    lookup = pd.Series(part, index=pd.Index(stand_ids.astype(str)))
    lookup = lookup[~lookup.index.duplicated()]
    return lookup.reindex(ids.astype(str).to_numpy()).fillna(-1).to_numpy(dtype=np.int64)
