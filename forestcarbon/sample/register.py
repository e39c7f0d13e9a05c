"""Register attributes (森林簿) of the sample's stands: species, forest type, site class, planting
year, protection (保安林), plan (森林経営計画), register area and place name, and the private
history ``role`` of each stand (which FO-001 eligibility case it is made to show).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from forestcarbon.sample.operations import PAST_HARVEST_FYS

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

REFERENCE_FY = 2023
"""Fiscal year in which register ages are quoted."""

STAND_COLUMNS = (
    "stand_id",
    "rinpan",
    "shohan",
    "edaban",
    "species",
    "forest_type",
    "planted_year",
    "site_class",
    "protected",
    "plan_id",
    "area_ha",
    "name",
)

CONIFERS = ("sugi", "hinoki", "akamatsu")
BROADLEAVES = ("nara", "kunugi")
SPECIES_SHARES = {"hinoki": 0.46, "sugi": 0.31, "akamatsu": 0.08, "nara": 0.10, "kunugi": 0.05}
"""Share of each species among all stands but the single bamboo stand [-]."""

SITE_CLASS_P = (0.25, 0.50, 0.25)
"""Probability of site class I, II, III [-]."""

PLAN_IDS = ("津山-2021-01", "津山-2021-02", "津山-2021-03", "津山-2021-04")
LOCALITIES = ("西下", "上横野", "一宮", "高野")
VALLEYS = (
    "北谷",
    "南谷",
    "奥谷",
    "大谷",
    "長尾",
    "中尾",
    "西山",
    "東山",
    "池ノ谷",
    "宮ノ奥",
    "松ヶ迫",
    "滝ノ上",
)

ROLE_COUNTS = {
    "pre1990": 6,
    "no_ops": 6,
    "partial": 6,
    "fy1990_boundary": 1,
    "harvest_past": len(PAST_HARVEST_FYS),
    "harvest_fy2022": 1,
    "harvest_fy2023": 1,
    "cross_age_21": 4,
}
"""Number of in-plan conifer stands given each special role (the rest are ``managed``)."""

BEYOND_TABLE_SPECIES = ("hinoki", "hinoki", "sugi", "akamatsu")
"""Species of the very old stands whose age runs past the yield table."""

NATURAL_ROLES = ("natural_protected", "natural_unprotected")
N_PROTECTED_CONIFERS = 5
N_SCATTERED_OUTSIDE_PLAN = 3
REGISTER_MISMATCH_SHARE = 0.10


def _exact_species(rng: np.random.Generator, n: int) -> np.ndarray:
    """Species labels with exact shares (SPECIES_SHARES) and one bamboo stand, shuffled."""
    m = n - 1
    counts = {sp: round(share * m) for sp, share in SPECIES_SHARES.items()}
    counts["kunugi"] += m - sum(counts.values())
    labels = ["bamboo"] + [sp for sp, count in counts.items() for _ in range(count)]
    return rng.permutation(np.array(labels, dtype=object))


def _block_groups(stands: gpd.GeoDataFrame, n_groups: int) -> pd.Series:
    """East-west group 0..n_groups-1 of each compartment, indexed by 林班."""
    block_x = stands.geometry.centroid.x.groupby(stands["rinpan"]).mean()
    rank = block_x.rank(method="first").astype(int) - 1
    return rank * n_groups // len(block_x)


def _plan_ids(rng: np.random.Generator, stands: gpd.GeoDataFrame) -> np.ndarray:
    """森林経営計画 id per stand from the east-west group of its compartment.

    One whole compartment and a few scattered stands lie outside any plan (empty string).
    """
    plan_of_block = _block_groups(stands, len(PLAN_IDS)).map(lambda g: PLAN_IDS[g]).to_dict()
    plan_of_block[int(rng.choice(list(plan_of_block)))] = ""
    plans = stands["rinpan"].map(plan_of_block).to_numpy(dtype=object)
    in_plan = np.flatnonzero(plans != "")
    plans[rng.choice(in_plan, size=N_SCATTERED_OUTSIDE_PLAN, replace=False)] = ""
    return plans


def _stand_names(rng: np.random.Generator, stands: gpd.GeoDataFrame) -> np.ndarray:
    """Short place names ("一宮 北谷"); about 40% of 小班 have none. 枝番 share their 小班 name."""
    locality = stands["rinpan"].map(_block_groups(stands, len(LOCALITIES))).to_numpy()
    names: dict[tuple[int, int], str] = {}
    keys = list(zip(stands["rinpan"], stands["shohan"], strict=True))
    for key, group in zip(keys, locality, strict=True):
        if key not in names:
            valley = VALLEYS[int(rng.integers(len(VALLEYS)))]
            names[key] = f"{LOCALITIES[group]} {valley}" if rng.random() < 0.6 else ""
    return np.array([names[key] for key in keys], dtype=object)


def _assign_roles(rng: np.random.Generator, register: pd.DataFrame) -> np.ndarray:
    """The history role of each stand: special FO-001 cases on in-plan conifers, else defaults."""
    roles = np.where(register["forest_type"] == "planted", "managed", "natural").astype(object)
    roles[(register["plan_id"] == "").to_numpy() & (roles == "managed")] = "outside_plan"
    roles[(register["species"] == "bamboo").to_numpy()] = "bamboo"
    for species in BEYOND_TABLE_SPECIES:
        pool = np.flatnonzero((roles == "managed") & (register["species"] == species).to_numpy())
        roles[rng.choice(pool)] = "beyond_table"
    for role, count in ROLE_COUNTS.items():
        pool = np.flatnonzero(roles == "managed")
        roles[rng.choice(pool, size=count, replace=False)] = role
    natural = np.flatnonzero(roles == "natural")
    protected = rng.choice(natural, size=len(natural) // 2, replace=False)
    roles[natural] = "natural_unprotected"
    roles[protected] = "natural_protected"
    return roles


def _ages(rng: np.random.Generator, roles: np.ndarray) -> np.ndarray:
    """Register age in REFERENCE_FY per stand [yr]; harvest roles are fixed later by the history."""
    n = len(roles)
    conifer = np.clip(np.round(rng.normal(52.0, 14.0, n)), 3, 100)
    old_unmanaged = np.clip(np.round(rng.normal(58.0, 10.0, n)), 45, 80)
    natural = rng.integers(40, 91, n)
    very_old = rng.integers(96, 101, n)
    ages = conifer.astype(int)
    unmanaged = np.isin(roles, ["pre1990", "no_ops", "partial", "fy1990_boundary"])
    ages[unmanaged] = old_unmanaged[unmanaged]
    is_natural = np.isin(roles, NATURAL_ROLES)
    ages[is_natural] = natural[is_natural]
    ages[roles == "beyond_table"] = very_old[roles == "beyond_table"]
    ages[roles == "cross_age_21"] = REFERENCE_FY - 2003 + 1
    ages[roles == "bamboo"] = 60
    return ages


def _register_areas(
    rng: np.random.Generator, geometry_ha: np.ndarray, roles: np.ndarray
) -> np.ndarray:
    """Register area [ha]: geometry area to 0.01 ha, a few percent off for ~10% of stands.

    Only ordinary stands (managed conifers, natural broadleaf) get an imprecise register area, so
    that the special eligibility cases are not blurred by it.
    """
    ordinary = np.flatnonzero(np.isin(roles, ["managed", *NATURAL_ROLES]))
    off = rng.choice(ordinary, size=round(REGISTER_MISMATCH_SHARE * len(roles)), replace=False)
    factor = np.ones(len(roles))
    factor[off] = 1.0 + rng.choice([-1.0, 1.0], size=len(off)) * rng.uniform(0.02, 0.06, len(off))
    return np.round(geometry_ha * factor, 2)


def _protected(rng: np.random.Generator, roles: np.ndarray) -> np.ndarray:
    """保安林 flag: the protected natural stands and a few managed conifer stands."""
    protected = roles == "natural_protected"
    managed = np.flatnonzero(roles == "managed")
    protected[rng.choice(managed, N_PROTECTED_CONIFERS, replace=False)] = True
    return protected


def make_register(rng: np.random.Generator, stands: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Add register attributes and a private ``role`` column to the stand geometry.

    Parameters
    ----------
    rng : Generator
        Random generator.
    stands : GeoDataFrame
        Output of :func:`forestcarbon.sample.stands.make_stand_geometry`.

    Returns
    -------
    GeoDataFrame
        STAND_COLUMNS plus ``role`` (the sample's history case, not written to the layer) and
        geometry. ``planted_year`` of harvested stands is set later by the history.
    """
    register = stands.copy()
    n = len(register)
    register["stand_id"] = [
        f"{r}-{s}-{e}"
        for r, s, e in zip(register["rinpan"], register["shohan"], register["edaban"], strict=True)
    ]
    register["plan_id"] = _plan_ids(rng, register)
    register["species"] = _exact_species(rng, n)
    is_conifer = register["species"].isin(CONIFERS)
    register["forest_type"] = np.where(is_conifer, "planted", "natural")
    register["site_class"] = rng.choice([1, 2, 3], size=n, p=SITE_CLASS_P)
    register.loc[register["species"] == "bamboo", "site_class"] = 2
    roles = _assign_roles(rng, register)
    register["role"] = roles
    register["planted_year"] = REFERENCE_FY - _ages(rng, roles) + 1
    register["protected"] = _protected(rng, roles)
    geometry_ha = register.geometry.area.to_numpy() / 1e4
    register["area_ha"] = _register_areas(rng, geometry_ha, roles)
    register["name"] = _stand_names(rng, register)
    return register[[*STAND_COLUMNS, "role", "geometry"]]
