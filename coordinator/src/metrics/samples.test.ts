import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ImageRef, Platform } from '@archfarm/common';
import type { Build, Job, JobStateName } from '../builds/build';
import { agentSamples, queueDepth, slotSamples, type AgentSnapshot } from './samples';

const agent = (over: Partial<AgentSnapshot>): AgentSnapshot => ({ name: 'a', platforms: [{ platform: 'linux/amd64', mode: 'native' }], slots: 2, running: 0, connected: true, drained: false, ...over });

test('agents: one series per state, platform and mode; an agent counts in each platform it offers', () => {
  const samples = agentSamples([
    agent({ name: 'a', platforms: [{ platform: 'linux/amd64', mode: 'native' }, { platform: 'linux/arm64', mode: 'emulated' }] }),
    agent({ name: 'b', running: 1 }),
    agent({ name: 'c', running: 1 }),
    agent({ name: 'd', drained: true, running: 1 }),
    agent({ name: 'e', connected: false, drained: true }),
  ]);
  const key = (s: { state: string; platform: string; mode: string }) => `${s.state} ${s.platform} ${s.mode}`;
  assert.deepEqual(Object.fromEntries(samples.map((s) => [key(s), s.count])), {
    'idle linux/amd64 native': 1,
    'idle linux/arm64 emulated': 1,
    'busy linux/amd64 native': 2,
    'drained linux/amd64 native': 1,
    'disconnected linux/amd64 native': 1,
  });
});

test('slots: connected agents only', () => {
  assert.deepEqual(slotSamples([agent({ running: 2 }), agent({ running: 1, slots: 4 }), agent({ connected: false, slots: 8 })]), { inUse: 3, total: 6 });
});

test('queue depth: queued jobs of running builds, by platform', () => {
  const job = (platform: string, state: JobStateName): Job => ({ id: `${platform}-${state}`, buildId: 'b', platform: Platform.parse(platform), state, attempt: 0, queuedAt: 0, failedOn: new Set() });
  const build = (state: Build['state'], jobs: Job[]): Build => ({ id: 'b', state, jobs, createdAt: 0, spec: { tag: ImageRef.parse('r/x:1') } as Build['spec'] });
  const depth = queueDepth([
    build('running', [job('linux/amd64', 'queued'), job('linux/arm64', 'queued'), job('linux/arm64', 'running')]),
    build('running', [job('linux/arm64', 'queued')]),
    build('publishing', [job('linux/s390x', 'queued')]),
  ]);
  assert.deepEqual(Object.fromEntries(depth), { 'linux/amd64': 1, 'linux/arm64': 2 });
});
