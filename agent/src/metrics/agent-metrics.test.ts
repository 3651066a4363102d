import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentMetrics } from './agent-metrics';

/** A sample line's value, e.g. `archfarm_agent_jobs_total{outcome="failed"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('agent metrics: slots and connection read at scrape time; jobs by outcome; durations of successes only', async () => {
  let busy = 0;
  let connected = false;
  const metrics = new AgentMetrics({ slotsInUse: () => busy, slots: 3, connected: () => connected });
  let text = (await metrics.expose()).body;
  assert.equal(sample(text, 'archfarm_agent_slots_in_use'), 0);
  assert.equal(sample(text, 'archfarm_agent_slots'), 3);
  assert.equal(sample(text, 'archfarm_agent_connected'), 0);
  busy = 2;
  connected = true;
  metrics.jobEnded('succeeded', 'linux/arm64', 'emulated', 12_000);
  metrics.jobEnded('failed', 'linux/arm64', 'emulated', 1_000);
  metrics.jobEnded('dropped', 'linux/amd64', 'native', 1_000);
  text = (await metrics.expose()).body;
  assert.equal(sample(text, 'archfarm_agent_slots_in_use'), 2);
  assert.equal(sample(text, 'archfarm_agent_connected'), 1);
  for (const outcome of ['succeeded', 'failed', 'dropped']) assert.equal(sample(text, `archfarm_agent_jobs_total{outcome="${outcome}"}`), 1);
  assert.equal(sample(text, 'archfarm_agent_job_duration_seconds_count{platform="linux/arm64",mode="emulated"}'), 1);
  assert.equal(sample(text, 'archfarm_agent_job_duration_seconds_sum{platform="linux/arm64",mode="emulated"}'), 12);
  assert.equal(sample(text, 'archfarm_agent_job_duration_seconds_count{platform="linux/amd64",mode="native"}'), undefined, 'a dropped attempt is no duration');
  assert.match(text, /^process_resident_memory_bytes /m);
});
