"""Stand geometry of the sample: compartments (林班) cut from a jittered grid, then stands (小班)
as a Voronoi tessellation of each compartment, with a few split into two 枝番.

Owns the sample's coordinate system and extent, the geometry parameters, :func:`make_blocks`,
:func:`make_stand_geometry` and :func:`check_tiling`. Deterministic given the random generator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

if TYPE_CHECKING:
    from collections.abc import Iterable

CRS = "EPSG:6673"
"""JGD2011 / Japan Plane Rectangular CS V (Okayama)."""

EXTENT = (-33_000.0, -97_000.0, -26_000.0, -92_000.0)
"""Area the forest lies in: xmin, ymin, xmax, ymax [m, EPSG:6673]."""

BBOX = (EXTENT[0] + 160.0, EXTENT[1] + 160.0, EXTENT[2] - 160.0, EXTENT[3] - 160.0)
"""Extent of the unjittered block grid, inset so that jittered vertices stay in EXTENT [m]."""

GRID_SIZE = 0.01
"""Coordinate precision of every vertex [m]."""

N_COLS, N_ROWS = 11, 8
"""Columns and rows of the jittered grid the compartments are cut from."""

EDGE_POINTS = 4
"""Inner points on each compartment edge, jittered so that boundaries wiggle like ridges."""

N_BLOCKS = 30
"""Number of compartments (林班) taken from the grid."""

HILL_SIGMA = 1000.0
"""Spread of the random hills that decide which grid cells are city forest [m]."""

MEAN_STAND_HA = 2.6
"""Target mean stand area before splits and merges [ha]."""

MIN_STAND_HA = 0.3
"""Stands smaller than this are merged into a neighbour [ha]."""

N_EDABAN_SPLITS = 5
"""Number of 小班 split into two register rows (枝番 1 and 2)."""


def _cell_size() -> tuple[float, float]:
    """Width and height of one grid cell [m]."""
    xmin, ymin, xmax, ymax = BBOX
    return (xmax - xmin) / N_COLS, (ymax - ymin) / N_ROWS


def _grid_points(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Jittered grid vertices and wiggly edges between them.

    Returns
    -------
    vertices : ndarray, shape (N_ROWS + 1, N_COLS + 1, 2)
        Corner points [m].
    h_edges : ndarray, shape (N_ROWS + 1, N_COLS, EDGE_POINTS, 2)
        Inner points of the horizontal edges, west to east, pushed up or down [m].
    v_edges : ndarray, shape (N_ROWS, N_COLS + 1, EDGE_POINTS, 2)
        Inner points of the vertical edges, south to north, pushed left or right [m].
    """
    xmin, ymin, _, _ = BBOX
    dx, dy = _cell_size()
    cols, rows = np.meshgrid(np.arange(N_COLS + 1), np.arange(N_ROWS + 1))
    vertices = np.stack([xmin + cols * dx, ymin + rows * dy], axis=-1)
    vertices += rng.uniform(-0.2, 0.2, size=vertices.shape) * (dx, dy)
    t = (np.arange(EDGE_POINTS) + 1.0) / (EDGE_POINTS + 1)
    t = t[:, None]
    h_edges = vertices[:, :-1, None] * (1 - t) + vertices[:, 1:, None] * t
    h_edges[..., 1] += rng.uniform(-0.07, 0.07, size=h_edges.shape[:3]) * dy
    v_edges = vertices[:-1, :, None] * (1 - t) + vertices[1:, :, None] * t
    v_edges[..., 0] += rng.uniform(-0.07, 0.07, size=v_edges.shape[:3]) * dx
    return vertices, h_edges, v_edges


def _cell_polygon(
    row: int, col: int, vertices: np.ndarray, h_edges: np.ndarray, v_edges: np.ndarray
) -> shapely.Polygon:
    """The polygon of grid cell (row, col), counter-clockwise, snapped to GRID_SIZE."""
    ring = [
        vertices[row, col],
        *h_edges[row, col],
        vertices[row, col + 1],
        *v_edges[row, col + 1],
        vertices[row + 1, col + 1],
        *h_edges[row + 1, col][::-1],
        vertices[row + 1, col],
        *v_edges[row, col][::-1],
    ]
    return shapely.set_precision(shapely.Polygon(ring), GRID_SIZE)


def _forest_scores(rng: np.random.Generator) -> np.ndarray:
    """A smooth 'forest-ness' score per grid cell from four random hills, shape (rows, cols)."""
    xmin, ymin, xmax, ymax = BBOX
    dx, dy = _cell_size()
    hills = rng.uniform((xmin, ymin), (xmax, ymax), size=(4, 2))
    cx = xmin + (np.arange(N_COLS) + 0.5) * dx
    cy = ymin + (np.arange(N_ROWS) + 0.5) * dy
    gx, gy = np.meshgrid(cx, cy)
    scores = np.zeros_like(gx)
    for hx, hy in hills:
        scores += np.exp(-((gx - hx) ** 2 + (gy - hy) ** 2) / (2 * HILL_SIGMA**2))
    return scores


def make_blocks(rng: np.random.Generator) -> list[shapely.Polygon]:
    """Compartment polygons (林班), numbered by list position + 1 from north-west to south-east.

    Parameters
    ----------
    rng : Generator
        Random generator.

    Returns
    -------
    list of Polygon
        N_BLOCKS polygons [m, EPSG:6673]; neighbours share edges exactly.
    """
    vertices, h_edges, v_edges = _grid_points(rng)
    scores = _forest_scores(rng)
    chosen = np.argsort(-scores, axis=None, kind="stable")[:N_BLOCKS]
    cells = sorted((divmod(int(i), N_COLS) for i in chosen), key=lambda rc: (-rc[0], rc[1]))
    return [_cell_polygon(row, col, vertices, h_edges, v_edges) for row, col in cells]


# ---------------------------------------------------------------------------------------------
# Stands (小班): Voronoi tessellation of each compartment
# ---------------------------------------------------------------------------------------------


class _Split(NamedTuple):
    """A straight cut that divides one Voronoi cell into 枝番 1 and 2."""

    block: int
    seed: int
    origin: np.ndarray
    direction: np.ndarray


def _block_seeds(rng: np.random.Generator, block: shapely.Polygon) -> np.ndarray:
    """Random seed points inside a block, kept apart by a minimum distance [m], shape (n, 2)."""
    n = max(3, round(block.area / 1e4 / MEAN_STAND_HA))
    min_distance = 0.45 * np.sqrt(MEAN_STAND_HA * 1e4)
    xmin, ymin, xmax, ymax = block.bounds
    seeds: list[np.ndarray] = []
    while len(seeds) < n:
        point = rng.uniform((xmin, ymin), (xmax, ymax))
        if not shapely.contains_xy(block, *point):
            continue
        if seeds and np.min(np.hypot(*(np.asarray(seeds) - point).T)) < min_distance:
            min_distance *= 0.995  # relax slowly so the loop always ends
            continue
        seeds.append(point)
    return np.asarray(seeds)


def _voronoi_cells(seeds: np.ndarray, block: shapely.Polygon) -> np.ndarray:
    """Voronoi cells of the seeds clipped to the block, in seed order."""
    cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=block, ordered=True)
    return shapely.intersection(shapely.get_parts(cells), block)


def _voronoi_edges(seeds: np.ndarray, block: shapely.Polygon) -> shapely.Geometry:
    """Voronoi edges of the seeds clipped to the block."""
    edges = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=block, only_edges=True)
    return shapely.intersection(edges, block)


def _choose_splits(
    rng: np.random.Generator, cells_by_block: list[np.ndarray]
) -> tuple[list[_Split], list[shapely.Geometry]]:
    """Pick large cells to split into two 枝番 and return the splits and their cut lines."""
    candidates = [
        (b, s)
        for b, cells in enumerate(cells_by_block)
        for s, cell in enumerate(cells)
        if cell.area >= 4.0e4
    ]
    picks = rng.choice(len(candidates), size=N_EDABAN_SPLITS, replace=False)
    splits, lines = [], []
    for pick in sorted(picks):
        b, s = candidates[pick]
        cell = cells_by_block[b][s]
        centre = np.asarray(cell.centroid.coords[0])
        angle = rng.uniform(0.0, np.pi)
        direction = np.array([np.cos(angle), np.sin(angle)])
        line = shapely.LineString([centre - 2000.0 * direction, centre + 2000.0 * direction])
        splits.append(_Split(b, s, centre, direction))
        lines.append(shapely.intersection(line, cell))
    return splits, lines


def _faces(lines: Iterable[shapely.Geometry]) -> np.ndarray:
    """Polygons formed by noding all lines on the GRID_SIZE grid (snap rounding)."""
    parts = shapely.get_parts(list(lines))
    parts = parts[shapely.get_type_id(parts) == shapely.GeometryType.LINESTRING]
    noded = shapely.union_all(parts, grid_size=GRID_SIZE)
    return shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))


def _label_faces(
    faces: np.ndarray,
    blocks: list[shapely.Polygon],
    seeds_by_block: list[np.ndarray],
    splits: list[_Split],
) -> pd.DataFrame:
    """Block, seed and split side of each face; faces between blocks are dropped."""
    points = shapely.point_on_surface(faces)
    face_idx, block_idx = shapely.STRtree(blocks).query(points, predicate="within")
    split_of = {(sp.block, sp.seed): sp for sp in splits}
    records = []
    for f, b in zip(face_idx, block_idx, strict=True):
        xy = np.asarray(points[f].coords[0])
        seed = int(np.argmin(np.hypot(*(seeds_by_block[b] - xy).T)))
        side = 0
        split = split_of.get((int(b), seed))
        if split is not None:
            offset = xy - split.origin
            side = int(split.direction[0] * offset[1] - split.direction[1] * offset[0] > 0)
        records.append((int(b), seed, side, faces[f]))
    return pd.DataFrame(records, columns=["block", "seed", "side", "geometry"])


def _dissolve_labels(labelled: pd.DataFrame) -> pd.DataFrame:
    """One polygon per label; extra disconnected parts become stands of their own (seed >= 1000)."""
    records = []
    orphans = 0
    for (b, seed, side), group in labelled.groupby(["block", "seed", "side"], sort=True):
        merged = shapely.union_all(group["geometry"].to_numpy(), grid_size=GRID_SIZE)
        parts = sorted(shapely.get_parts(merged), key=lambda g: -g.area)
        records.append((b, seed, side, parts[0]))
        for part in parts[1:]:
            orphans += 1
            records.append((b, 1000 + orphans, 0, part))
    return pd.DataFrame(records, columns=["block", "seed", "side", "geometry"])


def _merge_small(units: pd.DataFrame) -> pd.DataFrame:
    """Merge each unit below MIN_STAND_HA into the neighbour with the longest shared edge."""
    units = units.reset_index(drop=True)
    while True:
        areas = shapely.area(units["geometry"].to_numpy())
        small = np.flatnonzero(areas < MIN_STAND_HA * 1e4)
        if small.size == 0:
            return units
        i = int(small[np.argmin(areas[small])])
        same_block = np.flatnonzero((units["block"] == units.at[i, "block"]).to_numpy())
        others = same_block[same_block != i]
        shared = shapely.length(
            shapely.intersection(
                shapely.boundary(units.at[i, "geometry"]),
                shapely.boundary(units["geometry"].to_numpy()[others]),
            )
        )
        if others.size == 0 or shared.max() <= 0:
            raise RuntimeError("a small stand has no neighbour in its block")
        target = int(others[np.argmax(shared)])
        units.at[target, "geometry"] = shapely.union(
            units.at[target, "geometry"], units.at[i, "geometry"], grid_size=GRID_SIZE
        )
        units = units.drop(index=i).reset_index(drop=True)


def _number_stands(units: pd.DataFrame) -> pd.DataFrame:
    """Give 林班, 小班 and 枝番 numbers: 小班 from north to south, then west to east."""
    units = units.copy()
    centroids = shapely.centroid(units["geometry"].to_numpy())
    units["cx"] = np.round(shapely.get_x(centroids), 2)
    units["band"] = -np.round(shapely.get_y(centroids) / 200.0)
    units["rinpan"] = units["block"] + 1
    # a cell's 枝番 share its 小班 number; order cells by their first piece's centroid
    first = units.sort_values(["block", "seed", "side"]).groupby(["block", "seed"]).first()
    first = first.reset_index().sort_values(["block", "band", "cx"])
    first["shohan"] = first.groupby("block").cumcount() + 1
    units = units.merge(first[["block", "seed", "shohan"]], on=["block", "seed"])
    units = units.sort_values(["rinpan", "shohan", "side"]).reset_index(drop=True)
    units["edaban"] = units.groupby(["rinpan", "shohan"]).cumcount() + 1
    return units[["rinpan", "shohan", "edaban", "geometry"]]


def check_tiling(stands: gpd.GeoDataFrame, blocks: list[shapely.Polygon]) -> None:
    """Raise if stands are invalid, overlap, leave gaps in a block or are smaller than allowed.

    Parameters
    ----------
    stands : GeoDataFrame
        Stand polygons with an ``rinpan`` column.
    blocks : list of Polygon
        Compartment polygons; block ``rinpan`` is ``blocks[rinpan - 1]``.
    """
    geoms = stands.geometry.to_numpy()
    if not shapely.is_valid(geoms).all():
        raise RuntimeError("invalid stand polygon")
    if not (shapely.get_type_id(geoms) == shapely.GeometryType.POLYGON).all():
        raise RuntimeError("stand is not a single Polygon")
    if shapely.area(geoms).min() < MIN_STAND_HA * 1e4:
        raise RuntimeError("stand smaller than MIN_STAND_HA")
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pairs = left < right
    overlap = shapely.area(shapely.intersection(geoms[left[pairs]], geoms[right[pairs]]))
    if overlap.size and overlap.max() > 1e-6:
        raise RuntimeError(f"stands overlap by up to {overlap.max():.6f} m2")
    block_area = stands.geometry.area.groupby(stands["rinpan"]).sum()
    for rinpan, area in block_area.items():
        # snap rounding may move a block edge by less than GRID_SIZE where stand edges meet it
        if abs(area - blocks[rinpan - 1].area) > 1e-5 * area:
            raise RuntimeError(f"stands of 林班 {rinpan} do not tile it")


def make_stand_geometry(
    rng: np.random.Generator, blocks: list[shapely.Polygon]
) -> gpd.GeoDataFrame:
    """Tessellate each compartment into stands.

    Parameters
    ----------
    rng : Generator
        Random generator.
    blocks : list of Polygon
        Compartment polygons [m].

    Returns
    -------
    GeoDataFrame
        Columns ``rinpan, shohan, edaban, geometry`` in EPSG:6673, sorted by the keys.
    """
    seeds_by_block = [_block_seeds(rng, block) for block in blocks]
    cells_by_block = [_voronoi_cells(s, b) for s, b in zip(seeds_by_block, blocks, strict=True)]
    edges = [_voronoi_edges(s, b) for s, b in zip(seeds_by_block, blocks, strict=True)]
    splits, cut_lines = _choose_splits(rng, cells_by_block)
    faces = _faces([*shapely.boundary(blocks), *edges, *cut_lines])
    units = _merge_small(_dissolve_labels(_label_faces(faces, blocks, seeds_by_block, splits)))
    units = _number_stands(units)
    units["geometry"] = shapely.set_precision(units["geometry"].to_numpy(), GRID_SIZE)
    stands = gpd.GeoDataFrame(units, geometry="geometry", crs=CRS)
    check_tiling(stands, blocks)
    return stands
