"""Result tables as layers with the stand polygons (the GeoPackage for QGIS, the map)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd

if TYPE_CHECKING:
    from forestcarbon.run import RunResult


def fo001_layer(result: RunResult) -> gpd.GeoDataFrame:
    """Per stand and period results with the stand polygons (for QGIS)."""
    geoms = result.inputs.stands.set_index("stand_id").geometry
    return gpd.GeoDataFrame(
        result.fo001,
        geometry=geoms.reindex(result.fo001["stand_id"]).values,
        crs=result.inputs.stands.crs,
    )
