"""The sticker look-up page (forestcarbon.outputs.sticker_page): its data, and in headless
Chromium with the network cut off: a serial found among ten million stickers in under 100 ms,
the page under 1 MB, and its link outlining the forest blocks on the map."""

from __future__ import annotations

import pandas as pd
import pytest

from forestcarbon.officer.ledger_tables import STICKER_COLUMNS, USER_COLUMNS
from forestcarbon.outputs.map import map_html, program_map
from forestcarbon.outputs.map_data import STAND_FIELDS
from forestcarbon.outputs.sticker_page import NOT_PUBLIC, sticker_data, sticker_page

from .map_browser import MAP_JS, open_page
from .map_fixtures import small_program
from .test_map_browser import _browser_or_skip

P22, P23 = "2022-04-01/2023-03-31", "2023-04-01/2024-03-31"
PLACES = {
    ("FO-001", P22): ("blocks", ["1", "3", "12"]),
    ("EN-R-002", P23): ("mesh", ["51340001", "51340002"]),
}
USERS = pd.DataFrame(
    [
        ("つやま信金", "business", "", 134.0, 35.0, True, 10, 5, 50_000, "通帳"),
        ("非公開商店", "business", "", 134.0, 35.0, False, 2, 1, 1_000, "秘密"),
    ],
    columns=list(USER_COLUMNS),
)


def stickers(n_ranges: int, size: int) -> pd.DataFrame:
    """``n_ranges`` ranges of ``size`` stickers from serial 1, alternating bank / not public and
    FO-001 2022 / EN-R-002 2023."""
    rows = []
    for i in range(n_ranges):
        first = 1 + i * size
        bank = i % 2 == 0
        m, p = ("FO-001", P22) if i % 4 < 2 else ("EN-R-002", P23)
        rows.append(
            (
                i + 10,
                f"2024-{1 + i % 12:02d}-01",
                "つやま信金" if bank else "非公開商店",
                m,
                p,
                i + 5,
                first,
                first + size - 1,
                size,
                10_000,
                "通帳" if bank else "秘密",
            )
        )
    return pd.DataFrame(rows, columns=list(STICKER_COLUMNS))


def test_sticker_data_hides_holders_not_public():
    data = sticker_data(stickers(4, 100), USERS, PLACES)
    assert data["g"] == [0, 0, 0, 0] and data["n"] == [100] * 4  # serials 1-400 run on
    gaps = sticker_data(stickers(4, 100).iloc[[0, 3]], USERS, PLACES)["g"]
    assert gaps == [0, 200]  # 1-100, then 301-400: 200 serials (undone stickers) skipped
    assert data["H"] == ["つやま信金", NOT_PUBLIC]
    assert "非公開商店" not in sticker_page(data, map_file="m.html", title="t").decode()
    assert data["V"][0] == ["FO-001", "森林経営 Forest (FO-001)", P22, "blocks", ["1", "3", "12"]]


@pytest.fixture(scope="module")
def browser():
    _browser_or_skip()
    from .map_browser import launch

    with launch() as b:
        yield b


def test_ten_million_stickers_found_fast_offline(browser, tmp_path):
    # 10,000 ranges x 1,000 stickers = 10,000,000 stickers
    data = sticker_data(stickers(10_000, 1_000), USERS, PLACES)
    page_bytes = sticker_page(data, map_file="program.html", title="津山市 (test)")
    assert len(page_bytes) < 1_000_000
    path = tmp_path / "program_stickers.html"
    path.write_bytes(page_bytes)
    page, log = open_page(browser, path, serve=False)
    # serial 9,876,543 is in range 9,876 (first 9,876,001): i % 4 == 0 -> the bank, FO-001 2022
    page.fill("#serial", "9876543")
    page.wait_for_function("window.fcLookups >= 1")
    text = page.inner_text("#result")
    assert "No. 09876543 (09876001–09877000)" in text  # 8 digits: up to 10,000,000
    assert "森林経営 Forest (FO-001)" in text and P22 in text and "つやま信金" in text
    assert "1, 3, 12" in text
    href = page.get_attribute("#result a", "href")
    assert href == "program.html#blocks=1,3,12"
    ms = page.evaluate("window.fcLookupMs")
    assert ms < 100, f"look-up took {ms:.1f} ms"
    # the last sticker, full-width digits, a range not public, and one past the end
    page.fill("#serial", "１０００００００")  # 10,000,000 in full-width digits
    page.wait_for_function("window.fcLookups >= 2")
    text = page.inner_text("#result")
    assert (
        "No. 10000000 (09999001–10000000)" in text
        and NOT_PUBLIC in text
        and "51340001, 51340002" in text
    )
    page.fill("#serial", "10000001")
    page.wait_for_function("window.fcLookups >= 3")
    assert "見つかりません Not found" in page.inner_text("#result")
    assert log.page_errors == [] and log.console_errors == [] and log.blocked == []


def test_link_outlines_the_blocks_on_the_map(browser, tmp_path):
    program = small_program()
    m = program_map(program["stands"], program["summary"], self_contained=True, tiles="none")
    path = tmp_path / "program.html"
    path.write_bytes(map_html(m))
    page, log = open_page(browser, path.with_name("program.html"), serve=False)
    page.goto("about:blank")  # a new document, not a jump within the same one
    page.goto(path.resolve().as_uri() + "#blocks=1", wait_until="load")
    page.wait_for_timeout(100)
    outlined = page.evaluate(
        "F => Object.values(" + MAP_JS + "._layers).filter(l => l.feature && "
        "l.options.color === '#ffd700').map(l => l.feature.properties.row[F])",
        STAND_FIELDS.index("stand_id"),
    )
    # every stand of block 1 (1-1-1 ... 1-6-1; one id is an injection string, not block 1)
    assert len(outlined) == 5 and all(str(s).startswith("1-") for s in outlined)
    assert log.page_errors == []
