import assert from 'node:assert/strict';
import { InvalidInputError } from '@archfarm/common';
import { AgentNameTakenError, StoreClosedError, StoreRecordNotFoundError } from './errors';
import { sampleAgent, sampleBuild, sampleJobs, sampleToken, type WithStore } from './store-fixtures';

/** Revoked agents and registry credentials: part of storeContract (./store-contract). */
export function accessContract(withStore: WithStore): void {
  withStore('an enrolment takes its name until forgotten; revocation is of that enrolment', async (store) => {
    await store.createToken(sampleToken('j1', { usesLeft: 5, expiresAt: 1e12 }));
    const hash = sampleToken('j1').hash;
    const first = { id: 'id1', name: 'pi-1', enrolledAt: 100, tokenId: 'j1', labels: { rack: 'a' } };
    assert.equal(await store.agentIdentityByName('pi-1'), undefined);
    assert.deepEqual(await store.enrolAgent(first, { serial: 'AA01', notAfter: 1000 }, hash, 100), { ...sampleToken('j1', { expiresAt: 1e12 }), usesLeft: 4 });
    assert.deepEqual(await store.agentIdentityByName('pi-1'), first);
    assert.deepEqual(await store.agentIdentityByCertificate('AA01'), first);
    assert.equal(await store.agentIdentityByCertificate('AA02'), undefined);

    // A second enrolment of the name is refused, and spends nothing.
    await assert.rejects(store.enrolAgent({ ...first, id: 'id2' }, { serial: 'BB01', notAfter: 1000 }, hash, 100), (err: unknown) => err instanceof AgentNameTakenError && /forget pi-1/.test(err.message));
    assert.equal((await store.findToken(hash))?.usesLeft, 4);
    assert.equal(await store.agentIdentityByCertificate('BB01'), undefined);

    // Renewal: a new certificate of the same enrolment; expired ones are dropped.
    await store.addAgentCertificate('id1', { serial: 'AA02', notAfter: 3000 }, 2000);
    assert.equal((await store.agentIdentityByCertificate('AA02'))?.id, 'id1');
    assert.equal(await store.agentIdentityByCertificate('AA01'), undefined, 'expired before now: pruned');
    await assert.rejects(store.addAgentCertificate('nobody', { serial: 'CC01', notAfter: 3000 }, 2000), StoreRecordNotFoundError);

    assert.deepEqual(await store.revokeAgent('pi-1', 500), { ...first, revokedAt: 500 });
    assert.deepEqual(await store.revokeAgent('pi-1', 600), { ...first, revokedAt: 500 }, 'revoking again keeps the first time');
    await assert.rejects(store.revokeAgent('never-seen', 1), StoreRecordNotFoundError);
    await assert.rejects(store.enrolAgent({ ...first, id: 'id3' }, { serial: 'DD01', notAfter: 1000 }, hash, 100), AgentNameTakenError);
    await assert.rejects(store.revokeAgent('', 1), InvalidInputError);
    await assert.rejects(store.revokeAgent('pi-1', 1.5), InvalidInputError);

    assert.equal(await store.forgetAgent('pi-1'), true);
    assert.equal(await store.forgetAgent('pi-1'), false);
    assert.equal(await store.agentIdentityByCertificate('AA02'), undefined, 'its certificates go with it');
    const second = { id: 'id4', name: 'pi-1', enrolledAt: 700, tokenId: 'j1', labels: {} };
    await store.enrolAgent(second, { serial: 'EE01', notAfter: 9000 }, hash, 700);
    assert.deepEqual(await store.listAgentIdentities(), [second]);
  });

  withStore('forgetAgent also forgets the agent record', async (store) => {
    await store.upsertAgent(sampleAgent('pi-9', 100));
    assert.equal(await store.forgetAgent('pi-9'), true);
    assert.equal(await store.getAgent('pi-9'), undefined);
  });

  withStore('registry credentials are stored, replaced and listed; ciphertext comes out as a Buffer copy', async (store) => {
    assert.deepEqual(await store.listRegistries(), []);
    assert.equal(await store.getRegistryCredential('registry.local:5000'), undefined);
    const sealed = Buffer.from([1, 2, 3, 0, 255]);
    await store.putRegistryCredential('registry.local:5000', 'ci', sealed, 100);
    await store.putRegistryCredential('ghcr.io', 'me', Buffer.from('other'), 100);
    sealed[0] = 9;
    const got = await store.getRegistryCredential('registry.local:5000');
    assert.ok(got && Buffer.isBuffer(got.ciphertext));
    assert.deepEqual(got, { username: 'ci', ciphertext: Buffer.from([1, 2, 3, 0, 255]) });
    got.ciphertext[1] = 9;
    assert.deepEqual((await store.getRegistryCredential('registry.local:5000'))?.ciphertext, Buffer.from([1, 2, 3, 0, 255]));

    await store.putRegistryCredential('registry.local:5000', 'deploy', Buffer.from([7]), 200);
    assert.deepEqual(await store.getRegistryCredential('registry.local:5000'), { username: 'deploy', ciphertext: Buffer.from([7]) });
    assert.deepEqual(await store.listRegistries(), ['ghcr.io', 'registry.local:5000']);
    assert.equal(await store.getRegistryCredential('registry.local'), undefined);
    assert.equal(await store.deleteRegistryCredential('ghcr.io'), true);
    assert.equal(await store.deleteRegistryCredential('ghcr.io'), false);
    assert.deepEqual(await store.listRegistries(), ['registry.local:5000']);
  });

  withStore('a build keeps its sealed credentials until they are deleted; only for a build that exists', async (store) => {
    await assert.rejects(store.putBuildCredential('nobuild', Buffer.from([1])), StoreRecordNotFoundError);
    const build = sampleBuild('bc1');
    await store.createBuild(build, sampleJobs(build));
    assert.equal(await store.getBuildCredential('bc1'), undefined);
    const sealed = Buffer.from([4, 5, 6]);
    await store.putBuildCredential('bc1', sealed);
    sealed[0] = 0;
    const got = await store.getBuildCredential('bc1');
    assert.ok(got && Buffer.isBuffer(got));
    assert.deepEqual(got, Buffer.from([4, 5, 6]));
    await store.putBuildCredential('bc1', Buffer.from([7]));
    assert.deepEqual(await store.getBuildCredential('bc1'), Buffer.from([7]));
    await assert.rejects(store.putBuildCredential('bc1', Buffer.alloc(0)), InvalidInputError);
    await store.deleteBuildCredential('bc1');
    await store.deleteBuildCredential('bc1');
    assert.equal(await store.getBuildCredential('bc1'), undefined);
  });

  withStore('putRegistryCredential refuses an empty registry or ciphertext and writes nothing', async (store) => {
    await assert.rejects(store.putRegistryCredential('', 'u', Buffer.from([1]), 1), InvalidInputError);
    await assert.rejects(store.putRegistryCredential('r.io', 'u', Buffer.alloc(0), 1), InvalidInputError);
    await assert.rejects(store.putRegistryCredential('r.io', 'u', 'plain' as unknown as Buffer, 1), InvalidInputError);
    await assert.rejects(store.putRegistryCredential('r.io', 'u', Buffer.from([1]), -1), InvalidInputError);
    assert.deepEqual(await store.listRegistries(), []);
  });

  withStore('token, revocation and credential calls after close are refused', async (store) => {
    await store.close();
    const token = sampleToken('t1');
    await assert.rejects(store.createToken(token), StoreClosedError);
    await assert.rejects(store.findToken(token.hash), StoreClosedError);
    await assert.rejects(store.useJoinToken(token.hash, 1), StoreClosedError);
    await assert.rejects(store.hasAdminToken(1), StoreClosedError);
    await assert.rejects(store.listTokens(), StoreClosedError);
    await assert.rejects(store.revokeToken('t1', 1), StoreClosedError);
    await assert.rejects(store.revokeAgent('pi-1', 1), StoreClosedError);
    await assert.rejects(store.forgetAgent('pi-1'), StoreClosedError);
    await assert.rejects(store.agentIdentityByName('pi-1'), StoreClosedError);
    await assert.rejects(store.agentIdentityByCertificate('AA'), StoreClosedError);
    await assert.rejects(store.deleteRegistryCredential('r.io'), StoreClosedError);
    await assert.rejects(store.putRegistryCredential('r.io', 'u', Buffer.from([1]), 1), StoreClosedError);
    await assert.rejects(store.getRegistryCredential('r.io'), StoreClosedError);
    await assert.rejects(store.listRegistries(), StoreClosedError);
  });
}
