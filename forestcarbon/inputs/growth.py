"""Reading yield tables (収穫表): the program's growth.csv or the packaged table, validated."""

from __future__ import annotations

import pandas as pd

from forestcarbon.core.exceptions import InputError
from forestcarbon.core.params import table_path
from forestcarbon.inputs.readers import read_table
from forestcarbon.inputs.schemas import GROWTH, validate
from forestcarbon.methods.growth import YieldTable, build_yield_table


def read_growth(path) -> pd.DataFrame:
    """Read and validate a growth table file; raises :class:`InputError` listing every problem."""
    df, problems = validate(read_table(path), GROWTH, str(path))
    if problems:
        raise InputError(problems)
    for col in ("region", "source"):
        if col not in df.columns:
            df[col] = ""
    return df


def packaged_growth_path():
    """The packaged synthetic yield table used when a program gives none."""
    return table_path("growth")


def load_yield_table(path=None) -> YieldTable:
    """Read, validate and densify a yield table (``None``: the packaged one)."""
    return build_yield_table(read_growth(path or packaged_growth_path()))
