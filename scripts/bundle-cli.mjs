#!/usr/bin/env node
// Bundles the compiled CLI (cli/dist/main.js, after `npx tsc -b`) and its npm dependencies
// into one CommonJS file with a shebang, cli/dist/bundle/archfarm.cjs, so a CI job can fetch
// one file and run `node archfarm.cjs build ...` with no npm install.
//
// Fails when native addon code would end up inside, or when a bundled dependency asks for a
// newer Node.js than MIN_NODE: the file must run on Node.js 18 (Debian 12, Ubuntu 22.04 CI).
//
// Usage: node scripts/bundle-cli.mjs [--quiet]
import { build } from 'esbuild';
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = join(ROOT, 'cli/dist/main.js');
export const OUTFILE = join(ROOT, 'cli/dist/bundle/archfarm.cjs');
const MIN_NODE = 18;
const quiet = process.argv.includes('--quiet');

const result = await build({
  absWorkingDir: ROOT,
  entryPoints: [ENTRY],
  outfile: OUTFILE,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: `node${MIN_NODE}`,
  banner: { js: '#!/usr/bin/env node' },
  external: ['*.node'],
  metafile: true,
  logLevel: quiet ? 'error' : 'warning',
  legalComments: 'none',
});

chmodSync(OUTFILE, 0o755);
const inputs = Object.keys(result.metafile.inputs);
const native = inputs.filter((p) => p.endsWith('.node') || /node_modules\/(bindings|node-gyp-build|prebuild-install)\//.test(p));
if (native.length > 0) throw new Error(`native addon code in the bundle: ${native.join(', ')}`);

const packages = new Map();
for (const p of inputs) {
  const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(p);
  if (!m || packages.has(m[1])) continue;
  const pkg = JSON.parse(readFileSync(join(ROOT, m[1], 'package.json'), 'utf8'));
  packages.set(m[1], { name: pkg.name, version: pkg.version, node: pkg.engines?.node });
}
const tooNew = [...packages.values()].filter((p) => p.node && minMajor(p.node) > MIN_NODE);
if (tooNew.length > 0) throw new Error(`needs a newer Node.js than ${MIN_NODE}: ${tooNew.map((p) => `${p.name}@${p.version} (${p.node})`).join(', ')}`);

if (!quiet) {
  for (const p of [...packages.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    process.stderr.write(`bundle: ${p.name}@${p.version} engines.node=${p.node ?? '-'}\n`);
  }
  process.stderr.write(`bundle: ${OUTFILE} (${statSync(OUTFILE).size} bytes, ${packages.size} packages, node >= ${MIN_NODE})\n`);
}
process.stdout.write(`${OUTFILE}\n`);

/** The lowest major a semver range admits, as far as engines fields need (">=18", "^20.17.0 || >=22.9.0"). */
function minMajor(range) {
  const majors = range.split('||').map((alt) => Number(/(\d+)/.exec(alt)?.[1] ?? 0));
  return Math.min(...majors);
}
