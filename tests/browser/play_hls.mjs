#!/usr/bin/env node
// Plays an HLS master playlist in Debian's headless Chromium through hls.js and reports what happened.
//
//   node tests/browser/play_hls.mjs <masterPlaylistUrl> [--seconds N] [--timeout-ms M] [--screenshot path.png]
//
// The page is served from a throwaway node http server on 127.0.0.1 (random port), so the playlist is
// fetched cross-origin exactly as a real player page would fetch it: the server under test must send
// `Access-Control-Allow-Origin: *`. hls.js comes from the repo's node_modules (injected with addScriptTag).
//
// Once the <video> starts playing (or a fatal hls.js error arrives), currentTime, the current level,
// errors and buffered ranges are sampled for N seconds (default 6). Exactly ONE JSON line goes to stdout:
//   {"ok", "levels", "currentLevel", "currentTimeStart", "currentTimeEnd", "advancedSeconds", "errors",
//    "fatalError", "videoWidth", "videoHeight", "playing", "h264Supported", "buffered", "samples", ...}
// Exit 0 when playback advanced by at least 1 s with no fatal error; 1 when it did not; 2 on bad usage.
// Diagnostics (page console, script failures) go to stderr. The whole run is bounded by --timeout-ms
// (default 60000): waiting for the first frame gives up 3 s before it, sampling is cut short at 1 s
// before it ("sampledSeconds" says how long it really sampled), and on expiry the JSON is still printed,
// with "timedOut": true. Chromium runs with a fresh --user-data-dir, removed on exit.

import { createServer } from 'node:http';
import { openBrowser, requireFromRepo, sleep } from './chromium.mjs';

const HLS_JS = requireFromRepo.resolve('hls.js/dist/hls.min.js');
const MIN_ADVANCE_S = 1;
const SAMPLE_EVERY_MS = 250;

function usage(msg) {
  if (msg) process.stderr.write(`play_hls: ${msg}\n`);
  process.stderr.write(
    'usage: node tests/browser/play_hls.mjs <masterPlaylistUrl> [--seconds N] [--timeout-ms M] [--screenshot path.png]\n',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { url: null, seconds: 6, timeoutMs: 60000, screenshot: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--seconds') opts.seconds = Number(value());
    else if (a === '--timeout-ms') opts.timeoutMs = Number(value());
    else if (a === '--screenshot') opts.screenshot = value();
    else if (a === '-h' || a === '--help') usage();
    else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else if (opts.url === null) opts.url = a;
    else usage(`unexpected argument ${a}`);
  }
  if (!opts.url) usage('missing playlist URL');
  if (!Number.isFinite(opts.seconds) || opts.seconds <= 0) usage('--seconds must be a positive number');
  if (!Number.isFinite(opts.timeoutMs) || opts.timeoutMs <= 0) usage('--timeout-ms must be a positive number');
  return opts;
}

const PAGE_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>play_hls probe</title></head>
<body style="margin:0;background:#000">
<video id="v" muted autoplay playsinline style="width:100%;height:auto"></video>
</body></html>`;

function startPageServer() {
  return new Promise((resolvePromise, reject) => {
    const server = createServer((req, res) => {
      if (req.url === '/favicon.ico') {
        res.writeHead(204).end();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(PAGE_HTML);
    });
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => resolvePromise(server));
  });
}

// Runs in the page: attaches hls.js and records everything into window.__probe.
function attachInPage(url) {
  const video = document.getElementById('v');
  const probe = {
    errors: [],
    fatalError: null,
    playing: false,
    playingAt: null,
    manifestParsed: false,
    h264Supported: typeof MediaSource !== 'undefined'
      && MediaSource.isTypeSupported('video/mp4; codecs="avc1.42E01E,mp4a.40.2"'),
    hlsSupported: typeof Hls !== 'undefined' && Hls.isSupported(),
    hlsVersion: typeof Hls !== 'undefined' ? Hls.version : null,
  };
  window.__probe = probe;
  if (!probe.hlsSupported) {
    probe.fatalError = { type: 'probeError', details: 'hlsNotSupported', fatal: true };
    probe.errors.push(probe.fatalError);
    return probe;
  }
  const hls = new Hls({ debug: false, enableWorker: true, lowLatencyMode: false });
  window.__hls = hls;
  const onPlaying = () => {
    if (!probe.playing) {
      probe.playing = true;
      probe.playingAt = performance.now();
    }
  };
  video.addEventListener('playing', onPlaying);
  video.addEventListener('timeupdate', () => { if (video.currentTime > 0) onPlaying(); });
  video.addEventListener('error', () => {
    const e = video.error;
    const err = { type: 'mediaElementError', details: e ? `code ${e.code}: ${e.message}` : 'unknown', fatal: true };
    probe.errors.push(err);
    if (!probe.fatalError) probe.fatalError = err;
  });
  hls.on(Hls.Events.ERROR, (_evt, data) => {
    const err = {
      type: data.type,
      details: data.details,
      fatal: !!data.fatal,
      reason: data.reason || (data.error && data.error.message) || null,
      url: (data.frag && data.frag.url) || (data.context && data.context.url) || data.url || null,
      responseCode: (data.response && data.response.code) || null,
      at: Math.round(performance.now()),
    };
    if (probe.errors.length < 200) probe.errors.push(err);
    if (err.fatal && !probe.fatalError) probe.fatalError = err;
  });
  hls.on(Hls.Events.MANIFEST_PARSED, () => {
    probe.manifestParsed = true;
    video.play().catch((e) => probe.errors.push({ type: 'playError', details: String(e), fatal: false }));
  });
  hls.attachMedia(video);
  hls.loadSource(url);
  return probe;
}

// Runs in the page: one snapshot of the player's state.
function snapshotInPage() {
  const video = document.getElementById('v');
  const hls = window.__hls;
  const probe = window.__probe || {};
  const buffered = [];
  for (let i = 0; i < video.buffered.length; i++) buffered.push([video.buffered.start(i), video.buffered.end(i)]);
  const levels = hls && hls.levels
    ? hls.levels.map((l) => ({
      width: l.width || 0,
      height: l.height || 0,
      bitrate: l.bitrate || 0,
      codecs: [l.videoCodec, l.audioCodec].filter(Boolean).join(',') || null,
      name: l.name || null,
    }))
    : [];
  return {
    currentTime: video.currentTime,
    paused: video.paused,
    readyState: video.readyState,
    videoWidth: video.videoWidth,
    videoHeight: video.videoHeight,
    buffered,
    levels,
    currentLevel: hls ? hls.currentLevel : -1,
    errors: probe.errors || [],
    fatalError: probe.fatalError || null,
    playing: !!probe.playing,
    manifestParsed: !!probe.manifestParsed,
    h264Supported: !!probe.h264Supported,
    hlsSupported: !!probe.hlsSupported,
    hlsVersion: probe.hlsVersion || null,
    now: performance.now(),
  };
}

const round3 = (x) => (typeof x === 'number' ? Math.round(x * 1000) / 1000 : x);

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  const deadline = t0 + opts.timeoutMs;
  const result = {
    ok: false,
    url: opts.url,
    levels: [],
    currentLevel: -1,
    currentTimeStart: null,
    currentTimeEnd: null,
    advancedSeconds: 0,
    errors: [],
    fatalError: null,
    videoWidth: 0,
    videoHeight: 0,
    playing: false,
    h264Supported: null,
    hlsSupported: null,
    hlsVersion: null,
    browserVersion: null,
    buffered: [],
    samples: [],
    sampledSeconds: 0,
    startupMs: null,
    elapsedMs: 0,
    timedOut: false,
    probeError: null,
  };
  let finished = false;
  const finish = (code) => {
    if (finished) return;
    finished = true;
    result.elapsedMs = Date.now() - t0;
    process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(code));
  };

  let server = null;
  let context = null;
  let browser = null;
  const cleanup = async () => {
    const closing = [];
    if (browser) closing.push(browser.close());
    if (server) closing.push(new Promise((r) => server.close(() => r())));
    await Promise.race([Promise.all(closing), sleep(5000)]);
  };

  // Hard stop: whatever is still pending when the overall timeout hits, report and leave.
  const hardTimer = setTimeout(async () => {
    result.timedOut = true;
    result.ok = false;
    if (!result.probeError) result.probeError = `overall timeout of ${opts.timeoutMs} ms reached`;
    await cleanup();
    finish(1);
  }, opts.timeoutMs);

  let lastSnap = null;
  const record = (snap) => {
    lastSnap = snap;
    result.levels = snap.levels;
    result.currentLevel = snap.currentLevel;
    result.errors = snap.errors;
    result.fatalError = snap.fatalError;
    result.videoWidth = snap.videoWidth;
    result.videoHeight = snap.videoHeight;
    result.playing = snap.playing;
    result.h264Supported = snap.h264Supported;
    result.hlsSupported = snap.hlsSupported;
    result.hlsVersion = snap.hlsVersion;
    result.buffered = snap.buffered.map(([s, e]) => [round3(s), round3(e)]);
  };

  try {
    server = await startPageServer();
    const pageUrl = `http://127.0.0.1:${server.address().port}/`;
    browser = await openBrowser('play_hls', { width: 1280, height: 720 }, deadline - Date.now());
    context = browser.context;
    result.browserVersion = context.browser() ? context.browser().version() : null;
    const page = context.pages()[0] || (await context.newPage());
    page.on('console', (msg) => process.stderr.write(`[page ${msg.type()}] ${msg.text()}\n`));
    page.on('pageerror', (err) => process.stderr.write(`[page error] ${err.message}\n`));
    await page.goto(pageUrl, { timeout: Math.max(1000, deadline - Date.now()) });
    if (!result.browserVersion) result.browserVersion = await page.evaluate(() => navigator.userAgent);
    await page.addScriptTag({ path: HLS_JS });
    await page.evaluate(attachInPage, opts.url);

    // Phase 1: wait until the video plays (or fails), keeping enough budget to see it advance.
    const startWaitUntil = deadline - (MIN_ADVANCE_S + 2) * 1000;
    for (;;) {
      const snap = await page.evaluate(snapshotInPage);
      record(snap);
      if (snap.fatalError || (snap.playing && snap.currentTime > 0)) break;
      if (Date.now() >= startWaitUntil) {
        result.probeError = 'playback did not start before the timeout';
        result.timedOut = true;
        break;
      }
      await sleep(100);
    }
    result.startupMs = Date.now() - t0;

    // Phase 2: sample for N seconds from the first played frame.
    if (!result.fatalError && !result.timedOut) {
      result.currentTimeStart = round3(lastSnap.currentTime);
      const sampleStart = Date.now();
      // Sampling is cut short (see sampledSeconds) if a slow start ate into the overall budget.
      const sampleEnd = Math.min(sampleStart + opts.seconds * 1000, deadline - 1000);
      while (Date.now() < sampleEnd) {
        await sleep(Math.min(SAMPLE_EVERY_MS, Math.max(0, sampleEnd - Date.now())));
        const snap = await page.evaluate(snapshotInPage);
        record(snap);
        result.samples.push({
          t: round3((Date.now() - sampleStart) / 1000),
          currentTime: round3(snap.currentTime),
          level: snap.currentLevel,
          paused: snap.paused,
          readyState: snap.readyState,
        });
        if (snap.fatalError) break;
      }
      result.sampledSeconds = round3((Date.now() - sampleStart) / 1000);
      result.currentTimeEnd = round3(lastSnap.currentTime);
      result.advancedSeconds = round3(result.currentTimeEnd - result.currentTimeStart);
    } else if (lastSnap) {
      result.currentTimeStart = round3(lastSnap.currentTime);
      result.currentTimeEnd = round3(lastSnap.currentTime);
    }

    if (opts.screenshot) {
      try {
        await page.screenshot({ path: opts.screenshot, timeout: 5000 });
      } catch (e) {
        process.stderr.write(`play_hls: screenshot failed: ${e.message}\n`);
      }
    }
    result.ok = !result.fatalError && !result.timedOut && result.advancedSeconds >= MIN_ADVANCE_S;
  } catch (e) {
    result.ok = false;
    result.probeError = String((e && e.message) || e).split('\n')[0];
    process.stderr.write(`play_hls: ${(e && e.stack) || e}\n`);
  }
  clearTimeout(hardTimer);
  await cleanup();
  finish(result.ok ? 0 : 1);
}

main();
