"""The program map's data (forestcarbon.outputs.map_data): totals, classes, TopoJSON, mesh cells,
rows and their field lists."""

from __future__ import annotations

import warnings

import geopandas as gpd
import mapclassify
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from forestcarbon.core.exceptions import InputError
from forestcarbon.outputs.map_data import (
    CANDIDATE_FIELDS,
    COORD_STEP_DEG,
    FACILITY_FIELDS,
    MESH_FIELDS,
    MESH_SIZES,
    SITE_FIELDS,
    STAND_FIELDS,
    candidate_rows,
    classify_rates,
    facility_totals,
    latest_candidates,
    mesh_cells,
    payload,
    quantile_bins,
    site_rows,
    site_totals,
    stand_totals,
    stands_data,
)

from .map_fixtures import FACILITIES, IMG, SCRIPT, small_program


@pytest.fixture(scope="module")
def program():
    return small_program()


def test_stand_totals_sum_periods_and_rate_per_hectare_year(program):
    t = stand_totals(program["stands"]).set_index("stand_id")
    years = (365 + 366) / 365.25  # FY2022 + FY2023 (leap day 2024-02-29)
    # 1-1-1: 10 + 12 t on 2 ha -> 22 / 2 / 2.001369 = 5.496238 t/ha/yr
    assert t.loc["1-1-1", "net_tco2"] == pytest.approx(22.0)
    assert t.loc["1-1-1", "net_tco2_ha_yr"] == pytest.approx(5.496238, rel=1e-6)
    assert 22 / 2 / years == pytest.approx(5.496238, rel=1e-6)
    # 1-4-1: harvested in FY2023: 3 + 1 - 9 = -5 t -> -1.249145 t/ha/yr
    assert t.loc["1-4-1", "net_tco2"] == pytest.approx(-5.0)
    assert t.loc["1-4-1", "emissions_tco2"] == pytest.approx(9.0)
    assert t.loc["1-4-1", "net_tco2_ha_yr"] == pytest.approx(-1.249145, rel=1e-6)
    assert t.loc["1-1-1", "age_end"] == 41  # end of the last period
    assert not t.loc["1-6-1", "eligible"]
    assert t.loc["1-6-1", "reason"] == f"ineligible: {IMG}"
    assert t.loc["1-2-1", "name"] == SCRIPT
    assert list(t.index) == list(dict.fromkeys(program["stands"]["stand_id"]))  # input order
    assert len(t) == 6


def test_classes_put_net_emissions_apart():
    rates = np.array([5.5, 2.1, 3.0, -1.2, 4.0, 0.5])
    classes, bounds = classify_rates(rates, scheme="Quantiles", k=5)
    assert classes[3] == -1
    assert bounds[-1] == pytest.approx(5.5)
    positive = np.flatnonzero(rates >= 0)
    order = positive[np.argsort(rates[positive])]
    assert np.all(np.diff(classes[order]) >= 0)  # classes grow with the rate
    assert len(bounds) == 5
    for value, cls in zip(rates[positive], classes[positive], strict=True):
        assert value <= bounds[cls] + 1e-12
        assert cls == 0 or value > bounds[cls - 1]


def test_mesh_cells_aggregate_and_merge_small_cells_into_their_parent(program):
    sites = site_totals(program["solar"])
    assert len(sites) == 12
    cells, hidden = mesh_cells(sites, level=3, privacy_k=5)
    # 7 households in 1 km cell 52344080 (35.066667-35.075 N, 134.0-134.0125 E): shown;
    # 4 households in 1 km cell 52344081 and a lone (ineligible, 0 t) one in 52344082 are below
    # 5: merged into their 10 km cell 523440 (35.0-35.083333 N, 134.0-134.125 E), 4 + 1 = 5
    assert len(cells) == 2
    coarse, fine = (dict(zip(MESH_FIELDS, c, strict=True)) for c in cells)  # coarsest first
    assert fine["meshcode"] == "52344080" and fine["size"] == "1 km" and fine["merged"] == 0
    bounds = tuple(fine[k] for k in ("south", "west", "north", "east"))
    assert bounds == pytest.approx((35.066667, 134.0, 35.075, 134.0125), abs=1e-6)
    assert fine["households"] == 7
    assert fine["capacity_kw"] == pytest.approx(7 * 4.5)
    # 9.66084 t-CO2, 3 decimals on the map
    assert fine["reduction_tco2"] == pytest.approx(7 * 2 * 0.69006, abs=5e-4)
    assert coarse["meshcode"] == "523440" and coarse["size"] == "10 km" and coarse["merged"] == 1
    bounds = tuple(coarse[k] for k in ("south", "west", "north", "east"))
    assert bounds == pytest.approx((35.0, 134.0, 35.083333, 134.125), abs=1e-6)
    assert coarse["households"] == 5
    assert coarse["reduction_tco2"] == pytest.approx(4 * 2 * 0.69006, abs=5e-4)
    assert hidden == {"households": 0, "cells": 0, "capacity_kw": 0.0, "reduction_tco2": 0.0}
    # k = 6: the merged 5 are still too few in their 10 km cell: hidden, the 7 shown
    cells6, hidden6 = mesh_cells(sites, level=3, privacy_k=6)
    assert [c[4] for c in cells6] == ["52344080"]
    assert hidden6["households"] == 5 and hidden6["cells"] == 1
    assert hidden6["reduction_tco2"] == pytest.approx(4 * 2 * 0.69006)
    cells3, hidden3 = mesh_cells(sites, level=3, privacy_k=3)
    assert [c[5] for c in cells3] == [7, 4]  # the lone one is still alone in its 10 km cell
    assert hidden3["households"] == 1


@settings(max_examples=60, deadline=None)
@given(
    points=st.lists(
        st.tuples(st.floats(35.0, 35.2), st.floats(133.9, 134.2)), min_size=1, max_size=80
    ),
    k=st.integers(1, 12),
    level=st.sampled_from([3, 4, 5]),
)
def test_no_shown_mesh_cell_has_fewer_than_k_households_and_none_is_counted_twice(points, k, level):
    sites = gpd.GeoDataFrame(
        {
            "site_id": [f"S{i}" for i in range(len(points))],
            "capacity_kw": 1.0,
            "reduction_tco2": 1.0,
        },
        geometry=[shapely.Point(lon, lat) for lat, lon in points],
        crs="EPSG:4326",
    )
    cells, hidden = mesh_cells(site_totals(sites), level=level, privacy_k=k)
    rows = [dict(zip(MESH_FIELDS, c, strict=True)) for c in cells]
    assert all(r["households"] >= k for r in rows)
    assert sum(r["households"] for r in rows) + hidden["households"] == len(points)
    assert hidden["households"] < k * max(hidden["cells"], 1) or hidden["households"] == 0
    assert all(r["merged"] == (r["size"] != MESH_SIZES[level]) for r in rows)


def test_finer_mesh_levels_split_cells(program):
    sites = site_totals(program["solar"])
    cells, _ = mesh_cells(sites, level=4, privacy_k=1)
    assert sum(c[5] for c in cells) == 12
    for c in cells:
        assert c[2] - c[0] == pytest.approx(1 / 240, abs=2e-6)  # 15 seconds of latitude
        assert c[3] - c[1] == pytest.approx(1 / 160, abs=2e-6)  # 22.5 seconds of longitude
    with pytest.raises(ValueError, match="mesh level"):
        mesh_cells(sites, level=2, privacy_k=1)


def test_sites_outside_the_mesh_area_are_named():
    sites = gpd.GeoDataFrame(
        {"site_id": ["A", "B"], "capacity_kw": [4.0, 4.0], "reduction_tco2": [0.1, 0.1]},
        geometry=[shapely.Point(134.0, 35.0), shapely.Point(2.35, 48.85)],
        crs="EPSG:4326",
    )
    with pytest.raises(InputError) as e:
        mesh_cells(site_totals(sites), level=3, privacy_k=1)
    assert [p.where for p in e.value.problems] == ["B"]


def test_facility_totals_sum_units_and_periods(program):
    rows = {r[2]: r for r in facility_totals(program["aircon"])}
    assert set(rows) == {f[0] for f in FACILITIES}
    hall = rows["津山市役所 City hall"]
    assert hall[3] == 2  # units
    assert hall[4:] == pytest.approx([180_000, 120_000, 2 * 2 * 6.51])
    assert hall[:2] == pytest.approx([35.0691, 134.0044])


def test_stand_geometry_is_topological_quantized_and_simplified_in_metres():
    # two 100 m squares sharing an edge; the right one has a 0.5 m notch on its far side
    left = shapely.box(0, 0, 100, 100)
    notch = shapely.Polygon(
        [(100, 0), (200, 0), (200, 50), (199.5, 51), (200, 52), (200, 100), (100, 100)]
    )
    results = gpd.GeoDataFrame(
        {
            "stand_id": ["a", "b"],
            "period": ["2023-04-01/2024-03-31"] * 2,
            "eligible": [True, True],
            "reason": ["", ""],
            "species": ["sugi", "sugi"],
            "area_ha": [1.0, 1.0],
            "eligible_area_ha": [1.0, 1.0],
            "age_end": [30, 30],
            "removals_tco2": [5.0, 6.0],
            "emissions_tco2": [0.0, 0.0],
            "net_tco2": [5.0, 6.0],
        },
        geometry=[shapely.affinity.translate(g, -30_000, -103_000) for g in (left, notch)],
        crs="EPSG:6673",
    )
    totals = stand_totals(results)
    coarse, _ = stands_data(totals, simplify_m=2.0, scheme="Quantiles", k=5)
    fine, _ = stands_data(totals, simplify_m=0.1, scheme="Quantiles", k=5)

    def vertices(data):
        return sum(len(a) for a in data["topo"]["arcs"])

    # the notch (200,50)-(199.5,51)-(200,52) survives 0.1 m but not 2 m
    assert vertices(fine) - vertices(coarse) == 3
    arcs = coarse["topo"]["arcs"]
    # the shared edge is one arc used by both polygons (once reversed: ~i)
    refs = [
        {a if a >= 0 else ~a for ring in g["arcs"] for a in ring}
        for g in coarse["topo"]["objects"]["eligible"]["geometries"]
    ]
    assert refs[0] & refs[1]
    assert all(isinstance(v, int) for arc in arcs for xy in arc for v in xy)
    assert coarse["topo"]["transform"]["scale"] == [COORD_STEP_DEG, COORD_STEP_DEG]


def test_run_maps_pick_up_the_latest_candidates(tmp_path):
    (tmp_path / "plan").mkdir()
    for fy in (2024, 2025):
        pd.DataFrame({"stand_id": ["1-1-1"], "fiscal_year": [fy]}).to_csv(
            tmp_path / "plan" / f"thinning_candidates_fy{fy}.csv", index=False
        )
    assert latest_candidates(tmp_path)["fiscal_year"].item() == 2025
    assert latest_candidates(tmp_path / "none") is None


def test_rows_match_their_field_lists(program):
    """Each row the map sends has one value per name of its field list, in that order."""
    data, _ = stands_data(stand_totals(program["stands"]), simplify_m=5.0, scheme="Quantiles", k=5)
    assert data["fields"] == list(STAND_FIELDS)
    stands = data["rows"]["eligible"] + data["rows"]["ineligible"]
    assert {len(r) for r in stands} == {len(STAND_FIELDS)}
    named = [dict(zip(STAND_FIELDS, r, strict=True)) for r in data["rows"]["eligible"]]
    one = next(r for r in named if r["stand_id"] == "1-1-1")
    assert one["net_tco2"] == 22.0 and one["reason"] == -1
    assert data["species"][one["species"]].startswith("スギ")
    sites = site_totals(program["solar"])
    cells, _ = mesh_cells(sites, level=3, privacy_k=1)
    assert {len(c) for c in cells} == {len(MESH_FIELDS)}
    assert {len(r) for r in facility_totals(program["aircon"])} == {len(FACILITY_FIELDS)}
    rows, _ = site_rows(sites)
    assert {len(r) for r in rows} == {len(SITE_FIELDS)}
    site = dict(zip(SITE_FIELDS, rows[0], strict=True))
    assert site["site_id"] == sites["site_id"].iloc[0]
    candidates = pd.DataFrame(
        {
            "stand_id": ["1-1-1"],
            "fiscal_year": 2025,
            "species": "sugi",
            "age": [43],
            "thinning_area_ha": [2.0],
            "added_tco2": [120.44],
            "crediting_years": "FY2025-FY2037",
            "rule": "sugi age in 16-50",
        }
    )
    sent = candidate_rows(candidates)
    assert sent["fields"] == list(CANDIDATE_FIELDS)
    assert {len(r) for r in sent["rows"].values()} == {len(CANDIDATE_FIELDS)}
    assert payload(MESH_FIELDS, cells, extra=1) == {
        "fields": list(MESH_FIELDS),
        "rows": cells,
        "extra": 1,
    }


def test_few_distinct_rates_are_classed_without_a_warning():
    # 11 non-negative rates, 8 of them 0: the 1/3 and 2/3 quantiles are both 0, so the classes are
    # (.., 0] and (0, 2]; the one negative rate (net emission) is class -1
    rates = np.array([0.0] * 8 + [1.0, 1.0, 2.0, -1.0])
    classes, bounds = classify_rates(rates)  # filterwarnings=error: mapclassify's k warning fails
    assert bounds == [0.0, 2.0]
    assert classes.tolist() == [0] * 8 + [1, 1, 1, -1]


def test_quantile_bins_by_hand():
    # 1..10, k = 5: percentiles 20 40 60 80 100 at index p/100 x 9 = 1.8, 3.6, 5.4, 7.2, 9
    # (0-based): 2 x 0.2 + 3 x 0.8 = 2.8, 4 x 0.4 + 5 x 0.6 = 4.6, 6 x 0.6 + 7 x 0.4 = 6.4,
    # 8 x 0.8 + 9 x 0.2 = 8.2, 10
    bins = quantile_bins(np.arange(1.0, 11.0), 5)
    np.testing.assert_allclose(bins, [2.8, 4.6, 6.4, 8.2, 10.0], rtol=1e-15)
    # ties: eight zeros, 1, 1, 2, k = 3: percentiles 33.3 and 66.7 fall among the zeros (index
    # 3.33 and 6.67 of 0..10), the last is 2: two classes (.., 0] and (0, 2]
    assert quantile_bins(np.array([0.0] * 8 + [1.0, 1.0, 2.0]), 3).tolist() == [0.0, 2.0]
    # two distinct values, k = 2: index 0.5 x 3 = 1.5 between 1 and 3 -> 2, then 3
    assert quantile_bins(np.array([1.0, 1.0, 3.0, 3.0]), 2).tolist() == [2.0, 3.0]


def _mapclassify_bins(values, k):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Not enough unique values", UserWarning)
        return np.unique(np.asarray(mapclassify.Quantiles(values, k=k).bins, dtype=float))


def test_quantile_bins_are_mapclassify_quantiles_bit_for_bit():
    """Continuous rates, rates rounded to 0.1 (ties), few distinct values (< 5), many zeros
    (held stands), the sizes of a city and of the sample: identical bounds, bit for bit, and
    identical classes from classify_rates."""
    rng = np.random.default_rng(13)
    cases = []
    for n in (2, 3, 4, 5, 6, 7, 10, 11, 29, 50, 410, 1000):
        cases += [
            rng.gamma(2.0, 2.5, n),
            np.round(rng.gamma(2.0, 2.5, n), 1),
            rng.integers(0, 3, n).astype(float),
            np.where(rng.random(n) < 0.6, 0.0, rng.gamma(2.0, 2.5, n)),
        ]
    for values in cases:
        for k in range(2, 9):
            kk = min(k, len(np.unique(values)))
            if kk < 2:
                continue
            expected = _mapclassify_bins(values, kk)
            assert np.array_equal(quantile_bins(values, kk), expected), (values, k)
            classes, bounds = classify_rates(values, k=k)
            want = np.searchsorted(expected, values, side="left").clip(0, len(expected) - 1)
            assert classes.tolist() == want.tolist() and bounds == expected.tolist()


@settings(max_examples=300)
@given(
    values=st.lists(
        st.one_of(st.floats(0.0, 1e4), st.sampled_from([0.0, 0.5, 1.0, 2.25])),
        min_size=2,
        max_size=60,
    ),
    k=st.integers(2, 9),
)
def test_quantile_bins_equal_mapclassify_on_any_rates(values, k):
    values = np.array(values)
    kk = min(k, len(np.unique(values)))
    if kk >= 2:
        assert np.array_equal(quantile_bins(values, kk), _mapclassify_bins(values, kk))


def test_another_scheme_is_mapclassify_s():
    rates = np.array([0.0, 1.0, 2.0, 3.0, 10.0, -1.0])
    classes, bounds = classify_rates(rates, scheme="EqualInterval", k=2)
    assert bounds == [5.0, 10.0]  # (10 - 0) / 2 wide classes
    assert classes.tolist() == [0, 0, 0, 0, 1, -1]
