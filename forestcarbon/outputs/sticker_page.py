"""The sticker look-up page (認証シール検索): one static HTML file written beside the public map.

A citizen types the number on a certification sticker and sees where its tonne came from: who
retired it and for what (the holder's name only when it is a business marked public), the date,
the methodology and monitoring period, and the places the period's credits were earned — forest
blocks (林班) for FO-001, public mesh cells (at least ``privacy_k`` households) for EN-R-002,
facilities for EN-S-004 — with a link into the map (``<map>.html#blocks=…`` / ``#mesh=…``, which
outlines them and zooms there).

The page works offline (no external file, no server). Stickers are kept as serial ranges, so the
page's size grows with the number of ranges, not of stickers: each range is a few numbers in
column arrays, and a binary search over the sorted first serials finds a sticker among ten million
in well under a millisecond. Data reach the page only as JSON (``<``, ``>``, ``&`` escaped) and
are written into it with ``textContent``, never as HTML.
"""

from __future__ import annotations

import html

import pandas as pd

from forestcarbon.outputs.map import METHODOLOGY_LABELS, script_json
from forestcarbon.outputs.map_data import mesh_cells, site_totals

STICKER_PAGE_SUFFIX = "_stickers.html"
NOT_PUBLIC = "非公開 not public"


def _blocks(fo001: pd.DataFrame, period: str) -> list[str]:
    rows = fo001[(fo001["period"] == period) & fo001["eligible"] & (fo001["net_tco2"] > 0)]
    blocks = {str(s).split("-")[0] for s in rows["stand_id"]}
    return sorted(blocks, key=lambda b: (len(b), b))


def sticker_places(result) -> dict[tuple[str, str], tuple[str, list[str]]]:
    """Where each methodology and period earned its credits, as the page shows them:
    ``(methodology, period) -> (kind, items)`` with kind ``blocks`` (林班 of eligible stands with
    net removals), ``mesh`` (public mesh cells of sites with reductions) or ``facilities``."""
    settings = result.inputs.settings
    out = {}
    for period in (p.label for p in settings.periods):
        out[("FO-001", period)] = ("blocks", _blocks(result.fo001, period))
        energy = result.energy
        if energy is not None and energy.solar is not None and len(energy.solar):
            solar = energy.solar[energy.solar["period"] == period]
            if "eligible" in solar.columns:
                solar = solar[solar["eligible"].astype(bool)]
            solar = solar[solar["reduction_tco2"] > 0]
            cells = []
            if len(solar):
                cells, _ = mesh_cells(
                    site_totals(solar),
                    level=settings.map.mesh_level,
                    privacy_k=settings.map.privacy_k,
                )
            out[("EN-R-002", period)] = ("mesh", [str(c[4]) for c in cells])
        if energy is not None and energy.aircon is not None and len(energy.aircon):
            aircon = energy.aircon[energy.aircon["period"] == period]
            names = sorted(set(aircon.loc[aircon["reduction_tco2"] > 0, "facility"].astype(str)))
            out[("EN-S-004", period)] = ("facilities", names)
    return out


def sticker_data(stickers: pd.DataFrame, users: pd.DataFrame | None, places: dict) -> dict:
    """The page's JSON: column arrays of the ranges sorted by first serial (``g`` gap before the
    range: first serial - last serial of the range before - 1, usually 0 as serials run on; ``n``
    count; ``v`` vintage, ``h`` holder, ``p`` purpose, ``d`` date: indices into the lookup lists
    of the same letters in capitals)."""
    public = set()
    if users is not None and len(users):
        public = set(users.loc[(users["kind"] == "business") & users["public"], "name"])
    table = stickers.sort_values("serial_first")
    lookups: dict[str, dict] = {k: {} for k in "VHPD"}

    def index(kind: str, value) -> int:
        return lookups[kind].setdefault(value, len(lookups[kind]))

    columns: dict[str, list] = {k: [] for k in "gnvhpd"}
    last = 0
    for r in table.itertuples(index=False):
        columns["g"].append(int(r.serial_first) - last - 1)
        last = int(r.serial_last)
        columns["n"].append(int(r.serial_last - r.serial_first + 1))
        columns["v"].append(index("V", (r.methodology, r.period)))
        columns["h"].append(index("H", r.holder if r.holder in public else NOT_PUBLIC))
        columns["p"].append(index("P", r.purpose))
        columns["d"].append(index("D", r.date))
    vintages = []
    for m, p in lookups["V"]:
        kind, items = places.get((m, p), ("", []))
        vintages.append([m, METHODOLOGY_LABELS.get(m, m), p, kind, items])
    return {
        **columns,
        "V": vintages,
        "H": list(lookups["H"]),
        "P": list(lookups["P"]),
        "D": list(lookups["D"]),
        "width": max(7, len(str(last))),
    }


PAGE = """<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>認証シール検索 Sticker look-up — {title}</title>
<style>
body{{font-family:system-ui,"Noto Sans CJK JP",sans-serif;margin:0 auto;max-width:40rem;
padding:1rem;line-height:1.5;color:#222}}
h1{{font-size:1.3rem}} input{{font-size:1.4rem;width:12rem;padding:.3rem}}
table{{border-collapse:collapse;margin-top:1rem}} th{{text-align:left;padding-right:1rem;
vertical-align:top;font-weight:600}} .miss{{color:#b00}} .note{{font-size:.85rem;color:#555}}
</style></head><body>
<h1>認証シール検索 · Sticker look-up</h1>
<p>{title}</p>
<label for="serial">シール番号 Sticker number</label><br>
<input id="serial" inputmode="numeric" autocomplete="off" placeholder="0012345">
<div id="result" aria-live="polite"></div>
<p class="note">{n_ranges:,} ranges, {n_stickers:,} stickers. J-クレジット認証シールの番号から、
そのクレジットが生まれた方法論・期間・場所を表示します。Shows the methodology, period and
places of the credit behind a certification sticker. <a href="{map_file}">地図 Map</a></p>
<script>
const D = JSON.parse({data});
D.f = [];  // first serials from the gaps
D.g.reduce((end, gap, i) => {{ D.f.push(end + gap + 1); return D.f[i] + D.n[i] - 1; }}, 0);
const KIND = {{blocks: ['林班 Forest blocks', 'blocks'], mesh: ['メッシュ Mesh cells', 'mesh'],
  facilities: ['施設 Facilities', '']}};
function find(serial) {{
  let lo = 0, hi = D.f.length - 1, at = -1;
  while (lo <= hi) {{
    const mid = (lo + hi) >> 1;
    if (D.f[mid] <= serial) {{ at = mid; lo = mid + 1; }} else hi = mid - 1;
  }}
  return at >= 0 && serial < D.f[at] + D.n[at] ? at : -1;
}}
function row(table, head, value, href) {{
  const tr = table.insertRow(), th = document.createElement('th'), td = tr.insertCell();
  th.textContent = head;
  tr.prepend(th);
  if (href) {{
    const a = document.createElement('a');
    a.href = href;
    a.textContent = value;
    td.append(a);
  }} else td.textContent = value;
}}
function show(text) {{
  const t0 = performance.now();
  const out = document.getElementById('result');
  out.replaceChildren();
  const digits = text.replace(/[^0-9０-９]/g, '').replace(/[０-９]/g,
    c => String.fromCharCode(c.charCodeAt(0) - 0xFEE0));
  if (digits) {{
    const serial = Number(digits), at = find(serial);
    const label = 'No. ' + String(serial).padStart(D.width, '0');
    if (at < 0) {{
      const p = document.createElement('p');
      p.className = 'miss';
      p.textContent = label + ': 見つかりません Not found';
      out.append(p);
    }} else {{
      const v = D.V[D.v[at]], table = document.createElement('table');
      const first = String(D.f[at]).padStart(D.width, '0');
      const last = String(D.f[at] + D.n[at] - 1).padStart(D.width, '0');
      row(table, 'シール Sticker', label + ' (' + first + '–' + last + ')');
      row(table, '方法論 Methodology', v[1]);
      row(table, '期間 Period', v[2]);
      row(table, '無効化 Retired by', D.H[D.h[at]]);
      row(table, '用途 Purpose', D.P[D.p[at]]);
      row(table, '日付 Date', D.D[D.d[at]]);
      const kind = KIND[v[3]];
      if (kind) {{
        const items = v[4].join(', ') || '–';
        const href = kind[1] && v[4].length ? D.map + '#' + kind[1] + '=' + v[4].join(',') : '';
        row(table, kind[0], items, href);
      }}
      out.append(table);
    }}
  }}
  window.fcLookupMs = performance.now() - t0;
  window.fcLookups = (window.fcLookups || 0) + 1;
}}
const input = document.getElementById('serial');
input.addEventListener('input', () => show(input.value));
const q = new URLSearchParams(location.search).get('serial');
if (q) {{ input.value = q; show(q); }}
</script>
</body></html>
"""


def sticker_page(data: dict, *, map_file: str, title: str) -> bytes:
    """The look-up page (UTF-8 bytes) for :func:`sticker_data`; ``map_file`` is the public map's
    file name (linked, in the same folder)."""
    payload = dict(data, map=map_file)
    return PAGE.format(
        title=html.escape(title),
        map_file=html.escape(map_file),
        n_ranges=len(data["n"]),
        n_stickers=sum(data["n"]),
        data=script_json(script_json(payload)),
    ).encode("utf-8")


def sticker_page_files(result, map_name: str) -> dict[str, bytes]:
    """``maps/<name>_stickers.html`` when the run's credit ledger has stickers (else nothing)."""
    credits = getattr(result, "credits", None)
    if credits is None or credits["stickers"].empty:
        return {}
    data = sticker_data(credits["stickers"], credits["users"], sticker_places(result))
    page = sticker_page(
        data, map_file=f"{map_name}.html", title=result.inputs.settings.program.name
    )
    return {f"maps/{map_name}{STICKER_PAGE_SUFFIX}": page}
