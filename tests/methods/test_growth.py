"""Yield tables (収穫表): dense curves from a hand-made table, FO-001.md §4 interpolation rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forestcarbon.methods.growth import MAX_AGE, build_yield_table, missing_curves

# Hand-made table: sugi site 2 (20 -> 200, 30 -> 300 m3/ha), hinoki site 1 (10 -> 40, 40 -> 190)
# without heights for hinoki. Rows deliberately unsorted: the builder sorts them.
TABLE = pd.DataFrame(
    {
        "species": ["sugi", "hinoki", "sugi", "hinoki"],
        "site_class": [2, 1, 2, 1],
        "age": [30, 40, 20, 10],
        "volume_m3_ha": [300.0, 190.0, 200.0, 40.0],
        "height_m": [18.0, np.nan, 14.0, np.nan],
        "region": ["test"] * 4,
        "source": ["hand-made", "hand-made", "hand-made", ""],
    }
)


@pytest.fixture
def yields():
    return build_yield_table(TABLE)


def test_one_curve_per_species_and_site_class(yields):
    assert sorted(yields.keys) == [("hinoki", 1), ("sugi", 2)]
    assert yields.volume.shape == (2, MAX_AGE + 1)
    sugi = yields.curve_index(["sugi"], [2])[0]
    hinoki = yields.curve_index(["hinoki"], [1])[0]
    assert yields.last_age[sugi] == 30 and yields.last_age[hinoki] == 40


def test_volume_is_linear_between_tabulated_ages(yields):
    sugi = yields.curve_index(["sugi"], [2])[0]
    # 200 + (25 - 20) / (30 - 20) x (300 - 200) = 250; at 21: 200 + 1/10 x 100 = 210
    assert yields.volume_at([sugi, sugi], [25, 21]) == pytest.approx([250.0, 210.0], abs=1e-9)
    assert yields.volume_at([sugi, sugi], [20, 30]) == pytest.approx([200.0, 300.0], abs=1e-9)
    hinoki = yields.curve_index(["hinoki"], [1])[0]
    # 40 + (30 - 10) / (40 - 10) x (190 - 40) = 40 + 100 = 140
    assert yields.volume_at([hinoki], [30]) == pytest.approx([140.0], abs=1e-9)


def test_volume_is_linear_from_zero_below_the_first_age(yields):
    sugi = yields.curve_index(["sugi"], [2])[0]
    # from (0, 0) to (20, 200): 10 m3/ha per year -> age 10: 100, age 1: 10, age 0: 0
    assert yields.volume_at([sugi] * 3, [10, 1, 0]) == pytest.approx([100.0, 10.0, 0.0], abs=1e-9)
    assert yields.volume_at([sugi], [-5]) == pytest.approx([0.0], abs=1e-12)


def test_volume_is_flat_beyond_the_last_age(yields):
    sugi = yields.curve_index(["sugi"], [2])[0]
    assert yields.volume_at([sugi] * 3, [31, 50, 10_000]) == pytest.approx([300.0] * 3, abs=1e-9)


def test_heights_follow_the_same_rules_and_are_nan_when_missing(yields):
    sugi, hinoki = yields.curve_index(["sugi", "hinoki"], [2, 1])
    # 14 + 5/10 x (18 - 14) = 16; below 20: 14 x 10/20 = 7; beyond 30: 18
    assert yields.height_at([sugi] * 3, [25, 10, 60]) == pytest.approx([16.0, 7.0, 18.0])
    assert np.isnan(yields.height_at([hinoki], [30])).all()


def test_curve_index_is_minus_one_for_an_unknown_pair(yields):
    idx = yields.curve_index(["sugi", "sugi", "karamatsu", "hinoki"], [2, 3, 2, 1])
    assert idx[0] >= 0 and idx[3] >= 0
    assert idx[1] == -1 and idx[2] == -1


def test_sources_are_distinct_and_non_empty(yields):
    assert yields.sources() == ["hand-made"]


def test_missing_curves_name_the_stands_lacking_a_curve(yields):
    # as the program loader passes them: columns of the stands table
    species = pd.Series(["sugi", "sugi", "karamatsu", "bamboo", "sugi"], dtype=object)
    site = pd.Series([2, 3, 2, 2, 3])
    ids = pd.Series(["1-1-1", "1-2-1", "2-1-1", "3-1-1", "1-3-1"], dtype=object)
    problems = missing_curves(yields, species, site, ids, "stands.gpkg", growth_file="growth.csv")
    # bamboo needs no curve; sugi 2 has one: two problems, sorted by (species, site class)
    assert len(problems) == 2
    assert all(p.file == "growth.csv" for p in problems)
    karamatsu, sugi3 = (p.message for p in problems)
    assert "'karamatsu' site class 2" in karamatsu
    assert "1 stand(s) of stands.gpkg: 2-1-1" in karamatsu
    assert "'sugi' site class 3" in sugi3 and "2 stand(s)" in sugi3
    assert "1-2-1" in sugi3 and "1-3-1" in sugi3 and "1-1-1" not in sugi3


def test_missing_curves_list_at_most_five_ids(yields):
    ids = pd.Series([f"9-{i}-1" for i in range(1, 8)], dtype=object)
    momi = pd.Series(["momi"] * 7, dtype=object)
    problems = missing_curves(yields, momi, [1] * 7, ids, "s", growth_file="g")
    assert len(problems) == 1
    assert "7 stand(s)" in problems[0].message
    assert problems[0].message.endswith("9-1-1, 9-2-1, 9-3-1, 9-4-1, 9-5-1 ...")


def test_no_problem_when_every_stand_has_a_curve(yields):
    assert missing_curves(yields, ["sugi"], [2], ["1-1-1"], "s", growth_file="g") == []


def test_missing_curves_message_with_plain_lists(yields):
    problems = missing_curves(yields, ["karamatsu"], [2], ["2-1-1"], "s", growth_file="g")
    assert "species 'karamatsu' site class 2" in problems[0].message
