"""The program map in a real browser: Debian's headless Chromium, network cut off.

Skipped only when chromium (or the playwright package) is missing on a developer's machine; in CI
(``CI=true``) a missing browser is a failure. Screenshots go to tests/artifacts/ (git-ignored).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pandas as pd
import pytest
import shapely

from forestcarbon.outputs.map import (
    BASEMAP_UNAVAILABLE,
    BUSINESS_COLOR,
    LAYER_NAMES,
    map_html,
    program_map,
)
from forestcarbon.outputs.map_data import CANDIDATE_COLOR, HELD_COLOR

from .map_browser import MAP_JS, chromium_path, in_ci, launch, open_page
from .map_fixtures import ATTR, FACILITIES, IMG, SCRIPT, household_points, small_program
from .test_map import credit_users

ARTIFACTS = Path(__file__).parent / "artifacts"


def _browser_or_skip():
    missing = []
    if chromium_path() is None:
        missing.append("Debian's chromium (apt-get install -y chromium fonts-noto-cjk)")
    if importlib.util.find_spec("playwright") is None:
        missing.append('the playwright package (pip install -e ".[test]")')
    if missing:
        message = "browser tests need " + " and ".join(missing)
        if in_ci():
            pytest.fail(message + "; .ci/run installs them in CI")
        pytest.skip(message)


@pytest.fixture(scope="module")
def browser():
    _browser_or_skip()
    with launch() as b:
        yield b


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    program = small_program()
    folder = tmp_path_factory.mktemp("maps")
    files = {}
    for key, edition, contained in (
        ("public", "public", False),
        ("internal", "internal", False),
        ("offline", "internal", True),
    ):
        m = program_map(
            program["stands"],
            program["summary"],
            solar=program["solar"],
            aircon=program["aircon"],
            edition=edition,
            privacy_k=5,
            title=program["title"],
            self_contained=contained,
        )
        files[key] = folder / f"{key}.html"
        files[key].write_bytes(map_html(m))
    return files


def _stand_count(page) -> int:
    return page.evaluate(
        f"Object.values({MAP_JS}._layers)"
        ".filter(l => l.feature && l.feature.properties.kind === 'stand').length"
    )


def _point_of(page, lat: float, lon: float, zoom: int | None = None) -> tuple[float, float]:
    """Page pixel of a place (after centring the map on it at ``zoom``)."""
    return tuple(
        page.evaluate(
            "([lat, lon, zoom]) => { const m = " + MAP_JS + ";"
            "if (zoom !== null) m.setView([lat, lon], zoom, {animate: false});"
            "const p = m.latLngToContainerPoint([lat, lon]);"
            "const r = m.getContainer().getBoundingClientRect();"
            "return [p.x + r.left, p.y + r.top]; }",
            [lat, lon, zoom],
        )
    )


def _stand_point(stands, stand_id: str) -> tuple[float, float]:
    geom = stands.loc[stands["stand_id"] == stand_id].geometry.to_crs("EPSG:4326").iloc[0]
    p = shapely.point_on_surface(geom)
    return p.y, p.x


def _frames(page, n: int = 2) -> None:
    """Let the canvas redraw (Leaflet draws and hit-tests on the next animation frames)."""
    page.evaluate(
        "n => new Promise(done => { const step = k => k ? requestAnimationFrame(() => step(k - 1))"
        " : done(); step(n); })",
        n,
    )


def _close_popup(page) -> None:
    page.evaluate(f"{MAP_JS}.closePopup()")
    page.wait_for_function("document.querySelectorAll('.leaflet-popup').length === 0")


def _popup_after_click(page, lat, lon, zoom=17, attempts: int = 3, expect: str = "") -> str:
    """Click a place and return the popup text.

    The canvas renderer redraws and re-indexes its shapes for hit-testing a few animation frames
    after a view change; on a loaded machine that can take longer, so the click is repeated (after
    more frames) until the popup opens, and, with ``expect``, until it is the popup of the shape
    drawn on top (before the stands' canvas is indexed a click can reach the mesh cell below).
    """
    _close_popup(page)
    x, y = _point_of(page, lat, lon, zoom)
    popup = page.locator(".leaflet-popup-content")
    for attempt in range(attempts):
        _frames(page, 2 + 4 * attempt)
        page.mouse.click(x, y)
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            popup.wait_for(state="visible", timeout=2000 + 3000 * attempt)
        except PlaywrightTimeout:
            if attempt == attempts - 1:
                raise
            continue
        text = popup.inner_text()
        if expect in text or attempt == attempts - 1:
            return text
        _close_popup(page)
    raise AssertionError("unreachable")


@pytest.mark.parametrize("key", ["public", "internal", "offline"])
def test_loads_without_errors_and_draws_every_stand(browser, pages, key):
    page, log = open_page(browser, pages[key], serve=key != "offline")
    try:
        assert log.console_errors == []
        assert log.page_errors == []
        assert log.blocked == []  # nothing but vendored files and (blank) tiles was requested
        if key == "offline":
            assert log.served == []  # self-contained: no library requested at all
        assert _stand_count(page) == 6
        labels = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
        expected = {"eligible", "ineligible", "mesh", "facilities"}
        if key != "public":
            expected.add("sites")
        assert {t.strip() for t in labels} == {LAYER_NAMES[k] for k in expected}
        assert page.locator(".leaflet-control-scale-line").count() == 1
    finally:
        page.close()


def test_offline_page_works_and_says_the_basemap_is_unavailable(browser, pages):
    # self-contained page, no asset served, every tile request fails (no network at all)
    page, log = open_page(browser, pages["offline"], serve=False, tiles=False)
    try:
        note = page.locator(".fc-basemap-note")
        note.wait_for(state="visible", timeout=5000)
        assert note.inner_text() == BASEMAP_UNAVAILABLE
        assert note.count() == 1  # once, however many tiles failed
        assert len(log.tiles) > 1
        assert log.served == [] and log.blocked == [] and log.page_errors == []
        # the only console errors are the failed tile images
        assert all("ERR_INTERNET_DISCONNECTED" in e for e in log.console_errors)
        assert _stand_count(page) == 6
        assert page.locator(".fc-panel").first.is_visible()  # the totals still show
    finally:
        page.close()
    page, log = open_page(browser, pages["offline"], serve=False)  # tiles load: no note
    try:
        page.wait_for_timeout(300)
        assert log.tiles and page.locator(".fc-basemap-note").count() == 0
    finally:
        page.close()


def test_toggling_a_layer_hides_it(browser, pages):
    page, log = open_page(browser, pages["public"])
    try:
        page.hover(".leaflet-control-layers")
        label = page.locator(".leaflet-control-layers-overlays label").filter(
            has_text="Ineligible stands"
        )
        label.locator("input").click()
        assert _stand_count(page) == 4  # the two ineligible stands are gone
        label.locator("input").click()
        assert _stand_count(page) == 6
        facilities = page.locator(".leaflet-control-layers-overlays label").filter(
            has_text="Public air conditioning"
        )
        circles = f"Object.values({MAP_JS}._layers).filter(l => l instanceof L.CircleMarker).length"
        assert page.evaluate(circles) == len(FACILITIES)
        facilities.locator("input").click()
        assert page.evaluate(circles) == 0
        assert log.console_errors == [] and log.page_errors == []
    finally:
        page.close()


def test_clicking_a_stand_opens_its_popup_with_the_right_numbers(browser, pages):
    stands = small_program()["stands"]
    page, log = open_page(browser, pages["public"])
    try:
        text = _popup_after_click(page, *_stand_point(stands, "1-1-1"))
        # 10 + 12 t on 2 ha over 731 days: 22 / 2 / (731 / 365.25) = 5.496 t/ha/yr
        for expected in ("1-1-1", "スギ", "41", "2.00", "22.00", "5.50", "Eligible"):
            assert expected in text, (expected, text)
        text = _popup_after_click(page, *_stand_point(stands, "1-4-1"))
        # harvested: 3 + 1 - 9 = -5 t; -5 / 2 / 2.001369 = -1.249 t/ha/yr
        for expected in ("9.00", "-5.00", "-1.25"):
            assert expected in text, (expected, text)
        text = _popup_after_click(page, *_stand_point(stands, "1-5-1"))
        assert "outside any forest management plan" in text and "Ineligible" in text
        assert log.console_errors == [] and log.page_errors == []
    finally:
        page.close()


def test_injection_strings_show_as_text_and_never_run(browser, pages):
    stands = small_program()["stands"]
    for key in ("public", "internal"):
        page, log = open_page(browser, pages[key])
        try:
            assert SCRIPT in page.locator(".fc-panel").first.inner_text()  # program name
            assert SCRIPT in _popup_after_click(page, *_stand_point(stands, "1-2-1"), expect=SCRIPT)
            assert ATTR in _popup_after_click(page, *_stand_point(stands, ATTR), expect=ATTR)
            assert IMG in _popup_after_click(page, *_stand_point(stands, "1-6-1"), expect=IMG)
            _close_popup(page)
            x, y = _point_of(page, *_stand_point(stands, ATTR), 17)
            _frames(page)
            page.mouse.move(x, y)  # tooltip
            page.mouse.move(x + 2, y + 1)
            tooltip = page.locator(".leaflet-tooltip").filter(has_text=ATTR)
            tooltip.wait_for(state="visible", timeout=5000)
            for name, lat, lon, _units in FACILITIES:
                assert name in _popup_after_click(page, lat, lon, 15)
                x, y = _point_of(page, lat, lon)
                page.mouse.move(x, y)
            assert page.locator("img[src=x]").count() == 0
            assert page.locator(".leaflet-popup-content script").count() == 0
            assert page.evaluate("document.querySelectorAll('[onmouseover]').length") == 0
            page.wait_for_timeout(200)
            assert log.dialogs == []
            assert log.console_errors == [] and log.page_errors == []
        finally:
            page.close()


def test_public_page_holds_no_household_point_or_id(browser, pages):
    page, _ = open_page(browser, pages["public"])
    try:
        dom = page.content()
        for sid, _lat, _lon in household_points():
            assert sid not in dom
        points = page.evaluate(
            f"Object.values({MAP_JS}._layers).filter(l => l instanceof L.CircleMarker)"
            ".map(l => [l.getLatLng().lat, l.getLatLng().lng])"
        )
        assert len(points) == len(FACILITIES)  # facilities only, no household
        texts = page.evaluate(
            f"Object.values({MAP_JS}._layers).filter(l => l instanceof L.Rectangle)"
            ".map(l => { l.openPopup(); const t = l.getPopup().getElement().innerText;"
            " l.closePopup(); return t; })"
        )
        households = sorted(int(re.search(r"Households\s+(\d+)", t).group(1)) for t in texts)
        # the 1 km cell of 7 households, and its 10 km cell holding the 4 + 1 households of the
        # 1 km cells below k = 5 (merged); none shown below 5, every household in one cell
        assert households == [5, 7]
        assert any("(10 km)" in t and "not shown in a finer cell" in t for t in texts)
        panel = page.locator(".fc-panel").first.inner_text()
        assert "merged into their parent cell" in panel and "hidden:" not in panel
    finally:
        page.close()


def test_merged_coarse_cells_are_faint_and_lie_under_the_finer_cells(browser, pages):
    """A merged cell (up to 10 km) reads as a coarse area: a fill a fifth of a shown cell's, a thin
    half-transparent dashed outline; a click inside a finer cell it covers opens the finer cell."""
    page, log = open_page(browser, pages["public"])
    try:
        cells = page.evaluate(
            f"Object.values({MAP_JS}._layers).filter(l => l instanceof L.Rectangle)"
            ".map(l => ({cell: l.options.cells, fill: l.options.fillOpacity,"
            " stroke: l.options.opacity, weight: l.options.weight, dash: l.options.dashArray}))"
        )
        merged = [c for c in cells if c["cell"][-1] == 1]
        shown = [c for c in cells if c["cell"][-1] == 0]
        assert [c["cell"][-2] for c in merged] == ["10 km"] and len(shown) == 1
        m, f = merged[0], shown[0]
        assert m["fill"] <= f["fill"] / 5 and m["stroke"] <= 0.5 and m["weight"] <= f["weight"]
        assert m["dash"] and not f["dash"]
        south, west, north, east = f["cell"][:4]
        text = _popup_after_click(page, (south + north) / 2, (west + east) / 2, zoom=14)
        assert "(1 km)" in text and "Households\t7\n" in text  # the finer cell's popup
        assert "not shown in a finer cell" not in text
        assert log.page_errors == []
    finally:
        page.close()


def test_internal_edition_shows_clustered_sites(browser, pages):
    page, log = open_page(browser, pages["internal"])
    try:
        n = page.evaluate(
            f"Object.values({MAP_JS}._layers).filter(l => l instanceof L.MarkerClusterGroup)"
            ".map(l => l.getLayers().length)"
        )
        assert n == [12]
        assert "INTERNAL" in page.locator(".fc-panel").first.inner_text()
        assert log.console_errors == [] and log.page_errors == []
    finally:
        page.close()


def test_screenshots_of_both_editions(browser, pages):
    ARTIFACTS.mkdir(exist_ok=True)
    for key, width, height in (
        ("public", 1200, 800),
        ("internal", 1200, 800),
        ("public", 390, 760),  # phone
    ):
        page, log = open_page(browser, pages[key], width=width, height=height)
        try:
            page.wait_for_timeout(300)
            suffix = "_phone" if width < 600 else ""
            path = ARTIFACTS / f"map_{key}{suffix}.png"
            page.screenshot(path=str(path))
            assert path.stat().st_size > 10_000
            if width < 600:  # panels start folded on a phone, the map stays usable
                assert page.evaluate(
                    "[...document.querySelectorAll('.fc-panel details')].every(d => !d.open)"
                )
            assert log.console_errors == []
        finally:
            page.close()


def test_thinning_candidates_are_outlined_on_the_internal_map(browser, tmp_path):
    program = small_program()
    candidates = pd.DataFrame(
        {
            "stand_id": ["1-1-1", "1-5-1"],
            "fiscal_year": 2025,
            "species": "sugi",
            "age": [43, 30],
            "thinning_area_ha": [2.0, 1.5],
            "added_tco2": [120.44, 80.0],
            "crediting_years": "FY2025-FY2037",
            "rule": "sugi age in 16-50; never thinned",
        }
    )
    path = tmp_path / "internal.html"
    path.write_bytes(
        map_html(
            program_map(
                program["stands"], program["summary"], candidates=candidates, edition="internal"
            )
        )
    )
    page, log = open_page(browser, path)
    try:
        outlines = (
            f"Object.values({MAP_JS}._layers).filter(l => l instanceof L.Polygon"
            f" && l.options.fill === false && l.options.color === '{CANDIDATE_COLOR}')"
        )
        assert page.evaluate(outlines + ".length") == 2
        text = page.evaluate(
            outlines + "[0].openPopup() && document.querySelector("
            "'.leaflet-popup-content').innerText"
        )
        for expected in ("Thinning candidate FY2025: 1-1-1", "120.4", "2.00", "FY2025-FY2037"):
            assert expected in text, (expected, text)
        assert _stand_count(page) == 6
        assert log.console_errors == [] and log.page_errors == []
    finally:
        page.close()


PHONE = (390, 844)
"""A phone's CSS viewport [px] (iPhone 12-15)."""

LAYOUT_JS = """() => {
  const visible = el => { const r = el.getBoundingClientRect();
                          return r.width > 0 && r.height > 0 ? r : null; };
  const controls = [...document.querySelectorAll('.leaflet-control')]
    .map(el => [el.className, visible(el)]).filter(([, r]) => r)
    .map(([name, r]) => [name, [r.left, r.top, r.right, r.bottom]]);
  const clipped = [...document.querySelectorAll('.fc-panel, .fc-panel summary, .fc-panel td,'
                                                + ' .fc-panel th, .fc-panel .fc-note')]
    .filter(el => visible(el) && (el.scrollWidth > el.clientWidth + 1))
    .map(el => el.className || el.tagName + ': ' + el.innerText.slice(0, 40));
  return {controls: controls, clipped: clipped,
          width: window.innerWidth, height: window.innerHeight};
}"""


def _overlaps(a, b) -> bool:
    return a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5


@pytest.mark.parametrize("which", ["small", "sample"])
def test_phone_layout_panels_fold_never_cover_each_other_and_cut_no_text(
    browser, pages, sample_run, which
):
    # offline: self-contained pages, no asset served, no network
    path = pages["offline"] if which == "small" else sample_run[0] / "maps" / "tsuyama-sample.html"
    page, log = open_page(browser, path, serve=False, width=PHONE[0], height=PHONE[1])
    try:
        details = page.locator(".fc-panel details")
        assert details.count() == 2
        assert page.evaluate(
            "[...document.querySelectorAll('.fc-panel details')].every(d => !d.open)"
        )
        # every combination of open panels: folded, totals open, legend open, both open
        for opened in ([], [0], [1], [0, 1]):
            page.evaluate(
                "open => document.querySelectorAll('.fc-panel details')"
                ".forEach((d, i) => { d.open = open.includes(i); })",
                opened,
            )
            page.wait_for_timeout(50)
            layout = page.evaluate(LAYOUT_JS)
            controls = layout["controls"]
            assert len(controls) >= 5  # zoom, layers, scale, totals, legend (+ attribution)
            for i, (name_a, a) in enumerate(controls):
                assert a[0] >= 0 and a[1] >= 0, (opened, name_a, a)
                assert a[2] <= layout["width"] and a[3] <= layout["height"], (opened, name_a, a)
                for name_b, b in controls[i + 1 :]:
                    assert not _overlaps(a, b), (opened, name_a, a, name_b, b)
            assert layout["clipped"] == [], opened
        assert log.page_errors == []
    finally:
        page.close()


def test_businesses_using_the_credits_on_the_public_map(browser, tmp_path):
    program = small_program()
    m = program_map(
        program["stands"],
        program["summary"],
        businesses=credit_users(),
        self_contained=True,
        tiles="none",
    )
    path = tmp_path / "public.html"
    path.write_bytes(map_html(m))
    page, log = open_page(browser, path, serve=False)
    names = page.evaluate(
        f"Object.values({MAP_JS}._layers).filter(l => l.options && l.options.fillColor === "
        f"'{BUSINESS_COLOR}').map(l => (l.openPopup(), "
        "document.querySelector('.leaflet-popup-content').innerText))"
    )
    # only the public bank: the business not public and the household are not on the page
    assert len(names) == 1 and "つやま信金" in names[0] and "通帳の印刷" in names[0]
    assert "50,000" in names[0]  # stickers
    assert log.page_errors == [] and log.console_errors == [] and log.blocked == []


def test_held_stand_is_drawn_in_the_held_colour_with_a_legend_entry(browser, tmp_path):
    # 1-2-1's removals (4.0 + 4.5 t) are held by canopy evidence: not credited, so not in the
    # credited palette; the offline page (no network at all) draws it in HELD_COLOR
    program = small_program()
    stands = program["stands"].copy()
    held = stands["stand_id"] == "1-2-1"
    stands["held_tco2"] = 0.0
    stands.loc[held, "held_tco2"] = stands.loc[held, "removals_tco2"]
    stands.loc[held, "net_tco2"] -= stands.loc[held, "removals_tco2"]
    stands.loc[held, "removals_tco2"] = 0.0
    path = tmp_path / "held.html"
    path.write_bytes(
        map_html(program_map(stands, program["summary"], edition="public", self_contained=True))
    )
    page, log = open_page(browser, path, serve=False, tiles=False)
    try:
        fills = page.evaluate(
            f"Object.fromEntries(Object.values({MAP_JS}._layers)"
            ".filter(l => l.feature && l.feature.properties.kind === 'stand')"
            ".map(l => [l.feature.properties.row[0], l.options.fillColor]))"
        )
        assert fills["1-2-1"] == HELD_COLOR
        assert [s for s, c in fills.items() if c == HELD_COLOR] == ["1-2-1"]
        entry = page.locator(".fc-held")
        assert entry.inner_text().strip() == "保留（要確認） held — awaiting review"
        swatch = entry.locator(".fc-sw").evaluate("e => getComputedStyle(e).backgroundColor")
        assert swatch == "rgb(253, 174, 97)"  # HELD_COLOR #fdae61
        _frames(page, 4)  # the canvas shows the held colour where the stand is
        x, y = _point_of(page, *_stand_point(stands, "1-2-1"), 17)
        _frames(page, 4)
        pixel = page.evaluate(
            "([x, y]) => { const c = document.querySelector('.leaflet-overlay-pane canvas');"
            "const r = c.getBoundingClientRect(); const k = c.width / r.width;"
            "return Array.from(c.getContext('2d').getImageData((x - r.left) * k,"
            " (y - r.top) * k, 1, 1).data); }",
            [x, y],
        )
        # fill #fdae61 at fillOpacity 0.75 over the page's background: red stays highest, and
        # the pixel is far from the palette's greens
        assert pixel[3] > 0 and pixel[0] > pixel[1] > pixel[2], pixel
        text = _popup_after_click(page, *_stand_point(stands, "1-2-1"))
        assert "保留（要確認） Held — awaiting review" in text and "8.50" in text
        assert log.served == [] and log.page_errors == []
        assert all("ERR_INTERNET_DISCONNECTED" in e for e in log.console_errors)
    finally:
        page.close()
