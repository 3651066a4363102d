import assert from 'node:assert/strict';
import { InvalidInputError } from '@archfarm/common';
import { StoreClosedError, StoreRecordNotFoundError } from './errors';
import { sampleBuild, sampleJobs, sampleToken, type WithStore } from './store-fixtures';

/** Revoked agents and registry credentials: part of storeContract (./store-contract). */
export function accessContract(withStore: WithStore): void {
  withStore('revokeAgent revokes a name for good; revoking again keeps the first time', async (store) => {
    assert.deepEqual(await store.listRevoked(), []);
    assert.equal(await store.isRevoked('pi-1'), false);
    await store.revokeAgent('pi-2', 200);
    await store.revokeAgent('pi-1', 100);
    await store.revokeAgent('pi-2', 300);
    // A name the store never saw can be revoked too (an agent lost before it first connected).
    await store.revokeAgent('never-seen', 400);
    assert.equal(await store.isRevoked('pi-1'), true);
    assert.equal(await store.isRevoked('PI-1'), false);
    assert.equal(await store.isRevoked('pi-3'), false);
    assert.deepEqual(await store.listRevoked(), [
      { name: 'never-seen', revokedAt: 400 },
      { name: 'pi-1', revokedAt: 100 },
      { name: 'pi-2', revokedAt: 200 },
    ]);
    await assert.rejects(store.revokeAgent('', 1), InvalidInputError);
    await assert.rejects(store.revokeAgent('pi-4', 1.5), InvalidInputError);
    assert.equal((await store.listRevoked()).length, 3);
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
    await assert.rejects(store.hasAdminToken(), StoreClosedError);
    await assert.rejects(store.revokeAgent('pi-1', 1), StoreClosedError);
    await assert.rejects(store.isRevoked('pi-1'), StoreClosedError);
    await assert.rejects(store.listRevoked(), StoreClosedError);
    await assert.rejects(store.putRegistryCredential('r.io', 'u', Buffer.from([1]), 1), StoreClosedError);
    await assert.rejects(store.getRegistryCredential('r.io'), StoreClosedError);
    await assert.rejects(store.listRegistries(), StoreClosedError);
  });
}
