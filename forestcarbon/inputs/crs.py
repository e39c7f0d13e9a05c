"""Coordinate reference systems: the working CRS must be projected in metres, and stand
coordinates must be plausible for the CRS they are tagged with.

Two mistakes give wrong areas without any error from the geospatial libraries: a working CRS
whose unit is not the metre (US feet, kilometres: areas come out in those units), and a layer in
metres tagged as EPSG:4326 (degrees: reprojection gives infinite or absurd coordinates). Both are
refused here, naming the file and what to fix.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj

from forestcarbon.core.exceptions import CRSError, Problem

LONLAT = "EPSG:4326"

AREA_OF_USE_MARGIN_DEG = 1.0
"""Stands may lie this far [degrees of lon/lat] outside the working CRS's area of use."""

MAX_LISTED = 20
"""Features listed per problem kind; the rest are counted."""


def parse_crs(text: str, file: str, column: str = "crs") -> pyproj.CRS:
    """A CRS from its text (``EPSG:6673``, WKT, PROJ string); an unknown one is an error."""
    try:
        return pyproj.CRS.from_user_input(text)
    except pyproj.exceptions.CRSError as e:
        raise CRSError(
            Problem(file, "", column, f"not a CRS pyproj knows ({text!r}): {str(e)[:200]}")
        ) from None


def require_metres(crs: pyproj.CRS | None, file: str) -> None:
    """Refuse a CRS that is not projected with every axis in metres (areas are computed in it)."""
    if crs is None or not crs.is_projected:
        raise CRSError(
            Problem(
                file,
                "",
                "crs",
                f"{crs} is not a projected (metric) CRS; areas "
                "need one such as EPSG:6673 (JGD2011 plane rectangular zone V)",
            )
        )
    units = {(a.unit_name or "").lower() for a in crs.axis_info}
    if not units or not units <= {"metre", "meter"}:
        raise CRSError(
            Problem(
                file,
                "",
                "crs",
                f"{crs.name} has axis unit(s) {', '.join(sorted(units)) or 'unknown'}, not the "
                "metre: areas would be computed in those units; use a CRS in metres such as "
                "EPSG:6673 (JGD2011 plane rectangular zone V)",
            )
        )


BOX_TOLERANCE_DEG = 0.01
"""Safety margin [degrees] of :func:`box_within`: the layer's box reprojected with 21 points per
edge may fall short of the exact reprojected box where its edges curve (far less than this)."""


def box_within(gdf: gpd.GeoDataFrame, area, margin: float) -> bool:
    """Whether every coordinate of ``gdf`` certainly lies within ``area`` (a pyproj area of use,
    longitude/latitude) widened by ``margin`` degrees, from the layer's total bounds alone.

    The layer's box is reprojected to longitude/latitude with its edges densified
    (``Transformer.transform_bounds``, right for projected extents); the box holds every
    feature, so when it is inside (by :data:`BOX_TOLERANCE_DEG` more than needed) no feature
    can be outside and none need be reprojected one by one. False when unsure (non-finite or
    untransformable coordinates): then check feature by feature.
    """
    bounds = gdf.total_bounds
    if gdf.crs is None or not np.isfinite(bounds).all():
        return False
    try:
        to_lonlat = pyproj.Transformer.from_crs(gdf.crs, LONLAT, always_xy=True)
        west, south, east, north = to_lonlat.transform_bounds(*bounds, densify_pts=21)
    except pyproj.exceptions.ProjError:
        return False
    m = margin - BOX_TOLERANCE_DEG
    return bool(
        west >= area.west - m
        and east <= area.east + m
        and south >= area.south - m
        and north <= area.north + m
    )


def _where(ids, i: int) -> str:
    return f"feature {i + 1} ({ids[i]})" if ids is not None and ids[i] else f"feature {i + 1}"


def coordinate_problems(
    gdf: gpd.GeoDataFrame, working: pyproj.CRS, file: str, ids=None
) -> list[Problem]:
    """Features whose coordinates cannot be right for the layer's CRS or the program's area.

    A layer tagged with a geographic CRS (degrees) must have longitudes within -180..180 and
    latitudes within -90..90 (metres tagged as EPSG:4326 are far outside); every feature, in
    lon/lat, must lie within the working CRS's area of use widened by
    ``AREA_OF_USE_MARGIN_DEG``.
    """
    if gdf.empty or gdf.crs is None:
        return []
    ids = None if ids is None else np.asarray(ids)
    bounds = gdf.geometry.bounds.to_numpy()  # minx, miny, maxx, maxy per feature
    problems: list[Problem] = []
    if gdf.crs.is_geographic:
        bad = ~(
            (bounds[:, 0] >= -180)
            & (bounds[:, 2] <= 180)
            & (bounds[:, 1] >= -90)
            & (bounds[:, 3] <= 90)
        )
        bad |= ~np.isfinite(bounds).all(axis=1)
        for i in np.flatnonzero(bad)[:MAX_LISTED]:
            problems.append(
                Problem(
                    file,
                    _where(ids, i),
                    "geometry",
                    f"coordinates x {bounds[i, 0]:.6g}..{bounds[i, 2]:.6g}, y {bounds[i, 1]:.6g}.."
                    f"{bounds[i, 3]:.6g} are not degrees, but the layer's CRS is "
                    f"{gdf.crs.to_string()} (longitude/latitude): metres tagged with the wrong "
                    "CRS? Assign the right one in QGIS (Layer > Set Layer CRS)",
                )
            )
        if bad.sum() > MAX_LISTED:
            problems.append(
                Problem(file, "", "geometry", f"... and {bad.sum() - MAX_LISTED} more features")
            )
        if problems:
            return problems
    area = working.area_of_use
    if area is None or box_within(gdf, area, AREA_OF_USE_MARGIN_DEG):
        return problems  # none: the whole layer is inside
    m = AREA_OF_USE_MARGIN_DEG
    with np.errstate(all="ignore"):
        lonlat = gdf.geometry.to_crs(LONLAT).bounds.to_numpy()
    inside = (
        np.isfinite(lonlat).all(axis=1)
        & (lonlat[:, 0] >= area.west - m)
        & (lonlat[:, 2] <= area.east + m)
        & (lonlat[:, 1] >= area.south - m)
        & (lonlat[:, 3] <= area.north + m)
    )
    for i in np.flatnonzero(~inside)[:MAX_LISTED]:
        problems.append(
            Problem(
                file,
                _where(ids, i),
                "geometry",
                f"lies at lon {lonlat[i, 0]:.4f}..{lonlat[i, 2]:.4f}, lat {lonlat[i, 1]:.4f}.."
                f"{lonlat[i, 3]:.4f}, outside the area of use of the working CRS "
                f"{working.to_string()} ({area.name}); is the layer's CRS "
                f"({gdf.crs.to_string()}) the one its coordinates were made in?",
            )
        )
    if (~inside).sum() > MAX_LISTED:
        problems.append(
            Problem(file, "", "geometry", f"... and {(~inside).sum() - MAX_LISTED} more features")
        )
    return problems
