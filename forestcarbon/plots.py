"""Figures shared by the report and the notebooks (matplotlib, Agg backend; nothing is shown).

Labels are bilingual (Japanese / English); a CJK font is used when one is installed (Noto Sans
CJK from Debian's fonts-noto-cjk), otherwise matplotlib's default font draws the English part.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

AGE_CLASS_YEARS = 5
"""Width of an age class (齢級) [years]: class 1 = ages 1-5."""


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for cjk in ("Noto Sans CJK JP", "Noto Sans JP", "IPAexGothic", "IPAGothic"):
        if cjk in names:
            plt.rcParams["font.family"] = [cjk, "DejaVu Sans"]
            break
    return plt


def age_class(age) -> np.ndarray:
    """齢級 (age class) of ages [years]: 1-5 -> 1, 6-10 -> 2, ..."""
    return (np.asarray(age) - 1) // AGE_CLASS_YEARS + 1


def removals_by_age_class(fo001: pd.DataFrame, period: str):
    """Stacked bars: net t-CO2 of eligible stands by age class and species, for one period."""
    plt = _pyplot()
    p = fo001[(fo001["period"] == period) & fo001["eligible"]]
    table = p.assign(age_class=age_class(p["age_end"])).pivot_table(
        index="age_class", columns="species", values="net_tco2", aggfunc="sum", fill_value=0.0
    )
    fig, ax = plt.subplots(figsize=(9, 4.5))
    bottom = np.zeros(len(table))
    for species in table.columns:
        ax.bar(table.index, table[species], bottom=bottom, label=species)
        bottom += table[species].to_numpy()
    ax.set_xlabel("齢級 age class (5-year)")
    ax.set_ylabel("純吸収量 net removals [t-CO2]")
    ax.set_title(f"FO-001 純吸収量 by age class and species — {period}")
    ax.legend(title="樹種 species", fontsize=8)
    ax.axhline(0, color="black", linewidth=0.5)
    fig.tight_layout()
    return fig


def growth_curves(yields, fo001: pd.DataFrame, species: str, period: str):
    """Yield curves of one species (one per site class) with the stands at their ages."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
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
    plt = _pyplot()
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
    fig, ax = plt.subplots(figsize=(8, 4.5))
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
    fig.tight_layout()
    return fig


def save_png(fig, path) -> None:
    """Write a figure as PNG [150 dpi] and close it."""
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=150, metadata={"Software": None})
    plt.close(fig)
