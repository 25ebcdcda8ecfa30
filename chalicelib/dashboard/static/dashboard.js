// The dashboard's script (served as /dashboard/assets/dashboard.js: the page's Content-Security-Policy runs no
// inline script). It asks for an API key, keeps it in this tab's sessionStorage (never in a URL or a cookie),
// reads GET dashboard/data with `Authorization: Bearer <key>` every few seconds, and shows it: tables, and a
// plot drawn here as SVG. Every text shown is set with textContent, never parsed as HTML.
(function () {
  'use strict';

  var STORAGE_KEY = 'lp.dashboard.apiKey';
  var SVG = 'http://www.w3.org/2000/svg';
  var PLOT = { width: 720, height: 220, left: 44, right: 12, top: 12, bottom: 26 };

  var root = document.getElementById('dashboard');
  var form = document.getElementById('key-form');
  var input = document.getElementById('api-key');
  var status = document.getElementById('status');
  var forget = document.getElementById('forget');
  var content = document.getElementById('content');
  var plot = document.getElementById('plot');
  var source = root.getAttribute('data-source');
  var refreshMs = Number(root.getAttribute('data-refresh-ms')) || 5000;

  var timer = null;
  var asked = 0; // the newest request: an older answer, overtaken, is ignored
  // What the page shows now, for people poking at it from the console (and for the browser test).
  var exposed = { state: 'locked', data: null, refreshes: 0, error: null };
  window.lpDashboard = exposed;

  function storedKey() {
    try {
      return window.sessionStorage.getItem(STORAGE_KEY);
    } catch (e) {
      return null;
    }
  }

  function storeKey(key) {
    try {
      if (key) window.sessionStorage.setItem(STORAGE_KEY, key);
      else window.sessionStorage.removeItem(STORAGE_KEY);
    } catch (e) {
      /* storage refused (a private window): the key lives only as long as this page */
    }
  }

  var memoryKey = null; // when sessionStorage is refused

  function currentKey() {
    return storedKey() || memoryKey;
  }

  function setState(next, message) {
    exposed.state = next;
    root.setAttribute('data-state', next);
    status.textContent = message || '';
    var locked = next === 'locked';
    form.hidden = !locked;
    forget.hidden = locked;
    content.hidden = locked || exposed.data === null;
  }

  function schedule(ms) {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(function () {
      timer = null;
      refresh();
    }, ms);
  }

  function lock(message) {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    asked += 1;
    storeKey(null);
    memoryKey = null;
    exposed.data = null;
    setState('locked', message);
    input.value = '';
    input.focus();
  }

  function refresh() {
    var key = currentKey();
    if (!key) {
      lock('');
      return;
    }
    if (document.hidden && exposed.data !== null) {
      schedule(refreshMs); // nobody is looking: ask again later
      return;
    }
    var mine = ++asked;
    fetch(source, {
      headers: { Authorization: 'Bearer ' + key, Accept: 'application/json' },
      cache: 'no-store',
      credentials: 'omit',
      redirect: 'error',
    })
      .then(function (response) {
        return response.json().then(
          function (body) {
            return { status: response.status, body: body };
          },
          function () {
            return { status: response.status, body: null };
          },
        );
      })
      .then(function (answer) {
        if (mine !== asked) return;
        if (answer.status === 401) {
          var code = answer.body && answer.body.error ? answer.body.error.code : 'unauthorized';
          lock('The API key was refused (' + code + ').');
          return;
        }
        if (answer.status !== 200 || !answer.body) {
          var why = answer.body && answer.body.error ? answer.body.error.code : 'HTTP ' + answer.status;
          exposed.error = why;
          setState(exposed.data ? 'stale' : 'error', 'Cannot read the dashboard (' + why + '). Retrying…');
          schedule(refreshMs);
          return;
        }
        exposed.error = null;
        exposed.data = answer.body;
        exposed.refreshes += 1;
        render(answer.body);
        setState('ready', 'Updated ' + new Date(answer.body.generatedAt).toLocaleTimeString() + '.');
        schedule(refreshMs);
      })
      .catch(function (err) {
        if (mine !== asked) return;
        exposed.error = String((err && err.message) || err);
        setState(exposed.data ? 'stale' : 'error', 'The server cannot be reached. Retrying…');
        schedule(refreshMs);
      });
  }

  // --- formatting ----------------------------------------------------------------------------------------

  function dash(value) {
    return value === null || value === undefined ? '—' : String(value);
  }

  function ago(ms, now) {
    if (ms === null || ms === undefined) return '—';
    var s = Math.max(0, Math.round((now - ms) / 1000));
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.round(s / 60) + ' min ago';
    if (s < 86400) return Math.round(s / 3600) + ' h ago';
    return Math.round(s / 86400) + ' d ago';
  }

  function percent(rate) {
    return rate === null || rate === undefined ? '—' : (rate * 100).toFixed(rate === 1 ? 0 : 1) + '%';
  }

  function millis(ms) {
    return ms === null || ms === undefined ? '—' : Math.round(ms) + ' ms';
  }

  // `value` (a BigInt of base units) in units of `one` base units, with up to `digits` decimals (cut, not rounded).
  function decimal(value, one, digits) {
    var whole = value / one;
    var fraction = ((value % one) * 10n ** BigInt(digits)) / one;
    var tail = fraction.toString().padStart(digits, '0').replace(/0+$/, '');
    return whole.toLocaleString('en-US') + (tail ? '.' + tail : '');
  }

  // A uint256 decimal string of LPT wei, in LPT.
  function lpt(text) {
    return text === null || text === undefined ? '—' : decimal(BigInt(text), 10n ** 18n, 2);
  }

  // A uint256 decimal string of wei, in ETH, or gwei or wei when that would read as 0.
  function ether(text) {
    if (text === null || text === undefined) return '—';
    var value = BigInt(text);
    if (value === 0n) return '0 ETH';
    if (value >= 10n ** 15n) return decimal(value, 10n ** 18n, 6) + ' ETH';
    if (value >= 10n ** 6n) return decimal(value, 10n ** 9n, 3) + ' gwei';
    return value.toString() + ' wei';
  }

  function shortAddress(address) {
    return address && address.length > 14 ? address.slice(0, 6) + '…' + address.slice(-4) : dash(address);
  }

  // --- tables --------------------------------------------------------------------------------------------

  function cell(row, text, className, title) {
    var td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    if (title) td.title = title;
    row.appendChild(td);
    return td;
  }

  function fill(table, rows) {
    var body = table.tBodies[0];
    while (body.firstChild) body.removeChild(body.firstChild);
    rows.forEach(function (row) {
      body.appendChild(row);
    });
  }

  function streamRows(data) {
    return data.streams.map(function (s) {
      var tr = document.createElement('tr');
      tr.setAttribute('data-id', s.id);
      tr.className = 'state-' + s.state;
      cell(tr, s.name, 'name', s.id);
      cell(tr, s.state, 'badge state');
      cell(tr, dash(s.health), 'badge health-' + (s.health || 'none'));
      cell(tr, ago(s.lastSeen, data.generatedAt));
      cell(tr, String(s.sourceSegments), 'num source');
      cell(tr, String(s.transcodedSegments), 'num transcoded');
      var recent = s.recent;
      cell(tr, recent ? recent.failed + ' of ' + recent.segments : '—', 'num', recent && recent.stalled
        ? recent.stalled + ' stalled, ' + recent.pending + ' pending' : null);
      cell(tr, recent ? millis(recent.meanTranscodeMs) : '—', 'num');
      cell(tr, shortAddress(s.orchestrator), 'address', s.orchestrator);
      return tr;
    });
  }

  function orchestratorRows(data) {
    return data.orchestrators.map(function (o) {
      var tr = document.createElement('tr');
      tr.setAttribute('data-address', o.address.toLowerCase());
      cell(tr, shortAddress(o.address), 'address', o.address + (o.url ? ' · ' + o.url : ''));
      var standing = o.resting ? 'resting' : o.active === false ? 'inactive' : o.active ? 'active' : 'configured';
      var strikes = o.strikes ? o.strikes + ' strike' + (o.strikes > 1 ? 's' : '') : null;
      cell(tr, standing + (strikes ? ' · ' + strikes : ''), 'badge standing-' + standing,
        o.lastFailureReason ? 'last failure: ' + o.lastFailureReason : null);
      cell(tr, lpt(o.stake), 'num');
      cell(tr, o.weiPerPixel === null ? '—' : String(Math.round(o.weiPerPixel * 1000) / 1000), 'num');
      cell(tr, String(o.segmentsServed), 'num served');
      cell(tr, String(o.failed), 'num failed');
      cell(tr, percent(o.successRate), 'num rate');
      cell(tr, millis(o.meanTranscodeMs), 'num transcode');
      cell(tr, ago(o.lastAt, data.generatedAt));
      return tr;
    });
  }

  function paymentRows(data) {
    var unknown = 'Counted by the orchestrator itself: a gateway cannot read it';
    return data.payments.orchestrators.map(function (p) {
      var tr = document.createElement('tr');
      tr.setAttribute('data-address', p.address.toLowerCase());
      cell(tr, shortAddress(p.address), 'address', p.address);
      cell(tr, String(p.ticketsSent), 'num sent');
      cell(tr, '—', 'num unknown', unknown);
      cell(tr, '—', 'num unknown', unknown);
      cell(tr, '—', 'num unknown', unknown);
      cell(tr, ether(p.creditedWei), 'num credited');
      return tr;
    });
  }

  function render(data) {
    fill(document.getElementById('streams'), streamRows(data));
    document.getElementById('streams-empty').hidden = data.streams.length > 0;
    document.getElementById('streams-count').textContent =
      data.streamsTotal > data.streams.length ? '(' + data.streams.length + ' of ' + data.streamsTotal + ')' : '';
    fill(document.getElementById('orchestrators'), orchestratorRows(data));
    var payments = document.getElementById('payments-section');
    payments.hidden = !data.payments;
    if (data.payments) {
      fill(document.getElementById('payments'), paymentRows(data));
      var funds = data.payments.sender;
      document.getElementById('funds').textContent = funds
        ? 'This gateway (' + shortAddress(funds.address) + '): deposit ' + ether(funds.depositWei) + ', reserve '
          + ether(funds.reserveWei) + '.'
        : 'This gateway has not funded a deposit on chain yet.';
    }
    var notes = document.getElementById('notes');
    while (notes.firstChild) notes.removeChild(notes.firstChild);
    data.notes.forEach(function (note) {
      var li = document.createElement('li');
      li.textContent = note;
      notes.appendChild(li);
    });
    draw(data);
  }

  // --- the plot ------------------------------------------------------------------------------------------

  function svg(name, attributes, parent) {
    var el = document.createElementNS(SVG, name);
    Object.keys(attributes).forEach(function (k) {
      el.setAttribute(k, String(attributes[k]));
    });
    parent.appendChild(el);
    return el;
  }

  function niceCeiling(value) {
    if (value <= 5) return Math.max(1, Math.ceil(value));
    var magnitude = Math.pow(10, Math.floor(Math.log10(value)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) {
      if (steps[i] * magnitude >= value) return steps[i] * magnitude;
    }
    return 10 * magnitude;
  }

  function draw(data) {
    while (plot.firstChild) plot.removeChild(plot.firstChild);
    var points = data.series;
    // Drawn in this order, so that transcoded segments stay on top where the lines meet (at 0, mostly).
    var lines = [{ field: 'failed', name: 'failed' }, { field: 'ok', name: 'ok' }];
    if (data.mode === 'onchain') lines.unshift({ field: 'tickets', name: 'tickets' });
    document.getElementById('legend-tickets').hidden = data.mode !== 'onchain';
    var peak = 0;
    points.forEach(function (p) {
      lines.forEach(function (line) {
        peak = Math.max(peak, p[line.field]);
      });
    });
    var top = niceCeiling(peak);
    var w = PLOT.width - PLOT.left - PLOT.right;
    var h = PLOT.height - PLOT.top - PLOT.bottom;
    var x = function (i) {
      return PLOT.left + (points.length > 1 ? (i * w) / (points.length - 1) : w / 2);
    };
    var y = function (v) {
      return PLOT.top + h - (v * h) / top;
    };
    var grid = svg('g', { class: 'grid' }, plot);
    [0, top / 2, top].forEach(function (v) {
      svg('line', { x1: PLOT.left, x2: PLOT.left + w, y1: y(v), y2: y(v) }, grid);
      var label = svg('text', { x: PLOT.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, grid);
      label.textContent = String(Math.round(v * 10) / 10);
    });
    var n = points.length;
    [0, Math.floor((n - 1) / 2), n - 1].forEach(function (i) {
      var label = svg('text', { x: x(i), y: PLOT.height - 6, 'text-anchor': 'middle' }, grid);
      label.textContent = i === n - 1 ? 'now' : '−' + (n - 1 - i) + ' min';
    });
    var drawn = 0;
    lines.forEach(function (line) {
      var coords = points.map(function (p, i) {
        return x(i).toFixed(1) + ',' + y(p[line.field]).toFixed(1);
      });
      svg('polyline', { class: 'line ' + line.name, points: coords.join(' ') }, plot);
      points.forEach(function (p, i) {
        if (p[line.field] > 0) {
          var dot = svg('circle', { class: 'point ' + line.name, cx: x(i), cy: y(p[line.field]), r: 3 }, plot);
          var title = svg('title', {}, dot);
          title.textContent = new Date(p.at).toLocaleTimeString() + ': ' + p[line.field] + ' ' + line.name;
          drawn += 1;
        }
      });
    });
    plot.setAttribute('data-points', String(drawn));
  }

  // --- wiring --------------------------------------------------------------------------------------------

  form.addEventListener('submit', function (event) {
    event.preventDefault(); // never submitted: the key must not travel in a URL
    var key = input.value.trim();
    if (!key) return;
    input.value = '';
    storeKey(key);
    memoryKey = storedKey() ? null : key;
    setState('loading', 'Loading…');
    refresh();
  });

  forget.addEventListener('click', function () {
    lock('The key was forgotten.');
  });

  document.addEventListener('visibilitychange', function () {
    if (!document.hidden && exposed.state !== 'locked') schedule(0);
  });

  if (currentKey()) {
    setState('loading', 'Loading…');
    refresh();
  } else {
    setState('locked', '');
  }
})();
