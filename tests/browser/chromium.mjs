// Debian's headless Chromium as every browser probe here starts it: playwright-core from the repo's node_modules,
// a fresh user data directory, and the flags TOOLCHAIN.md lists (no network of its own, autoplay allowed).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

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
