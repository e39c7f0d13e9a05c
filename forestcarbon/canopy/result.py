"""The outcome of the canopy step and its effect on FO-001 credits.

:meth:`CanopyResult.refine_fo001` makes FO-001 use the canopy-derived site class when
``[canopy] site_class_source = "canopy"`` and reports the credit effect [t-CO2] of every class
change; with ``volume_source = "model"`` it scales each stand's yield curve by the model volume,
capped by the yield table (:meth:`CanopyResult.volume_scales`)::

    scale = min(1, V_model / V_table(species, site class, age))    [-]

with ``V_model`` the model's stand volume and ``V_table`` the yield table's [m3/ha] at the crop
age on the raster date, only where the model predicts, the crop is the register's and
``V_table >= MIN_SCALED_VOLUME_M3_HA``; elsewhere no scaling. The cap means a learned model may
lower a stand's credits, never raise them. :meth:`CanopyResult.tables` gives the output tables.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from forestcarbon.canopy.flags import add_canopy_flags
from forestcarbon.canopy.zonal import HEIGHT_STATS
from forestcarbon.methods.fiscal import fiscal_year_of

if TYPE_CHECKING:
    from collections.abc import Callable

    from forestcarbon.canopy.inputs import CanopyInputs
    from forestcarbon.canopy.volume_model import VolumeModel
    from forestcarbon.core.config import CanopySettings
    from forestcarbon.methods.growth import YieldTable

OUTPUT_DECIMALS = {
    **dict.fromkeys([*HEIGHT_STATS, "top_height_m", "expected_height_m", "valid_pixels"], 2),
    **dict.fromkeys(["valid_fraction", "cover_mean", "cover_before_mean", "cover_change"], 4),
    **dict.fromkeys(["thinned_share", "site_index_canopy", "volume_scale"], 3),
    **dict.fromkeys(
        [
            "volume_table_m3_ha",
            "volume_canopy_site_m3_ha",
            "volume_model_m3_ha",
            "volume_model_low_m3_ha",
            "volume_model_high_m3_ha",
        ],
        1,
    ),
}
"""Decimals written to ``canopy_stands.csv`` per column (flags are computed before rounding)."""

CHANGES_COLUMNS = [
    "stand_id",
    "period",
    "site_class_register",
    "site_class_canopy",
    "applied",
    "net_tco2_register",
    "net_tco2_canopy",
    "change_tco2",
]
"""Columns of ``canopy_site_class_changes.csv``."""


@dataclass(frozen=True)
class CanopyResult:
    """Outcome of the canopy step of a program.

    Attributes
    ----------
    table : DataFrame
        ``canopy_stands.csv`` (see :func:`canopy_table`).
    model : VolumeModel or None
    inputs : CanopyInputs
    settings : CanopySettings
    changes : DataFrame
        Site class changes and their credit effect (:meth:`refine_fo001`).
    volume_effect : DataFrame or None
        With ``volume_source = "model"``: per period, the stands scaled and the credited net
        [t-CO2] with yield-table and with model volumes.
    """

    table: pd.DataFrame
    model: VolumeModel | None
    inputs: CanopyInputs
    settings: CanopySettings
    changes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CHANGES_COLUMNS))
    volume_effect: pd.DataFrame | None = None

    def canopy_site_classes(self, stands: pd.DataFrame, yields: YieldTable) -> np.ndarray:
        """Site class per stand with the canopy-derived class wherever one was derived.

        A derived class is used only when the yield table has a curve for it; elsewhere (too
        young, too few pixels, low canopy, no curve) the register's class stays.
        """
        derived = (
            self.table.set_index("stand_id")["site_class_canopy"]
            .reindex(stands["stand_id"])
            .to_numpy(dtype=float, na_value=np.nan)
        )
        register = stands["site_class"].to_numpy(dtype=int)
        candidate = np.where(np.isnan(derived), register, derived).astype(int)
        has_curve = yields.curve_index(stands["species"], candidate) >= 0
        return np.where(has_curve, candidate, register)

    def refine_fo001(
        self,
        stands: pd.DataFrame,
        yields: YieldTable,
        compute: Callable[[pd.DataFrame], pd.DataFrame],
        *,
        effects: bool = True,
    ) -> tuple[pd.DataFrame, CanopyResult]:
        """FO-001 results with the canopy flags, and the site class source of the settings.

        Parameters
        ----------
        stands : DataFrame
            The validated stands (register site classes).
        yields : YieldTable
        compute : callable
            ``compute(stands) -> fo001 table`` (e.g.
            :func:`forestcarbon.methods.fo001.compute_fo001` with the program's operations,
            periods and settings bound).
        effects : bool
            False (``validate``): ``compute`` called once, with the site classes FO-001 credits,
            and no credit effect (``changes`` and ``volume_effect`` left as they are, no model
            scaling). FO-001's checks (operations, harvest sequences) do not depend on the site
            class or the volume scale, so that one call reports every problem the others would.

        Returns
        -------
        fo001 : DataFrame
            Computed with the register's site classes, or with the canopy-derived ones when
            ``[canopy] site_class_source = "canopy"``; with ``volume_source = "model"``, each
            stand's yield curve scaled by :meth:`volume_scales` (a ``volume_scale`` column of the
            stands, see :func:`forestcarbon.methods.fo001.compute_fo001`); canopy flags appended to
            ``flags``.
        result : CanopyResult
            This result with ``changes``: for every stand whose derived class differs from the
            register's, and every period, the credited net removals [t-CO2] under both classes
            and the difference (``applied`` tells whether FO-001 used the derived class).
        """
        classes = self.canopy_site_classes(stands, yields)
        changed = classes != stands["site_class"].to_numpy(dtype=int)
        applied = self.settings.site_class_source == "canopy"
        if not effects:
            fo = compute(stands.assign(site_class=classes) if applied else stands)
            return add_canopy_flags(fo, self.table), self
        fo_register = compute(stands)
        fo_canopy = compute(stands.assign(site_class=classes)) if changed.any() else fo_register
        changes = _class_changes(fo_register, fo_canopy, stands[changed], classes[changed], applied)
        fo = fo_canopy if applied else fo_register
        result = dataclasses.replace(self, changes=changes)
        if self.settings.volume_source == "model":
            used = stands.assign(site_class=classes) if applied else stands
            scale = self.volume_scales(used, yields)
            fo_model = compute(used.assign(volume_scale=scale))
            result = dataclasses.replace(
                result,
                table=self.table.assign(volume_scale=scale),
                volume_effect=_volume_effect(fo, fo_model, stands["stand_id"][np.isfinite(scale)]),
            )
            fo = fo_model
        return add_canopy_flags(fo, self.table), result

    def volume_scales(self, stands: pd.DataFrame, yields: YieldTable) -> np.ndarray:
        """Factor [-] taking each stand's yield curve through the model volume at the raster date.

        ``min(1, volume_model_m3_ha / V(species, site class, age))`` where the model predicts,
        the crop at the raster date is the register's (no replanting since) and the yield-table
        volume is at least MIN_SCALED_VOLUME_M3_HA; NaN (no scaling) elsewhere. The scale never
        exceeds 1: a learned model may lower a stand's credits, never raise them (conservative).
        """
        t = self.table.set_index("stand_id").reindex(stands["stand_id"])
        age = t["age_years"].to_numpy(dtype=int)
        register_age = fiscal_year_of(self.inputs.height_date) - stands["planted_year"].to_numpy()
        curve = yields.curve_index(stands["species"], stands["site_class"])
        known = curve >= 0
        v_table = np.full(len(stands), np.nan)
        v_table[known] = yields.volume_at(curve[known], age[known])
        model = t["volume_model_m3_ha"].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            ok = (
                (age == register_age + 1)
                & np.isfinite(model)
                & (v_table >= MIN_SCALED_VOLUME_M3_HA)
            )
        return np.where(ok, np.minimum(1.0, model / np.where(ok, v_table, 1.0)), np.nan)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Output file name -> table (canopy values rounded to what the rasters can tell)."""
        out = {
            "canopy_stands.csv": self.table.round(OUTPUT_DECIMALS),
            "canopy_site_class_changes.csv": self.changes,
        }
        if self.model is not None:
            out["canopy_volume_model.csv"] = self.model.scores
        return out


MIN_SCALED_VOLUME_M3_HA = 10.0
"""A yield curve is scaled to the model only where the table gives at least this volume [m3/ha]."""


def _volume_effect(fo_table: pd.DataFrame, fo_model: pd.DataFrame, scaled: pd.Series):
    """Per period: stands scaled, credited net [t-CO2] with yield-table and with model volumes."""
    rows = []
    for (period, a), (_, b) in zip(
        fo_table.groupby("period", sort=True), fo_model.groupby("period", sort=True), strict=True
    ):
        rows.append(
            {
                "period": period,
                "n_stands": len(scaled),
                "net_tco2_yield_table": float(a["net_tco2"].sum()),
                "net_tco2_model": float(b["net_tco2"].sum()),
            }
        )
    out = pd.DataFrame(rows)
    out["change_tco2"] = out["net_tco2_model"] - out["net_tco2_yield_table"]
    return out


def _class_changes(
    fo_register: pd.DataFrame,
    fo_canopy: pd.DataFrame,
    changed: pd.DataFrame,
    classes: np.ndarray,
    applied: bool,
) -> pd.DataFrame:
    key = ["stand_id", "period"]
    ids = pd.DataFrame(
        {
            "stand_id": changed["stand_id"].to_numpy(),
            "site_class_register": changed["site_class"].to_numpy(dtype=int),
            "site_class_canopy": classes,
        }
    )
    reg = fo_register.loc[fo_register["stand_id"].isin(ids["stand_id"]), [*key, "net_tco2"]]
    can = fo_canopy.loc[fo_canopy["stand_id"].isin(ids["stand_id"]), [*key, "net_tco2"]]
    out = reg.merge(can, on=key, suffixes=("_register", "_canopy")).merge(ids, on="stand_id")
    out["applied"] = applied
    out["change_tco2"] = out["net_tco2_canopy"] - out["net_tco2_register"]
    return out[CHANGES_COLUMNS].reset_index(drop=True)
