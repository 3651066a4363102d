import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BuildDetails, BuildState, type SubmitBuildResponse } from '@archfarm/proto';
import { call, capturingLogger, ScriptedAgent, startCoordinator, submitRequest, uploadDockerfile } from './testing/in-process';

/*
 * The dispatcher and the build lifecycle against a real gRPC server on port 0, with
 * scripted agents on real Connect streams: leases, heartbeats, fencing and timeouts as an
 * agent meets them, without Docker (nothing here builds or publishes an image).
 */

const LEASE = { heartbeatIntervalMs: 500, leaseTtlMs: 1500, retryBaseDelayMs: 100 };

async function setUp(options = {}) {
  const lines: string[] = [];
  const { coordinator, builds } = await startCoordinator(mkdtempSync(join(tmpdir(), 'archfarm-dispatch-')), capturingLogger(lines), { ...LEASE, ...options });
  const context = await uploadDockerfile(builds, 'FROM scratch\n');
  const submit = async (over: Parameters<typeof submitRequest>[1]) =>
    (await call<ReturnType<typeof submitRequest>, SubmitBuildResponse>(builds.submitBuild.bind(builds), submitRequest(context, { tag: '127.0.0.1:5999/app:1', ...over }))).buildId;
  const inspect = (buildId: string) => call<{ buildId: string }, BuildDetails>(builds.inspectBuild.bind(builds), { buildId });
  const agents: ScriptedAgent[] = [];
  const agent = (name: string, platforms: string[]) => {
    const a = new ScriptedAgent(coordinator.port, name, platforms);
    agents.push(a);
    return a;
  };
  const stop = async () => {
    for (const a of agents) a.close();
    builds.close();
    await coordinator.stop(100);
  };
  return { coordinator, builds, submit, inspect, agent, stop, lines };
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a frozen agent loses its lease, the job moves, and its late heartbeat is answered with Cancel', async () => {
  const farm = await setUp();
  try {
    const frozen = farm.agent('frozen', ['linux/arm64']);
    await farm.submit({ platforms: ['linux/arm64'] });
    const [first] = await frozen.assigned(1);
    frozen.send({ $case: 'started', value: { jobId: first!.jobId, attempt: first!.attempt } });
    // Heartbeats that list the attempt keep it, past several lease periods.
    for (let i = 0; i < 8; i++) {
      frozen.heartbeat([first!]);
      await new Promise((r) => setTimeout(r, 400));
    }
    const buildId = first!.spec!.buildId;
    assert.equal((await farm.inspect(buildId)).platforms[0]!.attempts.length, 1, 'a busy agent that heartbeats keeps its job');
    // Frozen: the connection stays up, nothing is sent. Another agent is there to take over.
    const spare = farm.agent('spare', ['linux/arm64']);
    const [second] = await spare.assigned(1, 10_000);
    assert.equal(second!.jobId, first!.jobId);
    assert.equal(second!.attempt, first!.attempt + 1);
    // Thawed: its first heartbeat still lists the old attempt.
    frozen.heartbeat([first!]);
    await frozen.until('a Cancel for the stale attempt', () => frozen.cancels.some((c) => c.jobId === first!.jobId && c.attempt === first!.attempt));
    spare.heartbeat([second!]);
    frozen.send({ $case: 'finished', value: { jobId: first!.jobId, attempt: first!.attempt, digest: `sha256:${'a'.repeat(64)}`, mediaType: '', size: 0, error: undefined, bases: [] } });
    await new Promise((r) => setTimeout(r, 300));
    const details = await farm.inspect(buildId);
    assert.equal(details.state, BuildState.BUILD_STATE_RUNNING, 'the stale Finished changed nothing');
    assert.deepEqual(
      details.platforms[0]!.attempts.map((a) => [a.agent, a.outcome]),
      [
        ['frozen', 'lost'],
        ['spare', 'running'],
      ],
    );
    assert.equal(spare.cancels.length, 0, 'the new attempt is not touched');
  } finally {
    await farm.stop();
  }
});

test('--wait-timeout bounds the wait of a retry too: the only agent vanished mid-job, the build fails naming the platform', async () => {
  const farm = await setUp();
  try {
    const only = farm.agent('only', ['linux/s390x']);
    const buildId = await farm.submit({ platforms: ['linux/s390x'], waitTimeoutSeconds: 2 });
    const [assign] = await only.assigned(1);
    only.send({ $case: 'started', value: { jobId: assign!.jobId, attempt: assign!.attempt } });
    only.close();
    const ended = await eventually('the build to end', async () => {
      const d = await farm.inspect(buildId);
      return d.state === BuildState.BUILD_STATE_RUNNING ? undefined : d;
    });
    assert.equal(ended.state, BuildState.BUILD_STATE_FAILED);
    assert.equal(ended.error?.code, 'NO_AGENT');
    assert.equal(ended.failedPlatform, 'linux/s390x');
    assert.match(ended.error?.message ?? '', /linux\/s390x/);
    assert.deepEqual(ended.platforms[0]!.attempts.map((a) => a.outcome), ['lost'], 'the first attempt was lost, then the retry waited');
  } finally {
    await farm.stop();
  }
});

test('an agent that reconnects without an attempt loses it at once; one it lists and still holds goes on', async () => {
  const farm = await setUp({ leaseTtlMs: 60_000 });
  try {
    const a = farm.agent('pi', ['linux/arm/v7']);
    const buildId = await farm.submit({ platforms: ['linux/arm/v7', 'linux/arm/v7'] });
    const assigns = await a.assigned(2);
    a.close();
    // The same agent comes back (a new process): it still runs the first attempt only.
    const again = new ScriptedAgent(farm.coordinator.port, 'pi', ['linux/arm/v7'], 4, [assigns[0]!]);
    try {
      await eventually('the second job to be queued again and reassigned', async () => (again.assigns.length > 0 ? true : undefined));
      const details = await farm.inspect(buildId);
      const outcomes = details.platforms.map((p) => p.attempts.map((x) => x.outcome));
      assert.deepEqual(outcomes[0], ['running'], 'resumed, not restarted');
      assert.deepEqual(outcomes[1]!.slice(0, 1), ['lost']);
    } finally {
      again.close();
    }
  } finally {
    await farm.stop();
  }
});
