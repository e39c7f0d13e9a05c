"""The canopy inputs of a program folder, validated: rasters, acquisition dates and field plots.

:func:`load_canopy_inputs` checks every canopy setting of ``program.toml`` at once (files exist,
rasters open with a CRS, dates given and ordered, plots valid) and returns :class:`CanopyInputs`,
or ``None`` when the program has no canopy height raster (:func:`has_canopy`).
:func:`read_plots` reads field plots (:data:`PLOTS`) and locates plots given by x, y [m] in the
stand polygons.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np

from forestcarbon.canopy.rasters import open_raster
from forestcarbon.core.config import CONFIG_FILE, CanopySettings, confined_path
from forestcarbon.core.exceptions import ForestCarbonError, InputError, Problem
from forestcarbon.inputs.readers import read_table
from forestcarbon.inputs.schemas import Column, TableSpec, parse_date, parse_float, validate

if TYPE_CHECKING:
    import pandas as pd

PLOTS = TableSpec(
    "plots",
    (
        Column("plot_id", aliases=("プロット", "プロットid", "プロット番号", "plot")),
        Column("stand_id", required=False, aliases=("小班id", "森林id", "小班コード")),
        Column("x", parse_float, required=False, unit="m", aliases=("x座標",)),
        Column("y", parse_float, required=False, unit="m", aliases=("y座標",)),
        Column(
            "volume_m3_ha",
            parse_float,
            min=0,
            max=3000,
            unit="m3/ha",
            aliases=("材積", "ha材積", "材積(m3/ha)", "蓄積", "measured_volume_m3_ha"),
        ),
        Column("date", parse_date, required=False, aliases=("調査日", "測定日")),
    ),
    id_column="plot_id",
    unique=("plot_id",),
)
"""Field plots: plot_id, stand_id and/or x, y (in ``[program] crs``), measured volume [m3/ha]."""

PLOT_LOCATION_TOLERANCE_M = 30.0
"""A plot with both a stand_id and x, y may lie this far outside its stand (GPS error) [m]."""


@dataclass(frozen=True)
class CanopyInputs:
    """Validated canopy inputs of a program (files exist, CRSs set, dates given, plots checked).

    Attributes
    ----------
    height, cover, cover_before : Path or None
        Canopy height [m] and canopy cover [0-1] rasters (cover and cover_before optional).
    height_date, cover_date, cover_before_date : date or None
        Acquisition dates.
    plots : DataFrame or None
        plot_id, stand_id, volume_m3_ha [m3/ha] of every field plot.
    """

    height: Path
    height_date: dt.date
    cover: Path | None = None
    cover_date: dt.date | None = None
    cover_before: Path | None = None
    cover_before_date: dt.date | None = None
    plots: pd.DataFrame | None = None
    plots_file: Path | None = None

    @property
    def files(self) -> dict[str, Path]:
        """Input role -> path of every canopy file (for provenance)."""
        roles = {
            "canopy_height": self.height,
            "canopy_cover": self.cover,
            "canopy_cover_before": self.cover_before,
            "plots": self.plots_file,
        }
        return {role: path for role, path in roles.items() if path is not None}


def canopy_height_path(program_dir: str | Path, settings: CanopySettings) -> Path:
    """Where the program's canopy height raster is (it may not exist)."""
    return Path(program_dir) / settings.height


def has_canopy(program_dir: str | Path, settings: CanopySettings) -> bool:
    """True when the program folder holds its canopy height raster (the canopy step runs)."""
    return canopy_height_path(program_dir, settings).is_file()


def _require_raster_extra() -> None:
    try:
        import exactextract  # noqa: F401
        import rasterio  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError as e:
        raise ForestCarbonError(
            f"the canopy step needs {e.name}: pip install 'forestcarbon[raster]'"
        ) from None


def _default(name: str):
    return next(f.default for f in dataclasses.fields(CanopySettings) if f.name == name)


def _date_setting(
    settings: CanopySettings, key: str, needed_by: str, problems: list[Problem]
) -> dt.date | None:
    value = getattr(settings, key)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    got = "it is missing" if value is None else f"got {value!r}"
    problems.append(
        Problem(
            CONFIG_FILE,
            "",
            f"[canopy] {key}",
            f"the acquisition date of {needed_by} is needed (stand ages are taken on it): give a "
            f"TOML date such as {key} = 2024-06-01 (no quotes); {got}",
        )
    )
    return None


def _optional_file(
    program_dir: Path, settings: CanopySettings, key: str, problems: list[Problem]
) -> Path | None:
    """An optional input file: absent is fine only when the setting is left at its default."""
    name = getattr(settings, key)
    if not name:
        return None
    path = program_dir / name
    if path.is_file():
        return path
    if name != _default(key):
        problems.append(Problem(CONFIG_FILE, "", f"[canopy] {key}", f"file {path} not found"))
    return None


def load_canopy_inputs(inputs) -> CanopyInputs | None:
    """Validate the canopy inputs of a program; ``None`` when it has no canopy height raster.

    Parameters
    ----------
    inputs : forestcarbon.inputs.program.ProgramInputs

    Raises
    ------
    InputError
        Listing every problem: missing dates or files, rasters without CRS, bad plots, and
        ``site_class_source = "canopy"`` without a raster or without yield-table heights.
    """
    s = inputs.settings.canopy
    program_dir = Path(inputs.program_dir)
    for key in ("height", "cover", "cover_before", "plots"):
        if getattr(s, key):
            confined_path(
                program_dir,
                getattr(s, key),
                f"[canopy] {key}",
                inputs.settings.inputs.allow_outside_paths,
            )
    problems: list[Problem] = []
    height = canopy_height_path(program_dir, s)
    if height.is_file():
        _require_raster_extra()
    else:
        needed_by = [
            f"{key} = {getattr(s, key)!r}"
            for key, default in (
                ("site_class_source", "register"),
                ("volume_source", "yield_table"),
            )
            if getattr(s, key) != default
        ]
        if s.height != _default("height") or needed_by:
            why = f" ({' and '.join(needed_by)} needs it)" if needed_by else ""
            raise InputError(
                Problem(
                    CONFIG_FILE,
                    "",
                    "[canopy] height",
                    f"canopy height raster {height} not found{why}",
                )
            )
        return None
    height_date = _date_setting(s, "height_date", s.height, problems)
    cover = _optional_file(program_dir, s, "cover", problems)
    cover_before = _optional_file(program_dir, s, "cover_before", problems)
    cover_date = _date_setting(s, "cover_date", s.cover, problems) if cover else None
    before_date = None
    if cover_before is not None:
        before_date = _date_setting(s, "cover_before_date", s.cover_before, problems)
        if cover is None:
            problems.append(
                Problem(
                    CONFIG_FILE,
                    "",
                    "[canopy] cover_before",
                    "an earlier cover raster needs the later one ([canopy] cover) to compare with",
                )
            )
        elif cover_date and before_date and not before_date < cover_date:
            problems.append(
                Problem(
                    CONFIG_FILE,
                    "",
                    "[canopy] cover_before_date",
                    f"{before_date} is not before cover_date {cover_date}",
                )
            )
    for path in (height, cover, cover_before):
        if path is not None:
            try:
                with open_raster(path):
                    pass
            except InputError as e:
                problems += e.problems
    if s.site_class_source == "canopy" and not np.isfinite(inputs.yields.height).any():
        problems.append(
            Problem(
                str(inputs.files.get("growth", "growth")),
                "",
                "height_m",
                "site_class_source = 'canopy' needs dominant heights by age in the yield table",
            )
        )
    plots_path = _optional_file(program_dir, s, "plots", problems)
    if plots_path is None and s.volume_source == "model":
        problems.append(
            Problem(
                CONFIG_FILE,
                "",
                "[canopy] volume_source",
                f"'model' needs field plots ({program_dir / s.plots} not found)",
            )
        )
    plots = None
    if plots_path is not None:
        try:
            plots = read_plots(plots_path, inputs.stands)
        except InputError as e:
            problems += e.problems
    if problems:
        raise InputError(problems)
    return CanopyInputs(
        height, height_date, cover, cover_date, cover_before, before_date, plots, plots_path
    )


def read_plots(path: str | Path, stands: gpd.GeoDataFrame) -> pd.DataFrame:
    """Read and check field plots; locate plots given by x, y in the stand polygons.

    Parameters
    ----------
    path : str or Path
        plots.csv (UTF-8 or cp932) or XLSX.
    stands : GeoDataFrame
        Stands in the working CRS (plot coordinates are in the same CRS).

    Returns
    -------
    DataFrame
        plot_id, stand_id, volume_m3_ha [m3/ha].

    Raises
    ------
    InputError
        A plot with neither stand_id nor x, y; an unknown stand; a location outside every stand,
        or more than PLOT_LOCATION_TOLERANCE_M from the stand it names.
    """
    file = str(path)
    df, problems = validate(read_table(path), PLOTS, file, needs_stand_id=False)
    if problems:
        raise InputError(problems)
    for col in ("stand_id", "x", "y"):
        if col not in df.columns:
            df[col] = None
    df["stand_id"] = df["stand_id"].fillna("").astype(str)
    xy = df["x"].notna() & df["y"].notna()
    known = set(stands["stand_id"])
    geoms = stands.set_index("stand_id").geometry
    points = gpd.GeoSeries(
        gpd.points_from_xy(df["x"].astype(float), df["y"].astype(float)), crs=stands.crs
    )
    for i, row in df.iterrows():
        where = f"row {row['source_row']} ({row['plot_id']})"
        sid = row["stand_id"]
        if sid and sid not in known:
            problems.append(Problem(file, where, "stand_id", f"unknown stand {sid!r}"))
        elif sid and xy[i]:
            distance = float(geoms[sid].distance(points[i]))
            if distance > PLOT_LOCATION_TOLERANCE_M:
                problems.append(
                    Problem(
                        file,
                        where,
                        "x/y",
                        f"the plot lies {distance:.0f} m outside stand {sid!r} (coordinates in "
                        f"the program CRS {stands.crs.to_string()})",
                    )
                )
        elif not sid and xy[i]:
            inside = stands.loc[stands.geometry.contains(points[i]), "stand_id"].tolist()
            if len(inside) == 1:
                df.loc[i, "stand_id"] = inside[0]
            else:
                problems.append(
                    Problem(
                        file,
                        where,
                        "x/y",
                        "the plot lies in no stand (coordinates in the program CRS "
                        f"{stands.crs.to_string()})"
                        if not inside
                        else f"the plot lies in a polygon shared by {', '.join(inside)}: give its "
                        "stand_id",
                    )
                )
        elif not sid:
            problems.append(
                Problem(file, where, "stand_id", "give the plot's stand_id or its x and y")
            )
    if problems:
        raise InputError(problems)
    return df[["plot_id", "stand_id", "volume_m3_ha"]].reset_index(drop=True)
