import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageRef, Platform, createLogger } from '@archfarm/common';
import type { JobFinished } from '@archfarm/proto';
import { BuildManager } from '../builds/build-manager';
import type { BuildSpec } from '../builds/build';
import { LogFiles } from '../builds/log-files';
import { DurationHistory } from '../scheduling/history';
import { MemoryStore } from '../store';
import { CoordinatorMetrics } from './coordinator-metrics';

/*
 * BuildManager reports to the metrics as it applies the lifecycle's effects: each test drives
 * a real BuildManager (memory store) and reads the counters back from the registry.
 */

const logger = createLogger('test', 'silent');
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

async function setup(metrics: CoordinatorMetrics, publish: () => Promise<{ digest: string; mediaType: string; size: number }> = async () => ({ digest: `sha256:${'f'.repeat(64)}`, mediaType: 'm', size: 1 })) {
  const manager = new BuildManager({
    agents: { send: () => true },
    store: new MemoryStore(),
    logs: new LogFiles(mkdtempSync(join(tmpdir(), 'archfarm-logs-')), 1000),
    logger,
    publish,
    settings: { maxAttempts: 3, leaseTtlMs: 1000, retryBaseMs: 1 },
    history: new DurationHistory(),
    credentials: { keep: () => {}, recall: async () => undefined, forget: () => {} },
    resolveSpec: async (spec) => spec,
    jobSpec: () => ({ spec: undefined, tokens: [] }),
    observer: metrics,
  });
  await manager.restore();
  const spec = {
    ...{ timeoutSeconds: 0, allowPartial: false, smokeCommand: [], emulation: 'prefer-native', requireLabels: {}, crossCompile: false, labels: {}, annotations: [], pull: false, noCache: false, secretIds: [] },
    ...{ platforms: [Platform.parse('linux/arm64')], tag: ImageRef.parse('127.0.0.1:5000/x:1'), tags: [ImageRef.parse('127.0.0.1:5000/x:1')], contextDigest: `sha256:${'0'.repeat(64)}`, dockerfile: 'Dockerfile', buildArgs: {}, target: '', waitTimeoutSeconds: 0 },
  } satisfies BuildSpec;
  const submit = async () => (await manager.submit(spec, undefined)).jobs[0]!.id;
  return { manager, submit };
}

const result = (jobId: string, attempt: number, error?: JobFinished['error']): JobFinished => ({ jobId, attempt, digest: error ? '' : 'sha256:1', mediaType: '', size: 0, error, bases: [] });

/** The value of one series (a histogram's `_count` when `suffix` says so). */
async function value(metrics: CoordinatorMetrics, name: string, labels: Record<string, string> = {}, suffix = ''): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  assert.ok(metric, `${name} is registered`);
  const series = metric.values.filter((v) => (v as { metricName?: string }).metricName === undefined || (v as { metricName?: string }).metricName === `${name}${suffix}`);
  const match = series.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l) && (suffix === '' || (v as { metricName?: string }).metricName === `${name}${suffix}`));
  return match?.value ?? 0;
}

test('a success, a build failure, a retry and a lease expiry are each counted once, where they happened', async () => {
  const metrics = new CoordinatorMetrics();
  const { manager, submit } = await setup(metrics);

  const ok = await submit();
  manager.assign(ok, 'a', 'emulated', 'test');
  await settle();
  manager.finished('a', result(ok, 1));
  await settle();

  const bad = await submit();
  manager.assign(bad, 'a', 'native', 'test');
  await settle();
  manager.finished('a', result(bad, 1, { code: 'BUILD_FAILED', message: 'RUN exited 1', kind: 'build' }));
  await settle();

  const flaky = await submit();
  manager.assign(flaky, 'a', 'native', 'test');
  await settle();
  manager.expireLeases(Date.now() + 5000);
  assert.equal(manager.job(flaky)?.state, 'queued', 'the expired attempt went back to the queue');
  assert.equal(await value(metrics, 'archfarm_queue_depth', { platform: 'linux/arm64' }), 0, 'no sources attached: the gauge is empty');
  metrics.attach({ agents: async () => [], activeBuilds: () => manager.active() });
  assert.equal(await value(metrics, 'archfarm_queue_depth', { platform: 'linux/arm64' }), 1, 'read from the builds at scrape time');
  manager.assign(flaky, 'b', 'native', 'test');
  await settle();
  manager.finished('b', result(flaky, 2));
  await settle();

  assert.equal(await value(metrics, 'archfarm_builds_total', { outcome: 'published' }), 2);
  assert.equal(await value(metrics, 'archfarm_builds_total', { outcome: 'failed' }), 1);
  assert.equal(await value(metrics, 'archfarm_job_retries_total'), 1);
  assert.equal(await value(metrics, 'archfarm_lease_expiries_total'), 1);
  assert.equal(await value(metrics, 'archfarm_job_duration_seconds', { platform: 'linux/arm64', mode: 'emulated' }, '_count'), 1);
  assert.equal(await value(metrics, 'archfarm_job_duration_seconds', { platform: 'linux/arm64', mode: 'native' }, '_count'), 1, 'the failed build is not a duration; the retried one is, once');
  assert.equal(await value(metrics, 'archfarm_queue_wait_seconds', { platform: 'linux/arm64' }, '_count'), 4, 'one wait per assignment');
  assert.equal(await value(metrics, 'archfarm_publish_duration_seconds', { outcome: 'published' }, '_count'), 2);
  assert.equal(await value(metrics, 'archfarm_queue_depth', { platform: 'linux/arm64' }), 0);
});

test('a failed publish is a failed build and a failed publish; two instances keep their own counts', async () => {
  const one = new CoordinatorMetrics();
  const other = new CoordinatorMetrics();
  const { manager, submit } = await setup(one, () => Promise.reject(Object.assign(new Error('registry said 503'), { code: 'REGISTRY_UNAVAILABLE', kind: 'infrastructure' })));
  const job = await submit();
  manager.assign(job, 'a', 'native', 'test');
  await settle();
  manager.finished('a', result(job, 1));
  await settle();
  assert.equal(await value(one, 'archfarm_builds_total', { outcome: 'failed' }), 1);
  assert.equal(await value(one, 'archfarm_publish_duration_seconds', { outcome: 'failed' }, '_count'), 1);
  assert.equal(await value(other, 'archfarm_builds_total', { outcome: 'failed' }), 0, 'a registry of its own');
  assert.match(await other.registry.metrics(), /^process_cpu_user_seconds_total/m, 'the default process metrics are there');
});

test('a store commit is observed by the histogram the store hook feeds', async () => {
  const metrics = new CoordinatorMetrics();
  metrics.storeCommitted(0.002);
  assert.equal(await value(metrics, 'archfarm_store_commit_duration_seconds', {}, '_count'), 1);
});
