"""Cohorts of the FO-001 stands: whole harvests replayed on arrays, the others one by one."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from forestcarbon.core.config import Period
from forestcarbon.methods.cohorts import build_cohorts

FY2023 = (Period(dt.date(2023, 4, 1), dt.date(2024, 3, 31)),)


def register(area=np.nan):
    stands = pd.DataFrame(
        {"stand_id": ["c", "a", "b"], "planted_year": [1960, 1970, 1980], "stand_area_ha": 2.0}
    )
    ops = pd.DataFrame(
        {
            "stand_id": ["b", "a", "a", "c", "c"],
            "date": [
                dt.date(2023, 5, 1),
                dt.date(2023, 11, 1),
                dt.date(2023, 6, 1),
                dt.date(2022, 6, 1),
                dt.date(2024, 1, 10),
            ],
            "operation": [
                "final_harvest",
                "replanting",
                "final_harvest",
                "final_harvest",
                "replanting",
            ],
            "area_ha": area,
            "volume_m3": np.nan,
            "source_row": [2, 3, 4, 5, 6],
        }
    )
    return stands, ops


def test_whole_harvests_and_replantings():
    # a: felled 2023-06-01, replanted 2023-11-01 (FY2023); b: felled 2023-05-01, not replanted;
    # c: felled 2022-06-01, replanted 2024-01-10 (FY2023)
    c = build_cohorts(*register(), FY2023)
    assert c.stand.tolist() == [0, 1, 2, 1, 0]  # the new crops in stand id order: a, then c
    assert c.share.tolist() == [1.0] * 5
    assert c.origin_fy.tolist() == [1960, 1970, 1980, 2023, 2023]
    assert pd.DatetimeIndex(c.harvested).strftime("%Y-%m-%d").tolist()[:3] == [
        "2022-06-01",
        "2023-06-01",
        "2023-05-01",
    ]
    assert np.isnat(c.harvested[3:]).all() and np.isnat(c.planted[:3]).all()
    assert pd.DatetimeIndex(c.planted[3:]).strftime("%Y-%m-%d").tolist() == [
        "2023-11-01",
        "2024-01-10",
    ]


def test_the_array_replay_equals_the_one_by_one_replay():
    # the same operations with the stand's whole area recorded go the one-by-one way
    fast = build_cohorts(*register(), FY2023)
    slow = build_cohorts(*register(area=2.0), FY2023)
    for name in ("stand", "share", "origin_fy", "planted", "harvested"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name))
