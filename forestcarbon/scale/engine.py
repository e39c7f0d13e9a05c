"""A run's per-stand and per-site work on a Dask cluster, partition by partition.

:class:`DaskEngine` is the :class:`forestcarbon.run.Engine` of ``forestcarbon run --scheduler``:

- FO-001: the stands in partitions (compact areas along a Hilbert curve,
  :func:`forestcarbon.inputs.partitions.partition_numbers`), each partition's operations routed
  to it by stand id, so the cohorts of a stand are built inside its partition; one task per
  partition computes :func:`forestcarbon.methods.fo001.compute_fo001`.
- holds and totals: each partition holds its canopy-flagged removals
  (:func:`forestcarbon.methods.holds.hold_flagged`) and sums its summary rows; the driver reduces
  them exactly (:mod:`forestcarbon.scale.reduce`).
- canopy: zonal statistics per partition of stands (each worker reads only its stands' windows
  of the rasters, :func:`forestcarbon.canopy.step.canopy_pixels`); the volume model, fitted on the
  program's field plots, and the flags on the driver.
- energy: PV sites and air-conditioned facilities in partitions with their readings.

Each partition's rows are the rows one process computes for those stands, and the results are put
back in the one-process order (period, then natural id order), so every output is byte-identical.
The Monte Carlo (:mod:`forestcarbon.methods.uncertainty`), the report and the maps run on the
driver, on the gathered results.
"""

from __future__ import annotations

import contextlib
import logging

import geopandas as gpd
import numpy as np
import pandas as pd

from forestcarbon.canopy.inputs import load_canopy_inputs
from forestcarbon.canopy.step import canopy_pixels, compute_canopy
from forestcarbon.inputs.energy import EnergyInputs
from forestcarbon.inputs.partitions import partition_numbers, route
from forestcarbon.methods.energy import EnergyResult, compute_energy
from forestcarbon.methods.fo001 import compute_fo001, natural_key_rank
from forestcarbon.methods.holds import hold_flagged
from forestcarbon.run import Engine, fo001_files
from forestcarbon.scale.reduce import fo001_rows, partial_of, reduce_partials

log = logging.getLogger("forestcarbon")

PARTITIONS_PER_WORKER = 4
"""Partitions per worker when ``[compute] partitions`` is 0: enough for Dask to balance the load
and to retry a lost partition cheaply."""

PARTITIONING = (
    "stands sorted along a Hilbert curve of their bounding-box centres over the square "
    "enclosing them (geopandas "
    "hilbert_distance, level 16) and cut into equal runs; operations with their stand; PV sites "
    "likewise; air-conditioning units with their facility"
)
"""How the partitions are made (provenance.json ``compute.partitioning``)."""


def period_order(df: pd.DataFrame, id_col: str) -> pd.DataFrame:
    """Rows in the one-process order of the engine's tables: period, then natural id order."""
    if not len(df):
        return df.reset_index(drop=True)
    order = np.lexsort((natural_key_rank(df[id_col]), df["period"].to_numpy()))
    return df.iloc[order].reset_index(drop=True)


LARGE_GRAPH = "4GB"
"""Dask warns above 10 MB of task arguments; a distributed run sends each partition's stands with
its task on purpose (data scattered beforehand would be lost with a killed worker)."""


@contextlib.contextmanager
def _partitions_in_tasks():
    import dask  # the scale extra, imported only by a distributed run

    with dask.config.set({"distributed.admin.large-graph-warning-threshold": LARGE_GRAPH}):
        yield


def fo001_task(stands, operations, yields, periods, settings, files) -> pd.DataFrame:
    """FO-001 of one partition (a task run on a worker)."""
    return compute_fo001(stands, operations, yields, periods, settings, **files)


def hold_task(fo, operations, decisions, settings, keep_ids: bool = True) -> tuple:
    """One partition's held results and summary partial (a task run on a worker)."""
    fo = hold_flagged(fo, operations, decisions, settings)
    return fo, partial_of(fo, settings.buffer_rate, ids=keep_ids)


def pixels_task(stands, canopy, settings) -> pd.DataFrame:
    """Canopy zonal statistics of one partition of stands (a task run on a worker)."""
    return canopy_pixels(stands, canopy, settings)


def energy_task(part: EnergyInputs, settings) -> EnergyResult:
    """EN-R-002/EN-S-004 of one partition of sites and units (a task run on a worker)."""
    return compute_energy(part, settings)


class DaskEngine(Engine):
    """:class:`forestcarbon.run.Engine` on a Dask client (see the module docstring).

    Parameters
    ----------
    client : distributed.Client
    scheduler : str
        As given (``local:2``, ``tcp://host:8786``), recorded in provenance.json.
    partitions : int
        Stand partitions (0: :data:`PARTITIONS_PER_WORKER` per worker).
    """

    def __init__(self, client, scheduler: str, partitions: int = 0):
        self.client = client
        self.scheduler = scheduler
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        self.workers = workers
        self.partitions = partitions or PARTITIONS_PER_WORKER * workers
        self.sizes: list[int] = []

    def _parts(self, geoms) -> np.ndarray:
        return partition_numbers(geoms, self.partitions)

    def _map(self, fn, argsets: list) -> list:
        """``fn(*args)`` for each of ``argsets`` on the cluster, results in the same order; a task
        lost with its worker is run again (its arguments travel with it, none is scattered)."""
        with _partitions_in_tasks():
            futures = [self.client.submit(fn, *args, pure=False) for args in argsets]
        return self.client.gather(futures)

    def fo001(self, inputs, stands: pd.DataFrame) -> pd.DataFrame:
        s = inputs.settings
        stands = stands.reset_index(drop=True)
        part = self._parts(stands.geometry)
        ops_part = route(inputs.operations["stand_id"], stands["stand_id"], part)
        self.sizes = np.bincount(part, minlength=part.max() + 1 if len(part) else 0).tolist()
        # passed with each task, not scattered: scattered data lost with a worker cannot be
        # recomputed, while a task's own arguments let Dask run it again elsewhere
        shared = (inputs.yields, s.periods, s.fo001, fo001_files(inputs))
        numbers = np.unique(part)
        log.info(
            "FO-001: %d partitions on %d workers",
            len(numbers),
            self.workers,
            extra={"progress": 0.1},
        )
        results = self._map(
            fo001_task,
            [(stands[part == i], inputs.operations[ops_part == i], *shared) for i in numbers],
        )
        return period_order(pd.concat(results, ignore_index=True), "stand_id")

    def canopy(self, inputs):
        canopy = load_canopy_inputs(inputs)
        if canopy is None:
            return None
        settings = inputs.settings.canopy

        stands = inputs.stands.reset_index(drop=True)
        part = self._parts(stands.geometry)
        results = self._map(
            pixels_task, [(stands[part == i], canopy, settings) for i in np.unique(part)]
        )
        # rows are matched to the stands by stand_id, whatever the partitions' order
        return compute_canopy(inputs, pixels=pd.concat(results, ignore_index=True))

    def hold_and_total(self, fo: pd.DataFrame, inputs, decisions) -> tuple:
        s = inputs.settings.fo001
        stands = inputs.stands
        part_of = pd.Series(self._parts(stands.geometry), index=stands["stand_id"].to_numpy())
        part = part_of.reindex(fo["stand_id"].to_numpy()).to_numpy()
        ops_part = route(inputs.operations["stand_id"], stands["stand_id"], part_of.to_numpy())
        results = self._map(
            hold_task,
            [
                (fo[part == i], inputs.operations[ops_part == i], decisions, s)
                for i in np.unique(part)
            ],
        )
        held = pd.concat([r[0] for r in results]).sort_index()  # the rows' original positions
        rows = fo001_rows(reduce_partials(r[1] for r in results), s.buffer_rate)
        return held.reset_index(drop=True), rows

    def energy(self, energy: EnergyInputs, settings) -> EnergyResult:
        for line in energy.factors.substitutes() if energy.factors is not None else []:
            log.warning("emission factor: %s", line)
        parts = energy_partitions(energy, self.partitions)
        results = self._map(energy_task, [(p, settings) for p in parts])
        solar = [r.solar for r in results if r.solar is not None]
        aircon = [r.aircon for r in results if r.aircon is not None]
        return EnergyResult(
            period_order(_concat(solar), "site_id") if solar else None,
            period_order(_concat(aircon), "unit_id") if aircon else None,
            energy.factors,
        )

    def record(self) -> dict:
        return {
            "scheduler": self.scheduler,
            "workers": self.workers,
            "partitions": self.partitions,
            "partitioning": PARTITIONING,
            "stands_per_partition": self.sizes,
        }


def _concat(frames: list) -> gpd.GeoDataFrame:
    crs = frames[0].crs
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=crs)


def energy_partitions(energy: EnergyInputs, n: int) -> list[EnergyInputs]:
    """The energy inputs in at most ``n`` partitions: PV sites along a Hilbert curve with their
    readings, air-conditioning units with every unit of their facility (an activity) and their
    readings; the emission factors in each."""
    solar_part = aircon_part = None
    if energy.solar is not None and len(energy.solar):
        solar_part = partition_numbers(energy.solar.geometry, n)
    if energy.aircon is not None and len(energy.aircon):
        unit_part = partition_numbers(energy.aircon.geometry, n)
        first = (
            pd.Series(unit_part).groupby(energy.aircon["facility"].to_numpy()).transform("first")
        )
        aircon_part = first.to_numpy()
    numbers = sorted(
        set(np.unique(solar_part).tolist() if solar_part is not None else [])
        | set(np.unique(aircon_part).tolist() if aircon_part is not None else [])
    )
    parts = []
    for i in numbers:
        solar = readings = aircon = aircon_readings = None
        if solar_part is not None and (solar_part == i).any():
            solar = energy.solar[solar_part == i]
            readings = _readings_of(energy.solar_readings, "site_id", solar["site_id"])
        if aircon_part is not None and (aircon_part == i).any():
            aircon = energy.aircon[aircon_part == i]
            aircon_readings = _readings_of(energy.aircon_readings, "unit_id", aircon["unit_id"])
        parts.append(EnergyInputs(solar, readings, aircon, aircon_readings, energy.factors))
    return parts


def _readings_of(readings, id_col: str, ids: pd.Series):
    if readings is None:
        return None
    return readings[readings[id_col].isin(set(ids))]
