"""The same run on a Dask cluster, partition by partition, with identical results.

- :mod:`forestcarbon.scale.cluster`: ``local:N`` (a LocalCluster of N worker processes) or
  ``tcp://host:8786`` (an existing scheduler) -> a ``dask.distributed`` client.
- :mod:`forestcarbon.scale.engine`: :class:`~forestcarbon.scale.engine.DaskEngine`, the
  :class:`forestcarbon.run.Engine` that computes FO-001, the holds and totals, canopy zonal
  statistics and energy per partition on the cluster (``forestcarbon run --scheduler``).
- :mod:`forestcarbon.scale.reduce`: per-partition summary rows reduced exactly (integer
  nano-tonnes are associative, so the credits do not depend on the partitioning).
- :mod:`forestcarbon.scale.stream`: FO-001 of a program stored as partitioned GeoParquet, each
  worker reading, validating and computing its own partitions (memory bounded per worker).
- :mod:`forestcarbon.scale.convert`: ``forestcarbon convert PROGRAM --to geoparquet``.

Dask is the ``scale`` extra (``pip install forestcarbon[scale]``); a run in one process (the
default) does not import it.
"""
