#!/usr/bin/env node
// Opens the app's dashboard (/dashboard) in Debian's headless Chromium as an operator would: the page asks for
// the API key; a wrong key is refused and the form comes back; the right one shows the tables and the plot.
// Nothing is injected but a listener for Content-Security-Policy violations.
//
//   node tests/browser/dashboard_page.mjs --url URL --key KEY --stream ID --orchestrator ADDRESS [--out DIR]
//                                          [--timeout-ms M]
//
// Waits until the stream's row and the orchestrator's row are listed, the orchestrator has served a segment, and
// the plot has drawn a point. Screenshots (dashboard.png; dashboard-failed.png if it did not get there) go to
// --out. Exactly ONE JSON line goes to stdout; exit 0 when the page did what it should, 1 otherwise, 2 on bad
// usage. Diagnostics go to stderr. (The key is the test stack's throwaway dev key.)

import { mkdirSync } from 'node:fs';

import { openBrowser, probeOptions, recordViolations, screenshot, sleep } from './chromium.mjs';

function options() {
  const { values, timeoutMs, fail } = probeOptions(
    'dashboard_page',
    'node tests/browser/dashboard_page.mjs --url URL --key KEY --stream ID --orchestrator ADDRESS [--out DIR] [--timeout-ms M]',
    ['url', 'key', 'stream', 'orchestrator', 'out'],
    40000,
  );
  const { url, key, stream, orchestrator, out } = values;
  if (!url || !key || !stream || !orchestrator) fail('give --url, --key, --stream, --orchestrator');
  return { url, key, stream, orchestrator: orchestrator.toLowerCase(), out: out || null, timeoutMs };
}



// Runs in the page: what the operator sees.
function viewInPage(args) {
  const texts = (row) => (row ? Array.from(row.cells).map((c) => c.textContent) : null);
  const streamRow = document.querySelector(`#streams tbody tr[data-id="${CSS.escape(args.stream)}"]`);
  const orchestratorRow = document.querySelector(`#orchestrators tbody tr[data-address="${CSS.escape(args.orchestrator)}"]`);
  const served = orchestratorRow ? orchestratorRow.querySelector('.served') : null;
  const plot = document.getElementById('plot');
  const state = window.lpDashboard || {};
  let stored = null;
  try { stored = window.sessionStorage.getItem('lp.dashboard.apiKey'); } catch { /* refused */ }
  return {
    state: document.getElementById('dashboard').getAttribute('data-state'),
    status: document.getElementById('status').textContent,
    formVisible: !document.getElementById('key-form').hidden,
    contentVisible: !document.getElementById('content').hidden,
    refreshes: state.refreshes || 0,
    streamRow: texts(streamRow),
    orchestratorRow: texts(orchestratorRow),
    served: served ? Number(served.textContent) : null,
    streamRows: document.querySelectorAll('#streams tbody tr').length,
    orchestratorRows: document.querySelectorAll('#orchestrators tbody tr').length,
    plotPoints: Number(plot.getAttribute('data-points') || 0),
    plotCircles: plot.querySelectorAll('circle.point').length,
    plotLines: plot.querySelectorAll('polyline.line').length,
    paymentsVisible: !document.getElementById('payments-section').hidden,
    href: window.location.href,
    cookie: document.cookie,
    keyStored: stored !== null,
    storedKeyMatches: stored === args.key,
    violations: window.__violations || [],
  };
}

async function until(page, args, predicate, deadline, what) {
  for (;;) {
    const view = await page.evaluate(viewInPage, args);
    if (predicate(view)) return view;
    if (Date.now() >= deadline) throw new Error(`timed out waiting for ${what}; last view: ${JSON.stringify(view)}`);
    await sleep(150);
  }
}


async function submitKey(page, key) {
  await page.fill('#api-key', key);
  await page.click('#key-form button[type="submit"]');
}

async function main() {
  const opts = options();
  const t0 = Date.now();
  const deadline = t0 + opts.timeoutMs;
  const args = { stream: opts.stream, orchestrator: opts.orchestrator, key: opts.key };
  const result = {
    ok: false, locked: null, refused: null, shown: null, screenshots: [], pageErrors: [], requests: [], probeError: null,
  };
  let context = null;
  let browser = null;
  const hardTimer = setTimeout(() => {
    result.probeError = `overall timeout of ${opts.timeoutMs} ms reached`;
    process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(1));
  }, opts.timeoutMs + 5000);
  let page = null;
  try {
    if (opts.out) mkdirSync(opts.out, { recursive: true });
    browser = await openBrowser('dashboard_page', { width: 1280, height: 900 }, deadline - Date.now());
    context = browser.context;
    await context.addInitScript(recordViolations);
    page = await context.newPage();
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning') process.stderr.write(`[page ${msg.type()}] ${msg.text()}\n`);
    });
    page.on('pageerror', (err) => {
      result.pageErrors.push(err.message);
      process.stderr.write(`[page error] ${err.message}\n`);
    });
    // Every URL the page asks for: the key must never be in one.
    page.on('request', (request) => result.requests.push(request.url()));

    await page.goto(opts.url, { timeout: Math.max(1000, deadline - Date.now()) });
    result.locked = await until(page, args, (v) => v.state === 'locked' && v.formVisible, deadline, 'the key form');

    await submitKey(page, `${opts.key}-wrong`);
    result.refused = await until(
      page, args, (v) => v.state === 'locked' && v.status.includes('invalid_api_key'), deadline, 'the wrong key to be refused',
    );

    await submitKey(page, opts.key);
    result.shown = await until(
      page,
      args,
      (v) => v.state === 'ready' && v.streamRow !== null && v.orchestratorRow !== null && v.served >= 1 && v.plotPoints >= 1,
      deadline,
      'the stream, the orchestrator with a segment served, and a point on the plot',
    );
    // One more refresh: the page keeps reading with the key it kept.
    const refreshes = result.shown.refreshes;
    result.refreshed = await until(page, args, (v) => v.refreshes > refreshes, deadline, 'the next refresh');
    await screenshot('dashboard_page', page, opts.out, 'dashboard.png', result.screenshots, true);
    const v = result.refreshed;
    result.keyInAnyUrl = result.requests.some((url) => url.includes(opts.key));
    result.ok = v.contentVisible && !v.formVisible && v.keyStored && v.storedKeyMatches && v.cookie === ''
      && !result.keyInAnyUrl && v.violations.length === 0 && result.pageErrors.length === 0;
  } catch (e) {
    result.probeError = String((e && e.message) || e).split('\n')[0];
    process.stderr.write(`dashboard_page: ${(e && e.stack) || e}\n`);
    if (page) await screenshot('dashboard_page', page, opts.out, 'dashboard-failed.png', result.screenshots, true);
  }
  result.elapsedMs = Date.now() - t0;
  if (browser) await browser.close();
  clearTimeout(hardTimer);
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(result.ok ? 0 : 1));
}

main();
