#!/usr/bin/env node
// Packs the compiled coordinator (coordinator/dist/main.js, after `npx tsc -b`) for its
// container image (deploy/images/coordinator.Dockerfile): one CommonJS file with every
// pure-JS dependency inside, plus the one native addon, better-sqlite3, as npm installed it:
//
//   OUT/archfarm-coordinator.cjs
//   OUT/node_modules/better-sqlite3/{package.json,lib/,build/Release/better_sqlite3.node}
//   OUT/node_modules/{bindings,file-uri-to-path}/   (how better-sqlite3 finds its addon)
//
// The addon is compiled for the CPU that ran `npm ci`, so OUT is for that platform only;
// the default OUT names it: coordinator/dist/image/linux-<arch>, as the Dockerfile expects.
//
// Usage: node scripts/bundle-coordinator.mjs [--out DIR] [--quiet]
import { build } from 'esbuild';
import { chmodSync, cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = join(ROOT, 'coordinator/dist/main.js');
/** Node.js process.arch -> Docker's TARGETARCH + TARGETVARIANT. */
const PLATFORM_DIR = { x64: 'amd64', arm64: 'arm64', arm: 'armv7', s390x: 's390x', ppc64: 'ppc64le' };
const ADDON = 'better-sqlite3';
const ADDON_FILES = ['package.json', 'LICENSE', 'lib', 'build/Release/better_sqlite3.node'];
const ADDON_DEPS = ['bindings', 'file-uri-to-path'];

const args = process.argv.slice(2);
const quiet = args.includes('--quiet');
const outIndex = args.indexOf('--out');
const out = outIndex >= 0 ? resolve(args[outIndex + 1] ?? '') : join(ROOT, 'coordinator/dist/image', `linux-${PLATFORM_DIR[process.arch] ?? process.arch}`);

rmSync(out, { recursive: true, force: true });
await build({
  absWorkingDir: ROOT,
  entryPoints: [ENTRY],
  outfile: join(out, 'archfarm-coordinator.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  banner: { js: '#!/usr/bin/env node' },
  // Loaded at run time from OUT/node_modules: a native addon cannot live inside a .cjs.
  external: [ADDON],
  logLevel: quiet ? 'error' : 'warning',
  legalComments: 'none',
});
chmodSync(join(out, 'archfarm-coordinator.cjs'), 0o755);

const modules = join(ROOT, 'node_modules');
for (const file of ADDON_FILES) copy(join(modules, ADDON, file), join(out, 'node_modules', ADDON, file));
for (const dep of ADDON_DEPS) copy(join(modules, dep), join(out, 'node_modules', dep));
if (!quiet) process.stderr.write(`bundle-coordinator: ${out} (${process.platform}/${process.arch})\n`);
process.stdout.write(`${out}\n`);

function copy(from, to) {
  if (!existsSync(from)) throw new Error(`${from} is missing: run npm ci (it compiles ${ADDON}) and npx tsc -b first`);
  mkdirSync(dirname(to), { recursive: true });
  cpSync(from, to, { recursive: true, dereference: true });
}
