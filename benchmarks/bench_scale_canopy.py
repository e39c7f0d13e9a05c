"""Canopy zonal statistics at scale: partitions of stands on Dask workers over a VRT mosaic.

A 40,000 x 40,000 canopy height model (1 m pixels, float32, 1.6 G pixels, 6 GiB uncompressed) is
written tile by tile as 10 x 10 DEFLATE-compressed, 512-pixel-tiled GeoTIFFs of 4,000 x 4,000
(like a prefecture's LiDAR delivery) and joined by a GDAL VRT mosaic (``gdalbuildvrt`` when on
the PATH, else :func:`forestcarbon.canopy.rasters.write_vrt_mosaic`). About 100,000 stands tile it
(jittered-grid Voronoi cells, 1.6 ha on average, many across tile borders), sorted along a Hilbert
curve and written as GeoParquet partitions, one compact area each.

Measured, each in fresh processes: :func:`forestcarbon.canopy.zonal.zonal_stats` on every stand in
one process without Dask; then :func:`forestcarbon.canopy.zonal.zonal_stats_partition` mapped over
the partitions (``dask_geopandas.read_parquet(...).map_partitions``) on a ``dask.distributed``
LocalCluster of 1 and of 2 worker processes with 1 thread each. Printed: wall and CPU time,
stands/s, pixels/s (stand area in pixels), the speed-up of 2 workers over 1, peak memory (resident
set) of every worker, and whether every partitioned table equals the single-process one exactly.

Usage::

    python benchmarks/bench_scale_canopy.py [--workdir DIR] [--size 40000] [--tile 4000]
        [--stands 100000] [--partitions 32] [--workers 1,2] [--json FILE|-] [--clean]

The mosaic and stands are cached in ``--workdir`` (default: ``$TMPDIR/forestcarbon-bench-canopy``,
about 3.2 GB) and reused while the size, tile and stand count are the same; ``--clean`` removes
them at the end. Generation takes about a minute on 2 cores, the runs about 6-8 minutes.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_zonal import voronoi_cells  # benchmarks/ is the script's folder, first on sys.path

CRS = "EPSG:6673"
LEFT, TOP = -60_000.0, -80_000.0
"""North-west corner of the mosaic [m, EPSG:6673, JGD2011 zone V: near Tsuyama]."""

NODATA = -9999.0
BLOCK = 512
SEED = 20141001


def peak_mb() -> float:
    """Peak resident set size of this process [MB] (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- data: the mosaic, tile by tile --------------------------------------------------------------


def make_tile(job: tuple) -> str:
    """Write one tile: a smooth canopy (5-25 m) plus 2 m noise, 0.1 m steps, a few nodata pixels."""
    import rasterio
    from rasterio.transform import from_origin

    path, row, col, size = job
    rng = np.random.default_rng([SEED, row, col])
    x = np.arange(col * size, (col + 1) * size, dtype=np.float64)
    y = np.arange(row * size, (row + 1) * size, dtype=np.float64)
    height = (15 + 8 * np.outer(np.cos(y / 900.0), np.sin(x / 700.0))).astype(np.float32)
    height += rng.standard_normal((size, size), dtype=np.float32) * 2
    np.clip(height, 0, None, out=height)
    height = np.rint(height * 10, out=height) / 10
    height[rng.random((size, size), dtype=np.float32) < 0.001] = NODATA  # missing returns
    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": 1,
        "dtype": "float32",
        "crs": CRS,
        "transform": from_origin(LEFT + col * size, TOP - row * size, 1.0, 1.0),
        "nodata": NODATA,
        "tiled": True,
        "blockxsize": BLOCK,
        "blockysize": BLOCK,
        "compress": "deflate",
        "predictor": 3,
        "zlevel": 1,
    }
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(height, 1)
    return path


def make_mosaic(workdir: Path, size: int, tile: int) -> tuple[Path, str]:
    """The tiles (in parallel, one process per core) and the VRT over them."""
    from forestcarbon.canopy.rasters import write_vrt_mosaic

    n = size // tile
    tiles_dir = workdir / "tiles"
    tiles_dir.mkdir(parents=True, exist_ok=True)
    jobs = [
        (str(tiles_dir / f"chm_{r:02d}_{c:02d}.tif"), r, c, tile)
        for r in range(n)
        for c in range(n)
    ]
    with concurrent.futures.ProcessPoolExecutor(os.cpu_count()) as pool:
        tiles = list(pool.map(make_tile, jobs))
    vrt = workdir / "mosaic.vrt"
    if shutil.which("gdalbuildvrt"):
        subprocess.run(["gdalbuildvrt", "-q", str(vrt), *tiles], check=True)
        return vrt, "gdalbuildvrt"
    write_vrt_mosaic(tiles, vrt)
    return vrt, "forestcarbon.canopy.rasters.write_vrt_mosaic (no gdalbuildvrt on PATH)"


def make_stands(workdir: Path, size: int, n: int, partitions: int) -> Path:
    """About ``n`` stands tiling the mosaic, Hilbert-sorted, as ``partitions`` GeoParquet files."""
    import geopandas as gpd

    cells = voronoi_cells(np.random.default_rng(SEED), size, n, 0.35, LEFT, TOP)
    stands = gpd.GeoDataFrame(geometry=cells, crs=CRS)
    stands = stands.iloc[np.argsort(stands.hilbert_distance().to_numpy(), kind="stable")]
    stands.insert(0, "stand_id", [f"{i // 100 + 1}-{i % 100 + 1}-1" for i in range(len(stands))])
    stands = stands.reset_index(drop=True)
    folder = workdir / "stands"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    for i, rows in enumerate(np.array_split(np.arange(len(stands)), partitions)):
        stands.iloc[rows].to_parquet(folder / f"part.{i:04d}.parquet")
    return folder


def prepare(args, workdir: Path) -> dict:
    """The cached data, or new data when the parameters changed."""
    marker = workdir / "data.json"
    wanted = {"size": args.size, "tile": args.tile, "stands": args.stands, "version": 1}
    data = json.loads(marker.read_text()) if marker.exists() else {}
    if {k: data.get(k) for k in wanted} != wanted:
        marker.unlink(missing_ok=True)
        start = time.perf_counter()
        print(
            f"writing a {args.size:,} x {args.size:,} mosaic of {args.tile:,}-pixel tiles ...",
            flush=True,
        )
        vrt, how = make_mosaic(workdir, args.size, args.tile)
        data = {**wanted, "vrt": str(vrt), "vrt_by": how, "mosaic_s": time.perf_counter() - start}
        data["bytes"] = sum(p.stat().st_size for p in (workdir / "tiles").glob("*.tif"))
        marker.write_text(json.dumps(data))
    if data.get("partitions") != args.partitions or not (workdir / "stands").is_dir():
        start = time.perf_counter()
        print(
            f"making {args.stands:,} stands in {args.partitions} Hilbert partitions ...", flush=True
        )
        make_stands(workdir, args.size, args.stands, args.partitions)
        data.update(partitions=args.partitions, stands_s=time.perf_counter() - start)
        marker.write_text(json.dumps(data))
    return data


# --- runs -----------------------------------------------------------------------------------------


def single_process(workdir: Path, vrt: str) -> None:
    """(A subprocess) every stand in one zonal_stats call, no Dask; prints timings as JSON."""
    import geopandas as gpd

    from forestcarbon.canopy.zonal import zonal_stats

    stands = gpd.read_parquet(workdir / "stands")
    start, cpu = time.perf_counter(), time.process_time()
    table = zonal_stats(stands, vrt)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    table.to_pickle(workdir / "single.pkl")
    print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mb": peak_mb()}))


def worker_usage() -> dict:
    """Peak resident set [MB] and CPU time [s] of the calling (worker) process."""
    return {"peak_mb": peak_mb(), "cpu": time.process_time()}


def distributed(workdir: Path, vrt: str, workers: int, malloc_trim: bool) -> tuple[dict, object]:
    """zonal_stats_partition over the GeoParquet partitions on a LocalCluster of ``workers``.

    Dask's nanny sets ``MALLOC_TRIM_THRESHOLD_=65536`` in its workers by default; exactextract
    allocates and frees a window per stand, and that trimming cost 10-20% more CPU here, so it
    is unset unless ``malloc_trim``.
    """
    import dask
    import dask_geopandas
    from distributed import Client, LocalCluster

    from forestcarbon.canopy.zonal import zonal_stats_partition

    start = time.perf_counter()
    trim = {
        "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": 65536 if malloc_trim else None
    }
    with (
        dask.config.set(trim),
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        startup = time.perf_counter() - start
        stands = dask_geopandas.read_parquet(workdir / "stands")
        meta = zonal_stats_partition(stands._meta, vrt)
        before = client.run(worker_usage)
        start = time.perf_counter()
        table = stands.map_partitions(zonal_stats_partition, vrt, meta=meta).compute()
        seconds = time.perf_counter() - start
        usage = client.run(worker_usage)
    cpu = sum(usage[w]["cpu"] - before[w]["cpu"] for w in usage)
    peaks = sorted(round(u["peak_mb"]) for u in usage.values())
    return {
        "seconds": seconds,
        "cpu": cpu,
        "peak_mb_per_worker": peaks,
        "startup_s": startup,
    }, table


def run_single(workdir: Path, vrt: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--single", "--workdir", str(workdir)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- main -----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "forestcarbon-bench-canopy"
    )
    parser.add_argument("--size", type=int, default=40_000, help="mosaic side [pixels of 1 m]")
    parser.add_argument("--tile", type=int, default=4_000, help="tile side [pixels]")
    parser.add_argument("--stands", type=int, default=100_000, help="number of stands (about)")
    parser.add_argument("--partitions", type=int, default=32, help="GeoParquet partitions")
    parser.add_argument("--workers", default="1,2", help="Dask worker counts to measure")
    parser.add_argument("--json", help="also write the figures as JSON to this file ('-': stdout)")
    parser.add_argument(
        "--dask-malloc-trim",
        action="store_true",
        help="keep Dask's default MALLOC_TRIM_THRESHOLD_=65536 in the workers (10-20%% more CPU)",
    )
    parser.add_argument("--clean", action="store_true", help="remove the workdir at the end")
    parser.add_argument("--single", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.single:
        single_process(args.workdir, json.loads((args.workdir / "data.json").read_text())["vrt"])
        return 0
    if args.size % args.tile:
        parser.error("--size must be a multiple of --tile")
    try:
        return benchmark(args)
    finally:
        if args.clean:
            shutil.rmtree(args.workdir, ignore_errors=True)


def benchmark(args) -> int:
    import geopandas as gpd
    import pandas as pd

    data = prepare(args, args.workdir)
    vrt = data["vrt"]
    load_start = os.getloadavg()[0]
    stands = gpd.read_parquet(args.workdir / "stands")
    n, pixels = len(stands), float(stands.geometry.area.sum())  # 1 m2 pixels
    tiles = (args.size // args.tile) ** 2
    print(
        f"data: {args.size:,} x {args.size:,} float32 pixels of 1 m ({args.size**2 / 1e9:.2f} G "
        f"pixels) in {tiles} DEFLATE GeoTIFF tiles of {args.tile:,} x {args.tile:,} "
        f"({data['bytes'] / 1e9:.2f} GB; written in {data['mosaic_s']:.0f} s), VRT by "
        f"{data['vrt_by']}; {n:,} stands of {pixels / n / 1e4:.2f} ha on average in "
        f"{args.partitions} Hilbert-curve GeoParquet partitions (made in "
        f"{data['stands_s']:.0f} s); "
        f"machine: {os.cpu_count()} cores",
        flush=True,
    )
    print("running the single process (zonal_stats on every stand, no Dask) ...", flush=True)
    single = run_single(args.workdir, vrt)
    reference = pd.read_pickle(args.workdir / "single.pkl")
    results = {"single": single}
    identical = True
    for workers in [int(w) for w in args.workers.split(",")]:
        print(f"running zonal_stats_partition on {workers} Dask worker(s) ...", flush=True)
        figures, table = distributed(args.workdir, vrt, workers, args.dask_malloc_trim)
        try:
            pd.testing.assert_frame_equal(table.reset_index(drop=True), reference, check_exact=True)
            same = True
        except AssertionError as e:
            print(f"NOT identical to the single process: {e}")
            same = False
        figures["identical"] = bool(same)
        identical &= same
        results[f"dask_{workers}"] = figures

    print(
        "\n| run | wall time [s] | CPU time [s] | stands/s | M pixels/s "
        "| peak memory per process [MB] |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    rows = [("single process, no Dask", single, [round(single["peak_mb"])])]
    rows += [
        (f"Dask, {k.split('_')[1]} worker(s) x 1 thread", r, r["peak_mb_per_worker"])
        for k, r in results.items()
        if k.startswith("dask_")
    ]
    for label, r, peaks in rows:
        r["stands_per_s"] = n / r["seconds"]
        r["pixels_per_s"] = pixels / r["seconds"]
        r["pixels_per_cpu_s"] = pixels / r["cpu"]
        print(
            f"| {label} | {r['seconds']:.1f} | {r['cpu']:.1f} | {r['stands_per_s']:,.0f} | "
            f"{r['pixels_per_s'] / 1e6:.1f} | {', '.join(f'{p:,}' for p in peaks)} |"
        )
    summary = {
        "size": args.size,
        "tile": args.tile,
        "tiles": tiles,
        "pixels": pixels,
        "stands": n,
        "partitions": args.partitions,
        "cores": os.cpu_count(),
        "identical": bool(identical),
        **results,
    }
    summary["dask_malloc_trim"] = args.dask_malloc_trim
    if "dask_1" in results and "dask_2" in results:
        summary["speedup_2_over_1"] = results["dask_1"]["seconds"] / results["dask_2"]["seconds"]
        print(f"\nspeed-up of 2 workers over 1: {summary['speedup_2_over_1']:.2f}x")
    if "dask_1" in results:
        d1 = results["dask_1"]
        print(
            f"1 Dask worker / single process: {d1['seconds'] / single['seconds']:.2f}x the wall "
            f"time, {d1['cpu'] / single['cpu']:.2f}x the CPU time"
        )
    print(
        "CPU throughput (the steadier figure on a shared machine): "
        + ", ".join(
            f"{k} {r['pixels_per_cpu_s'] / 1e6:.1f} M pixels per CPU s" for k, r in results.items()
        )
    )
    load = os.getloadavg()[0]
    print(
        f"load average (1 min) at the start {load_start:.1f}, at the end {load:.1f}, on "
        f"{os.cpu_count()} cores: other processes make wall times and the speed-up unreliable"
    )
    summary["load_average"] = [load_start, load]
    print(f"every partitioned table identical to the single-process table: {identical}")
    worst = max(
        [single["peak_mb"], *(p for r in results.values() for p in r.get("peak_mb_per_worker", []))]
    )
    print(f"largest peak memory of any process: {worst:,.0f} MB (target < 2,048 MB)")
    if args.json == "-":
        print(json.dumps(summary))
    elif args.json:
        Path(args.json).write_text(json.dumps(summary, indent=1))
    return 0 if identical and worst < 2048 else 1


if __name__ == "__main__":
    sys.exit(main())
