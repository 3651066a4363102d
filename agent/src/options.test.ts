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
