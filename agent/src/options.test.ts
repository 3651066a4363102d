import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidInputError } from '@archfarm/common';
import { compileAgentOptions } from './options';

const base = { coordinator: '10.0.2.2:7420', stateDir: '/tmp/agent' };

test('--platforms narrows what the agent serves; ARCHFARM_PLATFORMS does when the flag is absent', () => {
  const env = { ARCHFARM_PLATFORMS: 'linux/s390x' };
  assert.deepEqual(compileAgentOptions({ ...base, platforms: 'linux/arm64,linux/arm/v7' }, env).platforms?.map(String), ['linux/arm64', 'linux/arm/v7']);
  assert.deepEqual(compileAgentOptions(base, env).platforms?.map(String), ['linux/s390x']);
});

test('no list, or an empty ARCHFARM_PLATFORMS (as install-agent.sh writes it), serves whatever the probe finds', () => {
  assert.equal(compileAgentOptions(base, {}).platforms, undefined);
  assert.equal(compileAgentOptions(base, { ARCHFARM_PLATFORMS: '' }).platforms, undefined);
});

test('a bad ARCHFARM_PLATFORMS fails at start-up naming --platforms', () => {
  assert.throws(
    () => compileAgentOptions(base, { ARCHFARM_PLATFORMS: 'linux/' }),
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
