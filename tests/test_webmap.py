"""The program map's data and HTML (no browser: see test_webmap_browser.py)."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from forestcarbon.core.exceptions import InputError
from forestcarbon.outputs.map import (
    COORD_STEP_DEG,
    candidate_rows,
    classify_rates,
    facility_totals,
    latest_candidates,
    map_html,
    map_name,
    mesh_cells,
    program_map,
    site_totals,
    stand_totals,
    stands_data,
    vendored_file,
)

from .map_fixtures import (
    ATTR,
    FACILITIES,
    IMG,
    SCRIPT,
    household_points,
    small_program,
)


@pytest.fixture(scope="module")
def program():
    return small_program()


@pytest.fixture(scope="module")
def pages(program):
    out = {}
    for edition in ("public", "internal"):
        m = program_map(
            program["stands"],
            program["summary"],
            solar=program["solar"],
            aircon=program["aircon"],
            edition=edition,
            privacy_k=5,
            title=program["title"],
        )
        out[edition] = map_html(m).decode("utf-8")
    return out


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


def test_mesh_cells_aggregate_and_suppress_small_cells(program):
    sites = site_totals(program["solar"])
    assert len(sites) == 12
    cells, hidden = mesh_cells(sites, level=3, privacy_k=5)
    # 7 households in 1 km cell 52344080 (35.066667-35.075 N, 134.0-134.0125 E)
    assert len(cells) == 1
    s, w, n, e, code, households, kw, t = cells[0]
    assert code == "52344080"
    assert (s, w, n, e) == pytest.approx((35.066667, 134.0, 35.075, 134.0125), abs=1e-6)
    assert households == 7
    assert kw == pytest.approx(7 * 4.5)
    assert t == pytest.approx(7 * 2 * 0.69006, abs=5e-4)  # 9.66084 t-CO2, 3 decimals on the map
    # 4 households in one cell and a lone (ineligible, 0 t) one in another are hidden
    assert hidden["households"] == 5
    assert hidden["cells"] == 2
    assert hidden["reduction_tco2"] == pytest.approx(4 * 2 * 0.69006)
    cells3, hidden3 = mesh_cells(sites, level=3, privacy_k=3)
    assert [c[5] for c in cells3] == [7, 4]
    assert hidden3["households"] == 1


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


def test_public_edition_has_no_household_id_or_coordinate(pages):
    public, internal = pages["public"], pages["internal"]
    for sid, lat, lon in household_points():
        assert sid not in public
        assert sid in internal  # the check would see them
        for value in (lat, lon):
            for digits in (4, 5):  # ~10 m and ~1 m
                text = str(round(value, digits))
                if len(text.split(".")[1]) == digits:  # e.g. 35.068 is not a 4-digit form
                    assert re.search(rf"(?<![\d.]){re.escape(text)}(?!\d)", public) is None
            assert str(round(value, 5)) in internal
    assert "INTERNAL" in internal and "INTERNAL" not in public


def test_input_strings_never_reach_the_page_raw(pages):
    for page in pages.values():
        for attack in (SCRIPT, ATTR, IMG, 'onmouseover="', "<img"):
            assert attack not in page
        # the one <script> per asset/code block is ours; none comes from the inputs
        assert page.count("<script>alert") == 0


def test_same_inputs_give_the_same_html(program, pages):
    again = program_map(
        program["stands"],
        program["summary"],
        solar=program["solar"],
        aircon=program["aircon"],
        edition="public",
        privacy_k=5,
        title=program["title"],
    )
    assert map_html(again).decode("utf-8") == pages["public"]


def test_links_only_to_vendored_files_or_inlines_them(program, pages):
    links = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', pages["internal"])
    assert links, "CDN edition links its libraries"
    for url in links:
        assert vendored_file(url) is not None and vendored_file(url).is_file(), url
    m = program_map(program["stands"], program["summary"], self_contained=True, tiles=None)
    html = map_html(m).decode("utf-8")
    assert re.search(r'<(?:script|link)[^>]+(?:src|href)="', html) is None
    assert "sourceMappingURL" not in html
    assert 'leaflet.version="1.9.4"' in html.replace("t.version", "leaflet.version")
    assert "data:image/png;base64," in html  # layer-control icon inlined
    assert "L.tileLayer(" not in html


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


def test_map_name_is_the_folder_slug(tmp_path):
    assert map_name("data/tsuyama-sample") == "tsuyama-sample"
    assert map_name(tmp_path / "津山 Program 2024") == "program-2024"
    assert map_name(tmp_path / "森林") == "program"


def test_unknown_edition_is_refused(program):
    with pytest.raises(ValueError, match="edition"):
        program_map(program["stands"], edition="secret")
    with pytest.raises(ValueError, match="tiles"):
        program_map(program["stands"], tiles="googlemaps")


def test_run_and_map_commands_write_both_editions(tmp_path, capsys):
    from forestcarbon.cli.commands import SAMPLE_DIR
    from forestcarbon.cli.main import main
    from forestcarbon.run import run_program

    result = run_program(SAMPLE_DIR, tmp_path / "run")
    maps = tmp_path / "run" / "maps"
    assert sorted(p.name for p in maps.iterdir()) == [
        "tsuyama-sample.html",
        "tsuyama-sample_internal.html",
    ]
    public = (maps / "tsuyama-sample.html").read_text(encoding="utf-8")
    site_ids = result.energy.solar["site_id"].unique()
    assert len(site_ids) > 100
    assert not any(sid in public for sid in site_ids)
    internal = (maps / "tsuyama-sample_internal.html").read_text(encoding="utf-8")
    assert all(sid in internal for sid in site_ids)

    out = tmp_path / "map"
    assert main(["-q", "map", str(SAMPLE_DIR), "--out", str(out), "--self-contained"]) == 0
    assert "tsuyama-sample.html" in capsys.readouterr().out
    offline = (out / "maps" / "tsuyama-sample.html").read_text(encoding="utf-8")
    assert re.search(r'<(?:script|link)[^>]+(?:src|href)="', offline) is None
    assert main(["-q", "map", str(SAMPLE_DIR), "--out", str(out)]) == 1  # exists: --overwrite
    assert main(["-q", "map", str(SAMPLE_DIR), "--out", str(out), "--overwrite"]) == 0
    assert (out / "maps" / "tsuyama-sample.html").read_bytes() == (
        maps / "tsuyama-sample.html"
    ).read_bytes()


def test_thinning_candidates_only_on_the_internal_edition(tmp_path):
    program = small_program()
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
    html = {
        edition: map_html(
            program_map(
                program["stands"], program["summary"], candidates=candidates, edition=edition
            )
        ).decode()
        for edition in ("public", "internal")
    }
    assert "Thinning candidates" not in html["public"]
    assert "sugi age in 16-50" not in html["public"]
    assert "Thinning candidates (internal)" in html["internal"]
    assert candidate_rows(candidates)["rows"]["1-1-1"][3:5] == [2.0, 120.4]


def test_run_maps_pick_up_the_latest_candidates(tmp_path):
    (tmp_path / "plan").mkdir()
    for fy in (2024, 2025):
        pd.DataFrame({"stand_id": ["1-1-1"], "fiscal_year": [fy]}).to_csv(
            tmp_path / "plan" / f"thinning_candidates_fy{fy}.csv", index=False
        )
    assert latest_candidates(tmp_path)["fiscal_year"].item() == 2025
    assert latest_candidates(tmp_path / "none") is None
