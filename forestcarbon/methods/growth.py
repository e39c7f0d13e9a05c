"""Yield tables (収穫表): lookup by species, site class and age, with the interpolation rules of
FO-001.md §4.

- between tabulated ages: linear;
- below the first tabulated age: linear from 0 at age 0;
- beyond the last tabulated age: flat (no growth, conservative), and the stand is flagged.

A table is turned once into dense per-curve arrays over whole ages, so that a lookup for a million
stands is one fancy-indexing operation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forestcarbon.core.exceptions import Problem

MAX_AGE = 400
"""Oldest age [years] the dense tables cover; older stands use this age (flat anyway)."""


@dataclass(frozen=True)
class YieldTable:
    """Dense yield curves.

    Attributes
    ----------
    keys : pandas.MultiIndex
        (species, site_class) of each curve; position = curve index.
    volume : ndarray, shape (n_curves, MAX_AGE + 1)
        Stem volume [m3/ha] at whole ages 0..MAX_AGE.
    height : ndarray, shape (n_curves, MAX_AGE + 1)
        Dominant height [m] (NaN where the table has no ``height_m``).
    last_age : ndarray, shape (n_curves,)
        Last tabulated age [years] per curve.
    table : DataFrame
        The validated source table (species, site_class, age, volume_m3_ha, height_m, region,
        source, optional substituted_from).
    substituted : ndarray of bool, shape (n_curves,)
        True where the curve is another species' curve standing in for this one (the table's
        ``substituted_from`` column names that species); such stands are flagged.
    """

    keys: pd.MultiIndex
    volume: np.ndarray
    height: np.ndarray
    last_age: np.ndarray
    table: pd.DataFrame
    substituted: np.ndarray | None = None

    def is_substituted(self, curve) -> np.ndarray:
        """Per curve index: True where the curve stands in for another species'."""
        curve = np.asarray(curve, dtype=np.int64)
        if self.substituted is None:
            return np.zeros(curve.shape, dtype=bool)
        return self.substituted[curve]

    def curve_index(self, species, site_class) -> np.ndarray:
        """Curve index per (species, site_class) pair; -1 where the table has no such curve.

        Each distinct pair is looked up once (a register has a handful of them).
        """
        species = pd.Series(species).reset_index(drop=True)
        site_class = pd.Series(site_class).reset_index(drop=True)
        if not len(species):
            return np.zeros(0, dtype=np.intp)
        s_code, s_names = pd.factorize(species, use_na_sentinel=False)
        c_code, c_values = pd.factorize(site_class, use_na_sentinel=False)
        pair, first = np.unique(s_code * len(c_values) + c_code, return_inverse=True)
        pairs = pd.MultiIndex.from_arrays(
            [
                np.asarray(s_names, dtype=object)[pair // len(c_values)],
                np.asarray(c_values)[pair % len(c_values)],
            ]
        )
        return self.keys.get_indexer(pairs)[first]

    def volume_at(self, curve, age) -> np.ndarray:
        """Stem volume [m3/ha] at whole ``age`` [years] (0 for age <= 0)."""
        return _lookup(self.volume, curve, age)

    def height_at(self, curve, age) -> np.ndarray:
        """Dominant height [m] at whole ``age`` [years] (0 for age <= 0)."""
        return _lookup(self.height, curve, age)

    def sources(self) -> list[str]:
        """Distinct ``source`` texts of the table."""
        return sorted(set(self.table["source"].dropna().astype(str)) - {""})


def _lookup(dense: np.ndarray, curve, age) -> np.ndarray:
    age = np.clip(np.asarray(age, dtype=np.int64), 0, MAX_AGE)
    return dense[np.asarray(curve, dtype=np.int64), age]


def _dense_curve(ages: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Values at whole ages 0..MAX_AGE: linear from (0, 0), linear between, flat after the last."""
    x = np.concatenate([[0], ages])
    y = np.concatenate([[0.0], values])
    return np.interp(np.arange(MAX_AGE + 1), x, y)


def build_yield_table(table: pd.DataFrame) -> YieldTable:
    """Dense curves from a validated growth table (:data:`~forestcarbon.inputs.schemas.GROWTH`)."""
    table = table.sort_values(["species", "site_class", "age"]).reset_index(drop=True)
    if "height_m" not in table.columns:
        table["height_m"] = np.nan
    groups = table.groupby(["species", "site_class"], sort=True)
    keys = pd.MultiIndex.from_tuples(list(groups.groups), names=["species", "site_class"])
    volume = np.empty((len(keys), MAX_AGE + 1))
    height = np.full((len(keys), MAX_AGE + 1), np.nan)
    last = np.empty(len(keys), dtype=np.int64)
    substituted = np.zeros(len(keys), dtype=bool)
    for i, (_, g) in enumerate(groups):
        if "substituted_from" in g.columns:
            substituted[i] = g["substituted_from"].fillna("").astype(str).ne("").any()
        ages = g["age"].to_numpy(dtype=np.int64)
        volume[i] = _dense_curve(ages, g["volume_m3_ha"].to_numpy(dtype=float))
        h = g["height_m"].to_numpy(dtype=float)
        if np.isfinite(h).all():
            height[i] = _dense_curve(ages, h)
        last[i] = ages[-1]
    return YieldTable(keys, volume, height, last, table, substituted)


def missing_curves(
    yields: YieldTable, species, site_class, ids, file: str, *, growth_file: str
) -> list[Problem]:
    """Problems for stands whose (species, site class) has no yield curve (bamboo needs none)."""
    idx = yields.curve_index(species, site_class)
    species = np.asarray(species)
    bad = (idx < 0) & (species != "bamboo")
    problems = []
    for sp, sc in sorted(set(zip(species[bad], np.asarray(site_class)[bad], strict=True))):
        who = np.asarray(ids)[bad & (species == sp) & (np.asarray(site_class) == sc)]
        listed = ", ".join(map(str, who[:5])) + (" ..." if len(who) > 5 else "")
        problems.append(
            Problem(
                growth_file,
                "",
                "species/site_class",
                f"no yield curve for species {str(sp)!r} site class {sc}, needed by "
                f"{len(who)} stand(s) of {file}: {listed}",
            )
        )
    return problems
