// dbtel's page: draws a summary (the JSON of /summary, or the one embedded in a static page).
// Everything a driver sent is put in text nodes or attributes, never parsed as markup.
(function () {
  'use strict';

  var SVG_NS = 'http://www.w3.org/2000/svg';
  var POLL_MS = 1000;
  var MAX_SESSIONS = 20;
  var TIMELINE_SECONDS = 120;
  var TOKEN_KEY = 'dbtel-token';

  var token = '';
  try { token = sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { token = ''; }
  var lastText = null;
  var updates = 0;
  var openEvents = {};
  var timer = null;

  function $(id) { return document.getElementById(id); }

  // An HTML element; children are nodes or text.
  function el(tag, attrs) {
    var node = document.createElement(tag);
    setAttrs(node, attrs);
    for (var i = 2; i < arguments.length; i++) { add(node, arguments[i]); }
    return node;
  }

  function add(node, child) {
    if (child === null || child === undefined) { return; }
    node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }

  function setAttrs(node, attrs) {
    if (!attrs) { return; }
    Object.keys(attrs).forEach(function (key) {
      if (attrs[key] === null || attrs[key] === undefined) { return; }
      if (key === 'class') { node.setAttribute('class', attrs[key]); } else { node.setAttribute(key, String(attrs[key])); }
    });
  }

  // An SVG element, with optional text.
  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function fill(id, node) {
    var target = $(id);
    while (target.firstChild) { target.removeChild(target.firstChild); }
    add(target, node);
  }

  function empty(text) { return el('p', { 'class': 'empty' }, text); }

  function num(value) {
    if (value === null || value === undefined) { return '–'; }
    return Number(value).toLocaleString('en-US');
  }

  // A table: columns [{title, num}], rows of cells: text, or {text, figure, cls, bar, barClass}.
  function table(columns, rows) {
    var head = el('tr');
    columns.forEach(function (column) {
      add(head, el('th', { 'class': column.num ? 'num' : null }, column.title));
    });
    var body = el('tbody');
    rows.forEach(function (row) {
      var tr = el('tr');
      row.forEach(function (cell, index) {
        if (cell === null || typeof cell !== 'object') { cell = { text: cell }; }
        var cls = [columns[index].num ? 'num' : 'name', cell.cls || ''].join(' ');
        var td = el('td', { 'class': cls, 'data-figure': cell.figure }, columns[index].num ? num(cell.text) : cell.text);
        if (cell.bar !== undefined) {
          var bar = el('span', { 'class': 'bar ' + (cell.barClass || '') });
          bar.style.width = Math.max(0, Math.min(100, cell.bar * 100)).toFixed(1) + '%';
          add(td, bar);
        }
        add(tr, td);
      });
      add(body, tr);
    });
    return el('table', null, el('thead', null, head), body);
  }

  function card(label, value, figure, cls) {
    return el('div', { 'class': 'card' },
      el('div', { 'class': 'value ' + (cls || ''), 'data-figure': figure }, value),
      el('div', { 'class': 'label' }, label));
  }

  function sum(list, key) {
    return list.reduce(function (total, item) { return total + (key ? item[key] : item); }, 0);
  }

  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function clock(seconds) {
    var d = new Date(seconds * 1000);
    return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }

  // Columns chart: values [{label, value, title}], returns an <svg>.
  function columns(values, options) {
    var width = options.width || 640;
    var height = options.height || 160;
    var left = 40;
    var bottom = 22;
    var top = options.top || 8;
    var plotW = width - left - 6;
    var plotH = height - bottom - top;
    var max = Math.max.apply(null, values.map(function (v) { return v.value; }).concat([1]));
    var chart = svg('svg', { viewBox: '0 0 ' + width + ' ' + height, role: 'img', 'aria-label': options.label });
    chart.appendChild(svg('line', { 'class': 'axis', x1: left, y1: top + plotH, x2: left + plotW, y2: top + plotH }));
    chart.appendChild(svg('line', { 'class': 'axis', x1: left, y1: top, x2: left, y2: top + plotH }));
    chart.appendChild(svg('text', { x: left - 4, y: top + 9, 'text-anchor': 'end' }, num(max)));
    chart.appendChild(svg('text', { x: left - 4, y: top + plotH, 'text-anchor': 'end' }, '0'));
    var step = plotW / Math.max(values.length, 1);
    var gap = step > 6 ? 1.5 : 0.5;
    values.forEach(function (v, i) {
      var h = v.value / max * plotH;
      var rect = svg('rect', { 'class': 'col', x: left + i * step + gap / 2, y: top + plotH - h, width: Math.max(step - gap, 0.5), height: h });
      rect.appendChild(svg('title', null, v.title || (v.label + ': ' + num(v.value))));
      chart.appendChild(rect);
    });
    var every = Math.max(1, Math.ceil(values.length / (options.maxLabels || 8)));
    values.forEach(function (v, i) {
      var last = i === values.length - 1 && i % every > every / 2;
      if (v.label === '' || (i % every !== 0 && !last)) { return; }
      chart.appendChild(svg('text', { x: left + i * step + step / 2, y: height - 6, 'text-anchor': 'middle' }, v.label));
    });
    (options.markers || []).forEach(function (marker, i) {
      if (marker.index < 0) { return; }
      var x = left + marker.index * step + step / 2 + (i - 1) * 3;
      chart.appendChild(svg('line', { 'class': marker.cls, x1: x, y1: top, x2: x, y2: top + plotH, 'stroke-width': 2, 'stroke-dasharray': '4 2' }));
      chart.appendChild(svg('text', { 'class': marker.cls, x: x + 3, y: 10 + i * 11 }, marker.name));
    });
    return chart;
  }

  function renderCards(data) {
    var errors = sum(data.errors, 'count');
    var target = $('cards');
    while (target.firstChild) { target.removeChild(target.firstChild); }
    add(target, card('events', num(data.events), 'events'));
    add(target, card('sessions', num(data.session_count), 'sessions'));
    add(target, card('errors', num(errors), 'errors-total', errors ? 'bad' : ''));
    add(target, card('statements with CloudFetch', num(data.cloudfetch.statements), 'cloudfetch-statements'));
    if (data.source === 'live') {
      var accepted = sum(data.uploads.filter(function (u) { return u.status === '200'; }), 'count');
      var refused = sum(data.uploads.filter(function (u) { return u.status !== '200'; }), 'count');
      add(target, card('uploads answered 200', num(accepted), 'uploads-ok'));
      add(target, card('uploads not 200', num(refused), 'uploads-not-ok', refused ? 'bad' : ''));
      add(target, card('warnings', num(data.warnings_total), 'warnings-total', data.warnings_total ? 'warn' : ''));
      add(target, card('faults injected' + (data.active_fault ? ' (active: ' + data.active_fault + ')' : ''), num(data.faults_injected), 'faults-injected'));
    }
    if (data.skipped_lines) {
      add(target, card('unreadable logs', num(data.skipped_lines), 'skipped', 'bad'));
    }
    var folded = data.folded || {};
    var foldedEvents = (folded.session_events || 0) + (folded.error_events || 0);
    if (foldedEvents) {
      add(target, card('folded into "other" rows (bounded tallies)', num(foldedEvents), 'folded', 'warn'));
    }
  }

  function foldedNote(count, what) {
    return el('p', { 'class': 'pct muted', 'data-figure': 'folded-note' }, num(count) + ' ' + what);
  }

  function renderTimeline(data) {
    var points = data.events_per_second;
    if (!points.length) { fill('timeline', empty('No event timestamps yet.')); return; }
    var last = points[points.length - 1][0];
    var first = Math.max(points[0][0], last - TIMELINE_SECONDS + 1);
    var counts = {};
    points.forEach(function (p) { counts[p[0]] = p[1]; });
    var values = [];
    var shown = 0;
    for (var s = first; s <= last; s++) {
      var c = counts[s] || 0;
      shown += c;
      values.push({ label: clock(s), value: c, title: clock(s) + ': ' + num(c) + ' events' });
    }
    var wrap = el('div');
    add(wrap, columns(values, { width: 1200, height: 150, label: 'events per second', maxLabels: 10 }));
    add(wrap, el('p', { 'class': 'pct muted' }, 'seconds shown: ' + values.length + ', events in them: ',
      el('span', { 'data-figure': 'timeline-events' }, String(shown))));
    fill('timeline', wrap);
  }

  function renderOperations(data) {
    if (!data.operations.length) { fill('operations', empty('No events yet.')); return; }
    var max = Math.max.apply(null, data.operations.map(function (o) { return o.events; }));
    var rows = data.operations.map(function (o) {
      var key = 'op:' + o.operation_type;
      return [
        { text: o.operation_type, figure: key + ':name', bar: o.events / max },
        { text: o.events, figure: key + ':events' },
        { text: o.errors, figure: key + ':errors', cls: o.errors ? 'bad' : '' },
        { text: o.latency_ms.p50, figure: key + ':p50' },
        { text: o.latency_ms.p90, figure: key + ':p90' },
        { text: o.latency_ms.p99, figure: key + ':p99' },
        { text: o.latency_ms.max, figure: key + ':max' }
      ];
    });
    fill('operations', table([
      { title: 'operation type' }, { title: 'events', num: true }, { title: 'errors', num: true },
      { title: 'p50 ms', num: true }, { title: 'p90 ms', num: true }, { title: 'p99 ms', num: true },
      { title: 'max ms', num: true }
    ], rows));
  }

  function countsTable(id, counts, title, prefix, barClass) {
    var entries = counts.slice().sort(function (a, b) { return b[1] - a[1] || (a[0] < b[0] ? -1 : 1); });
    if (!entries.length) { fill(id, empty('None yet.')); return; }
    var max = entries[0][1];
    fill(id, table([{ title: title }, { title: 'count', num: true }], entries.map(function (e) {
      return [
        { text: e[0], figure: prefix + ':name', bar: e[1] / max, barClass: barClass },
        { text: e[1], figure: prefix + ':' + e[0] }
      ];
    })));
  }

  function mapEntries(map) {
    return Object.keys(map).map(function (k) { return [k, map[k]]; });
  }

  function bucketLabel(bucket, previous) {
    if (bucket.up_to === null) { return '>' + num(previous); }
    return '≤' + num(bucket.up_to);
  }

  function bucketOf(buckets, value) {
    if (value === null || value === undefined) { return -1; }
    for (var i = 0; i < buckets.length; i++) {
      if (buckets[i].up_to === null || value <= buckets[i].up_to) { return i; }
    }
    return buckets.length - 1;
  }

  function renderHistograms(data) {
    var target = $('histograms');
    while (target.firstChild) { target.removeChild(target.firstChild); }
    data.latency_histograms.forEach(function (h) {
      var p = h.percentiles;
      var box = el('div', { 'data-histogram': h.name });
      add(box, el('h3', { 'class': 'mono' }, h.label));
      if (!p.samples) {
        add(box, empty('No samples yet.'));
      } else {
        var previous = null;
        var values = h.buckets.map(function (b) {
          var label = bucketLabel(b, previous);
          previous = b.up_to;
          return { label: label, value: b.count, title: label + ' ms: ' + num(b.count) };
        });
        add(box, columns(values, {
          width: 420, height: 170, top: 36, label: h.label, maxLabels: 7,
          markers: [
            { name: 'p50', cls: 'p50', index: bucketOf(h.buckets, p.p50) },
            { name: 'p90', cls: 'p90', index: bucketOf(h.buckets, p.p90) },
            { name: 'p99', cls: 'p99', index: bucketOf(h.buckets, p.p99) }
          ]
        }));
      }
      var key = 'hist:' + h.name + ':';
      add(box, el('p', { 'class': 'pct' },
        el('span', { 'class': 'p50' }, 'p50 ', el('b', { 'data-figure': key + 'p50' }, num(p.p50))), ' · ',
        el('span', { 'class': 'p90' }, 'p90 ', el('b', { 'data-figure': key + 'p90' }, num(p.p90))), ' · ',
        el('span', { 'class': 'p99' }, 'p99 ', el('b', { 'data-figure': key + 'p99' }, num(p.p99))), ' · ',
        'max ', el('b', { 'data-figure': key + 'max' }, num(p.max)), ' · ',
        el('span', { 'data-figure': key + 'samples' }, num(p.samples)), ' samples'));
      add(target, box);
    });
  }

  function renderErrors(data) {
    if (!data.errors.length) { fill('errors', empty('No errors.')); return; }
    var max = data.errors[0].count;
    var wrap = el('div');
    add(wrap, table([{ title: 'error name' }, { title: 'events', num: true }], data.errors.map(function (e) {
      return [
        { text: e.error_name, figure: 'error-name', bar: e.count / max, barClass: 'bad' },
        { text: e.count, figure: 'error:' + e.error_name }
      ];
    })));
    if (data.folded && data.folded.error_events) {
      add(wrap, foldedNote(data.folded.error_events, 'errors folded into "(other errors)": too many distinct error names'));
    }
    fill('errors', wrap);
  }

  function renderUploads(data) {
    if (data.source !== 'live') { fill('uploads', empty('Not known for a capture.')); return; }
    if (!data.uploads.length) { fill('uploads', empty('No uploads yet.')); return; }
    var max = Math.max.apply(null, data.uploads.map(function (u) { return u.count; }));
    fill('uploads', table([{ title: 'route' }, { title: 'status' }, { title: 'uploads', num: true }], data.uploads.map(function (u) {
      var ok = u.status === '200';
      return [
        { text: u.route, bar: u.count / max, barClass: ok ? '' : 'bad' },
        { text: u.status, cls: ok ? 'good' : 'bad' },
        { text: u.count, figure: 'upload:' + u.route + ':' + u.status }
      ];
    })));
  }

  function renderWarnings(data) {
    if (data.source !== 'live') {
      fill('warnings', empty('Each latest event below lists its own.'));
      return;
    }
    if (!data.warnings.length) { fill('warnings', empty('No warnings: every upload kept to the contract.')); return; }
    fill('warnings', table([{ title: 'kind' }, { title: 'path' }, { title: 'count', num: true }], data.warnings.map(function (w) {
      return [{ text: w.kind, cls: 'warn' }, { text: w.path, cls: 'mono' }, { text: w.count, figure: 'warning:' + w.kind + ':' + w.path }];
    })));
  }

  function renderSessions(data) {
    if (!data.sessions.length) { fill('sessions', empty('No sessions yet.')); return; }
    var shown = data.sessions.slice(0, MAX_SESSIONS);
    var max = shown[0].events;
    var wrap = el('div');
    add(wrap, table([
      { title: 'session id' }, { title: 'events', num: true }, { title: 'statements', num: true }, { title: 'errors', num: true }
    ], shown.map(function (s) {
      var key = 'session:' + s.session_id;
      return [
        { text: s.session_id, figure: 'session-id', cls: 'mono', bar: s.events / max },
        { text: s.events, figure: key + ':events' },
        { text: s.statements, figure: key + ':statements' },
        { text: s.errors, figure: key + ':errors', cls: s.errors ? 'bad' : '' }
      ];
    })));
    add(wrap, el('p', { 'class': 'pct muted' }, 'showing ' + shown.length + ' of ' + data.session_count +
      ' sessions; ' + num(data.events_without_session) + ' events without a session'));
    if (data.folded && data.folded.session_events) {
      add(wrap, foldedNote(data.folded.session_events, 'events folded into "(other sessions)": too many distinct session ids'));
    }
    if (data.folded && data.folded.strings_cut) {
      add(wrap, foldedNote(data.folded.strings_cut, 'long strings cut (session ids and error names to 256 bytes)'));
    }
    fill('sessions', wrap);
  }

  function pretty(json) {
    try { return JSON.stringify(JSON.parse(json), null, 2); } catch (e) { return json; }
  }

  function describe(json) {
    try {
      var log = JSON.parse(json);
      var event = (log.entry && log.entry.sql_driver_log) || {};
      var sql = event.sql_operation || {};
      var op = (sql.operation_detail && sql.operation_detail.operation_type) || (event.vol_operation ? 'VOLUME' : '');
      var at = log.context && log.context.client_context && log.context.client_context.timestamp_millis;
      var parts = [];
      if (at) { parts.push(clock(Math.floor(at / 1000))); }
      if (op) { parts.push(op); }
      if (event.error_info && event.error_info.error_name) { parts.push('error ' + event.error_info.error_name); }
      if (event.operation_latency_ms !== undefined) { parts.push(event.operation_latency_ms + ' ms'); }
      return { id: String(log.frontend_log_event_id || ''), text: parts.join(' · ') };
    } catch (e) {
      return { id: '', text: 'not JSON' };
    }
  }

  function renderRecent(data) {
    var target = $('recent');
    target.querySelectorAll('details').forEach(function (d) {
      if (d.open) { openEvents[d.getAttribute('data-event')] = true; } else { delete openEvents[d.getAttribute('data-event')]; }
    });
    if (!data.recent_events.length) { fill('recent', empty('No events yet.')); return; }
    var list = el('div', { 'data-figure-count': data.recent_events.length });
    data.recent_events.slice().reverse().forEach(function (event) {
      var about = describe(event.json);
      var details = el('details', { 'data-event': about.id });
      if (openEvents[about.id]) { details.open = true; }
      var warn = event.warnings.length
        ? el('span', { 'class': 'warn' }, ' · ' + event.warnings.length + ' warning' + (event.warnings.length > 1 ? 's' : ''))
        : null;
      add(details, el('summary', null, el('span', { 'class': 'mono' }, about.id), ' ', el('span', { 'class': 'muted' }, about.text), warn));
      if (event.warnings.length) {
        var ul = el('ul', { 'class': 'warnings' });
        event.warnings.forEach(function (w) {
          add(ul, el('li', null, el('b', null, w.kind), ' ', el('code', null, w.path), ': ', w.message));
        });
        add(details, ul);
      }
      add(details, el('pre', { 'data-figure': 'recent-json' }, pretty(event.json)));
      add(list, details);
    });
    add(list, el('p', { 'class': 'pct muted' }, 'the latest ', el('span', { 'data-figure': 'recent-count' }, String(data.recent_events.length)), ' events'));
    fill('recent', list);
  }

  function render(data) {
    renderCards(data);
    renderTimeline(data);
    renderOperations(data);
    countsTable('statement-types', mapEntries(data.statement_types), 'statement type', 'stmt');
    renderHistograms(data);
    renderErrors(data);
    countsTable('result-formats', mapEntries(data.result_formats), 'result format', 'format');
    renderUploads(data);
    renderWarnings(data);
    renderSessions(data);
    renderRecent(data);
    $('main').hidden = false;
    $('token-form').hidden = true;
    updates += 1;
    document.body.setAttribute('data-updates', String(updates));
    document.body.setAttribute('data-state', 'ready');
  }

  function status(text) { $('status').textContent = text; }

  function poll() {
    timer = null;
    var headers = token ? { Authorization: 'Bearer ' + token } : {};
    fetch('/summary', { headers: headers, cache: 'no-store', credentials: 'omit' }).then(function (response) {
      if (response.status === 401) {
        $('token-form').hidden = false;
        $('main').hidden = true;
        $('token-error').hidden = !token;
        document.body.setAttribute('data-state', 'token');
        status('this endpoint needs its token');
        return null;
      }
      if (!response.ok) { throw new Error('status ' + response.status); }
      return response.text().then(function (text) {
        if (text !== lastText) {
          lastText = text;
          render(JSON.parse(text));
        }
        var events = JSON.parse(text).events;
        status('live · ' + num(events) + ' events · updated ' + clock(Date.now() / 1000));
        schedule();
      });
    }).catch(function (error) {
      status('cannot reach the endpoint (' + error.message + '); retrying');
      schedule();
    });
  }

  function schedule() {
    if (timer === null) { timer = setTimeout(poll, POLL_MS); }
  }

  $('token-form').addEventListener('submit', function (event) {
    event.preventDefault();
    token = $('token').value.trim();
    try { sessionStorage.setItem(TOKEN_KEY, token); } catch (e) { /* kept for this page only */ }
    $('token').value = '';
    if (timer !== null) { clearTimeout(timer); timer = null; }
    poll();
  });

  var embedded = $('dbtel-data');
  if (embedded) {
    var data = JSON.parse(embedded.textContent);
    render(data);
    status('capture ' + data.file + ' · ' + num(data.events) + ' events');
  } else {
    poll();
  }
}());
