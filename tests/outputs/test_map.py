"""The program map's page (forestcarbon.outputs.map) and its browser code (static/map.js), without
a browser: see test_map_browser.py for the page in Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pandas as pd
import pytest

from forestcarbon.core.config import MapSettings
from forestcarbon.core.exceptions import InputError
from forestcarbon.officer.ledger_tables import USER_COLUMNS
from forestcarbon.outputs.map import (
    LAYER_NAMES,
    STATIC,
    map_html,
    map_name,
    program_map,
    vendored_file,
)
from forestcarbon.outputs.map_data import (
    BUSINESS_FIELDS,
    CANDIDATE_FIELDS,
    FACILITY_FIELDS,
    MESH_FIELDS,
    SITE_FIELDS,
    STAND_FIELDS,
    business_rows,
    candidate_rows,
)

from .map_fixtures import (
    ATTR,
    IMG,
    SCRIPT,
    household_points,
    small_program,
)

MAP_JS = STATIC / "map.js"
MAP_CSS = STATIC / "map.css"

FIELD_INDEXES = {
    "F": STAND_FIELDS,
    "T": CANDIDATE_FIELDS,
    "M": MESH_FIELDS,
    "A": FACILITY_FIELDS,
    "H": SITE_FIELDS,
    "B": BUSINESS_FIELDS,
}
"""The field index names of map.js (see its header) and the field list Python sends to each."""


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
            self_contained=False,  # the CDN edition ([map] self_contained = false)
        )
        out[edition] = map_html(m).decode("utf-8")
    return out


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
        self_contained=False,
    )
    assert map_html(again).decode("utf-8") == pages["public"]


def test_links_only_to_vendored_files_or_inlines_them(program, pages):
    links = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', pages["internal"])
    assert links, "CDN edition links its libraries"
    for url in links:
        assert vendored_file(url) is not None and vendored_file(url).is_file(), url
    m = program_map(program["stands"], program["summary"], tiles=None)  # default: self-contained
    html = map_html(m).decode("utf-8")
    assert MapSettings().self_contained is True  # and so are a run's maps by default
    assert re.search(r'<(?:script|link)[^>]+(?:src|href)="', html) is None
    assert "sourceMappingURL" not in html
    assert 'leaflet.version="1.9.4"' in html.replace("t.version", "leaflet.version")
    assert "data:image/png;base64," in html  # layer-control icon inlined
    assert "L.tileLayer(" not in html
    assert "fc.basemapNote" not in html  # no basemap, no note
    with_tiles = map_html(program_map(program["stands"], program["summary"])).decode("utf-8")
    assert "L.tileLayer(" in with_tiles and "fc.basemapNote(" in with_tiles


def test_map_name_is_the_folder_slug(tmp_path):
    assert map_name("data/tsuyama-sample") == "tsuyama-sample"
    assert map_name(tmp_path / "津山 Program 2024") == "program-2024"
    assert map_name(tmp_path / "森林") == "program"


def test_unknown_edition_is_refused(program):
    with pytest.raises(ValueError, match="edition"):
        program_map(program["stands"], edition="secret")
    with pytest.raises(InputError, match="tiles"):  # a clean message from the CLI, exit 1
        program_map(program["stands"], tiles="googlemaps")


def test_run_and_map_commands_write_both_editions(tmp_path, capsys):
    from forestcarbon import SAMPLE_PROGRAM
    from forestcarbon.cli.main import main
    from forestcarbon.run import run_program

    result = run_program(SAMPLE_PROGRAM, tmp_path / "run")
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
    assert main(["map", str(SAMPLE_PROGRAM), "--out", str(out), "--self-contained"]) == 0
    assert "tsuyama-sample.html" in capsys.readouterr().out
    offline = (out / "maps" / "tsuyama-sample.html").read_text(encoding="utf-8")
    assert re.search(r'<(?:script|link)[^>]+(?:src|href)="', offline) is None
    assert main(["-q", "map", str(SAMPLE_PROGRAM), "--out", str(out)]) == 1  # exists: --overwrite
    assert main(["-q", "map", str(SAMPLE_PROGRAM), "--out", str(out), "--overwrite"]) == 0
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


def _candidates() -> pd.DataFrame:
    return pd.DataFrame(
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


def test_map_js_and_css_are_inlined_as_they_are(pages):
    js, css = (p.read_text(encoding="utf-8") for p in (MAP_JS, MAP_CSS))
    assert "</script" not in js.lower() and "</style" not in css.lower()
    for page in pages.values():
        assert "<style>\n" + css + "</style>" in page
        assert "\n" + js in page
        assert page.count("var fc = (function ()") == 1


def test_map_js_parses():
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: map.js is not parsed (apt-get install nodejs)")
    result = subprocess.run([node, "--check", str(MAP_JS)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def _fields_read(js: str) -> dict[str, set[str]]:
    """Field names map.js reads, per index: ``F.net_tco2`` -> {"F": {"net_tco2"}}.

    Index names are single capital letters (``L`` is Leaflet); comments are left out.
    """
    code = re.sub(r"//[^\n]*|/\*.*?\*/", "", js, flags=re.S)
    read: dict[str, set[str]] = {}
    for index, name in re.findall(r"(?<![\w.$])([A-Z])\.([A-Za-z_$][\w$]*)", code):
        if index != "L":
            read.setdefault(index, set()).add(name)
    return read


def _unknown_fields(js: str, sent: dict[str, tuple]) -> list[str]:
    """``X.name`` reads of map.js that no field list sent by Python holds."""
    problems = []
    for index, names in sorted(_fields_read(js).items()):
        if index not in sent:
            problems.append(f"{index}: an index map.js reads that the test does not know")
            continue
        problems += [f"{index}.{n}" for n in sorted(names - set(sent[index]))]
    return problems


def credit_users() -> pd.DataFrame:
    """The ledger's users table: a public bank, a business not public and a household."""
    rows = [
        ("つやま信金", "business", "津山市", 134.0035, 35.0685, True, 110, 5, 50_000, "通帳の印刷"),
        ("非公開商店", "business", "津山市", 134.02, 35.06, False, 3, 0, 0, ""),
        ("山田太郎", "household", "津山市", 134.01, 35.07, True, 1, 1, 0, "自宅"),
    ]
    return pd.DataFrame(rows, columns=list(USER_COLUMNS))


def test_businesses_using_credits_public_only_never_households(program):
    kw = {"solar": program["solar"], "aircon": program["aircon"], "businesses": credit_users()}
    public = map_html(program_map(program["stands"], program["summary"], **kw)).decode("utf-8")
    assert json.dumps(LAYER_NAMES["businesses"])[1:-1] in public  # in the layer control
    assert "つやま信金" in public and "通帳の印刷" in public
    assert "非公開商店" not in public and "山田太郎" not in public and "自宅" not in public
    internal = map_html(
        program_map(program["stands"], program["summary"], edition="internal", **kw)
    ).decode("utf-8")
    assert "非公開商店" in internal and "山田太郎" not in internal
    rows = business_rows(credit_users(), edition="public")
    assert rows == [["つやま信金", 35.0685, 134.0035, 110, 5, 50_000, "通帳の印刷"]]


def test_every_field_the_js_reads_is_sent_by_python(program):
    js = MAP_JS.read_text(encoding="utf-8")
    # the Python side: the field lists as they are written into a page with every layer
    page = map_html(
        program_map(
            program["stands"],
            program["summary"],
            solar=program["solar"],
            aircon=program["aircon"],
            candidates=_candidates(),
            businesses=credit_users(),
            edition="internal",
            privacy_k=1,
        )
    ).decode("utf-8")
    sent = {}
    for index, fields in FIELD_INDEXES.items():
        text = '"fields":' + json.dumps(list(fields), ensure_ascii=False, separators=(",", ":"))
        assert text in page or text.replace('"', '\\"') in page, (index, text)
        sent[index] = fields
    # the JS side: every index it declares is known, every name it reads is sent
    declared = set(re.findall(r"\b([A-Z]) = (?:fieldIndex|standIndex)\(", js))
    assert declared == set(FIELD_INDEXES)
    read = _fields_read(js)
    assert set(read) == set(FIELD_INDEXES)
    assert _unknown_fields(js, sent) == []
    assert "net_tco2" in read["F"] and "meshcode" in read["M"] and "rule" in read["T"]
    # a column renamed on one side only is caught, whichever side
    assert _unknown_fields(js.replace("F.net_tco2_ha_yr", "F.net_rate"), sent) == ["F.net_rate"]
    renamed = dict(sent, M=tuple("code" if f == "meshcode" else f for f in MESH_FIELDS))
    assert _unknown_fields(js, renamed) == ["M.meshcode"]
