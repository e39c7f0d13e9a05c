"""The same run on a Dask cluster, partition by partition, with identical results.

- :mod:`forestcarbon.scale.cluster`: ``local:N`` (a LocalCluster of N worker processes) or
  ``tcp://host:8786`` (an existing scheduler) -> a ``dask.distributed`` client.
- :mod:`forestcarbon.scale.engine`: :class:`~forestcarbon.scale.engine.DaskEngine`, the
  :class:`forestcarbon.run.Engine` that computes FO-001, the holds and totals, canopy zonal
  statistics and energy per partition on the cluster (``forestcarbon run --scheduler``).
- :mod:`forestcarbon.scale.reduce`: per-partition summary rows reduced exactly (integer
  nano-tonnes are associative, so the credits do not depend on the partitioning).
- :mod:`forestcarbon.scale.streamrun`: ``forestcarbon run --stream``, for programs larger than
  the driver's memory: each part of a partitioned program read, validated and computed alone
  (:mod:`forestcarbon.scale.stream`, in this process or on the cluster), checked across parts
  (:mod:`forestcarbon.scale.crosspart`: ids in two parts, overlaps across part borders) and
  reduced exactly (totals and Monte Carlo contributions).
- :mod:`forestcarbon.scale.convert`: ``forestcarbon convert PROGRAM --to geoparquet``.

Dask is the ``scale`` extra (``pip install forestcarbon[scale]``); a run in one process (the
default) does not import it.
"""
