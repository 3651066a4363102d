#!/usr/bin/env node
// Bundles the compiled agent (agent/dist/main.js, after `npx tsc -b`) and its npm
// dependencies into one CommonJS file with a shebang, for hosts that get the agent as a
// single file (a Raspberry Pi, an s390x LPAR): agent/dist/bundle/archfarm-agent.cjs.
//
// Fails when a native addon would end up inside, or when a bundled dependency asks for a
// newer Node.js than MIN_NODE: the bundle must run on the stock Node.js of every CPU.
//
// Usage: node scripts/bundle-agent.mjs [--quiet]
import { build } from 'esbuild';
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = join(ROOT, 'agent/dist/main.js');
export const OUTFILE = join(ROOT, 'agent/dist/bundle/archfarm-agent.cjs');
/** The oldest Node.js the bundle supports; see the engines check below. */
const MIN_NODE = 18;
const quiet = process.argv.includes('--quiet');

const result = await build({
  absWorkingDir: ROOT, // metafile paths are relative to it
  entryPoints: [ENTRY],
  outfile: OUTFILE,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: `node${MIN_NODE}`,
  banner: { js: '#!/usr/bin/env node' },
  // ssh2 (dockerode -> docker-modem, used only for ssh:// engines) tries two optional
  // native addons inside try/catch and falls back to pure JS: leave both out.
  external: ['cpu-features', '*.node'],
  plugins: [embedDockerodeProtos()],
  metafile: true,
  logLevel: quiet ? 'error' : 'warning',
  legalComments: 'none',
});

chmodSync(OUTFILE, 0o755); // the shebang makes it runnable as ./archfarm-agent.cjs
const inputs = Object.keys(result.metafile.inputs);
const native = inputs.filter((p) => p.endsWith('.node') || /node_modules\/(bindings|node-gyp-build|prebuild-install)\//.test(p));
if (native.length > 0) throw new Error(`native addon code in the bundle: ${native.join(', ')}`);

// Every npm package in the bundle, with its engines.node: the minimum must satisfy all.
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

/**
 * dockerode reads two .proto files from its own directory at run time
 * (`path.resolve(__dirname, "proto", ...)`: lib/session.js for registry auth in builds,
 * lib/buildkit.js for BuildKit progress). In a single file that directory is gone, so
 * each such load is replaced by the parsed schema, embedded as protobufjs JSON.
 */
function embedDockerodeProtos() {
  const call = /(protoLoader\.loadSync|protobuf\.loadSync)\(\s*path\.resolve\(__dirname, "proto", "([\w.]+\.proto)"\)\s*\)/g;
  return {
    name: 'embed-dockerode-protos',
    setup(b) {
      b.onLoad({ filter: /[\\/]dockerode[\\/]lib[\\/](session|buildkit)\.js$/ }, (args) => {
        const source = readFileSync(args.path, 'utf8');
        // The protobufjs dockerode itself resolves, so the JSON matches what it would parse.
        const protobuf = createRequire(args.path)('protobufjs');
        let replaced = 0;
        const contents = source.replace(call, (_m, fn, file) => {
          replaced++;
          const json = JSON.stringify(protobuf.loadSync(join(dirname(args.path), 'proto', file)).toJSON());
          return fn.startsWith('protoLoader') ? `protoLoader.fromJSON(${json})` : `protobuf.Root.fromJSON(${json})`;
        });
        if (replaced !== 1) throw new Error(`${args.path}: expected one .proto load, found ${replaced} (dockerode changed?)`);
        return { contents, loader: 'js' };
      });
    },
  };
}

/** The lowest major a semver range admits, as far as engines fields need (">=18", "^20.17.0 || >=22.9.0", "14 || >=16.14"). */
function minMajor(range) {
  const majors = range.split('||').map((alt) => Number(/(\d+)/.exec(alt)?.[1] ?? 0));
  return Math.min(...majors);
}
