"""Per-stand results as partitioned GeoParquet (``fo001_stands.parquet/part-00000.parquet``, ...).

Written by distributed runs (:mod:`forestcarbon.scale`) next to the CSV and GeoPackage: one file
per stand partition (a compact area, :mod:`forestcarbon.inputs.partitions`), readable as one layer
by ``geopandas.read_parquet(folder)``, dask-geopandas or QGIS. Same results and partitions give the
same bytes (no timestamps in the files).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

PARQUET_FOLDER = "fo001_stands.parquet"
"""Folder of the per-stand GeoParquet partitions in a run folder."""


def part_name(i: int) -> str:
    """File name of partition ``i`` (zero-padded, so name order is partition order)."""
    return f"part-{i:05d}.parquet"


def write_geoparquet(gdf: gpd.GeoDataFrame, path: str | Path) -> None:
    """One GeoParquet file (zstd; no pandas index; deterministic bytes)."""
    gdf.to_parquet(path, index=False, compression="zstd")


def partitioned_files(
    layer: gpd.GeoDataFrame, stand_part: pd.Series, folder: str = PARQUET_FOLDER
) -> dict:
    """``folder/part-NNNNN.parquet`` -> writer, for each partition of the stands.

    Parameters
    ----------
    layer : GeoDataFrame
        Per stand and period results with stand polygons (:func:`forestcarbon.outputs.layers.
        fo001_layer`); each part keeps the layer's row order.
    stand_part : Series
        Partition number of each stand (index stand_id).
    """
    part = stand_part.reindex(layer["stand_id"].to_numpy()).to_numpy(dtype=np.int64)
    files = {}
    for i in np.unique(part):
        rows = layer.iloc[np.flatnonzero(part == i)].reset_index(drop=True)
        files[f"{folder}/{part_name(int(i))}"] = lambda path, rows=rows: write_geoparquet(
            rows, path
        )
    return files
