#!/usr/bin/env node
// Opens the app's own player page (/play/{playbackId}) in Debian's headless Chromium and reports what a viewer
// would see. Unlike play_hls.mjs, nothing is injected: the page loads hls.js and its script from the app, under
// the app's Content-Security-Policy (any violation is reported).
//
//   node tests/browser/play_page.mjs --live URL [--go-file PATH] [--offline URL] [--ended URL] [--out DIR]
//                                     [--timeout-ms M]
//
// --live: a stream segments are being pushed into. Waits for the page to play, checks that currentTime advances,
//         reads the quality selector and the LIVE badge, picks another rendition in the selector and checks that
//         hls.js switched to it (currentLevel, loadLevel, the video's height) and that playback goes on.
//         With --go-file, the stream is not live yet: the page must first say it is offline; then the script
//         creates PATH (the broadcaster's cue to go live) and the page must start playing by itself.
// --offline / --ended: waits for the page to show that state, and reads its message and the badge.
// Screenshots (live.png, switched.png, offline.png, ended.png) go to --out. Exactly ONE JSON line goes to stdout;
// exit 0 when every page did what it should, 1 otherwise, 2 on bad usage. Diagnostics go to stderr.

import { mkdirSync, writeFileSync } from 'node:fs';

import { openBrowser, probeOptions, recordViolations, screenshot, sleep } from './chromium.mjs';

const PLAY_FOR_MS = 2500; // how long playback is watched before and after the switch
// ... and how long at most, when it has not yet advanced MIN_ADVANCE_S (a busy machine may stall a moment
// on a switch while the new rendition's segments load; playback that goes on passes, one that stopped does not)
const PLAY_WITHIN_MS = 6000;
const MIN_ADVANCE_S = 1;

function options() {
  const { values, timeoutMs, fail } = probeOptions(
    'play_page',
    'node tests/browser/play_page.mjs --live URL [--go-file PATH] [--offline URL] [--ended URL] [--out DIR] [--timeout-ms M]',
    ['live', 'go-file', 'offline', 'ended', 'out'],
    50000,
  );
  const { live = null, offline = null, ended = null, out = null } = values;
  if (!live && !offline && !ended) fail('give at least one page');
  return { live, goFile: values['go-file'] || null, offline, ended, out, timeoutMs };
}

const round3 = (x) => (typeof x === 'number' ? Math.round(x * 1000) / 1000 : x);


// Runs in the page: what a viewer sees, and what hls.js is doing.
function viewInPage() {
  const video = document.getElementById('video');
  const badge = document.getElementById('live-badge');
  const message = document.getElementById('message');
  const quality = document.getElementById('quality');
  const player = window.lpPlayer || null;
  const hls = player ? player.hls : null;
  return {
    state: document.getElementById('player').getAttribute('data-state'),
    message: message.hidden ? '' : message.textContent,
    badgeVisible: !badge.hidden && getComputedStyle(badge).display !== 'none',
    qualityDisabled: quality.disabled,
    qualityOptions: Array.from(quality.options).map((o) => ({ value: o.value, text: o.textContent })),
    qualityValue: quality.value,
    hlsLoaded: typeof window.Hls === 'function',
    levels: hls ? hls.levels.map((l) => ({ width: l.width, height: l.height, bitrate: l.bitrate, name: l.name || null })) : [],
    currentLevel: hls ? hls.currentLevel : null,
    loadLevel: hls ? hls.loadLevel : null,
    autoLevelEnabled: hls ? hls.autoLevelEnabled : null,
    currentTime: video.currentTime,
    paused: video.paused,
    videoHeight: video.videoHeight,
    violations: window.__violations || [],
  };
}

async function until(page, predicate, deadline, what) {
  for (;;) {
    const view = await page.evaluate(viewInPage);
    if (predicate(view)) return view;
    if (Date.now() >= deadline) throw new Error(`timed out waiting for ${what}; last view: ${JSON.stringify(view)}`);
    await sleep(150);
  }
}

async function watchPlayback(page) {
  const before = await page.evaluate(viewInPage);
  const started = Date.now();
  await sleep(PLAY_FOR_MS);
  let after = await page.evaluate(viewInPage);
  while (after.currentTime - before.currentTime < MIN_ADVANCE_S && Date.now() - started < PLAY_WITHIN_MS) {
    await sleep(250);
    after = await page.evaluate(viewInPage);
  }
  return { from: round3(before.currentTime), to: round3(after.currentTime), advanced: round3(after.currentTime - before.currentTime) };
}


async function livePage(context, url, goFile, deadline, out, shots) {
  const page = await context.newPage();
  const report = { url, ok: false, offlineFirst: null };
  try {
    await page.goto(url, { timeout: Math.max(1000, deadline - Date.now()) });
    if (goFile) {
      report.offlineFirst = await until(page, (v) => v.state === 'offline', deadline, 'the page to say "offline"');
      writeFileSync(goFile, 'go\n');
      report.goAt = Date.now();
    }
    const playing = await until(page, (v) => v.state === 'playing' && v.currentTime > 0, deadline, 'the page to play');
    report.playing = playing;
    if (report.goAt) report.playingAfterGoMs = Date.now() - report.goAt;
    report.before = await watchPlayback(page);
    report.levels = playing.levels;
    report.options = (await page.evaluate(viewInPage)).qualityOptions;
    report.badgeVisible = (await page.evaluate(viewInPage)).badgeVisible;
    await screenshot('play_page', page, out, 'live.png', shots);

    // Pick, in the selector, the rendition furthest in height from the one playing, and switch to it.
    const now = await page.evaluate(viewInPage);
    const playingHeight = now.levels[now.currentLevel] ? now.levels[now.currentLevel].height : 0;
    const choices = now.qualityOptions.filter((o) => o.value !== '-1');
    choices.sort((a, b) => Math.abs(now.levels[b.value].height - playingHeight) - Math.abs(now.levels[a.value].height - playingHeight));
    const target = choices[0];
    report.switchFrom = { level: now.currentLevel, height: playingHeight };
    report.switchTo = { level: Number(target.value), label: target.text, height: now.levels[target.value].height };
    await page.selectOption('#quality', target.value);
    const switched = await until(
      page,
      (v) => v.currentLevel === Number(target.value) && v.loadLevel === Number(target.value)
        && v.videoHeight === report.switchTo.height && !v.paused,
      deadline,
      `hls.js to switch to level ${target.value}`,
    );
    report.switched = switched;
    report.after = await watchPlayback(page);
    const last = await page.evaluate(viewInPage);
    report.final = last;
    report.violations = last.violations;
    await screenshot('play_page', page, out, 'switched.png', shots);
    report.ok = report.before.advanced >= MIN_ADVANCE_S && report.after.advanced >= MIN_ADVANCE_S
      && report.badgeVisible && last.currentLevel === Number(target.value) && last.violations.length === 0;
  } catch (e) {
    report.error = String((e && e.message) || e);
    try { report.final = await page.evaluate(viewInPage); } catch { /* page gone */ }
    await screenshot('play_page', page, out, 'live-failed.png', shots);
  }
  await page.close().catch(() => {});
  return report;
}

async function statePage(context, url, state, deadline, out, shots) {
  const page = await context.newPage();
  const report = { url, ok: false };
  try {
    await page.goto(url, { timeout: Math.max(1000, deadline - Date.now()) });
    const view = await until(page, (v) => v.state === state, deadline, `the page to show "${state}"`);
    report.view = view;
    report.violations = view.violations;
    await screenshot('play_page', page, out, `${state}.png`, shots);
    report.ok = view.message.length > 0 && !view.badgeVisible && view.violations.length === 0;
  } catch (e) {
    report.error = String((e && e.message) || e);
    try { report.view = await page.evaluate(viewInPage); } catch { /* page gone */ }
    await screenshot('play_page', page, out, `${state}-failed.png`, shots);
  }
  await page.close().catch(() => {});
  return report;
}

async function main() {
  const opts = options();
  const t0 = Date.now();
  const deadline = t0 + opts.timeoutMs;
  const result = { ok: false, live: null, offline: null, ended: null, screenshots: [], pageErrors: [], probeError: null };
  let context = null;
  let browser = null;
  const hardTimer = setTimeout(() => {
    result.probeError = `overall timeout of ${opts.timeoutMs} ms reached`;
    process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(1));
  }, opts.timeoutMs + 5000);
  try {
    if (opts.out) mkdirSync(opts.out, { recursive: true });
    browser = await openBrowser('play_page', { width: 1280, height: 800 }, deadline - Date.now());
    context = browser.context;
    await context.addInitScript(recordViolations);
    context.on('page', (page) => {
      page.on('console', (msg) => {
        if (msg.type() === 'error' || msg.type() === 'warning') process.stderr.write(`[page ${msg.type()}] ${msg.text()}\n`);
      });
      page.on('pageerror', (err) => {
        result.pageErrors.push(err.message);
        process.stderr.write(`[page error] ${err.message}\n`);
      });
    });
    if (opts.offline) result.offline = await statePage(context, opts.offline, 'offline', deadline, opts.out, result.screenshots);
    if (opts.ended) result.ended = await statePage(context, opts.ended, 'ended', deadline, opts.out, result.screenshots);
    if (opts.live) {
      result.live = await livePage(context, opts.live, opts.goFile, deadline, opts.out, result.screenshots);
    }
    const reports = [result.live, result.offline, result.ended].filter(Boolean);
    result.ok = reports.every((r) => r.ok) && result.pageErrors.length === 0;
  } catch (e) {
    result.probeError = String((e && e.message) || e).split('\n')[0];
    process.stderr.write(`play_page: ${(e && e.stack) || e}\n`);
  }
  result.elapsedMs = Date.now() - t0;
  if (browser) await browser.close();
  clearTimeout(hardTimer);
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(result.ok ? 0 : 1));
}

main();
