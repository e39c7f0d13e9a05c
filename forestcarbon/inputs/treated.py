"""Treated-area polygons of operations (FO-001.md §3, treated area [D, conservative]).

An operation may carry the polygon of the ground it treated, either as a WKT column of the
operations table (``geometry``/``wkt``/``施業区域``, in the working CRS; parsed by
:func:`forestcarbon.inputs.schemas.parse_wkt`) or as the feature geometry of a GeoPackage layer
``operations`` (e.g. drawn in QGIS over the stands; any CRS, reprojected explicitly to the
working CRS). The engine then counts the union of a stand's polygons clipped to the stand
(:func:`forestcarbon.methods.eligibility.treated_polygon_area`).

This module reads such a layer (:func:`read_operations_layer`) and reports polygons that cannot
be right (:func:`polygon_problems`: empty, not a polygon, invalid, non-finite; and, once the
stands are known, :func:`outside_stand_problems`: a polygon that does not touch its stand, the
sign of a wrong CRS or stand id). Every problem names the file, the row (a layer's row is the
feature's ``fid``, as QGIS shows it) and the column.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from forestcarbon.core.exceptions import Problem
from forestcarbon.core.files import note_input
from forestcarbon.inputs.crs import coordinate_problems

OPERATIONS_LAYER = "operations"
"""Name of the layer of operations in a GeoPackage given as ``[inputs] operations``."""

STORE_TABLES = ("history", "history_rows")
"""Tables that make a GeoPackage a record store of ``forestcarbon ops`` (not a plain layer)."""


def is_record_store_file(path: str | Path) -> bool:
    """True when the GeoPackage ``path`` is a record store (it keeps the ``history`` tables), or
    cannot be read here (busy, broken: the store's own reader reports it); False only for a
    readable GeoPackage without them (a plain layer of operations)."""
    try:
        con = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True, timeout=30.0)
    except sqlite3.Error:
        return True
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.Error:
        return True
    finally:
        con.close()
    return set(STORE_TABLES) <= tables


def polygon_problems(geoms, rows, file: str, column: str) -> list[Problem]:
    """Treated-area polygons that cannot be used: empty, not a (multi)polygon, invalid or with a
    non-finite coordinate. ``geoms`` may hold None (no polygon: the recorded area counts);
    ``rows`` gives each one's row label ("row 5 (12-3-1)")."""
    problems = []
    for geom, where in zip(geoms, rows, strict=True):
        if geom is None or (isinstance(geom, float) and np.isnan(geom)):
            continue
        if shapely.is_empty(geom):
            message = "empty geometry: draw the treated area, or delete the geometry"
        elif geom.geom_type not in ("Polygon", "MultiPolygon"):
            message = f"a {geom.geom_type}: expected the treated area as a polygon"
        elif not np.isfinite(shapely.get_coordinates(geom)).all():
            message = "non-finite coordinates (NaN or infinite)"
        elif not shapely.is_valid(geom):
            message = (
                f"invalid polygon ({shapely.is_valid_reason(geom)}); fix it in QGIS "
                "(Vector > Geometry Tools > Fix Geometries)"
            )
        else:
            continue
        problems.append(Problem(file, where, column, message))
    return problems


def read_operations_layer(
    path: Path, working_crs: str
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, list[Problem]]:
    """The GeoPackage layer of operations (``operations``, or the file's only layer).

    Returns
    -------
    attributes : DataFrame
        The layer's attribute columns as read (headers as the officer spelled them).
    geometry : ndarray of object
        Each feature's treated-area polygon in the working CRS [m], None without one.
    fids : ndarray of int
        Each feature's fid (the "row" of messages).
    problems : list of Problem
        A missing layer or CRS, coordinates that cannot be right for the layer's CRS or lie
        outside the working CRS's area of use, and :func:`polygon_problems`.
    """
    file = str(path)
    empty = (pd.DataFrame(), np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64))
    if path.is_file():
        note_input(path)
    try:
        names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    except Exception as e:  # GDAL errors come in many types
        return (*empty, [Problem(file, "", "", f"cannot read as a GeoPackage: {e}")])
    layer = OPERATIONS_LAYER if OPERATIONS_LAYER in names else names[0] if len(names) == 1 else ""
    if not layer:
        listed = ", ".join(names) or "none"
        return (
            *empty,
            [
                Problem(
                    file,
                    "",
                    "",
                    f"no layer '{OPERATIONS_LAYER}' (layers: {listed}): name the layer of "
                    f"operations '{OPERATIONS_LAYER}'",
                )
            ],
        )
    try:
        df = pyogrio.read_dataframe(path, layer=layer, fid_as_index=True)
    except Exception as e:  # GDAL errors come in many types
        return (*empty, [Problem(file, "", "", f"cannot read layer {layer!r}: {e}")])
    fids = df.index.to_numpy(dtype=np.int64)
    for col in df.columns:  # a GeoPackage DATE field is read as a timestamp: back to its date
        if pd.api.types.is_datetime64_any_dtype(df[col]):
            df[col] = df[col].dt.strftime("%Y-%m-%d")
    if not isinstance(df, gpd.GeoDataFrame):
        attrs = pd.DataFrame(df).reset_index(drop=True)
        return attrs, np.full(len(df), None, dtype=object), fids, []
    attrs = pd.DataFrame(df.drop(columns=df.geometry.name)).reset_index(drop=True)
    geoms = df.geometry.to_numpy().astype(object)
    geoms = np.array([None if g is None else g for g in geoms], dtype=object)
    rows = [f"row {f}" for f in fids]
    problems = polygon_problems(geoms, rows, file, "geometry")
    drawn = np.array([g is not None for g in geoms], dtype=bool)
    if problems or not drawn.any():
        return attrs, geoms, fids, problems
    if df.crs is None:
        return (
            attrs,
            geoms,
            fids,
            [
                Problem(
                    file,
                    "",
                    "geometry",
                    f"the layer {layer!r} has treated-area polygons but no CRS. Set it in QGIS "
                    "(Layer > Set Layer CRS, then save)",
                )
            ],
        )
    working = pyproj.CRS.from_user_input(working_crs)
    placed = gpd.GeoDataFrame(geometry=list(geoms[drawn]), crs=df.crs)
    problems = coordinate_problems(placed, working, file, ids=None)
    if problems:  # "feature i" of the drawn ones -> the feature's row
        drawn_rows = np.array(rows, dtype=object)[drawn]
        problems = [
            Problem(p.file, _drawn_row(p.where, drawn_rows), p.column, p.message) for p in problems
        ]
        return attrs, geoms, fids, problems
    if not placed.crs.equals(working):
        placed = placed.to_crs(working)
    geoms = geoms.copy()
    geoms[drawn] = placed.geometry.to_numpy()
    return attrs, geoms, fids, polygon_problems(geoms, rows, file, "geometry")


def _drawn_row(where: str, drawn_rows: np.ndarray) -> str:
    """'feature 3' (the 3rd drawn feature) -> its row label."""
    if where.startswith("feature "):
        number = where.split()[1]
        if number.isdigit() and 0 < int(number) <= len(drawn_rows):
            return drawn_rows[int(number) - 1]
    return where


def outside_stand_problems(ops: pd.DataFrame, stands: pd.DataFrame, file: str) -> list[Problem]:
    """Treated-area polygons that share no area with their stand (a wrong CRS, e.g. longitude
    and latitude given in a metric CRS, or a wrong stand id): counted, they would be 0 ha, so the
    record is refused rather than silently lost."""
    if "geometry" not in ops.columns or "geometry" not in stands.columns:
        return []
    drawn = ops[ops["geometry"].map(lambda g: g is not None and not isinstance(g, float))]
    outline = dict(zip(stands["stand_id"], stands.geometry, strict=True))
    column = ops.attrs.get("headers", {}).get("geometry", "geometry")
    problems = []
    for r in drawn.itertuples():
        stand = outline.get(r.stand_id)
        if stand is None:
            continue  # an unknown stand is reported by cross_check_operations
        if shapely.area(shapely.intersection(r.geometry, stand)) > 0:
            continue
        gap = shapely.distance(r.geometry, stand)
        problems.append(
            Problem(
                file,
                f"row {r.source_row} ({r.stand_id})",
                column,
                f"the treated-area polygon shares no area with stand {r.stand_id} ({gap:,.0f} m "
                "away): coordinates in another CRS than the working CRS, or the wrong stand?",
            )
        )
    return problems
