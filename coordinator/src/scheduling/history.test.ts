import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidInputError } from '@archfarm/common';
import type { ModeName } from '@archfarm/proto';
import { DurationHistory, expectedDuration, type EstimateQuery } from './history';

const factors = { emulationFactor: 5, crossCompileFactor: 1.3 };
const query = (extra: Partial<EstimateQuery> = {}): EstimateQuery => ({ agent: 'new', mode: 'native', platform: 'linux/arm64', repository: 'r/app', crossCompile: false, ...extra });
const noModes = (): ModeName | undefined => undefined;

test('keeps an exponentially weighted mean and a count per agent, platform and repository', () => {
  const h = new DurationHistory();
  h.record('pi-1', 'linux/arm64', 'r/app', 100_000);
  h.record('pi-1', 'linux/arm64', 'r/app', 200_000);
  assert.deepEqual(h.expectedMs('pi-1', 'linux/arm64', 'r/app'), { ms: 130_000, samples: 2 });
  assert.equal(h.expectedMs('pi-1', 'linux/arm/v7', 'r/app'), undefined);
  assert.equal(h.expectedMs('pi-1', 'linux/arm64', 'r/other'), undefined);
  assert.equal(h.expectedMs('pi-2', 'linux/arm64', 'r/app'), undefined);
});

test('alpha is configurable and validated', () => {
  const h = new DurationHistory({ alpha: 1 });
  h.record('a', 'linux/amd64', 'r/app', 10);
  h.record('a', 'linux/amd64', 'r/app', 20);
  assert.equal(h.expectedMs('a', 'linux/amd64', 'r/app')?.ms, 20);
  assert.throws(() => new DurationHistory({ alpha: 0 }), InvalidInputError);
  assert.throws(() => new DurationHistory({ alpha: 1.5 }), InvalidInputError);
});

test('remembers the last agent per repository and platform, for warm caches', () => {
  const h = new DurationHistory();
  h.record('a', 'linux/arm64', 'r/app', 1);
  h.record('b', 'linux/arm64', 'r/app', 1);
  h.record('a', 'linux/amd64', 'r/app', 1);
  assert.equal(h.lastBuilt('r/app', 'linux/arm64'), 'b');
  assert.equal(h.lastBuilt('r/app', 'linux/amd64'), 'a');
  assert.equal(h.lastBuilt('r/other', 'linux/arm64'), undefined);
});

test('ignores durations a clock step could produce', () => {
  const h = new DurationHistory();
  h.record('a', 'linux/arm64', 'r/app', -5);
  h.record('a', 'linux/arm64', 'r/app', Number.NaN);
  assert.equal(h.expectedMs('a', 'linux/arm64', 'r/app'), undefined);
  assert.equal(h.lastBuilt('r/app', 'linux/arm64'), undefined);
});

test('expectedDuration: the agent\'s own history wins', () => {
  const h = new DurationHistory();
  h.record('new', 'linux/arm64', 'r/app', 50_000, 'emulated');
  h.record('pi-1', 'linux/arm64', 'r/app', 10_000, 'native');
  assert.deepEqual(expectedDuration(h, query({ mode: 'emulated' }), factors, noModes), { ms: 50_000, samples: 1 });
});

test('expectedDuration: derived from peers across modes by the factors', () => {
  const h = new DurationHistory();
  h.record('pi-1', 'linux/arm64', 'r/app', 100_000, 'native');
  assert.deepEqual(expectedDuration(h, query({ mode: 'emulated' }), factors, noModes), { ms: 500_000, samples: 1, derivedFrom: ['pi-1'] });
  assert.equal(expectedDuration(h, query({ mode: 'emulated', crossCompile: true }), factors, noModes)?.ms, 130_000);
  assert.equal(expectedDuration(h, query({ mode: 'native' }), factors, noModes)?.ms, 100_000);
  const emulated = new DurationHistory();
  emulated.record('fast-1', 'linux/arm64', 'r/app', 500_000, 'emulated');
  assert.equal(expectedDuration(emulated, query({ mode: 'native' }), factors, noModes)?.ms, 100_000);
});

test('expectedDuration: peers weighted by their builds; mode taken from connected agents when not recorded', () => {
  const h = new DurationHistory();
  for (let i = 0; i < 3; i++) h.record('pi-1', 'linux/arm64', 'r/app', 100_000);
  h.record('pi-2', 'linux/arm64', 'r/app', 200_000);
  h.record('gone', 'linux/arm64', 'r/app', 1);
  const modeOf = (agent: string): ModeName | undefined => (agent.startsWith('pi') ? 'native' : undefined);
  assert.deepEqual(expectedDuration(h, query(), factors, modeOf), { ms: 125_000, samples: 4, derivedFrom: ['pi-1', 'pi-2'] });
  assert.equal(expectedDuration(h, query(), factors, noModes), undefined);
  assert.equal(expectedDuration(new DurationHistory(), query(), factors, noModes), undefined);
});
