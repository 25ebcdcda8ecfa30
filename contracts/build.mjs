// Builds contracts/src with the pinned solcjs through its JS API (the CLI prints a line before its JSON).
// Cached by a hash of the sources, the compiler version and these settings; any warning fails the build.
// Usage: node contracts/build.mjs [--force]
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");
const srcDir = join(here, "src");
const outDir = join(here, "build");
const stampFile = join(outDir, ".sources.sha256");

// Cancun: what Arbitrum and Anvil both run; via-IR because it packs the hot-path structs best.
const SETTINGS = {
  evmVersion: "cancun",
  viaIR: true,
  optimizer: { enabled: true, runs: 1000 },
  outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.bytecode.linkReferences", "evm.deployedBytecode.object"] } },
};

function listSources(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listSources(p));
    else if (entry.name.endsWith(".sol")) out.push(p);
  }
  return out.sort();
}

// The hash uses the pinned package's version, so an up-to-date check does not load the 8 MB compiler.
const solcVersion = JSON.parse(readFileSync(join(root, "node_modules", "solc", "package.json"), "utf8")).version;
const files = listSources(srcDir);
const hash = createHash("sha256");
hash.update(solcVersion);
hash.update(JSON.stringify(SETTINGS));
hash.update(readFileSync(fileURLToPath(import.meta.url)));
for (const f of files) {
  hash.update(relative(here, f));
  hash.update(readFileSync(f));
}
const digest = hash.digest("hex");

if (!process.argv.includes("--force") && existsSync(stampFile) && readFileSync(stampFile, "utf8") === digest) {
  console.log(`contracts up to date (sources ${digest.slice(0, 12)})`);
  process.exit(0);
}

const solc = require("solc");
const sources = {};
for (const f of files) sources[relative(here, f)] = { content: readFileSync(f, "utf8") };

function findImports(path) {
  for (const base of [here, join(root, "node_modules")]) {
    const p = join(base, path);
    if (existsSync(p)) return { contents: readFileSync(p, "utf8") };
  }
  return { error: `import not found: ${path}` };
}

console.log(`compiling ${files.length} sources with solc ${solc.version()} (via-IR, optimizer runs ${SETTINGS.optimizer.runs}) ...`);
const started = Date.now();
const output = JSON.parse(
  solc.compile(JSON.stringify({ language: "Solidity", sources, settings: SETTINGS }), { import: findImports }),
);
const problems = output.errors ?? [];
for (const e of problems) console.error(e.formattedMessage ?? e.message);
if (problems.length > 0) {
  const errors = problems.filter((e) => e.severity === "error").length;
  console.error(`build failed: ${errors} error(s), ${problems.length - errors} warning(s) or note(s); warnings fail the build`);
  process.exit(1);
}

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
// Libraries with public functions (SortedDoublyLL, PoolAccounting) are deployed on their own and linked into
// the contracts that call them: each artifact lists its link references (byte offsets of placeholders).
const linked = new Set();
for (const contracts of Object.values(output.contracts))
  for (const c of Object.values(contracts))
    for (const libs of Object.values(c.evm.bytecode.linkReferences ?? {})) for (const lib of Object.keys(libs)) linked.add(lib);
let count = 0;
for (const [file, contracts] of Object.entries(output.contracts)) {
  if (!file.startsWith("src/")) continue; // OpenZeppelin and other imports are not ours to ship
  for (const [name, c] of Object.entries(contracts)) {
    const bytecode = c.evm.bytecode.object;
    const runtime = c.evm.deployedBytecode.object;
    if (bytecode.length === 0) continue; // interfaces, abstract contracts
    if (c.abi.length === 0 && !linked.has(name)) continue; // libraries of internal functions only
    if (runtime.length / 2 > 24576) {
      console.error(`build failed: ${name} is ${runtime.length / 2} bytes, over the EIP-170 limit of 24576`);
      process.exit(1);
    }
    const linkReferences = c.evm.bytecode.linkReferences ?? {};
    const artifact = { contractName: name, sourceName: file, abi: c.abi, bytecode: "0x" + bytecode, deployedBytecode: "0x" + runtime, linkReferences };
    writeFileSync(join(outDir, `${name}.json`), JSON.stringify(artifact, null, 1));
    console.log(`  ${name.padEnd(18)} ${String(runtime.length / 2).padStart(6)} bytes runtime`);
    count += 1;
  }
}
writeFileSync(stampFile, digest);
console.log(`built ${count} contracts into ${relative(root, outDir)}/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
