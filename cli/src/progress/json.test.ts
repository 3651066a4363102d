import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BuildMode, BuildState, JobState } from '@archfarm/proto';
import { buildResultJson } from '../commands/build-result';
import { agentJson } from '../commands/agents-table';
import { Captured, ev } from '../testing/events';
import { JsonRenderer } from './json';
import { BuildMonitor } from './monitor';

test('--progress json: one JSON object per line, log bytes as text', () => {
  const err = new Captured();
  const renderer = new JsonRenderer(err);
  const monitor = new BuildMonitor(renderer);
  renderer.context({ digest: 'sha256:abc', size: 10, uploading: false });
  renderer.submitted('b1', ['linux/arm64']);
  const euro = Buffer.from('€\n');
  monitor.handle(ev.job('linux/arm64', JobState.JOB_STATE_RUNNING, { agent: 'pi-1', mode: BuildMode.BUILD_MODE_NATIVE }));
  monitor.handle(ev.log('linux/arm64', 'pi-1', BuildMode.BUILD_MODE_NATIVE, euro.subarray(0, 1)));
  monitor.handle(ev.log('linux/arm64', 'pi-1', BuildMode.BUILD_MODE_NATIVE, euro.subarray(1)));
  monitor.handle(ev.waiting('linux/s390x', 'no agent'));
  monitor.handle(
    ev.finished({
      state: BuildState.BUILD_STATE_FAILED,
      error: { code: 'BUILD_STEP', message: 'RUN make: exit 2', kind: 'build' },
      failedPlatform: 'linux/s390x',
    }),
  );
  monitor.reportFailure('linux/s390x');
  const lines = err.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(lines, [
    { type: 'context', digest: 'sha256:abc', size: 10, upload: false },
    { type: 'submitted', buildId: 'b1', platforms: ['linux/arm64'] },
    { type: 'job', buildId: 'b1', timeMs: 1000, platform: 'linux/arm64', state: 'running', agent: 'pi-1', mode: 'native', digest: '', error: null, reason: '' },
    { type: 'log', buildId: 'b1', timeMs: 1001, platform: 'linux/arm64', agent: 'pi-1', mode: 'native', attempt: 1, text: '' },
    { type: 'log', buildId: 'b1', timeMs: 1001, platform: 'linux/arm64', agent: 'pi-1', mode: 'native', attempt: 1, text: '€\n' },
    { type: 'waiting', buildId: 'b1', timeMs: 1002, platform: 'linux/s390x', reason: 'no agent' },
    {
      type: 'finished',
      buildId: 'b1',
      timeMs: 1003,
      state: 'failed',
      digest: '',
      tag: '',
      platforms: [],
      error: { code: 'BUILD_STEP', message: 'RUN make: exit 2', kind: 'build' },
      failedPlatform: 'linux/s390x',
      leftOut: [],
    },
  ]);
});

test('build --output json has the contract shape', () => {
  const finished = ev.finished({
    digest: 'sha256:999',
    tag: '127.0.0.1:5000/hello:1',
    platforms: [
      { platform: 'linux/amd64', digest: 'sha256:1', agent: 'x86-1', mode: BuildMode.BUILD_MODE_NATIVE, bases: [] },
      { platform: 'linux/arm64', digest: 'sha256:2', agent: 'pi-1', mode: BuildMode.BUILD_MODE_EMULATED, bases: [] },
    ],
  });
  assert.ok(finished.event?.$case === 'finished');
  assert.deepEqual(JSON.parse(JSON.stringify(buildResultJson(finished.event.value))), {
    digest: 'sha256:999',
    tag: '127.0.0.1:5000/hello:1',
    tags: ['127.0.0.1:5000/hello:1'],
    platforms: [
      { platform: 'linux/amd64', digest: 'sha256:1', agent: 'x86-1', mode: 'native' },
      { platform: 'linux/arm64', digest: 'sha256:2', agent: 'pi-1', mode: 'emulated' },
    ],
    leftOut: [],
  });
});

test('agents --output json has the contract shape', () => {
  const json = agentJson({
    name: 'pi-1',
    version: '0.1.0',
    engine: 'docker 20.10.24',
    nodeVersion: 'v18.19.0',
    slots: 2,
    freeSlots: 1,
    connectedAtMs: 5,
    labels: { site: 'lab' },
    platforms: [
      { platform: 'linux/arm64', mode: BuildMode.BUILD_MODE_NATIVE },
      { platform: 'linux/amd64', mode: BuildMode.BUILD_MODE_EMULATED },
    ],
    connected: true,
    drained: false,
    lastSeenMs: 0,
    running: 1,
  });
  assert.deepEqual(json, {
    name: 'pi-1',
    version: '0.1.0',
    engine: 'docker 20.10.24',
    node: 'v18.19.0',
    slots: 2,
    freeSlots: 1,
    labels: { site: 'lab' },
    platforms: [
      { platform: 'linux/arm64', mode: 'native' },
      { platform: 'linux/amd64', mode: 'emulated' },
    ],
    status: 'connected',
    connected: true,
    drained: false,
    running: 1,
    lastSeen: null,
  });
});
