// Debian's headless Chromium as every browser probe here starts it: playwright-core from the repo's node_modules,
// a fresh user data directory, and the flags TOOLCHAIN.md lists (no network of its own, autoplay allowed).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
// Packages resolve from the repo's node_modules, wherever the script is run from.
export const requireFromRepo = createRequire(join(REPO_ROOT, 'package.json'));
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
];

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// Start Chromium for probe `name`; returns { context, close }. close() waits at most 5 s for the browser, then
// removes the user data directory (best effort); it never throws.
export async function openBrowser(name, viewport, timeoutMs) {
  const { chromium } = requireFromRepo('playwright-core');
  const userDataDir = mkdtempSync(join(tmpdir(), `${name}-chromium-`));
  const removeDir = () => {
    try { rmSync(userDataDir, { recursive: true, force: true }); } catch { /* best effort */ }
  };
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport,
      timeout: Math.max(1000, timeoutMs),
    });
  } catch (e) {
    removeDir();
    throw e;
  }
  const close = async () => {
    await Promise.race([context.close().catch(() => {}), sleep(5000)]);
    removeDir();
  };
  return { context, close };
}

// The options of probe `name` (each `--option VALUE`, as strings, by Node's own parser) and its `--timeout-ms`,
// checked to be a positive number (`defaultTimeoutMs` when absent). A value that may begin with "-" (an API key
// can) must be given as `--option=VALUE`: the parser takes `--option -x` for a missing value. `fail(message)` prints the message and
// `usageLine`, then exits 2: the probes' answer to bad usage.
export function probeOptions(name, usageLine, names, defaultTimeoutMs, argv = process.argv.slice(2)) {
  const fail = (msg) => {
    process.stderr.write(`${name}: ${msg}\nusage: ${usageLine}\n`);
    process.exit(2);
  };
  let values;
  try {
    const options = Object.fromEntries([...names, 'timeout-ms'].map((n) => [n, { type: 'string' }]));
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (e) {
    fail(e.message);
  }
  const timeoutMs = values['timeout-ms'] === undefined ? defaultTimeoutMs : Number(values['timeout-ms']);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) fail('--timeout-ms must be a positive number');
  return { values, timeoutMs, fail };
}

// Runs in a page before its own scripts: records Content-Security-Policy violations in window.__violations.
export function recordViolations() {
  window.__violations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__violations.push({ directive: e.effectiveDirective, blocked: e.blockedURI, source: e.sourceFile || null });
  });
}

// Save a screenshot of `page` as `out/file` (nothing without `out`) and add its path to `shots`; a failure is
// said on stderr, never thrown (the screenshots help a person, the report decides).
export async function screenshot(probe, page, out, file, shots, fullPage = false) {
  if (!out) return;
  const path = join(out, file);
  try {
    await page.screenshot({ path, timeout: 5000, fullPage });
    shots.push(path);
  } catch (e) {
    process.stderr.write(`${probe}: screenshot ${file} failed: ${e.message}\n`);
  }
}
