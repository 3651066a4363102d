import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Command } from 'commander';
import { addSettings, resolveSettings, type Setting } from './daemon-settings';
import { parseDuration } from './retention';

interface Opts {
  listen?: string;
  leaseTtlMs?: number;
  insecure?: boolean;
  labels?: string[];
  slots?: number;
  retention?: string;
}
const SETTINGS: Setting<Opts>[] = [
  { flag: '--listen', value: '<host:port>', kind: 'string', option: 'listen', help: 'l' },
  { flag: '--lease-ttl', value: '<duration>', kind: 'duration', option: 'leaseTtlMs', help: 't' },
  { flag: '--insecure', kind: 'boolean', option: 'insecure', help: 'i' },
  { flag: '--label', value: '<k=v>', kind: 'list', option: 'labels', help: 'x' },
  { flag: '--slots', value: '<n>', kind: 'count', option: 'slots', help: 's' },
  { flag: '--retention', value: '<duration>', kind: 'string', option: 'retention', help: 'r', check: parseDuration },
];

/** Parses argv and env the way main.ts does, with a real commander Command. */
function resolve(argv: string[], env: Record<string, string>, file?: unknown) {
  const dir = mkdtempSync(join(tmpdir(), 'archfarm-settings-'));
  const path = join(dir, 'c.json');
  if (file !== undefined) writeFileSync(path, typeof file === 'string' ? file : JSON.stringify(file));
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const cmd = addSettings(new Command('d').exitOverride(), SETTINGS, 'D_CONFIG', 'x.json');
    cmd.parse([...argv, ...(file === undefined ? [] : ['--config', path])], { from: 'user' });
    return { path, ...resolveSettings(cmd, SETTINGS, process.env) };
  } finally {
    for (const key of Object.keys(env)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

test('flag > env > file; nothing set is absent (the options module holds defaults)', () => {
  const file = { listen: '0.0.0.0:1', leaseTtl: '1m', insecure: true, label: ['a=1'], slots: 2 };
  assert.deepEqual(resolve([], {}, file).options, { listen: '0.0.0.0:1', leaseTtlMs: 60_000, insecure: true, labels: ['a=1'], slots: 2 });
  const env = { ARCHFARM_LEASE_TTL: '30s', ARCHFARM_LABEL: 'b=2,c=3', ARCHFARM_INSECURE: 'false' };
  const r = resolve(['--slots', '4'], env, file);
  assert.deepEqual(r.options, { listen: '0.0.0.0:1', leaseTtlMs: 30_000, insecure: false, labels: ['b=2', 'c=3'], slots: 4 });
  assert.deepEqual(Object.fromEntries(Object.entries(r.given).map(([k, v]) => [k, v.from])), { listen: 'file', leaseTtl: 'env', insecure: 'env', label: 'env', slots: 'flag' });
  assert.deepEqual(resolve(['--lease-ttl', '2s', '--label', 'x=1', '--label', 'y=2'], env).options, { leaseTtlMs: 2000, insecure: false, labels: ['x=1', 'y=2'] });
  assert.deepEqual(resolve([], {}).options, {});
  assert.deepEqual(resolve([], { ARCHFARM_LISTEN: '' }).options, {}, 'an empty variable is unset');
});

test('bad values and unknown keys name the flag, the variable or the file and key', () => {
  const refused = (argv: string[], env: Record<string, string>, file: unknown, text: RegExp) =>
    assert.throws(() => resolve(argv, env, file), (err: Error & { code?: string }) => err.code === 'INVALID_INPUT' && text.test(err.message), String(text));
  refused(['--lease-ttl', '30000'], {}, undefined, /--lease-ttl: "30000" has no unit/);
  refused([], { ARCHFARM_LEASE_TTL: 'soon' }, undefined, /ARCHFARM_LEASE_TTL: "soon" is not a duration/);
  refused([], {}, { leaseTtl: 30 }, /c\.json: leaseTtl: must be a duration with a unit as a string/);
  refused([], {}, { leaseTTL: '30s' }, /c\.json: leaseTTL: unknown key; the keys are listen, leaseTtl, insecure, label, slots, retention/);
  // A string the options module parses later is checked here, so the file key is named.
  refused([], {}, { retention: '7' }, /c\.json: retention: "7" has no unit/);
  refused([], { ARCHFARM_RETENTION: 'a week' }, undefined, /ARCHFARM_RETENTION: "a week" is not a duration/);
  refused([], {}, { slots: 0 }, /c\.json: slots: must be a whole number of at least 1/);
  refused([], { ARCHFARM_INSECURE: 'maybe' }, undefined, /ARCHFARM_INSECURE: must be true or false/);
  refused([], {}, '{ not json', /--config: cannot read .*c\.json/);
  refused([], {}, '[1]', /--config: .*must hold a JSON object/);
});

test('--help shows each variable and the --config file', () => {
  const cmd = addSettings(new Command('d'), SETTINGS, 'D_CONFIG', 'x.json');
  const help = cmd.helpInformation();
  for (const env of ['ARCHFARM_LISTEN', 'ARCHFARM_LEASE_TTL', 'ARCHFARM_INSECURE', 'ARCHFARM_LABEL', 'ARCHFARM_SLOTS', 'D_CONFIG']) assert.match(help, new RegExp(env));
});
