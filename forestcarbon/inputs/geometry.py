"""Geometry checks of the stand polygons that change credits: coordinates that cannot be right
(non-finite, outside the working CRS's area of use, far from the rest of the program), stands that
overlap (their overlap would be credited twice) and exact duplicate polygons.

Each check returns :class:`~forestcarbon.core.exceptions.Problem` s naming the file, the feature
(number and stand id) and the column ``geometry``; nothing raises, so every problem is listed at
once and none becomes a traceback later (e.g. in the map code).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from forestcarbon.core.exceptions import Problem
from forestcarbon.inputs.crs import box_within

FAR_KM = 50.0
"""A stand whose centre is more than this far [km] from the median centre of the program's
stands is reported (a swapped coordinate, a stand in the sea); one city's forest fits well
inside it."""

AREA_OF_USE_MARGIN_DEG = 0.5
"""Tolerance [degrees] around the working CRS's area of use (its bounds are approximate)."""


def _where(i: int, ids: pd.Series) -> str:
    ident = ids.iloc[i] if i < len(ids) else ""
    return f"feature {i + 1} ({ident})" if ident else f"feature {i + 1}"


def finite_problems(gdf: gpd.GeoDataFrame, ids: pd.Series, file: str) -> list[Problem]:
    """Polygons with a NaN or infinite coordinate (after reprojection too)."""
    coords, feature = shapely.get_coordinates(gdf.geometry.to_numpy(), return_index=True)
    bad = np.unique(feature[~np.isfinite(coords).all(axis=1)])  # every coordinate at once
    return [
        Problem(
            file,
            _where(int(i), ids),
            "geometry",
            "non-finite coordinates (NaN or infinite; outside the range of its CRS?)",
        )
        for i in bad
    ]


def area_of_use_problems(
    gdf: gpd.GeoDataFrame, crs: str, ids: pd.Series, file: str
) -> list[Problem]:
    """Polygons outside the area of use of the working CRS ``crs`` (e.g. longitude and latitude
    swapped, or a plane-rectangular zone of another prefecture).

    ``gdf`` is in any CRS; its polygons' bounds are compared in longitude/latitude with the
    area of use (± :data:`AREA_OF_USE_MARGIN_DEG`); when the whole layer's box is inside, no
    polygon is reprojected (:func:`~forestcarbon.inputs.crs.box_within`).
    """
    area = CRS.from_user_input(crs).area_of_use
    if area is None or gdf.crs is None or gdf.empty:
        return []
    if box_within(gdf, area, AREA_OF_USE_MARGIN_DEG):
        return []
    try:
        lonlat = gdf.geometry.to_crs(4326)
    except Exception:  # pyproj raises several types for impossible coordinates
        return [Problem(file, "", "geometry", f"coordinates cannot be transformed from {gdf.crs}")]
    bounds = lonlat.bounds.to_numpy()
    m = AREA_OF_USE_MARGIN_DEG
    outside = ~(
        (bounds[:, 0] >= area.west - m)
        & (bounds[:, 2] <= area.east + m)
        & (bounds[:, 1] >= area.south - m)
        & (bounds[:, 3] <= area.north + m)
    )
    problems = []
    for i in np.flatnonzero(outside):
        lon, lat = (bounds[i, 0] + bounds[i, 2]) / 2, (bounds[i, 1] + bounds[i, 3]) / 2
        problems.append(
            Problem(
                file,
                _where(int(i), ids),
                "geometry",
                f"at lon {lon:.4f}, lat {lat:.4f}: outside the area of use of the working CRS "
                f"{crs} ({area.name}: lon {area.west:g}..{area.east:g}, lat "
                f"{area.south:g}..{area.north:g}); swapped longitude/latitude, or a wrong CRS?",
            )
        )
    return problems


def far_problems(gdf: gpd.GeoDataFrame, ids: pd.Series, file: str) -> list[Problem]:
    """Stands more than :data:`FAR_KM` from the median centre of the program (metric CRS)."""
    if len(gdf) < 3 or _all_near(gdf.geometry.bounds.to_numpy()):
        return []
    centres = shapely.get_coordinates(gdf.geometry.centroid.to_numpy())
    middle = np.median(centres, axis=0)
    km = np.hypot(*(centres - middle).T) / 1000
    return [
        Problem(
            file,
            _where(int(i), ids),
            "geometry",
            f"{km[i]:.0f} km from the middle of the program's other stands (more than "
            f"{FAR_KM:g} km): a wrong coordinate?",
        )
        for i in np.flatnonzero(km > FAR_KM)
    ]


def _all_near(bounds: np.ndarray) -> bool:
    """Whether no stand can be :data:`FAR_KM` from the median centre, from the bounding boxes
    ``bounds`` (minx, miny, maxx, maxy per stand) alone, without computing a centroid.

    A polygon's centroid lies in its box, so each median of the centroids lies between the
    medians of the boxes' sides, and a centre is no farther from the median centre than the
    farthest corners of its box and of that box of medians (1 m to spare for rounding)."""
    low, high = np.median(bounds[:, :2], axis=0), np.median(bounds[:, 2:], axis=0)
    dx = np.maximum(np.abs(bounds[:, 2] - low[0]), np.abs(high[0] - bounds[:, 0]))
    dy = np.maximum(np.abs(bounds[:, 3] - low[1]), np.abs(high[1] - bounds[:, 1]))
    return bool(np.all(np.hypot(dx, dy) <= FAR_KM * 1000 - 1))


def overlap_problems(
    gdf: gpd.GeoDataFrame, ids: pd.Series, file: str, tolerance_ha: float
) -> list[Problem]:
    """Exact duplicate polygons, and pairs of stands overlapping by more than ``tolerance_ha``
    [ha] (metric CRS)."""
    geoms = gdf.geometry.to_numpy()
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    problems = []
    for a, b in zip(left, right, strict=True):
        if shapely.equals(geoms[a], geoms[b]):
            problems.append(
                Problem(
                    file,
                    _where(int(b), ids),
                    "geometry",
                    f"the same polygon as {_where(int(a), ids)} (a duplicate stand)",
                )
            )
            continue
        ha = shapely.area(shapely.intersection(geoms[a], geoms[b])) / 10_000
        if ha > tolerance_ha:
            problems.append(
                Problem(
                    file,
                    _where(int(b), ids),
                    "geometry",
                    f"overlaps {_where(int(a), ids)} by {ha:.4f} ha (more than [fo001] "
                    f"overlap_tolerance_ha = {tolerance_ha:g}): the overlap would be counted "
                    "twice",
                )
            )
    return problems
