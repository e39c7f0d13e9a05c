"""Packaged parameter tables (``forestcarbon/data/*.csv``): source and verified columns on every
table, a unit column on those whose values carry units (growth.csv names them in its headers).

One loader, :func:`load_table`; an unknown name raises an error that lists the valid ones.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import pandas as pd

from forestcarbon.core.exceptions import ForestCarbonError

CO2_PER_C = 44 / 12
"""Mass ratio CO2/C [t-CO2/t C], exact (FO-001.md §1)."""

_DATA = Path(__file__).parents[1] / "data"


def table_names() -> list[str]:
    """Names of the packaged tables (file names without ``.csv``)."""
    return sorted(p.name[:-4] for p in _DATA.iterdir() if p.name.endswith(".csv"))


def table_path(name: str):
    """Path of a packaged table; unknown names list the valid ones."""
    path = _DATA / f"{name}.csv"
    if not path.is_file():
        raise ForestCarbonError(
            f"no packaged table named {name!r}; valid names: {', '.join(table_names())}"
        )
    return path


@cache
def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(
        table_path(name), dtype={"code": "string"}, keep_default_na=False, na_values=[""]
    )


def load_table(name: str) -> pd.DataFrame:
    """Load a packaged table by name (a copy: callers may modify it).

    Parameters
    ----------
    name : str
        ``species``, ``fo001_parameters``, ... (see :func:`table_names`).
    """
    return _read(name).copy()


def table_version(name: str) -> dict:
    """Name, sha256 and row count of a packaged table, for provenance."""
    data = table_path(name).read_bytes()
    return {
        "table": name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "rows": data.count(b"\n") - 1,
    }


def species_parameters(carbon_fraction: str = "inventory") -> pd.DataFrame:
    """FO-001 parameters per species key, wide, after applying the species -> row mapping.

    Parameters
    ----------
    carbon_fraction : {"inventory", "simple"}
        ``inventory``: 0.51 conifers / 0.48 broadleaves; ``simple``: 0.5 for every species.

    Returns
    -------
    DataFrame indexed by species key with columns ``parameter_species``, ``wood_density``
    [t d.m./m3], ``bef_le20`` [-], ``bef_ge21`` [-], ``root_ratio`` [-], ``carbon_fraction``
    [t C/t d.m.] and ``verified`` (all parameters of the row verified). Bamboo has no row.
    """
    long = load_table("fo001_parameters")
    per_species = long[long["species"] != "all"]
    wide = per_species.pivot(index="species", columns="parameter", values="value")
    verified = per_species.groupby("species")["verified"].all()
    if carbon_fraction == "simple":
        simple = long.loc[long["parameter"] == "carbon_fraction_simple", "value"].item()
        wide["carbon_fraction"] = simple
    species = load_table("species").set_index("species")
    mapped = species.loc[species["parameter_species"].notna(), "parameter_species"]
    out = wide.loc[mapped.to_numpy()].set_index(mapped.index)
    out.insert(0, "parameter_species", mapped)
    out["verified"] = (
        verified.loc[mapped.to_numpy()].to_numpy()
        & species.loc[mapped.index, "verified"].to_numpy()
    )
    return out
