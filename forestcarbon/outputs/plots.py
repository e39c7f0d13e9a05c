"""Figures shared by the report and the notebooks (matplotlib).

Each function returns a :class:`matplotlib.figure.Figure` made without pyplot: nothing is shown,
no window opens and no figure is kept open, whatever the backend; :func:`save_png` writes one. In
a Jupyter notebook, run ``%matplotlib inline`` once and a returned figure displays inline.

Labels are bilingual (Japanese / English), drawn in the Japanese font shipped by
``matplotlib-fontja`` (:func:`forestcarbon.core.fonts.japanese_font`), whatever fonts the machine
has.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forestcarbon.canopy.flags import FLAGS
from forestcarbon.core.fonts import japanese_font

AGE_CLASS_YEARS = 5
"""Width of an age class (齢級) [years]: class 1 = ages 1-5."""


def _new_figure(figsize: tuple[float, float]):
    """A new figure and its axes (not managed by pyplot), in the packaged Japanese font."""
    from matplotlib.figure import Figure

    japanese_font()
    fig = Figure(figsize=figsize)
    return fig, fig.subplots()


def age_class(age) -> np.ndarray:
    """齢級 (age class) of ages [years]: 1-5 -> 1, 6-10 -> 2, ..."""
    return (np.asarray(age) - 1) // AGE_CLASS_YEARS + 1


def age_class_table(fo001: pd.DataFrame, period: str, value: str = "net_tco2") -> pd.DataFrame:
    """Sum of ``value`` [t-CO2] over the eligible stands of a period: age class x species."""
    p = fo001[(fo001["period"] == period) & fo001["eligible"]]
    return p.assign(age_class=age_class(p["age_end"])).pivot_table(
        index="age_class", columns="species", values=value, aggfunc="sum", fill_value=0.0
    )


def removals_by_age_class(fo001: pd.DataFrame, period: str):
    """Stacked bars: net t-CO2 of eligible stands by age class and species, for one period.

    Net removals stack upwards from zero and net emissions (harvested stands) downwards, so a
    species' bar never starts inside another's.
    """
    from matplotlib.ticker import MaxNLocator

    table = age_class_table(fo001, period)
    fig, ax = _new_figure((9, 4.5))
    up = np.zeros(len(table))
    down = np.zeros(len(table))
    for species in table.columns:
        values = table[species].to_numpy(float)
        bottom = np.where(values >= 0, up, down)
        ax.bar(table.index, values, bottom=bottom, label=species)
        up += np.where(values >= 0, values, 0.0)
        down += np.where(values < 0, values, 0.0)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("齢級 age class (5-year)")
    ax.set_ylabel("純吸収量 net removals [t-CO2]")
    ax.set_title(f"FO-001 純吸収量 by age class and species — {period}")
    ax.legend(title="樹種 species", fontsize=8)
    ax.axhline(0, color="black", linewidth=0.5)
    fig.tight_layout()
    return fig


def growth_curves(yields, fo001: pd.DataFrame, species: str, period: str):
    """Yield curves of one species (one per site class) with the stands at their ages."""
    fig, ax = _new_figure((8, 4.5))
    ages = np.arange(0, 101)
    for (sp, site), i in zip(yields.keys, range(len(yields.keys)), strict=True):
        if sp != species:
            continue
        ax.plot(ages, yields.volume_at(np.full(ages.shape, i), ages), label=f"地位 site {site}")
    p = fo001[(fo001["period"] == period) & (fo001["species"] == species)]
    colours = np.where(p["eligible"], "black", "tab:red")
    ax.scatter(
        p["age_end"],
        p["volume_end_m3_ha"],
        s=12,
        c=colours,
        alpha=0.7,
        label="小班 stands (black: eligible, red: not)",
    )
    ax.set_xlabel("林齢 age [years]")
    ax.set_ylabel("材積 volume [m3/ha]")
    ax.set_title(f"収穫表 yield table: {species}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def totals_waterfall(summary: pd.DataFrame, period: str):
    """Waterfall of a period's program total: FO-001 removals, harvest emissions, solar, aircon."""
    rows = summary[summary["period"] == period].set_index("methodology")
    steps = []
    if "FO-001" in rows.index:
        steps += [
            ("FO-001 吸収 removals", float(rows.loc["FO-001", "removals_tco2"])),
            ("FO-001 排出 emissions", -float(rows.loc["FO-001", "emissions_tco2"])),
        ]
    for method, label in (
        ("EN-R-002", "EN-R-002 太陽光 solar"),
        ("EN-S-004", "EN-S-004 空調 air con."),
    ):
        if method in rows.index:
            steps.append((label, float(rows.loc[method, "total_tco2"])))
    fig, ax = _new_figure((8, 4.5))
    level = 0.0
    for i, (_label, value) in enumerate(steps):
        ax.bar(i, value, bottom=level, color="tab:green" if value >= 0 else "tab:red")
        ax.text(
            i,
            level + value,
            f"{value:,.1f}",
            ha="center",
            va="bottom" if value >= 0 else "top",
            fontsize=8,
        )
        level += value
    total = float(rows.loc["program", "total_tco2"]) if "program" in rows.index else level
    ax.bar(len(steps), total, color="tab:blue")
    credits = int(rows.loc["program", "credits_t"]) if "program" in rows.index else 0
    ax.text(
        len(steps),
        total,
        f"{total:,.1f}\n({credits:,} credits)",
        ha="center",
        va="bottom",
        fontsize=8,
    )
    ax.set_xticks(
        range(len(steps) + 1), [s[0] for s in steps] + ["合計 program"], rotation=15, fontsize=8
    )
    ax.set_ylabel("t-CO2")
    ax.set_title(f"プログラム合計 program total — {period}")
    low, high = ax.get_ylim()  # room for the value labels inside the frame, clear of the title
    ax.set_ylim(low - 0.1 * (high - low) if low < 0 else low, high + 0.15 * (high - low))
    fig.tight_layout()
    return fig


def save_png(fig, path) -> None:
    """Write a figure as PNG [150 dpi] (no software tag, so the same figure gives the same bytes).

    ``path`` may be a file name or a binary file object.
    """
    fig.savefig(path, format="png", dpi=150, metadata={"Software": None})


SITE_CLASS_COLOURS = {1: "tab:green", 2: "tab:orange", 3: "tab:purple"}
"""Colour of site class (地位) I, II, III in the canopy figures."""


def canopy_top_heights(canopy: pd.DataFrame, yields, species: str):
    """Canopy top height [m] against crop age, with the yield table's dominant-height curves.

    Parameters
    ----------
    canopy : DataFrame
        ``canopy_stands.csv`` (:func:`forestcarbon.canopy.step.canopy_table`): species, age_years,
        top_height_m, site_class_register, flags.
    yields : YieldTable
        With dominant heights (``height_m``) per species and site class.
    species : str

    Notes
    -----
    A stand drawn in its register class's colour but lying on another class's curve is what
    ``site_class_disagrees`` flags (circled); stands far below their curve are flagged
    ``canopy_below_expected`` (crossed).
    """
    fig, ax = _new_figure((8, 4.5))
    ages = np.arange(0, 101)
    for i, (sp, site) in enumerate(yields.keys):
        if sp == species:
            ax.plot(
                ages,
                yields.height_at(np.full(ages.shape, i), ages),
                color=SITE_CLASS_COLOURS.get(site, "grey"),
                label=f"地位 site class {site} (収穫表 yield table)",
            )
    p = canopy[(canopy["species"] == species) & np.isfinite(canopy["top_height_m"])]
    flags = p["flags"].fillna("")
    for site, colour in SITE_CLASS_COLOURS.items():
        mine = p[p["site_class_register"] == site]
        ax.scatter(
            mine["age_years"],
            mine["top_height_m"],
            s=14,
            color=colour,
            alpha=0.8,
            label=f"小班 stands, register class {site}",
        )
    disagrees = p[flags.str.contains("site_class_disagrees")]
    ax.scatter(
        disagrees["age_years"],
        disagrees["top_height_m"],
        s=90,
        facecolors="none",
        edgecolors="black",
        label="site_class_disagrees 地位が不一致",
    )
    low = p[flags.str.contains("canopy_below_expected")]
    ax.scatter(
        low["age_years"],
        low["top_height_m"],
        s=60,
        marker="x",
        color="tab:red",
        label="canopy_below_expected 樹高が低すぎる",
    )
    ax.set_xlabel("林齢 crop age at the raster date [years]")
    ax.set_ylabel("上層樹高 canopy top height [m]")
    ax.set_title(f"樹冠高と地位曲線 canopy top height vs site-class curves: {species}")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def volume_table_vs_model(canopy: pd.DataFrame):
    """Yield-table volume of each stand against the canopy volume model's prediction [m3/ha].

    Bars are the model's prediction interval; stands flagged ``volume_differs`` are red.
    """
    p = canopy[
        np.isfinite(canopy["volume_model_m3_ha"]) & np.isfinite(canopy["volume_table_m3_ha"])
    ]
    differs = p["flags"].fillna("").str.contains("volume_differs")
    fig, ax = _new_figure((6, 5.5))
    for mask, colour, label in (
        (~differs, "tab:blue", "小班 stands"),
        (differs, "tab:red", "volume_differs 材積が不一致"),
    ):
        q = p[mask]
        model = q["volume_model_m3_ha"].to_numpy()
        ax.errorbar(
            q["volume_table_m3_ha"],
            model,
            yerr=[model - q["volume_model_low_m3_ha"], q["volume_model_high_m3_ha"] - model],
            fmt="o",
            markersize=3,
            elinewidth=0.5,
            color=colour,
            alpha=0.7,
            label=label,
        )
    top = float(np.nanmax([p["volume_table_m3_ha"].max(), p["volume_model_high_m3_ha"].max()]))
    ax.plot([0, top], [0, top], color="black", linewidth=0.7, label="1:1")
    ax.set_xlabel("収穫表 yield-table volume (register) [m3/ha]")
    ax.set_ylabel("モデル model volume from the canopy [m3/ha]")
    ax.set_title("材積: 収穫表 vs 樹冠モデル volume: yield table vs canopy model")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def flagged_stands_map(stands, canopy: pd.DataFrame, *, flags=None):
    """Static map of the stands: grey, those with canopy flags coloured by their first flag.

    Parameters
    ----------
    stands : GeoDataFrame
        Stand polygons (``stand_id``) in a metric CRS.
    canopy : DataFrame
        ``canopy_stands.csv``: stand_id, flags.
    flags : sequence of str, optional
        Flag names in order of precedence (default :data:`forestcarbon.canopy.flags.FLAGS`).
    """
    import matplotlib

    order = list(flags or FLAGS)
    of_stand = canopy.set_index("stand_id")["flags"].fillna("").map(lambda f: set(f.split(";")))
    first = of_stand.map(lambda s: next((f for f in order if f in s), ""))
    shown = stands.assign(flag=first.reindex(stands["stand_id"]).fillna("").to_numpy())
    fig, ax = _new_figure((10, 7))
    shown.plot(ax=ax, color="#dddddd", edgecolor="#999999", linewidth=0.2)
    colours = matplotlib.colormaps["tab10"]
    for i, name in enumerate(order):
        mine = shown[shown["flag"] == name]
        if len(mine):
            mine.plot(ax=ax, color=colours(i), edgecolor="black", linewidth=0.4)
            ax.plot([], [], "s", color=colours(i), label=f"{name} ({len(mine)})")
    ax.set_aspect("equal")
    ax.set_xlabel(f"x [m] ({stands.crs.to_string() if stands.crs else 'no CRS'})")
    ax.set_ylabel("y [m]")
    ax.set_title("樹冠ラスタの警告がある小班 stands flagged by the canopy rasters")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig
