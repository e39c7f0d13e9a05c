"""The register's keys as integer codes."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from forestcarbon.methods.keys import register_keys


def test_codes_of_stands_and_their_operations():
    stands = pd.DataFrame({"stand_id": ["b", "a", "c"]})
    ops = pd.DataFrame(
        {
            "stand_id": ["a", "x", "b", "a"],
            "operation": ["thinning", "weeding", "thinning", "final_harvest"],
            "date": [dt.date(2020, 4, 1), dt.date(2021, 5, 2), None, dt.date(2023, 3, 31)],
        }
    )
    k = register_keys(stands, ops)
    assert k.stand_code.tolist() == [0, 1, 2]
    assert list(k.stand_ids) == ["b", "a", "c"]
    assert k.op_stand.tolist() == [1, -1, 0, 1]  # "x" is no stand of the register
    assert k.op_day.astype(str).tolist() == ["2020-04-01", "2021-05-02", "NaT", "2023-03-31"]
    assert k.operations_of(("thinning",)).tolist() == [True, False, True, False]
    assert k.positions(np.array([0, 2, 3])).tolist() == [1, 0, 1]
    with pytest.raises(KeyError):
        k.positions(np.array([1]))


def test_a_repeated_stand_id_shares_its_code():
    stands = pd.DataFrame({"stand_id": ["a", "b", "a"]})
    ops = pd.DataFrame({"stand_id": ["b", "a"], "operation": "thinning", "date": None})
    k = register_keys(stands, ops)
    assert k.stand_code.tolist() == [0, 1, 0]
    assert k.positions(np.array([0])).tolist() == [1]  # "b": its one row
    with pytest.raises(ValueError, match="twice"):
        k.positions(np.array([1]))
