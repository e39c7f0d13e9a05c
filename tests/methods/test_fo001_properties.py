"""Invariants of the FO-001 engine (hypothesis), STYLE.md §8."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from forestcarbon.core.config import FO001Settings, Period
from forestcarbon.inputs.program import load_program
from forestcarbon.methods.fo001 import compute_fo001
from forestcarbon.methods.growth import build_yield_table
from tests.conftest import write_program

FY2023 = Period(dt.date(2023, 4, 1), dt.date(2024, 3, 31))
SUGI = build_yield_table(
    pd.DataFrame(
        {
            "species": "sugi",
            "site_class": 2,
            "age": [10, 20, 30, 40, 60],
            "volume_m3_ha": [50.0, 200.0, 300.0, 380.0, 450.0],
            "source": "hand-made",
        }
    )
)


def frame(areas, planted, ids=None):
    n = len(areas)
    return pd.DataFrame(
        {
            "stand_id": ids or [f"s{i}" for i in range(n)],
            "species": "sugi",
            "planted_year": planted,
            "site_class": 2,
            "forest_type": "planted",
            "protected": False,
            "plan_id": "P",
            "stand_area_ha": areas,
        }
    )


def thinning(ids):
    return pd.DataFrame(
        {
            "stand_id": ids,
            "date": dt.date(2010, 5, 1),
            "operation": "thinning",
            "area_ha": np.nan,
            "volume_m3": np.nan,
            "source_row": range(len(ids)),
        }
    )


@given(
    width=st.floats(50, 500),
    height=st.floats(50, 500),
    cut=st.floats(0.05, 0.95),
    planted=st.integers(1950, 2023),
    convention=st.sampled_from(["increment", "stock_difference"]),
)
def test_splitting_a_stand_in_two_polygons_keeps_its_removals(
    width, height, cut, planted, convention
):
    whole = box(0, 0, width, height)
    parts = [box(0, 0, width * cut, height), box(width * cut, 0, width, height)]
    s = FO001Settings(bef_convention=convention)
    one = compute_fo001(frame([whole.area / 1e4], [planted]), thinning(["s0"]), SUGI, (FY2023,), s)
    two = compute_fo001(
        frame([p.area / 1e4 for p in parts], [planted] * 2),
        thinning(["s0", "s1"]),
        SUGI,
        (FY2023,),
        s,
    )
    assert np.isclose(one["net_tco2"].sum(), two["net_tco2"].sum(), rtol=1e-12, atol=1e-12)


monotone_table = st.lists(st.floats(0, 40), min_size=2, max_size=8).map(
    lambda steps: pd.DataFrame(
        {
            "species": "sugi",
            "site_class": 2,
            "age": [10 * (i + 1) for i in range(len(steps))],
            "volume_m3_ha": np.cumsum(steps) * 5,
            "source": "generated",
        }
    )
)


@given(
    table=monotone_table,
    planted=st.lists(st.integers(1900, 2030), min_size=1, max_size=20),
    start=st.dates(dt.date(2000, 1, 1), dt.date(2030, 1, 1)),
    days=st.integers(1, 2000),
)
def test_removals_never_negative_for_a_non_decreasing_table(table, planted, start, days):
    period = Period(start, start + dt.timedelta(days=days - 1))
    r = compute_fo001(
        frame([1.0] * len(planted), planted),
        thinning([f"s{i}" for i in range(len(planted))]),
        build_yield_table(table),
        (period,),
        FO001Settings(),
    )
    assert (r["removals_tco2"] >= 0).all()


@given(seed=st.integers(0, 2**32 - 1))
@settings(max_examples=25)
def test_result_does_not_depend_on_row_order(seed):
    rng = np.random.default_rng(seed)
    n = 12
    stands = frame(
        list(rng.uniform(0.5, 5, n)),
        list(rng.integers(1960, 2020, n)),
        ids=[f"{rng.integers(1, 30)}-{i}-1" for i in range(n)],
    )
    ops = pd.concat(
        [
            thinning(list(stands["stand_id"][:8])),
            pd.DataFrame(
                {
                    "stand_id": [stands["stand_id"][0]],
                    "date": [dt.date(2023, 7, 1)],
                    "operation": ["final_harvest"],
                    "area_ha": [np.nan],
                    "volume_m3": [np.nan],
                    "source_row": [99],
                }
            ),
        ],
        ignore_index=True,
    )
    base = compute_fo001(stands, ops, SUGI, (FY2023,), FO001Settings())
    order = rng.permutation(n)
    shuffled = compute_fo001(
        stands.iloc[order], ops.iloc[rng.permutation(len(ops))], SUGI, (FY2023,), FO001Settings()
    )
    pd.testing.assert_frame_equal(base, shuffled)


@given(ha=st.floats(0.3, 30), dx=st.floats(-3000, 3000), dy=st.floats(-3000, 3000))
@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_epsg4326_and_epsg6673_inputs_give_the_same_areas(tmp_path_factory, ha, dx, dy):
    side = (ha * 1e4) ** 0.5
    geom = box(-30_000 + dx, -95_000 + dy, -30_000 + dx + side, -95_000 + dy + side)
    areas = []
    for crs in ("EPSG:6673", "EPSG:4326"):
        folder = write_program(
            tmp_path_factory.mktemp(crs.replace(":", "")),
            [
                {
                    "stand_id": "1-1-1",
                    "species": "sugi",
                    "planted_year": 1990,
                    "site_class": 2,
                    "forest_type": "planted",
                    "plan_id": "P",
                    "area_ha": ha,
                    "geometry": geom,
                }
            ],
            [],
            crs=crs,
        )
        areas.append(load_program(folder).stands.loc[0, "geometry_area_ha"])
    assert abs(areas[1] / areas[0] - 1) < 1e-4  # 0.01 %
    assert abs(areas[0] / ha - 1) < 1e-9
    assert isinstance(gpd.GeoSeries([geom]).area.iloc[0], float)
