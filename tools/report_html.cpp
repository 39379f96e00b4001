#include "report_html.hpp"

#include <cstdio>

#include "tdsdiag/diagnosis.hpp"
#include "tdsdiag/model.hpp"

namespace tdsdiag {

std::string html_escape(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    for (const char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (size_t i = 0; i < s.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        char u[8];
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            std::snprintf(u, sizeof u, "\\u%04x", c);
            out += u;
        } else if (c == 0xe2 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
                   (static_cast<unsigned char>(s[i + 2]) == 0xa8 || static_cast<unsigned char>(s[i + 2]) == 0xa9)) {
            out += static_cast<unsigned char>(s[i + 2]) == 0xa8 ? "\\u2028" : "\\u2029";
            i += 2;
        } else {
            out += static_cast<char>(c);  // other bytes as they are: the page is UTF-8
        }
    }
    return out + "\"";
}

namespace {

const char* const kStyle = R"CSS(
body { font: 14px/1.4 system-ui, sans-serif; margin: 1em 2em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; } h3 { font-size: 1em; margin: 1em 0 .2em; } .in-name { margin-left: 2em; }
table { border-collapse: collapse; } th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; } td.n { text-align: right; }
#connections th { cursor: pointer; user-select: none; } #connections th[aria-sort=ascending]::after { content: " \25B2"; }
#connections th[aria-sort=descending]::after { content: " \25BC"; }
code { font: 12px monospace; background: #f6f6f6; padding: 0 2px; }
.legend > span { display: inline-block; margin-right: 1em; } .legend .swatch { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -1px; }
svg text { font: 11px sans-serif; fill: #444; } .note { color: #666; } .bad { color: #a00; }
)CSS";

// Builds the page from the JSON in #tdsdiag-data; everything from the tables goes in as text
// (textContent, setAttribute), never as markup.
const char* const kScript = R"JS(
'use strict';
(function () {
  const data = JSON.parse(document.getElementById('tdsdiag-data').textContent);
  const rows = data.rows;
  const el = (tag, attrs, text) => {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = String(text);
    return e;
  };
  const svgEl = (tag, attrs) => {
    const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  };
  const failed = r => r.outcome === 'failed' || r.outcome === 'login_failed';
  const main = document.getElementById('main');
  const section = (id, title) => { const s = el('section', {id: id}); s.appendChild(el('h2', {}, title)); main.appendChild(s); return s; };

  // ---- time of each connection: its UTC start where the table has it, else seconds into its capture
  const absolute = rows.length > 0 && rows.every(r => r.start_time && !isNaN(Date.parse(r.start_time)));
  const when = r => absolute ? Date.parse(r.start_time) / 1000 : r.start_s;
  const nice = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
  let lo = Infinity, hi = -Infinity;
  for (const r of rows) { lo = Math.min(lo, when(r)); hi = Math.max(hi, when(r)); }
  let interval = nice[nice.length - 1];
  for (const n of nice) if ((hi - lo) / n < 60) { interval = n; break; }
  while ((hi - lo) / interval >= 60) interval *= 2;  // spans of months: days doubled
  const first = rows.length ? Math.floor(lo / interval) * interval : 0;
  const bins = rows.length ? Math.floor((hi - first) / interval) + 1 : 0;
  const binOf = r => Math.floor((when(r) - first) / interval);
  const label = (s) => absolute ? new Date(s * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z')
                                : (s.toFixed(0) + ' s');
  const human = n => n % 86400 === 0 ? (n / 86400) + ' d' : n % 3600 === 0 ? (n / 3600) + ' h'
                   : n % 60 === 0 ? (n / 60) + ' min' : n + ' s';

  // ---- colours: one per diagnosis, in order of frequency
  const codeCount = {};
  for (const r of rows) for (const d of r.diagnoses) codeCount[d] = (codeCount[d] || 0) + 1;
  const palette = ['#d62728', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#bcbd22', '#17becf', '#1f77b4',
                   '#7f7f7f', '#aec7e8', '#ffbb78', '#98df8a', '#ff9896', '#c5b0d5', '#c49c94', '#f7b6d2'];
  const codes = Object.keys(codeCount).sort((a, b) => codeCount[b] - codeCount[a] || (a < b ? -1 : 1));
  const colour = {};
  codes.forEach((c, i) => { colour[c] = palette[i % palette.length]; });
  const okColour = '#8fbc8f', failNoDiag = '#444444';
  // the kind of a connection's bar: "ok", a failed connection's most severe diagnosis (the first of
  // equal ones), or "failed" for one without any
  const sev = d => data.severity[d] === undefined ? -1 : data.severity[d];
  const kindOf = r => !failed(r) ? 'ok' : r.diagnoses.length === 0 ? 'failed'
                    : r.diagnoses.reduce((a, d) => sev(d) > sev(a) ? d : a);
  const colourOf = k => k === 'ok' ? okColour : k === 'failed' ? failNoDiag : colour[k];

  // ---- overview
  const ov = section('overview', 'Overview');
  const nFailed = rows.filter(failed).length;
  const p = el('p');
  p.appendChild(el('span', {id: 'total-connections'}, rows.length));
  p.appendChild(document.createTextNode(' connection(s), '));
  p.appendChild(el('span', {id: 'total-failed'}, nFailed));
  p.appendChild(document.createTextNode(' failed, in ' + data.tables.filter(t => !t.error).length + ' table(s)' +
      (rows.length ? '; bars of ' + human(interval) + ' from ' + label(first) : '') + '.'));
  ov.appendChild(p);
  if (!absolute && rows.length)
    ov.appendChild(el('p', {class: 'note'}, 'These tables have no start_time column: times are seconds since the start of each capture.'));
  for (const t of data.tables) if (t.error) ov.appendChild(el('p', {class: 'bad unread'}, 'Not read: ' + t.name + ': ' + t.error));

  // ---- per server: connections over time
  const sv = section('servers', 'Connections over time, per server');
  const legend = el('p', {class: 'legend'});
  for (const k of ['ok', ...codes, 'failed']) {
    if (k !== 'ok' && !rows.some(r => failed(r) && kindOf(r) === k)) continue;
    const s = el('span');
    const i = el('span', {class: 'swatch'}); i.style.background = colourOf(k);
    s.appendChild(i);
    s.appendChild(document.createTextNode(k === 'ok' ? 'not failed' : k === 'failed' ? 'failed, no diagnosis' : 'failed: ' + k));
    legend.appendChild(s);
  }
  if (rows.length) sv.appendChild(legend); else sv.appendChild(el('p', {}, 'No connections.'));
  // the servers of the rows with a DNS name (the name the client looked up) grouped under it, after
  // the servers of the rows without one; an abandoned parallel attempt is counted apart, not failed
  const groups = {};  // DNS name ('' for none) -> server -> rows
  for (const r of rows) {
    const g = groups[r.dns_name || ''] = groups[r.dns_name || ''] || {};
    (g[r.server] = g[r.server] || []).push(r);
  }
  const abandoned = list => list.filter(r => r.outcome === 'abandoned').length;
  const order = ['ok', ...codes, 'failed'];
  for (const dns of Object.keys(groups).sort()) {
    const servers = groups[dns];
    if (dns) {
      const all = [].concat(...Object.values(servers));
      const n = abandoned(all);
      sv.appendChild(el('h3', {class: 'dns-name', 'data-name': dns}, dns + ' (DNS name, ' + Object.keys(servers).length +
                           ' address(es)): ' + all.length + ' connection(s), ' + all.filter(failed).length + ' failed' +
                           (n ? ', ' + n + ' abandoned' : '')));
    }
    for (const name of Object.keys(servers).sort()) {
      const list = servers[name];
      const div = el('div', dns ? {class: 'server in-name', 'data-server': name, 'data-name': dns}
                                : {class: 'server', 'data-server': name});
      const h = el('h3', {}, name + ': ');
      h.appendChild(el('span', {class: 'server-connections'}, list.length));
      h.appendChild(document.createTextNode(' connection(s), '));
      h.appendChild(el('span', {class: 'server-failed'}, list.filter(failed).length));
      h.appendChild(document.createTextNode(' failed' + (abandoned(list) ? ', ' + abandoned(list) + ' abandoned' : '')));
      div.appendChild(h);
      const counts = [];  // per bin: kind -> connections
      for (let b = 0; b < bins; ++b) counts.push({});
      for (const r of list) { const c = counts[binOf(r)], k = kindOf(r); c[k] = (c[k] || 0) + 1; }
      let peak = 1;
      for (const c of counts) peak = Math.max(peak, Object.values(c).reduce((a, b) => a + b, 0));
      const W = 900, H = 140, left = 40, bottom = 20, bw = (W - left) / bins;
      const svg = svgEl('svg', {width: W, height: H + bottom, role: 'img'});
      svg.appendChild(svgEl('line', {x1: left, y1: H, x2: W, y2: H, stroke: '#999'}));
      const top = svgEl('text', {x: 2, y: 12}); top.textContent = peak; svg.appendChild(top);
      const t0 = svgEl('text', {x: left, y: H + 14}); t0.textContent = label(first); svg.appendChild(t0);
      const t1 = svgEl('text', {x: W, y: H + 14, 'text-anchor': 'end'}); t1.textContent = label(first + bins * interval); svg.appendChild(t1);
      counts.forEach((c, b) => {
        let y = H;
        for (const k of order) {
          if (!c[k]) continue;
          const hgt = c[k] / peak * (H - 16);
          y -= hgt;
          const rect = svgEl('rect', {x: left + b * bw + 0.5, y: y, width: Math.max(bw - 1, 1), height: hgt, fill: colourOf(k),
                                      class: 'bar', 'data-kind': k, 'data-count': c[k], 'data-bin': b});
          const tip = svgEl('title', {});
          tip.textContent = label(first + b * interval) + ' + ' + human(interval) + ': ' + c[k] + ' ' +
                            (k === 'ok' ? 'not failed' : k === 'failed' ? 'failed, no diagnosis' : 'failed: ' + k);
          rect.appendChild(tip);
          svg.appendChild(rect);
        }
      });
      div.appendChild(svg);
      sv.appendChild(div);
    }
  }

  // ---- outcomes and diagnoses
  const countTable = (id, head, entries) => {
    const t = el('table', {id: id});
    const tr = el('tr'); for (const x of head) tr.appendChild(el('th', {}, x)); t.appendChild(tr);
    for (const e of entries) {
      const row = el('tr');
      e.forEach((x, i) => row.appendChild(el('td', i === 1 ? {class: 'n count'} : i === 0 ? {class: 'key'} : {}, x)));
      t.appendChild(row);
    }
    return t;
  };
  const outcomes = {};
  for (const r of rows) { const o = r.outcome || '-'; outcomes[o] = (outcomes[o] || 0) + 1; }
  section('outcomes', 'Outcomes').appendChild(countTable('outcome-table', ['outcome', 'connections'],
      Object.keys(outcomes).sort().map(o => [o, outcomes[o]])));
  const ds = section('diagnoses', 'Diagnoses (connections carrying each) and their fixes');
  if (codes.length) ds.appendChild(countTable('diagnosis-table', ['diagnosis', 'connections', 'fix'],
      codes.map(c => [c, codeCount[c], (data.fixes[c] || '')])));
  else ds.appendChild(el('p', {}, 'None.'));

  // ---- the table of connections, sortable
  const cs = section('connections', 'Connections');
  cs.appendChild(el('p', {class: 'note'}, 'Click a heading to sort. Paste a filter into Wireshark\'s display filter bar with its capture file open.'));
  const cols = [
    ['file', r => r.file, false], ['stream', r => r.stream, true], ['display filter', r => r.filter, false],
    ['start (UTC)', r => absolute ? r.start_time : '', false], ['start_s', r => r.start_s, true],
    ['client', r => r.client, false], ['server', r => r.server, false], ['outcome', r => r.outcome, false],
    ['failed step', r => r.failed_step, false], ['diagnoses', r => r.diagnoses.join(' '), false]];
  const table = el('table', {id: 'connection-table'});
  const head = el('tr');
  const tbody = el('tbody');
  const rowEls = rows.map(r => {
    const tr = el('tr', {class: 'conn'});
    cols.forEach(([name, get], i) => {
      const td = el('td', cols[i][2] ? {class: 'n'} : {});
      if (name === 'display filter') td.appendChild(el('code', {class: 'filter'}, get(r)));
      else td.textContent = String(get(r));
      tr.appendChild(td);
    });
    return tr;
  });
  let sorted = -1, dir = 1;
  const sortBy = (i, d) => {
    const [, get, numeric] = cols[i];
    const idx = rows.map((r, k) => k);
    idx.sort((a, b) => {
      const x = get(rows[a]), y = get(rows[b]);
      const c = numeric ? x - y : String(x).localeCompare(String(y));
      return (c || a - b) * d;
    });
    for (const k of idx) tbody.appendChild(rowEls[k]);
    head.childNodes.forEach((th, j) => th.setAttribute('aria-sort', j === i ? (d > 0 ? 'ascending' : 'descending') : 'none'));
    sorted = i; dir = d;
  };
  cols.forEach(([name], i) => {
    const th = el('th', {'aria-sort': 'none', 'data-column': name}, name);
    th.addEventListener('click', () => sortBy(i, sorted === i ? -dir : 1));
    head.appendChild(th);
  });
  const thead = el('thead'); thead.appendChild(head); table.appendChild(thead);
  for (const tr of rowEls) tbody.appendChild(tr);
  table.appendChild(tbody);
  cs.appendChild(table);
  // #sort=COLUMN or #sort=-COLUMN (descending) sorts on opening, e.g. #sort=-start_s
  const m = /^#sort=(-?)(.+)$/.exec(decodeURIComponent(location.hash));
  if (m) { const i = cols.findIndex(c => c[0] === m[2]); if (i >= 0) sortBy(i, m[1] ? -1 : 1); }
  const status = document.getElementById('status');
  status.textContent = '';
  status.setAttribute('data-state', 'ready');
})();
)JS";

}  // namespace

std::string html_page(const std::vector<Row>& rows, const std::vector<size_t>& row_table,
                      const std::vector<HtmlTable>& tables) {
    std::string out;
    out.reserve(4096 + rows.size() * 300);
    out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           // Nothing is fetched: no network, no file beside the page; inline style and script only.
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
           "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
           "<title>SQL Server connections (tdsdiag)</title>\n<style>";
    out += kStyle;
    out += "</style>\n</head>\n<body>\n<h1>SQL Server connections (tdsdiag)</h1>\n<p class=\"note\">Tables: ";
    for (size_t i = 0; i < tables.size(); ++i) {
        if (i) out += ", ";
        out += "<span class=\"table-name\">" + html_escape(tables[i].name) + "</span>";
    }
    out += ". <span id=\"status\">This page needs JavaScript.</span></p>\n<div id=\"main\"></div>\n"
           "<script type=\"application/json\" id=\"tdsdiag-data\">\n{\"tables\":[";
    for (size_t i = 0; i < tables.size(); ++i) {
        out += i ? ",\n" : "\n";
        out += "{\"name\":" + json_string(tables[i].name) + ",\"error\":" + json_string(tables[i].error) + "}";
    }
    out += "],\n\"fixes\":{";
    for (size_t i = 0; i < kCodeCount; ++i) {
        const CodeInfo& c = code_info(static_cast<Code>(i));
        out += i ? ",\n" : "\n";
        out += json_string(c.name) + ":" + json_string(c.fix);
    }
    // The catalogue's severity of each code (0 chat .. 3 error): a failed connection's bar takes the
    // colour of its most severe diagnosis.
    out += "},\n\"severity\":{";
    for (size_t i = 0; i < kCodeCount; ++i) {
        const CodeInfo& c = code_info(static_cast<Code>(i));
        out += (i ? "," : "") + json_string(c.name) + ":" + std::to_string(static_cast<int>(c.severity));
    }
    out += "},\n\"rows\":[";
    for (size_t i = 0; i < rows.size(); ++i) {
        const Row& r = rows[i];
        // The row's capture: the batch's file column, else the table it was read from.
        const std::string file = !r.file.empty() ? r.file : "(table " + tables[row_table[i]].name + ")";
        const bool udp = r.server.size() > 4 && r.server.compare(r.server.size() - 4, 4, "/udp") == 0;
        char start_s[32];
        std::snprintf(start_s, sizeof start_s, "%.6f", r.start_s);
        out += i ? ",\n" : "\n";
        out += "{\"file\":" + json_string(file) + ",\"stream\":" + std::to_string(r.stream) +
               ",\"filter\":" + json_string(std::string(udp ? "udp" : "tcp") + ".stream eq " + std::to_string(r.stream)) +
               ",\"client\":" + json_string(r.client) + ",\"server\":" + json_string(r.server) +
               ",\"start_s\":" + start_s + ",\"start_time\":" + json_string(r.start_time) +
               ",\"outcome\":" + json_string(r.outcome) + ",\"failed_step\":" +
               json_string(r.failed_step ? std::to_string(static_cast<int>(*r.failed_step)) + " " +
                                               step_name(*r.failed_step)
                                         : std::string()) +
               ",\"dns_name\":" + json_string(r.dns_name) + ",\"diagnoses\":[";
        for (size_t d = 0; d < r.diagnoses.size(); ++d) out += (d ? "," : "") + json_string(r.diagnoses[d]);
        out += "]}";
    }
    out += "]}\n</script>\n<script>";
    out += kScript;
    out += "</script>\n</body>\n</html>\n";
    return out;
}

}  // namespace tdsdiag
