// The program map in the browser: builds each overlay from the data forestcarbon.outputs.map
// writes into the page, and its popups and tooltips when they open. Inlined in every map page
// (with map.css); Leaflet is the global L.
//
// Every table comes with its field list ({fields: [...], rows: [...]}, see
// forestcarbon.outputs.map_data.payload) and rows are read by name through an index built once
// per table: F forest stands, T thinning candidates, M mesh cells, A air-conditioned facilities,
// H household sites, B businesses using the credits (r[F.net_tco2], never r[8]). tests/outputs/test_map.py checks that every
// name read here is in the field list Python sends.
/* exported fc */
var fc = (function () {
  const E = s => String(s == null ? '' : s).replace(/[&<>"']/g,
    c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'})[c]);
  const N = (x, d) => x == null ? '–' : Number(x).toLocaleString('en-US',
    {minimumFractionDigits: d, maximumFractionDigits: d});
  const table = (title, rows, note) => '<div class="fc-pop"><b>' + E(title) + '</b><table>' +
    rows.map(r => '<tr><th>' + E(r[0]) + '</th><td>' + E(r[1]) + '</td></tr>').join('') +
    '</table>' + (note ? '<div class="fc-reason">' + E(note) + '</div>' : '') + '</div>';
  const popOpts = {maxWidth: 280, autoPanPadding: [10, 10]};
  // #blocks=12,13 or #mesh=51340000,... in the page address (links from the sticker look-up
  // page): those forest blocks (林班) or mesh cells are outlined and the map zooms to them
  const focus = (() => {
    const q = new URLSearchParams(window.location.hash.slice(1));
    const list = k => new Set((q.get(k) || '').split(',').filter(Boolean));
    return {blocks: list('blocks'), mesh: list('mesh')};
  })();
  const FOCUS = {color: '#ffd700', weight: 3.5, opacity: 1};
  function zoomTo(map, shapes) {
    if (!shapes.length) return;
    const bounds = L.latLngBounds([]);
    shapes.forEach(s => bounds.extend(s.getBounds()));
    setTimeout(() => map.fitBounds(bounds, {maxZoom: 15}), 0);  // after the page's own view
  }
  // field name -> position in a row
  const fieldIndex = fields => Object.freeze(Object.fromEntries(fields.map((f, i) => [f, i])));
  // the stands' index, shared (like their decoded arcs) by the stand layers and the candidates
  const standIndex = d => d.F || (d.F = fieldIndex(d.fields));

  function standPopup(r, d) {
    const F = standIndex(d);
    const rows = [
      ['樹種 Species', d.species[r[F.species]]],
      ['林齢 Age [yr]', r[F.age_end]],
      ['面積 Area [ha]', N(r[F.area_ha], 2)],
      ['対象面積 Counted [ha]', N(r[F.eligible_area_ha], 2)],
      ['吸収量 Removals [t-CO2]', N(r[F.removals_tco2], 2)],
      ['排出量 Emissions [t-CO2]', N(r[F.emissions_tco2], 2)],
      ['純吸収量 Net [t-CO2]', N(r[F.net_tco2], 2)],
      ['純吸収量 Net [t-CO2/ha/yr]', N(r[F.net_tco2_ha_yr], 2)],
    ];
    if (r[F.held_tco2] > 0) rows.push(['保留 Held, not credited [t-CO2]', N(r[F.held_tco2], 2)]);
    const title = '小班 Stand ' + r[F.stand_id] + (r[F.name] ? ' ' + r[F.name] : '');
    const note = r[F.net_class] === d.held_class
      ? '保留（要確認） Held — awaiting review: canopy far below the yield table; not credited until '
        + 'the officer records the harvest or a review'
      : r[F.reason] < 0 ? '対象 Eligible (FO-001)' : '対象外 Ineligible: ' + d.reasons[r[F.reason]];
    return table(title, rows, note);
  }

  // TopoJSON decoded straight to Leaflet LatLngs: each shared arc once, its LatLng objects
  // shared by the neighbouring stands (fewer allocations than GeoJSON, so a faster first render)
  function decodeArcs(topo) {
    const s = topo.transform.scale, t = topo.transform.translate;
    return topo.arcs.map(arc => {
      let x = 0, y = 0;
      return arc.map(p => {
        x += p[0];
        y += p[1];
        return L.latLng(y * s[1] + t[1], x * s[0] + t[0]);
      });
    });
  }

  function ring(indices, arcs) {
    const out = [];
    indices.forEach(i => {
      const a = i < 0 ? arcs[~i].slice().reverse() : arcs[i];
      for (let k = out.length ? 1 : 0; k < a.length; k++) out.push(a[k]);
    });
    return out;
  }

  function shape(g, arcs) {
    return g.type === 'Polygon' ? g.arcs.map(r => ring(r, arcs))
                                : g.arcs.map(p => p.map(r => ring(r, arcs)));
  }

  function stands(map, d, key) {
    const rows = d.rows[key];
    const arcs = d.arcs || (d.arcs = decodeArcs(d.topo));
    const F = standIndex(d);
    const style = key === 'eligible'
      ? f => { const c = f.properties.row[F.net_class];
               return {color: '#4d4d4d', weight: 0.6, fillOpacity: 0.75,
                       fillColor: c === d.held_class ? d.held : c < 0 ? d.negative : d.palette[c]}; }
      : () => ({color: '#616161', weight: 0.8, dashArray: '3 3', fillOpacity: 0.35,
                fillColor: d.ineligible});
    const layer = L.featureGroup();
    const focused = [];
    d.topo.objects[key].geometries.forEach((g, i) => {
      const feature = {properties: {kind: 'stand', row: rows[i]}};
      const polygon = L.polygon(shape(g, arcs), style(feature));
      polygon.feature = feature;
      if (focus.blocks.has(String(rows[i][F.stand_id]).split('-')[0])) {
        polygon.setStyle(FOCUS);
        focused.push(polygon);
      }
      layer.addLayer(polygon);
    });
    zoomTo(map, focused);
    layer.bindPopup(l => standPopup(l.feature.properties.row, d), popOpts);
    layer.bindTooltip(l => {
      const r = l.feature.properties.row;
      if (r[F.net_class] === d.held_class) return E(r[F.stand_id]) + ' · 保留（要確認） held — awaiting review';
      return E(r[F.stand_id]) + (r[F.reason] < 0 ? ' · ' + N(r[F.net_tco2_ha_yr], 2) + ' t-CO2/ha/yr'
                                                 : ' · 対象外 ineligible');
    }, {sticky: true});
    return layer;
  }

  // thinning candidates: outlines of the stands listed in c.rows (stand id -> row)
  function candidates(map, d, c) {
    const arcs = d.arcs || (d.arcs = decodeArcs(d.topo));
    const F = standIndex(d), T = fieldIndex(c.fields);
    const layer = L.featureGroup();
    ['eligible', 'ineligible'].forEach(key => {
      (d.topo.objects[key] ? d.topo.objects[key].geometries : []).forEach((g, i) => {
        const r = c.rows[d.rows[key][i][F.stand_id]];
        if (!r) return;
        L.polygon(shape(g, arcs), {color: c.color, weight: 2.5, fill: false})
          .bindPopup(() => table('間伐候補 Thinning candidate FY' + c.fy + ': ' + r[T.stand_id], [
            ['樹種 Species', r[T.species]],
            ['林齢 Age [yr]', r[T.age]],
            ['間伐面積 Thinning area [ha]', N(r[T.thinning_area_ha], 2)],
            ['追加クレジット Added [t-CO2]', N(r[T.added_tco2], 1)],
            ['期間 Crediting years', r[T.crediting_years]]], r[T.rule]), popOpts)
          .bindTooltip(E('間伐候補 candidate ' + r[T.stand_id]))
          .addTo(layer);
      });
    });
    return layer;
  }

  // household solar per mesh cell; a merged (parent) cell, drawn underneath the finer cells,
  // counts only the households of its finer cells that are not shown themselves: a coarse area
  // (up to 10 km), so a faint fill and a thin, half-transparent dashed outline that never
  // outweigh the finer cells (MERGED_STYLE)
  const MERGED_STYLE = {weight: 1, opacity: 0.45, fillOpacity: 0.05, dashArray: '2 5'};
  function mesh(map, cells, color) {
    const M = fieldIndex(cells.fields);
    const layer = L.featureGroup();
    const focused = [];
    cells.rows.forEach(c => {
      const merged = c[M.merged] === 1;
      const hit = focus.mesh.has(String(c[M.meshcode]));
      const cell = L.rectangle([[c[M.south], c[M.west]], [c[M.north], c[M.east]]],
        Object.assign({color: color, weight: 1, fillColor: color, fillOpacity: 0.25, cells: c},
                      merged ? MERGED_STYLE : {}, hit ? FOCUS : {}));
      if (hit) focused.push(cell);
      cell
        .bindPopup(() => table('地域メッシュ Mesh cell ' + c[M.meshcode] + ' (' + c[M.size] + ')', [
          ['世帯数 Households', N(c[M.households], 0)],
          ['設備容量 Capacity [kW]', N(c[M.capacity_kw], 1)],
          ['削減量 Reduction [t-CO2]', N(c[M.reduction_tco2], 2)]],
        merged ? '細かいメッシュに表示されていない世帯の合計 · households not shown in a finer cell'
               : ''), popOpts)
        .addTo(layer);
    });
    zoomTo(map, focused);
    return layer;
  }

  function facilities(map, d, color) {
    const A = fieldIndex(d.fields);
    const layer = L.featureGroup();
    d.rows.forEach(r => {
      L.circleMarker([r[A.lat], r[A.lon]], {radius: 7, color: '#fff', weight: 1.5,
                                             fillColor: color, fillOpacity: 0.95})
        .bindPopup(() => table('施設 Facility: ' + r[A.facility], [
          ['空調機 Units', r[A.units]],
          ['ベースライン Baseline [kWh]', N(r[A.baseline_kwh], 0)],
          ['実績 Project [kWh]', N(r[A.project_kwh], 0)],
          ['削減量 Reduction [t-CO2]', N(r[A.reduction_tco2], 3)]]), popOpts)
        .bindTooltip(E(r[A.facility]))
        .addTo(layer);
    });
    return layer;
  }

  // businesses that bought or retired the credits (public ones only on the public edition)
  function businesses(map, d, color) {
    const B = fieldIndex(d.fields);
    const layer = L.featureGroup();
    d.rows.forEach(r => {
      L.circleMarker([r[B.lat], r[B.lon]], {radius: 7, color: '#fff', weight: 1.5,
                                             fillColor: color, fillOpacity: 0.95})
        .bindPopup(() => table('クレジット活用 Credit user: ' + r[B.name], [
          ['購入 Bought [t-CO2]', N(r[B.bought_t], 0)],
          ['無効化 Offset [t-CO2]', N(r[B.retired_t], 0)],
          ['認証シール Stickers', N(r[B.stickers], 0)]],
        r[B.purposes] ? '用途 Offsets: ' + r[B.purposes] : ''), popOpts)
        .bindTooltip(E(r[B.name]))
        .addTo(layer);
    });
    return layer;
  }

  function sites(map, d, color) {
    const H = fieldIndex(d.fields);
    const layer = L.markerClusterGroup({chunkedLoading: true, maxClusterRadius: 50});
    layer.addLayers(d.rows.map(r => L.circleMarker([r[H.lat], r[H.lon]],
        {radius: 5, color: '#fff', weight: 1, fillColor: color, fillOpacity: 0.9})
      .bindPopup(() => table('太陽光 Solar site ' + r[H.site_id], [
          ['設備容量 Capacity [kW]', N(r[H.capacity_kw], 2)],
          ['自家消費 Self-consumed [kWh]', N(r[H.self_consumed_kwh], 0)],
          ['削減量 Reduction [t-CO2]', N(r[H.reduction_tco2], 4)]],
        (r[H.eligible] ? '対象 Eligible' : '対象外 Ineligible') +
          (d.reasons[r[H.reason]] ? ': ' + d.reasons[r[H.reason]] : '')),
        popOpts)));
    return layer;
  }

  // a small visible note, once, when basemap tiles cannot load (offline, closed intranet): the
  // layers, panels and popups work without them
  function basemapNote(map, text) {
    let shown = false;
    map.eachLayer(l => {
      if (!(l instanceof L.TileLayer)) return;
      l.on('tileerror', () => {
        if (shown) return;
        shown = true;
        const note = L.control({position: 'topleft'});
        note.onAdd = () => {
          const div = L.DomUtil.create('div', 'fc-panel fc-basemap-note');
          div.setAttribute('role', 'status');
          div.textContent = text;
          return div;
        };
        note.addTo(map);
      });
    });
  }

  // a panel of HTML made in Python; on a narrow screen (a phone) panels start folded and all go
  // to the bottom-left corner, where Leaflet stacks them, so the legend never covers the totals
  function panel(map, position, html) {
    const narrow = window.matchMedia('(max-width: 600px)').matches;
    const control = L.control({position: narrow ? 'bottomleft' : position});
    control.onAdd = () => {
      const div = L.DomUtil.create('div', 'fc-panel');
      div.innerHTML = html;
      if (narrow) {
        div.querySelectorAll('details').forEach(x => { x.open = false; });
      }
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    };
    return control.addTo(map);
  }

  return {stands: stands, mesh: mesh, facilities: facilities, sites: sites, panel: panel,
          candidates: candidates, basemapNote: basemapNote, businesses: businesses};
})();
