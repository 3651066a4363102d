import assert from 'node:assert/strict';
import { InvalidInputError } from '@archfarm/common';
import { StoreRecordNotFoundError } from './errors';
import { sampleAgent, type WithStore } from './store-fixtures';

/** Agents: part of storeContract (./store-contract). */
export function agentContract(withStore: WithStore): void {
  withStore('upsertAgent inserts agents; listAgents returns them by name', async (store) => {
    assert.deepEqual(await store.listAgents(), []);
    const pi = sampleAgent('pi-2');
    const x86 = sampleAgent('amd-1', 5, { connected: false, drained: true, labels: {}, platforms: [] });
    await store.upsertAgent(pi);
    await store.upsertAgent(x86);
    await store.upsertAgent(sampleAgent('pi-10', 7, { slots: 0 }));
    assert.deepEqual(await store.listAgents(), [x86, sampleAgent('pi-10', 7, { slots: 0 }), pi]);
  });

  withStore('upsertAgent on a known agent updates all but firstSeen and drained', async (store) => {
    await store.upsertAgent(sampleAgent('pi-1', 100, { drained: true, connected: false }));
    const reconnect = sampleAgent('pi-1', 500, {
      version: '0.2.0',
      nodeVersion: 'v18.19.0',
      engine: 'podman 5.0',
      platforms: [{ platform: 'linux/arm/v7', mode: 'native' }],
      slots: 4,
      labels: { site: 'home' },
      connected: true,
      drained: false,
      machine: { certificateFingerprint: `sha256:${'c'.repeat(64)}`, engineName: 'podman', engineVersion: '5.0.1', cpu: 'armv7l', kernel: '6.6.31+rpt-rpi-v7' },
    });
    await store.upsertAgent(reconnect);
    assert.deepEqual(await store.listAgents(), [{ ...reconnect, firstSeen: 100, drained: true }]);
  });

  withStore('setAgentConnected sets connected and lastSeen of one known agent', async (store) => {
    await store.upsertAgent(sampleAgent('pi-1', 100));
    await store.upsertAgent(sampleAgent('pi-2', 100));
    await store.setAgentConnected('pi-1', false, 250);
    assert.deepEqual(await store.listAgents(), [sampleAgent('pi-1', 100, { connected: false, lastSeen: 250 }), sampleAgent('pi-2', 100)]);
    await store.setAgentConnected('pi-1', true, 300);
    assert.deepEqual((await store.listAgents())[0], sampleAgent('pi-1', 100, { lastSeen: 300 }));
    await assert.rejects(store.setAgentConnected('nope', true, 1), StoreRecordNotFoundError);
  });

  withStore('markAllDisconnected disconnects the connected agents as of now and leaves the others alone', async (store) => {
    await store.markAllDisconnected(1);
    await store.upsertAgent(sampleAgent('a', 100));
    await store.upsertAgent(sampleAgent('b', 100, { connected: false, lastSeen: 150, drained: true }));
    await store.upsertAgent(sampleAgent('c', 100, { lastSeen: 180 }));
    await store.markAllDisconnected(900);
    assert.deepEqual(await store.listAgents(), [
      sampleAgent('a', 100, { connected: false, lastSeen: 900 }),
      sampleAgent('b', 100, { connected: false, lastSeen: 150, drained: true }),
      sampleAgent('c', 100, { connected: false, lastSeen: 900 }),
    ]);
  });

  withStore('agents go in and come out as copies; bad slots are refused', async (store) => {
    const agent = sampleAgent('pi-1');
    await store.upsertAgent(agent);
    agent.labels.site = 'changed';
    agent.platforms.pop();
    const [got] = await store.listAgents();
    assert.deepEqual(got, sampleAgent('pi-1'));
    got?.platforms.push({ platform: 'linux/riscv64', mode: 'emulated' });
    assert.deepEqual(await store.listAgents(), [sampleAgent('pi-1')]);
    for (const slots of [-1, 1.5]) await assert.rejects(store.upsertAgent(sampleAgent('pi-1', 9, { slots })), InvalidInputError);
    assert.deepEqual(await store.listAgents(), [sampleAgent('pi-1')]);
  });

  withStore('setAgentDrained drains and resumes one known agent; reconnects and disconnects keep it', async (store) => {
    await store.upsertAgent(sampleAgent('pi-1', 100));
    await store.upsertAgent(sampleAgent('pi-2', 100));
    await store.setAgentDrained('pi-1', true);
    await store.setAgentDrained('pi-1', true);
    assert.deepEqual(await store.listAgents(), [sampleAgent('pi-1', 100, { drained: true }), sampleAgent('pi-2', 100)]);

    await store.upsertAgent(sampleAgent('pi-1', 200, { drained: false }));
    await store.setAgentConnected('pi-1', false, 300);
    await store.markAllDisconnected(400);
    assert.deepEqual(await store.getAgent('pi-1'), sampleAgent('pi-1', 100, { lastSeen: 300, connected: false, drained: true }));

    await store.setAgentDrained('pi-1', false);
    assert.deepEqual(await store.getAgent('pi-1'), sampleAgent('pi-1', 100, { lastSeen: 300, connected: false }));
    await assert.rejects(store.setAgentDrained('nope', true), StoreRecordNotFoundError);
    assert.equal(await store.getAgent('nope'), undefined);
  });

  withStore('getAgent returns one agent as a copy, or undefined for an unknown name', async (store) => {
    assert.equal(await store.getAgent('pi-1'), undefined);
    await store.upsertAgent(sampleAgent('pi-1'));
    await store.upsertAgent(sampleAgent('pi-10', 5, { labels: {}, platforms: [], connected: false }));
    const got = await store.getAgent('pi-1');
    assert.deepEqual(got, sampleAgent('pi-1'));
    assert.deepEqual(await store.getAgent('pi-10'), sampleAgent('pi-10', 5, { labels: {}, platforms: [], connected: false }));
    got?.platforms.pop();
    if (got) got.labels.site = 'changed';
    assert.deepEqual(await store.getAgent('pi-1'), sampleAgent('pi-1'));
    assert.equal(await store.getAgent('PI-1'), undefined);
  });
}
