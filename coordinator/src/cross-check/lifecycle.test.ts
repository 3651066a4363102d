import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger, ImageRef, Platform } from '@archfarm/common';
import type { Build, BuildSpec, Job } from '../builds/build';
import { buildFromRecords, buildRecord, jobRecord } from '../builds/build-records';
import { transition, type Effect } from '../builds/lifecycle';
import { jobSpecFor } from '../job-spec';
import { RegistryAccess } from '../registry-access';
import { checkJobs, jobLabel, pairingOf, recordLabel } from './pairs';
import { checkedPairs, disagreeing } from './verify';

const NOW = 1_000_000;
const settings = { maxAttempts: 3, leaseTtlMs: 30_000, retryBaseMs: 1000, random: () => 0.5 };
const [amd64, arm64] = Platform.parseList('linux/amd64,linux/arm64') as [Platform, Platform];
const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

const spec: BuildSpec = {
  platforms: [amd64, arm64],
  tag: ImageRef.parse('127.0.0.1:5000/app:1'),
  tags: [ImageRef.parse('127.0.0.1:5000/app:1')],
  contextDigest: `sha256:${'0'.repeat(64)}`,
  dockerfile: 'Dockerfile',
  buildArgs: { SOURCE_DATE_EPOCH: '0' },
  target: '',
  waitTimeoutSeconds: 0,
  timeoutSeconds: 0,
  allowPartial: false,
  smokeCommand: [],
  emulation: 'prefer-native',
  requireLabels: {},
  crossCompile: false,
  labels: {},
  annotations: [],
  pull: false,
  noCache: false,
  secretIds: [],
  crossCheck: [arm64],
};

function jobs(): Job[] {
  const own: Job[] = spec.platforms.map((platform, i) => ({ id: `b-${i}`, buildId: 'b', platform, state: 'queued', attempt: 0, queuedAt: 0, failedOn: new Set<string>() }));
  return [...own, ...checkJobs('b', spec, 0)];
}

/** b-0 amd64, b-1 arm64, b-2 arm64's check: each running on its own agent. */
function running(over: Partial<BuildSpec> = {}): Build {
  const agents = ['x86-1', 'x86-1', 'x86-2'];
  const held = jobs().map((j, i): Job => ({ ...j, state: 'running', attempt: 1, agent: agents[i], mode: 'emulated', leaseId: i + 1, leaseExpiresAt: NOW + 1000, startedAt: NOW - 10 }));
  return { id: 'b', spec: { ...spec, ...over }, state: 'running', jobs: held, createdAt: 0 };
}

function succeed(build: Build, i: number, digest: string): { build: Build; effects: Effect[] } {
  const j = build.jobs[i]!;
  return transition(build, { type: 'succeeded', jobId: j.id, attempt: 1, agent: j.agent!, digest, bases: [] }, NOW, settings);
}

test('check jobs follow the platform jobs, labelled, and pair with their platform', () => {
  const all = jobs();
  assert.deepEqual(all.map((j) => [j.id, jobLabel(j)]), [['b-0', 'linux/amd64'], ['b-1', 'linux/arm64'], ['b-2', 'linux/arm64 (cross-check)']]);
  assert.equal(pairingOf(all, all[0]!), undefined, 'amd64 is not cross-checked');
  assert.deepEqual(pairingOf(all, all[2]!), { platform: arm64, check: true, partner: undefined });
  // Placed is not enough: two builds at once on one engine would share their steps.
  const placed = all.map((j, i): Job => (i === 1 ? { ...j, state: 'running', agent: 'pi', mode: 'native' } : j));
  assert.equal(pairingOf(placed, placed[2]!)?.partner, undefined);
  const built = all.map((j, i): Job => (i === 1 ? { ...j, state: 'succeeded', agent: 'pi', mode: 'native', digest: D1 } : j));
  assert.deepEqual(pairingOf(built, built[2]!)?.partner, { agent: 'pi', mode: 'native' });
});

test('once all succeed, only the platform jobs are published; the check is compared, not published', () => {
  let b = running();
  b = succeed(b, 0, D1).build;
  b = succeed(b, 2, D2).build;
  const last = succeed(b, 1, D2);
  assert.equal(last.build.state, 'publishing');
  assert.deepEqual(last.effects.find((e) => e.type === 'publish'), { type: 'publish', jobIds: ['b-0', 'b-1'] });
  const toPublish = last.build.jobs.filter((j) => j.id !== 'b-2');
  const pairs = checkedPairs(last.build, toPublish);
  assert.deepEqual(pairs, [{ platform: 'linux/arm64', published: { agent: 'x86-1', mode: 'emulated', digest: D2 }, check: { agent: 'x86-2', mode: 'emulated', digest: D2 } }]);
  assert.deepEqual(disagreeing(pairs), []);
  const differ = checkedPairs({ jobs: last.build.jobs.map((j) => (j.id === 'b-2' ? { ...j, digest: D1 } : j)) }, toPublish);
  assert.equal(disagreeing(differ).length, 1);
});

test('the check\'s wait for an agent starts when its platform job succeeds, not at submit', () => {
  const b = running();
  const queuedCheck = { ...b, jobs: b.jobs.map((j): Job => (j.id === 'b-2' ? { ...j, state: 'queued', attempt: 0, agent: undefined, mode: undefined, leaseId: undefined, queuedAt: 5 } : j)) };
  const next = succeed(queuedCheck, 1, D2);
  assert.equal(next.build.jobs[2]!.queuedAt, NOW);
  assert.ok(next.effects.some((e) => e.type === 'persist-job' && e.jobId === 'b-2' && e.patch.queuedAt === NOW));
  assert.equal(succeed(queuedCheck, 0, D1).build.jobs[2]!.queuedAt, 5, 'another platform\'s success changes nothing');
});

test('a failed check fails the build, even with --allow-partial; a failed other platform does not', () => {
  const error = { code: 'BUILD_FAILED', message: 'exit code: 1', kind: 'build' } as const;
  const failCheck = transition(running({ allowPartial: true }), { type: 'failed', jobId: 'b-2', attempt: 1, agent: 'x86-2', error }, NOW, settings);
  assert.equal(failCheck.build.state, 'failed');
  assert.equal(failCheck.build.failedPlatform, 'linux/arm64');
  const failAmd = transition(running({ allowPartial: true }), { type: 'failed', jobId: 'b-0', attempt: 1, agent: 'x86-1', error }, NOW, settings);
  assert.equal(failAmd.build.state, 'running');
});

test('stored and restored: the check is known by its index, the spec keeps its cross-check', () => {
  const b = running();
  const record = buildRecord(b);
  assert.deepEqual(record.spec.crossCheck, ['linux/arm64']);
  const jobsStored = b.jobs.map(jobRecord);
  assert.deepEqual(jobsStored.map((j) => recordLabel(record.spec, j)), ['linux/amd64', 'linux/arm64', 'linux/arm64 (cross-check)']);
  const restored = buildFromRecords({ build: record, jobs: jobsStored, attempts: [] }, 1000, NOW);
  assert.deepEqual(restored.jobs.map((j) => j.check === true), [false, false, true]);
  assert.deepEqual(restored.spec.crossCheck?.map(String), ['linux/arm64']);
  const plain = buildRecord({ ...b, spec: { ...spec, crossCheck: undefined } });
  assert.equal('crossCheck' in plain.spec, false, 'a build without --cross-check stores nothing new');
});

test('the check job builds without the cache; the platform job as asked', () => {
  const registries = new RegistryAccess([], { authFile: undefined, useHostDockerConfig: false }, createLogger('test', 'silent'));
  const b = running();
  assert.equal(jobSpecFor(registries, b, b.jobs[2]!, undefined).noCache, true);
  assert.equal(jobSpecFor(registries, b, b.jobs[1]!, undefined).noCache, false);
});
