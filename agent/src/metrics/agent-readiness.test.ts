/**
 * The agent's --http-listen in-process, against the fake coordinator over real sockets:
 * /readyz follows the connection (503 while the stream is down), /healthz the process, and
 * /metrics counts the job it ran.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLogger } from '@archfarm/common';
import { BuildMode, JobSpec } from '@archfarm/proto';
import { Agent } from '../agent';
import { compileAgentOptions } from '../options';
import { FakeCoordinator } from '../testing/fake-coordinator';
import { FakeEngine } from '../testing/fake-engine';
import { FakeRegistry } from '../testing/fake-registry';

async function status(url: string): Promise<number | 'refused'> {
  try {
    return (await fetch(url)).status;
  } catch {
    return 'refused';
  }
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('agent: /readyz 200 while connected, 503 while the stream is down; /healthz 200; /metrics counts the job; closed with the agent', async () => {
  const coordinator = await new FakeCoordinator().start();
  const registry = await new FakeRegistry().start();
  const stateDir = mkdtempSync(join(tmpdir(), 'archfarm-agent-ready-'));
  const options = compileAgentOptions({ coordinator: coordinator.address, name: 'ready-agent', stateDir, platforms: 'linux/amd64', slots: 1, insecure: true, httpListen: '127.0.0.1:0' });
  const agent = new Agent(options, new FakeEngine(), createLogger('test', 'silent'));
  try {
    await agent.start();
    const url = (path: string) => `http://127.0.0.1:${agent.httpPort}${path}`;
    await until('ready once welcomed', async () => (await status(url('/readyz'))) === 200);

    const context = coordinator.addContext({ Dockerfile: 'FROM scratch\n' });
    const spec = JobSpec.fromPartial({ buildId: 'b1', platform: 'linux/amd64', contextDigest: context, dockerfile: 'Dockerfile', repository: `${registry.host}/team/app`, insecureRegistry: true });
    coordinator.assign({ jobId: 'j1', attempt: 1, leaseId: 10, mode: BuildMode.BUILD_MODE_NATIVE, spec, tokens: [] });
    await coordinator.waitFor('Finished', () => coordinator.all('finished').find((f) => f.jobId === 'j1'));
    const metrics = await (await fetch(url('/metrics'))).text();
    assert.match(metrics, /^archfarm_agent_jobs_total\{outcome="succeeded"\} 1$/m);
    assert.match(metrics, /^archfarm_agent_job_duration_seconds_count\{platform="linux\/amd64",mode="native"\} 1$/m);
    assert.match(metrics, /^archfarm_agent_connected 1$/m);

    coordinator.dropStream();
    await until('not ready once the stream is down', async () => (await status(url('/readyz'))) === 503);
    assert.equal(await status(url('/healthz')), 200, 'alive without its coordinator');
    assert.match(await (await fetch(url('/metrics'))).text(), /^archfarm_agent_connected 0$/m);
    await until('ready again after the reconnect', async () => (await status(url('/readyz'))) === 200);

    await agent.stop(2000);
    assert.equal(await status(url('/healthz')), 'refused', 'the listener closes with the agent');
  } finally {
    await agent.stop(2000);
    coordinator.stop();
    registry.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
});
