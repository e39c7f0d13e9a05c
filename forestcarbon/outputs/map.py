"""One interactive folium map of the whole program: public and internal editions (rendering).

:func:`program_map` draws, on one :class:`folium.Map`:

* forest stands as a choropleth of net removals [t-CO2/ha/yr] (classes from mapclassify, colours
  from branca's ColorBrewer palettes, legend as a branca element); ineligible stands in grey with a
  dashed outline and the reason in their popup;
* household solar (EN-R-002) aggregated to JIS X 0410 regional mesh cells (jismesh); cells with
  fewer than ``privacy_k`` households are merged into their parent cell (up to 10 km), and only
  what is still below ``privacy_k`` there is hidden (the map says how many households that hides);
  the internal edition adds the sites themselves as clustered points;
* public-facility air conditioning (EN-S-004) as facility points;
* a totals panel (forest / solar / air conditioning / whole program: t-CO2, credits, period), a
  legend, a layer control and a scale bar, labelled in Japanese and English, usable on a phone.

This module owns the page: folium elements, assets, panels and HTML. The data it draws is prepared
in :mod:`forestcarbon.outputs.map_data`; the browser side (layers built from that data, popups,
tooltips) is ``static/map.js`` with its stylesheet ``static/map.css``, both inlined in the page.

Size and speed at city scale: stand polygons are simplified in metres in their metric CRS (topology
preserved: neighbouring stands keep one shared boundary, via the ``topojson`` package), then
reprojected and written once as TopoJSON quantized to 1e-5 degrees (about 1 m); every attribute is
written once, in compact row arrays sent with their field names (repeated texts such as
ineligibility reasons go in a lookup table); popups and tooltips are built in the browser when
opened; the map renders on a canvas.

Safety: every string from the inputs reaches the page only as JSON data (``<``, ``>`` and ``&``
escaped) and is HTML-escaped in the browser when a popup or tooltip is built; texts rendered in
Python (program name, methodology names) are HTML-escaped there.

Offline: ``self_contained=True`` inlines Leaflet and Leaflet.markercluster from the copies
vendored in ``forestcarbon/outputs/static/`` (from the npm registry, with their licences);
otherwise the page links to the same versions on a CDN. Nothing is fetched when the map is built.
"""

from __future__ import annotations

import base64
import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import geopandas as gpd
import numpy as np
import pandas as pd

from forestcarbon.core.exceptions import InputError, Problem
from forestcarbon.outputs.layers import fo001_layer
from forestcarbon.outputs.map_data import (
    BUSINESS_FIELDS,
    DEFAULT_MESH_LEVEL,
    DEFAULT_SIMPLIFY_M,
    FACILITY_FIELDS,
    HELD_CLASS,
    HELD_COLOR,
    INELIGIBLE_COLOR,
    MESH_FIELDS,
    MESH_LEVELS,
    NET_EMISSION_COLOR,
    SITE_FIELDS,
    STAND_FIELDS,
    business_rows,
    candidate_rows,
    facility_totals,
    latest_candidates,
    mesh_cells,
    payload,
    site_rows,
    site_totals,
    stand_totals,
    stands_data,
)

EDITIONS = ("public", "internal")
"""``public``: households only as mesh aggregates. ``internal``: also each site (for officers)."""


GSI_PALE = (
    "https://cyberjapandata.gsi.go.jp/xyz/pale/{z}/{x}/{y}.png",
    '<a href="https://maps.gsi.go.jp/development/ichiran.html">地理院タイル</a>',
)
"""Default basemap: GSI (国土地理院) pale map tiles, loaded by the viewer's browser."""

OSM = (
    "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
)

TILES = {"gsi_pale": GSI_PALE, "osm": OSM, "none": None}
"""Named basemaps for ``tiles=`` (any ``{z}/{x}/{y}`` URL template is accepted as well)."""

STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True)
class Asset:
    """A JavaScript or CSS file vendored in ``forestcarbon/outputs/static`` and its CDN twin."""

    package: str
    version: str
    path: str  # path inside the npm package

    @property
    def url(self) -> str:
        return f"https://cdn.jsdelivr.net/npm/{self.package}@{self.version}/{self.path}"

    @property
    def file(self) -> Path:
        return STATIC / f"{self.package}-{self.version}" / Path(self.path).name

    @property
    def is_css(self) -> bool:
        return self.path.endswith(".css")


ASSETS = {
    "leaflet": Asset("leaflet", "1.9.4", "dist/leaflet.js"),
    "leaflet_css": Asset("leaflet", "1.9.4", "dist/leaflet.css"),
    "markercluster": Asset("leaflet.markercluster", "1.5.3", "dist/leaflet.markercluster.js"),
    "markercluster_css": Asset("leaflet.markercluster", "1.5.3", "dist/MarkerCluster.css"),
    "markercluster_default_css": Asset(
        "leaflet.markercluster", "1.5.3", "dist/MarkerCluster.Default.css"
    ),
}
"""Every file a map may load; the maps link or inline nothing else (apart from basemap tiles)."""


def vendored_file(url: str) -> Path | None:
    """Local copy of an asset URL the maps use (CDN or relative image), or None.

    Tests and benchmarks serve these files to a browser that has no network.
    """
    for asset in ASSETS.values():
        if url == asset.url:
            return asset.file
        base = asset.url.rsplit("/", 1)[0] + "/images/"
        if url.startswith(base):
            candidate = asset.file.parent / "images" / url[len(base) :]
            return candidate if candidate.is_file() else None
    return None


# --- labels (Japanese / English) ------------------------------------------------------------------

LAYER_NAMES = {
    "eligible": "森林 純吸収量 · Forest stands: net removals",
    "ineligible": "対象外の小班 · Ineligible stands",
    "mesh": "家庭用太陽光 (メッシュ集計) · Household solar (mesh cells)",
    "sites": "家庭用太陽光 各戸 (内部用) · Household solar sites (internal)",
    "facilities": "公共施設の空調 · Public air conditioning",
    "candidates": "間伐候補 (内部用) · Thinning candidates (internal)",
    "businesses": "クレジット活用事業者 · Businesses using the credits",
}

METHODOLOGY_LABELS = {
    "FO-001": "森林経営 Forest (FO-001)",
    "EN-R-002": "家庭用太陽光 Household solar (EN-R-002)",
    "EN-S-004": "空調 Air conditioning (EN-S-004)",
    "program": "合計 Whole program",
}

BASEMAP_UNAVAILABLE = "地図タイルを読み込めません · basemap unavailable"
"""Note shown on the map when basemap tiles cannot load (offline or a closed intranet)."""

MESH_COLOR = "#e6550d"
FACILITY_COLOR = "#08519c"
BUSINESS_COLOR = "#238b45"


def _folium():
    try:
        import folium
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "The map needs folium, branca, mapclassify, jismesh and topojson: "
            'pip install "forestcarbon[map]"'
        ) from e
    return folium


# --- rendering ------------------------------------------------------------------------------------


def script_json(obj) -> str:
    """JSON safe to embed in a ``<script>`` element (no ``<``, ``>``, ``&`` or line separators)."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text


def _element_classes():
    """folium element classes of the map (defined lazily: folium is an optional dependency)."""
    folium = _folium()
    from branca.element import Element, MacroElement
    from folium.map import Layer
    from jinja2 import Template

    class Helpers(MacroElement):
        """``static/map.css`` and the shared functions of ``static/map.js`` (read when the page is
        rendered), once per page."""

        _template = Template(
            "{% macro header(this, kwargs) %}<style>\n{{ this.css }}</style>{% endmacro %}"
            "{% macro script(this, kwargs) %}\n{{ this.js }}{% endmacro %}"
        )

        def __init__(self):
            super().__init__()
            self._name = "ForestCarbonHelpers"
            self.css = (STATIC / "map.css").read_text(encoding="utf-8")
            self.js = (STATIC / "map.js").read_text(encoding="utf-8")

    class Data(MacroElement):
        """One JSON blob, written once and shared by the layers that use it.

        Written as ``JSON.parse("...")`` of a string literal: browsers parse a large JSON string
        several times faster than the same data as a JavaScript object literal.
        """

        _template = Template(
            "{% macro script(this, kwargs) %}"
            "var {{ this.get_name() }} = JSON.parse({{ this.json }});"
            "{% endmacro %}"
        )

        def __init__(self, obj):
            super().__init__()
            self._name = "data"
            self.json = script_json(script_json(obj))

    class DataLayer(Layer):
        """An overlay built in the browser by ``fc.<builder>(map, data, ...)``.

        ``data`` is a :class:`Data` element (shared; referenced by name) or JSON text.
        """

        _template = Template(
            "{% macro script(this, kwargs) %}"
            "var {{ this.get_name() }} = fc.{{ this.builder }}({{ this._parent.get_name() }}, "
            "{{ this.data.get_name() if this.shared else this.data }}{{ this.args }});"
            "{% endmacro %}"
        )

        def __init__(self, name: str, builder: str, data, *args, show: bool = True):
            super().__init__(name=name, overlay=True, control=True, show=show)
            self._name = builder
            self.builder = builder
            self.data = data
            self.shared = not isinstance(data, str)
            self.args = "".join(", " + script_json(a) for a in args)

    class Panel(MacroElement):
        """A Leaflet control holding HTML made (and escaped) in Python."""

        _template = Template(
            "{% macro script(this, kwargs) %}"
            "fc.panel({{ this._parent.get_name() }}, {{ this.position|tojson }}, "
            "{{ this.html_json }});"
            "{% endmacro %}"
        )

        def __init__(self, position: str, html_text: str):
            super().__init__()
            self._name = "panel"
            self.position = position
            self.html_json = script_json(html_text)

    class InlineAssets(Element):
        """Vendored JS/CSS inlined in the page header (self-contained edition)."""

        def __init__(self, names: list[str]):
            super().__init__()
            self._name = "assets"
            self.text = "\n".join(_inline_asset(ASSETS[name]) for name in names)

        def render(self, **kwargs):
            return self.text

    class BasemapNote(MacroElement):
        """Shows :data:`BASEMAP_UNAVAILABLE` when a basemap tile fails to load."""

        _template = Template(
            "{% macro script(this, kwargs) %}"
            "fc.basemapNote({{ this._parent.get_name() }}, {{ this.text }});"
            "{% endmacro %}"
        )

        def __init__(self):
            super().__init__()
            self._name = "basemap_note"
            self.text = script_json(BASEMAP_UNAVAILABLE)

    class MetricScale(MacroElement):
        """Scale bar in metres only."""

        _template = Template(
            "{% macro script(this, kwargs) %}"
            "L.control.scale({imperial: false, maxWidth: 150})"
            ".addTo({{ this._parent.get_name() }});"
            "{% endmacro %}"
        )

    return folium, Helpers, Data, DataLayer, Panel, InlineAssets, MetricScale, BasemapNote


def _inline_asset(asset: Asset) -> str:
    """A vendored file as a ``<style>`` or ``<script>`` element (CSS images as data: URIs)."""
    text = asset.file.read_text(encoding="utf-8")
    text = re.sub(r"/[/*]# sourceMappingURL=\S+\s*(\*/)?\s*$", "", text)
    if not asset.is_css:
        return "<script>" + text.replace("</script", "<\\/script") + "</script>"

    def data_uri(match: re.Match) -> str:
        path = asset.file.parent / match.group(1)
        if not path.is_file():
            return match.group(0)
        return "url(data:image/png;base64," + base64.b64encode(path.read_bytes()).decode() + ")"

    return "<style>" + re.sub(r"url\((images/[\w.-]+\.png)\)", data_uri, text) + "</style>"


def _attach_assets(m, names: list[str], *, self_contained: bool, InlineAssets) -> None:
    """Load exactly ``names`` (vendored versions): inlined, or linked from the CDN.

    folium's other defaults (jQuery, Bootstrap, Font Awesome, awesome-markers) are not used by
    this map and are dropped; so is folium's own Leaflet link (replaced by the vendored version).
    """
    if self_contained:
        m.default_js, m.default_css = [], []
        m.get_root().header.add_child(InlineAssets(names), name="fc_assets")
        return
    m.default_js = [(n, ASSETS[n].url) for n in names if not ASSETS[n].is_css]
    m.default_css = [(n, ASSETS[n].url) for n in names if ASSETS[n].is_css]


def _fmt_t(text: str | float) -> str:
    try:
        return f"{float(text):,.2f}"
    except (TypeError, ValueError):
        return html.escape(str(text))


def totals_html(
    summary: pd.DataFrame | None,
    *,
    title: str,
    edition: str,
    hidden: dict | None,
    privacy_k: int,
    mesh_level: int,
) -> str:
    """The totals panel: whole-program t-CO2 and credits per methodology, periods, notes."""
    e = html.escape
    parts = [f"<details open><summary>{e(title)}</summary>"]
    if edition == "internal":
        parts.append(
            '<div class="fc-note"><b>内部用 — 公開しないこと · INTERNAL — do not publish</b></div>'
        )
    if summary is not None and len(summary):
        periods = sorted(p for p in summary["period"].unique() if p != "all")
        if periods:
            first, last = periods[0].split("/")[0], periods[-1].split("/")[-1]
            parts.append(
                f'<div class="fc-note">期間 Period: {e(first)} – {e(last)} '
                f"({len(periods)} 期 periods)</div>"
            )
        rows = summary[summary["period"] == "all"] if periods else summary
        order = {m: i for i, m in enumerate(METHODOLOGY_LABELS)}
        rows = rows.assign(_o=rows["methodology"].map(order).fillna(len(order) - 0.5))
        parts.append(
            "<table><tr><th>集計 Totals</th><th>t-CO2</th><th>クレジット Credits [t]</th></tr>"
        )
        for r in rows.sort_values("_o", kind="stable").itertuples():
            label = METHODOLOGY_LABELS.get(r.methodology, r.methodology)
            strong = r.methodology == "program"
            cells = [e(str(label)), _fmt_t(r.total_tco2), f"{int(r.credits_t):,}"]
            row = "".join(f"<td>{'<b>' + c + '</b>' if strong else c}</td>" for c in cells)
            parts.append(f"<tr>{row}</tr>")
        parts.append("</table>")
        parts.append(
            '<div class="fc-note">クレジットは方法論・期間ごとに t-CO2 未満切り捨て · '
            "Credits: whole t-CO2, truncated per methodology and period.</div>"
        )
    if hidden is not None:
        mesh = MESH_LEVELS[mesh_level]
        note = (
            f"家庭用太陽光は {e(mesh)} 地域メッシュ (JIS X 0410) 単位で集計し、"
            f"{privacy_k} 世帯未満のメッシュは上位のメッシュ (最大 10 km) にまとめ、"
            f"それでも {privacy_k} 世帯未満なら表示していません · "
            f"Household solar is shown per {e(mesh)} mesh cell; cells with fewer than "
            f"{privacy_k} households are merged into their parent cell (up to 10 km, dashed) "
            f"and hidden only if still fewer"
        )
        if hidden["households"]:
            note += (
                f" (非表示 hidden: {hidden['households']} 世帯 households in {hidden['cells']} "
                f"10 km cells, {hidden['reduction_tco2']:,.2f} t-CO2; included in the totals)"
            )
        parts.append(f'<div class="fc-note">{note}.</div>')
    parts.append("</details>")
    return "".join(parts)


def legend_html(
    bounds: list[float],
    palette: list[str],
    *,
    has_negative: bool,
    layers: set,
    has_held: bool = False,
) -> str:
    """Legend: the mapclassify classes with their colours, then the other symbols (held stands
    when ``has_held``)."""
    sw = '<span class="fc-sw" style="background:{}"></span>'.format
    rows = []
    lower = 0.0
    for bound, color in zip(bounds, palette, strict=True):
        rows.append(f"<div>{sw(color)}{lower:,.2f} – {bound:,.2f}</div>")
        lower = bound
    if has_negative:
        rows.append(f"<div>{sw(NET_EMISSION_COLOR)}&lt; 0 純排出 net emission</div>")
    if has_held:
        rows.append(
            f'<div class="fc-held">{sw(HELD_COLOR)}保留（要確認） held — awaiting review</div>'
        )
    if "ineligible" in layers:
        rows.append(
            f'<div><span class="fc-sw" style="background:{INELIGIBLE_COLOR};border-style:dashed">'
            "</span>対象外 Ineligible stand</div>"
        )
    if "mesh" in layers:
        rows.append(f"<div>{sw(MESH_COLOR)}太陽光メッシュ Solar mesh cell</div>")
    if "facilities" in layers:
        rows.append(
            f'<div><span class="fc-sw" style="background:{FACILITY_COLOR};border-radius:50%;'
            'width:10px"></span>空調施設 Air-conditioned facility</div>'
        )
    if "businesses" in layers:
        rows.append(
            f'<div><span class="fc-sw" style="background:{BUSINESS_COLOR};border-radius:50%;'
            'width:10px"></span>クレジット活用事業者 Business using the credits</div>'
        )
    return (
        "<details open><summary>凡例 Legend</summary>"
        "<div>純吸収量 Net removals [t-CO2/ha/yr]</div>" + "".join(rows) + "</details>"
    )


def _stable_ids(root) -> None:
    """Give every element a counter-based id so that the same inputs give the same HTML."""
    counter = 0

    def walk(element):
        nonlocal counter
        counter += 1
        element._id = f"{counter:04d}"
        for child in element._children.values():
            walk(child)

    walk(root)


def program_map(
    stands: gpd.GeoDataFrame,
    summary: pd.DataFrame | None = None,
    *,
    solar: gpd.GeoDataFrame | None = None,
    aircon: gpd.GeoDataFrame | None = None,
    candidates: pd.DataFrame | None = None,
    businesses: pd.DataFrame | None = None,
    edition: str = "public",
    privacy_k: int = 5,
    mesh_level: int = DEFAULT_MESH_LEVEL,
    title: str = "",
    scheme: str = "Quantiles",
    k: int = 5,
    simplify_m: float = DEFAULT_SIMPLIFY_M,
    tiles: str | None = "gsi_pale",
    self_contained: bool = True,
    m=None,
    tiles_attribution: str = "",
    prepared: tuple | None = None,
):
    """One interactive map of the whole program (forest, household solar, air conditioning).

    Parameters
    ----------
    stands : GeoDataFrame
        FO-001 results with the stand polygons, one row per stand and period
        (:func:`forestcarbon.outputs.layers.fo001_layer`; columns in
        :data:`~forestcarbon.outputs.map_data.STAND_COLUMNS`, optional ``name``),
        in a metric CRS (a geographic one is reprojected to its UTM zone for simplification).
    summary : DataFrame, optional
        :func:`forestcarbon.methods.totals.program_summary` rows, for the totals panel.
    solar : GeoDataFrame, optional
        Household PV results per site and period with the site points: site_id, capacity_kw [kW],
        reduction_tco2 [t-CO2]; optional self_consumed_kwh [kWh], eligible, reason.
    aircon : GeoDataFrame, optional
        Air-conditioning results per unit and period with the facility points: unit_id, facility,
        baseline_kwh, project_kwh [kWh], reduction_tco2 [t-CO2].
    candidates : DataFrame, optional
        Thinning candidates of ``forestcarbon plan candidates`` (stand_id, fiscal_year, species,
        age, thinning_area_ha [ha], added_tco2 [t-CO2], crediting_years, rule), outlined on the
        internal edition only.
    businesses : DataFrame, optional
        Buyers of the credit ledger (``users`` of :mod:`forestcarbon.officer.ledger_tables`):
        drawn as points with what they bought, retired and offset; the public edition shows only
        those marked public, and households are never drawn.
    edition : {"public", "internal"}
        ``public`` shows households only as mesh aggregates; ``internal`` adds each site,
        clustered, and marks the page as internal.
    privacy_k : int
        Fewest households a mesh cell may show (``[map] privacy_k``); smaller cells are merged into
        their parent cell up to 10 km, then suppressed.
    mesh_level : int
        JIS X 0410 level of the household cells: 3 (1 km, default), 4 (500 m) or 5 (250 m).
    title : str
        Shown at the top of the totals panel (the program name).
    scheme, k : str, int
        mapclassify scheme and number of classes of the net rate [t-CO2/ha/yr] (default
        ``Quantiles``, 5).
    simplify_m : float
        Simplification tolerance of stand boundaries [m] (shared boundaries stay shared).
    tiles : str or None
        ``gsi_pale`` (default), ``osm``, ``none``/None (no basemap, e.g. offline), or a
        ``{z}/{x}/{y}`` URL template.
    self_contained : bool
        Inline the vendored JavaScript and CSS so the page works without network (default; the
        basemap tiles still need their server: when they fail to load the page says so);
        False links the same versions on a CDN.
    m : folium.Map, optional
        Draw onto this map instead of a new one.
    prepared : tuple, optional
        ``(totals, (stand_data, bounds))`` of :func:`prepare_stands` for these ``stands``,
        ``simplify_m``, ``scheme`` and ``k`` (the editions of a run share it: computed once).

    Returns
    -------
    folium.Map

    Notes
    -----
    The net rate is the stand's net removals summed over the periods divided by its area
    (``area_ha``) and by the periods' length in years (days / 365.25).
    """
    if edition not in EDITIONS:
        raise ValueError(f"edition must be one of {', '.join(EDITIONS)}, got {edition!r}")
    folium, Helpers, Data, DataLayer, Panel, InlineAssets, MetricScale, BasemapNote = (
        _element_classes()
    )

    if prepared is None:
        prepared = prepare_stands(stands, simplify_m=simplify_m, scheme=scheme, k=k)
    totals, (stand_data, bounds) = prepared

    cells, hidden, sites = [], None, None
    if solar is not None and len(solar):
        sites = site_totals(solar)
        cells, hidden = mesh_cells(sites, level=mesh_level, privacy_k=privacy_k)
    # the view covers what the edition shows: never the households' own points in public
    boxes = [_bounds(totals), _bounds(aircon)]
    south, west, north, east = (MESH_FIELDS.index(f) for f in ("south", "west", "north", "east"))
    merged = MESH_FIELDS.index("merged")
    # merged (parent, up to 10 km) cells are drawn but do not widen the view: it stays on the
    # stands and the finer cells
    boxes += [(c[west], c[south], c[east], c[north]) for c in cells if not c[merged]]
    if all(b is None for b in boxes):
        boxes += [(c[west], c[south], c[east], c[north]) for c in cells]
    if edition == "internal":
        boxes.append(_bounds(sites))
    lat_min, lat_max, lon_min, lon_max = _extent(boxes)
    if m is None:
        m = folium.Map(
            location=[(lat_min + lat_max) / 2, (lon_min + lon_max) / 2],
            tiles=None,
            prefer_canvas=True,
            zoom_start=12,
        )
    m.add_child(MetricScale(), name="fc_scale")
    if tiles == "none":
        tiles = None
    if tiles and tiles not in TILES and not all(k in tiles for k in ("{z}", "{x}", "{y}")):
        raise InputError(
            Problem(
                "program.toml",
                "",
                "[map] tiles",
                f"must be one of {', '.join(t for t in TILES if t)}, none, or a {{z}}/{{x}}/{{y}} "
                f"URL template, got {tiles!r}",
            )
        )
    tile = TILES.get(tiles) if tiles in TILES else ((tiles, "") if tiles else None)
    if tile is not None and tile[0]:
        url, attr = tile
        attr = attr or tiles_attribution or (urlsplit(url).netloc or "custom tiles")
        folium.TileLayer(url, attr=attr, name="basemap", control=False, max_zoom=18).add_to(m)
    else:
        m.options["max_zoom"] = 18  # Leaflet (and marker clustering) needs a maximum zoom

    assets = ["leaflet", "leaflet_css"]
    m.add_child(Helpers(), name="fc_helpers")
    data = Data(stand_data)
    m.add_child(data)
    layers = set()
    for key in ("eligible", "ineligible"):
        if stand_data["rows"][key]:
            m.add_child(DataLayer(LAYER_NAMES[key], "stands", data, key))
            layers.add(key)

    if sites is not None:
        mesh = script_json(payload(MESH_FIELDS, cells))
        m.add_child(DataLayer(LAYER_NAMES["mesh"], "mesh", mesh, MESH_COLOR))
        layers.add("mesh")
        if edition == "internal":
            rows, reasons = site_rows(sites)
            points = script_json(payload(SITE_FIELDS, rows, reasons=reasons))
            m.add_child(DataLayer(LAYER_NAMES["sites"], "sites", points, "#fd8d3c"))
            assets += ["markercluster", "markercluster_css", "markercluster_default_css"]
    if aircon is not None and len(aircon):
        facilities = script_json(payload(FACILITY_FIELDS, facility_totals(aircon)))
        m.add_child(DataLayer(LAYER_NAMES["facilities"], "facilities", facilities, FACILITY_COLOR))
        layers.add("facilities")

    business = business_rows(businesses, edition=edition)
    if business:
        points = script_json(payload(BUSINESS_FIELDS, business))
        m.add_child(DataLayer(LAYER_NAMES["businesses"], "businesses", points, BUSINESS_COLOR))
        layers.add("businesses")

    if candidates is not None and len(candidates) and edition == "internal":
        m.add_child(
            DataLayer(LAYER_NAMES["candidates"], "candidates", data, candidate_rows(candidates))
        )
        layers.add("candidates")

    net_class = STAND_FIELDS.index("net_class")
    eligible_classes = [r[net_class] for r in stand_data["rows"]["eligible"]]
    m.add_child(
        Panel(
            "bottomleft",
            totals_html(
                summary,
                title=title or "J-クレジット J-Credit program",
                edition=edition,
                hidden=hidden,
                privacy_k=privacy_k,
                mesh_level=mesh_level,
            ),
        )
    )
    m.add_child(
        Panel(
            "bottomright",
            legend_html(
                bounds,
                stand_data["palette"],
                has_negative=any(c == -1 for c in eligible_classes),
                layers=layers,
                has_held=any(c == HELD_CLASS for c in eligible_classes),
            ),
        )
    )
    folium.LayerControl(collapsed=True).add_to(m)
    if tile is not None:
        m.add_child(BasemapNote(), name="fc_basemap_note")
    m.fit_bounds([[lat_min, lon_min], [lat_max, lon_max]])
    _attach_assets(m, assets, self_contained=self_contained, InlineAssets=InlineAssets)
    return m


def prepare_stands(stands, *, simplify_m: float = DEFAULT_SIMPLIFY_M, scheme="Quantiles", k=5):
    """Stand totals and their map data (TopoJSON, classes): the slow part of a map, shared by
    the editions (:func:`program_map` ``prepared=``)."""
    totals = stand_totals(stands)
    return totals, stands_data(totals, simplify_m=simplify_m, scheme=scheme, k=k)


def _bounds(gdf: gpd.GeoDataFrame | None) -> tuple | None:
    """West, south, east, north [degrees] of a layer, or None."""
    if gdf is None or not len(gdf):
        return None
    return tuple(float(v) for v in gdf.to_crs("EPSG:4326").total_bounds)


def _extent(boxes: list) -> tuple[float, float, float, float]:
    """South, north, west, east [degrees] of (west, south, east, north) boxes."""
    b = np.array([box for box in boxes if box is not None], dtype=float)
    return (
        round(float(b[:, 1].min()), 5),
        round(float(b[:, 3].max()), 5),
        round(float(b[:, 0].min()), 5),
        round(float(b[:, 2].max()), 5),
    )


def map_html(m) -> bytes:
    """The page of a map as UTF-8 bytes; the same map gives the same bytes."""
    root = m.get_root()
    _stable_ids(root)
    return root.render().encode("utf-8")


# --- a run's maps ---------------------------------------------------------------------------------


def map_name(program_dir: str | Path) -> str:
    """File stem of a program's maps: its folder name, lower-cased, other than ``[a-z0-9._-]``
    replaced by ``-`` (``data/tsuyama-sample`` -> ``tsuyama-sample``); ``program`` if empty."""
    stem = re.sub(r"[^a-z0-9._-]+", "-", Path(program_dir).resolve().name.lower()).strip("-.")
    return stem or "program"


def result_map(
    result,
    *,
    edition: str = "public",
    self_contained: bool | None = None,
    tiles: str | None = None,
    layer: gpd.GeoDataFrame | None = None,
    prepared: tuple | None = None,
):
    """The map of a run (:class:`forestcarbon.run.RunResult`) as a ``folium.Map``.

    Parameters
    ----------
    edition : {"public", "internal"}
        ``public`` aggregates households to mesh cells of at least ``[map] privacy_k``;
        ``internal`` shows every site and the latest thinning candidates.
    self_contained, tiles
        Default to the program's ``[map]`` settings (see :func:`program_map`).
    layer, prepared
        :func:`stand_layer` of the run and its :func:`prepare_stands` (computed when not given).
    """
    inputs = result.inputs
    settings = inputs.settings.map
    if layer is None:
        layer = stand_layer(result)
    solar, aircon = energy_layers(result)
    credits = getattr(result, "credits", None)
    return program_map(
        layer,
        result.summary,
        solar=solar,
        aircon=aircon,
        candidates=latest_candidates(inputs.program_dir),
        businesses=None if credits is None else credits["users"],
        edition=edition,
        privacy_k=settings.privacy_k,
        mesh_level=settings.mesh_level,
        title=inputs.settings.program.name,
        tiles=tiles if tiles is not None else settings.tiles,
        self_contained=settings.self_contained if self_contained is None else self_contained,
        tiles_attribution=settings.tiles_attribution,
        prepared=prepared,
    )


def stand_layer(result) -> gpd.GeoDataFrame:
    """The stands of a run for the map: :func:`fo001_layer` with the register's stand names."""
    layer = fo001_layer(result)
    names = result.inputs.stands.drop_duplicates("stand_id").set_index("stand_id")["name"]
    layer["name"] = names.reindex(layer["stand_id"]).fillna("").to_numpy()
    return layer


def map_files(result, *, self_contained: bool | None = None, tiles: str | None = None) -> dict:
    """``maps/<name>.html`` (public) and ``maps/<name>_internal.html`` of a run, as bytes.

    ``<name>`` is :func:`map_name` of the program folder. ``self_contained`` and ``tiles`` default
    to the program's ``[map]`` settings.
    """
    name = map_name(result.inputs.program_dir)
    layer = stand_layer(result)
    prepared = prepare_stands(layer)  # the editions share the stands' topology and classes
    return {
        f"maps/{name}{suffix}.html": map_html(
            result_map(
                result,
                edition=edition,
                self_contained=self_contained,
                tiles=tiles,
                layer=layer,
                prepared=prepared,
            )
        )
        for edition, suffix in (("public", ""), ("internal", "_internal"))
    }


def energy_layers(result) -> tuple[gpd.GeoDataFrame | None, gpd.GeoDataFrame | None]:
    """Solar and air-conditioning results with their points (``EnergyResult``), if computed."""
    energy = getattr(result, "energy", None)
    if energy is None:
        return None, None
    return energy.solar, energy.aircon
