import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { addSettings, InvalidInputError, resolveSettings } from '@archfarm/common';
import { compileAgentOptions } from './options';
import { AGENT_SETTINGS } from './settings';

const base = { coordinator: '10.0.2.2:7420', stateDir: '/tmp/agent' };

/** argv and variables read the way main.ts reads them (the settings table, commander), then compiled. */
function started(argv: string[], env: Record<string, string>) {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const cmd = addSettings(new Command('archfarm-agent').exitOverride(), AGENT_SETTINGS, 'ARCHFARM_AGENT_CONFIG', 'x.json');
    cmd.parse(['--state-dir', '/tmp/agent', ...argv], { from: 'user' });
    const { logLevel: _, ...options } = resolveSettings(cmd, AGENT_SETTINGS, process.env).options;
    return compileAgentOptions(options, process.env);
  } finally {
    for (const key of Object.keys(env)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

test('--platforms narrows what the agent serves; ARCHFARM_PLATFORMS does when the flag is absent', () => {
  const env = { ARCHFARM_COORDINATOR: '10.0.2.2:7420', ARCHFARM_PLATFORMS: 'linux/s390x' };
  assert.deepEqual(started(['--platforms', 'linux/arm64,linux/arm/v7'], env).platforms?.map(String), ['linux/arm64', 'linux/arm/v7']);
  assert.deepEqual(started([], env).platforms?.map(String), ['linux/s390x']);
  assert.equal(started([], env).coordinator, '10.0.2.2:7420', 'ARCHFARM_COORDINATOR');
  assert.equal(started([], { ...env, ARCHFARM_JOIN_TOKEN: 'afj_x' }).joinToken, 'afj_x', 'ARCHFARM_JOIN_TOKEN');
});

test('no list, or an empty ARCHFARM_PLATFORMS (as install-agent.sh writes it), serves whatever the probe finds', () => {
  assert.equal(compileAgentOptions(base, {}).platforms, undefined);
  assert.equal(started(['--coordinator', '10.0.2.2:7420'], { ARCHFARM_PLATFORMS: '' }).platforms, undefined);
  assert.equal(compileAgentOptions({ ...base, platforms: '' }, {}).platforms, undefined);
});

test('a bad ARCHFARM_PLATFORMS fails at start-up naming --platforms', () => {
  assert.throws(
    () => started(['--coordinator', '10.0.2.2:7420'], { ARCHFARM_PLATFORMS: 'linux/' }),
    (err: unknown) => err instanceof InvalidInputError && /--platforms/.test(err.message),
  );
});

test('--coordinator without a port means 7420; --http-listen is off unless given, and checked', () => {
  const c = compileAgentOptions({ ...base, coordinator: 'coord.lan' }, {});
  assert.deepEqual([c.coordinator, c.coordinatorAddress.port, c.httpListen], ['coord.lan:7420', 7420, undefined]);
  assert.equal(compileAgentOptions({ ...base, httpListen: '127.0.0.1:7422' }, {}).httpListen?.toString(), '127.0.0.1:7422');
  assert.throws(() => compileAgentOptions({ ...base, httpListen: '7422' }, {}), (err: unknown) => err instanceof InvalidInputError && /--http-listen: "7422" is not host:port/.test(err.message));
  assert.throws(() => compileAgentOptions({ ...base, coordinator: 'a b:1' }, {}), (err: unknown) => err instanceof InvalidInputError && /--coordinator/.test(err.message));
});
