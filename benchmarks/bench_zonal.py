"""Zonal statistics benchmark: forestcarbon.canopy.zonal_stats vs raw exactextract vs rasterstats.

One run, the same data for every method: a 10,000 x 10,000 canopy height model (1 m pixels,
float32, tiled DEFLATE GeoTIFF, like a prefectural LiDAR product) tiled by 10,000 stands of about
1 ha in register (random) order. Each method computes mean, median, 90th and 95th percentile, max
and pixel count of every stand, in a process of its own so that its peak memory (resident set) is
its own. The means are compared; wall and CPU time (user + sys of the worker: on a shared machine
the steadier of the two, and what the targets are checked on) and peak memory are printed, with
the ratios.

Then a 40,000 x 40,000 raster, a virtual mosaic (VRT) of 4 x 4 copies of the first file, is
processed by forestcarbon with 160,000 stands (the tiling copied into every tile), to show memory
bounded by a window, not by the raster; its means must equal those of the 10,000 x 10,000 run.

Usage::

    python benchmarks/bench_zonal.py [--workdir DIR] [--size 10000] [--stands 10000]
                                     [--no-rasterstats] [--no-big]

Needs the ``bench`` extra (rasterstats). Takes about 10 minutes on 2 cores; writes about 250 MB
in ``--workdir`` (a temporary folder by default, removed afterwards).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

OPS = ["mean", "median", "quantile(q=0.9)", "quantile(q=0.95)", "max", "count"]
"""exactextract operations, the same set forestcarbon computes."""

RASTERSTATS = ["mean", "median", "percentile_90", "percentile_95", "max", "count"]
"""The same statistics in rasterstats' names."""

CRS = "EPSG:6673"
LEFT, TOP = -40_000.0, -90_000.0
"""North-west corner of the 10,000 x 10,000 raster [m, EPSG:6673]."""

NODATA = -9999.0
BLOCK = 512
MOSAIC = 4
"""The big raster is MOSAIC x MOSAIC copies of the first one."""


def peak_mb() -> float:
    """Peak resident set size of this process [MB] (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- data ---------------------------------------------------------------------------------


def make_raster(path: Path, size: int, seed: int = 0) -> None:
    """A synthetic canopy height model [m], written strip by strip (memory stays small)."""
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    rng = np.random.default_rng(seed)
    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": 1,
        "dtype": "float32",
        "crs": CRS,
        "transform": from_origin(LEFT, TOP, 1.0, 1.0),
        "nodata": NODATA,
        "tiled": True,
        "blockxsize": BLOCK,
        "blockysize": BLOCK,
        "compress": "deflate",
        "predictor": 3,
        "zlevel": 1,
        "BIGTIFF": "IF_SAFER",
    }
    x = np.arange(size)
    with rasterio.open(path, "w", **profile) as ds:
        for row0 in range(0, size, BLOCK):
            rows = np.arange(row0, min(size, row0 + BLOCK))
            yy, xx = np.meshgrid(rows, x, indexing="ij")
            height = 15 + 8 * np.sin(xx / 700.0) * np.cos(yy / 900.0)
            height += rng.normal(0.0, 2.0, height.shape)
            height[rng.random(height.shape) < 0.001] = NODATA  # a few missing returns
            block = np.clip(height, 0, None).round(1).astype("float32")
            ds.write(block, 1, window=Window(0, row0, size, len(rows)))


def voronoi_cells(rng, size: int, n: int, jitter: float, left: float, top: float):
    """About ``n`` polygons tiling a ``size`` x ``size`` m square whose top-left corner is (left,
    top): Voronoi cells of a grid of points each moved by up to ``jitter`` x the grid step."""
    import shapely

    per_side = round(n**0.5)
    step = size / per_side
    centres = (np.arange(per_side) + 0.5) * step
    gx, gy = np.meshgrid(centres, centres)
    moved = rng.uniform(-jitter * step, jitter * step, (2, gx.size))
    points = np.column_stack([gx.ravel() + moved[0], gy.ravel() + moved[1]])
    frame = shapely.box(0, 0, size, size)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(points), extend_to=frame)
    )
    cells = shapely.intersection(cells, frame)
    return shapely.transform(cells, lambda c: c + np.array([left, top - size]))


def make_stands(size: int, n: int, seed: int = 1):
    """About ``n`` stands tiling the raster (jittered-grid Voronoi cells), in random order."""
    import geopandas as gpd

    rng = np.random.default_rng(seed)
    cells = voronoi_cells(rng, size, n, 0.3, LEFT, TOP)
    order = rng.permutation(len(cells))
    ids = [f"{i // 100 + 1}-{i % 100 + 1}-1" for i in range(len(cells))]
    return gpd.GeoDataFrame({"stand_id": ids}, geometry=cells[order], crs=CRS)


def mosaic_stands(stands, size: int):
    """The tiling copied into every tile of the MOSAIC x MOSAIC raster."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    parts = []
    for row in range(MOSAIC):
        for col in range(MOSAIC):
            moved = shapely.transform(
                stands.geometry.to_numpy(),
                lambda c, r=row, k=col: c + np.array([k * size, -r * size]),
            )
            part = gpd.GeoDataFrame(
                {"stand_id": stands["stand_id"] + f"@{row}{col}"}, geometry=moved, crs=CRS
            )
            parts.append(part)
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=CRS)


def write_stands(stands, path: Path) -> None:
    """FlatGeobuf without a spatial index, which would reorder the features."""
    stands.to_file(path, engine="pyogrio", SPATIAL_INDEX="NO")


def write_vrt(path: Path, tile: Path, size: int) -> None:
    """A GDAL virtual mosaic of MOSAIC x MOSAIC references to ``tile`` (nothing copied)."""
    import rasterio

    with rasterio.open(tile) as ds:
        wkt = ds.crs.to_wkt()
    sources = []
    for row in range(MOSAIC):
        for col in range(MOSAIC):
            sources.append(
                f"""    <SimpleSource>
      <SourceFilename relativeToVRT="1">{tile.name}</SourceFilename>
      <SourceBand>1</SourceBand>
      <SourceProperties RasterXSize="{size}" RasterYSize="{size}" DataType="Float32"
        BlockXSize="{BLOCK}" BlockYSize="{BLOCK}"/>
      <SrcRect xOff="0" yOff="0" xSize="{size}" ySize="{size}"/>
      <DstRect xOff="{col * size}" yOff="{row * size}" xSize="{size}" ySize="{size}"/>
    </SimpleSource>"""
            )
    big = size * MOSAIC
    path.write_text(
        f"""<VRTDataset rasterXSize="{big}" rasterYSize="{big}">
  <SRS>{wkt.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")}</SRS>
  <GeoTransform>{LEFT}, 1.0, 0.0, {TOP}, 0.0, -1.0</GeoTransform>
  <VRTRasterBand dataType="Float32" band="1" blockXSize="{BLOCK}" blockYSize="{BLOCK}">
    <NoDataValue>{NODATA}</NoDataValue>
{chr(10).join(sources)}
  </VRTRasterBand>
</VRTDataset>
""",
        encoding="utf-8",
    )


# --- workers (each in its own process) ------------------------------------------------------


def run_worker(method: str, workdir: Path) -> None:
    """Compute the statistics with one method; print seconds and peak memory as JSON."""
    import geopandas as gpd

    big = method == "forestcarbon_big"
    stands = gpd.read_file(workdir / ("stands_big.fgb" if big else "stands.fgb"))
    raster = str(workdir / ("mosaic.vrt" if big else "chm.tif"))
    before = peak_mb()
    start, cpu = time.perf_counter(), time.process_time()
    if method in ("forestcarbon", "forestcarbon_big"):
        from forestcarbon.canopy.zonal import zonal_stats

        table = zonal_stats(stands, raster, min_valid_pixels=0, min_valid_fraction=0)
        mean = table["canopy_mean_m"].to_numpy()
    elif method.startswith("exactextract"):
        from exactextract import exact_extract

        strategy = method.removeprefix("exactextract_").replace("_", "-")
        table = exact_extract(
            raster, stands, OPS, include_cols=["stand_id"], strategy=strategy, output="pandas"
        )
        mean = table["mean"].to_numpy()
    elif method == "rasterstats":
        from rasterstats import zonal_stats as rs_zonal_stats

        rows = rs_zonal_stats(stands, raster, stats=RASTERSTATS, nodata=NODATA)
        mean = np.array([np.nan if r["mean"] is None else r["mean"] for r in rows])
    else:
        raise SystemExit(f"unknown method {method}")
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    np.save(workdir / f"mean_{method}.npy", mean.astype(float))
    print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mb": peak_mb(), "base_mb": before}))


def measure(method: str, workdir: Path, repeat: int = 1) -> dict:
    """The fastest (wall time) of ``repeat`` runs of ``method``, each in a fresh process."""
    runs = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, __file__, "--worker", method, "--workdir", str(workdir)],
            check=True,
            capture_output=True,
            text=True,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    result = min(runs, key=lambda r: r["seconds"])
    result["peak_mb"] = max(r["peak_mb"] for r in runs)
    result["mean"] = np.load(workdir / f"mean_{method}.npy")
    return result


# --- main ---------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None, help="keep the data here")
    parser.add_argument("--size", type=int, default=10_000, help="raster side [pixels]")
    parser.add_argument("--stands", type=int, default=10_000, help="number of stands")
    parser.add_argument("--no-rasterstats", action="store_true", help="skip rasterstats")
    parser.add_argument("--no-big", action="store_true", help="skip the 4 x 4 mosaic run")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each exactextract-based method (fastest)"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_worker(args.worker, args.workdir)
        return 0

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench_zonal-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        return benchmark(args, workdir)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


def benchmark(args, workdir: Path) -> int:
    size = args.size
    tif = workdir / "chm.tif"
    if not tif.exists():
        print(f"writing a {size:,} x {size:,} canopy height model ...", flush=True)
        make_raster(tif, size)
    stands = make_stands(size, args.stands)
    write_stands(stands, workdir / "stands.fgb")
    print(
        f"data: {size:,} x {size:,} float32 pixels of 1 m ({tif.stat().st_size / 1e6:.0f} MB "
        f"DEFLATE, {BLOCK} px tiles), {len(stands):,} stands of "
        f"{stands.geometry.area.mean() / 1e4:.2f} ha on average, in random order",
        flush=True,
    )
    methods = {
        "forestcarbon": "forestcarbon.canopy.zonal_stats",
        "exactextract_feature_sequential": "exactextract, GeoDataFrame (default strategy)",
        "exactextract_raster_sequential": "exactextract, strategy='raster-sequential'",
    }
    if not args.no_rasterstats:
        methods["rasterstats"] = "rasterstats (centre-of-pixel)"
    results = {}
    for method, label in methods.items():
        print(f"running {label} ...", flush=True)
        repeat = 1 if method == "rasterstats" else args.repeat
        results[method] = measure(method, workdir, repeat)

    ours = results["forestcarbon"]
    raw = results["exactextract_feature_sequential"]
    print(
        "\n| method | wall time [s] | CPU time [s] | stands/s | peak memory [MB] "
        "| mean vs ours: max abs diff [m] |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for method, label in methods.items():
        r = results[method]
        diff = np.nanmax(np.abs(r["mean"] - ours["mean"]))
        print(
            f"| {label} | {r['seconds']:.1f} | {r['cpu']:.1f} | "
            f"{len(stands) / r['seconds']:,.0f} | {r['peak_mb']:,.0f} | {diff:.2g} |"
        )
    exact_agree = all(
        np.allclose(results[m]["mean"], ours["mean"], rtol=0, atol=1e-9, equal_nan=True)
        for m in methods
        if m.startswith("exactextract")
    )
    print(f"\nmeans identical to raw exactextract (1e-9 m): {exact_agree}")
    raws = [m for m in methods if m.startswith("exactextract")]
    for key, what in (("seconds", "wall"), ("cpu", "CPU")):
        best = min(results[m][key] for m in raws)
        print(
            f"ours / raw exactextract, {what} time: {ours[key] / raw[key]:.2f}x the default "
            f"strategy, {ours[key] / best:.2f}x the fastest strategy"
        )
    ok = exact_agree and ours["cpu"] <= 1.25 * min(results[m]["cpu"] for m in raws)
    if "rasterstats" in results:
        rs = results["rasterstats"]
        d = np.abs(rs["mean"] - ours["mean"])
        print(
            f"rasterstats / ours: {rs['seconds'] / ours['seconds']:.1f}x wall time, "
            f"{rs['cpu'] / ours['cpu']:.1f}x CPU time; its means differ by "
            f"{np.nanmedian(d):.3f} m (median), {np.nanpercentile(d, 99):.3f} m (99th "
            "percentile): centre-of-pixel instead of coverage weights"
        )
        ok &= rs["cpu"] >= 10 * ours["cpu"] and np.nanpercentile(d, 99) < 0.1

    if not args.no_big:
        big = size * MOSAIC
        write_vrt(workdir / "mosaic.vrt", tif, size)
        many = mosaic_stands(stands, size)
        write_stands(many, workdir / "stands_big.fgb")
        print(
            f"\nrunning forestcarbon on a {big:,} x {big:,} VRT mosaic ({big * big / 1e9:.1f} G "
            f"pixels, {big * big * 4 / 2**30:.0f} GiB as float32) with {len(many):,} stands ...",
            flush=True,
        )
        r = measure("forestcarbon_big", workdir, 1)
        same = np.allclose(r["mean"], np.tile(ours["mean"], MOSAIC * MOSAIC), equal_nan=True)
        print("\n| raster | stands | wall time [s] | CPU time [s] | stands/s | peak memory [MB] |")
        print("|---|---:|---:|---:|---:|---:|")
        print(
            f"| {big:,} x {big:,} VRT (4 x 4 GeoTIFF tiles) | {len(many):,} | "
            f"{r['seconds']:.1f} | {r['cpu']:.1f} | {len(many) / r['seconds']:,.0f} | "
            f"{r['peak_mb']:,.0f} |"
        )
        print(f"\nmosaic means equal the single-tile means: {same}")
        ok &= same and r["peak_mb"] < 2048
    print(f"\ntargets met: {ok}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
