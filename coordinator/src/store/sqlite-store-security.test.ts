import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { StoreDataError } from './errors';
import { SqliteStore } from './sqlite-store';
import { sampleToken } from './store-fixtures';

/* SqliteStore's security part beyond the contract: durability, processes, what is on disk. */

const dir = mkdtempSync(join(tmpdir(), 'archfarm-store-security-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = () => join(dir, `state-${++files}.db`);

test('tokens, revocations and registry credentials survive a reopen', async () => {
  const path = freshPath();
  const first = SqliteStore.open(path);
  const token = sampleToken('t1');
  await first.createToken(token);
  await first.useJoinToken(token.hash, 2_000);
  await first.createToken(sampleToken('a1', { kind: 'admin' }));
  await first.enrolAgent({ id: 'i1', name: 'pi-1', enrolledAt: 100, tokenId: 't1', labels: {} }, { serial: 'AB', notAfter: 5000 }, token.hash, 100);
  await first.revokeAgent('pi-1', 100);
  await first.putRegistryCredential('registry.local:5000', 'ci', Buffer.from([1, 2, 3]), 100);
  await first.close();

  const second = SqliteStore.open(path);
  try {
    assert.deepEqual(await second.findToken(token.hash), { ...token, usesLeft: 1 });
    assert.equal(await second.hasAdminToken(2_000), true);
    assert.equal((await second.agentIdentityByCertificate('AB'))?.revokedAt, 100);
    assert.deepEqual(await second.getRegistryCredential('registry.local:5000'), { username: 'ci', ciphertext: Buffer.from([1, 2, 3]) });
  } finally {
    await second.close();
  }
});

test('processes racing for a join token get exactly its uses between them', async () => {
  const path = freshPath();
  const store = SqliteStore.open(path);
  const token = sampleToken('race', { usesLeft: 3 });
  await store.createToken(token);
  const child = `
    const { SqliteStore } = require(${JSON.stringify(require.resolve('./sqlite-store'))});
    const store = SqliteStore.open(${JSON.stringify(path)}, { busyTimeoutMs: 20000 });
    store.useJoinToken(${JSON.stringify(token.hash)}, 2000).then(
      () => process.stdout.write('ok'),
      (err) => process.stdout.write(err.code ?? String(err)),
    );`;
  const outcomes = await Promise.all(Array.from({ length: 6 }, () => runNode(child)));
  assert.deepEqual(outcomes.sort(), ['TOKEN_USED_UP', 'TOKEN_USED_UP', 'TOKEN_USED_UP', 'ok', 'ok', 'ok']);
  assert.equal((await store.findToken(token.hash))?.usesLeft, 0);
  await store.close();
});

test('on disk: the token only as its hash, the credential as a BLOB', async () => {
  const path = freshPath();
  const store = SqliteStore.open(path);
  await store.createToken(sampleToken('t1', { labels: {}, description: '' }));
  await store.putRegistryCredential('r.io', 'u', Buffer.from([0, 1]), 5);
  await store.close();
  const raw = new Database(path, { readonly: true });
  assert.deepEqual(raw.prepare(`SELECT id, kind, uses_left, labels FROM tokens`).all(), [{ id: 't1', kind: 'join', uses_left: 3, labels: '{}' }]);
  assert.deepEqual(raw.prepare(`SELECT typeof(secret) AS type, updated_at FROM registry_credentials`).all(), [{ type: 'blob', updated_at: 5 }]);
  raw.close();
});

test('a token row the code does not understand fails loudly, naming the token by id only', async () => {
  const path = freshPath();
  const store = SqliteStore.open(path);
  const token = sampleToken('t1');
  await store.createToken(token);
  const raw = new Database(path);
  raw.prepare(`UPDATE tokens SET kind = 'superuser'`).run();
  raw.close();
  const hidesHash = (err: unknown) => err instanceof StoreDataError && err.message.includes('token t1') && !err.message.includes(token.hash);
  await assert.rejects(store.findToken(token.hash), hidesHash);
  await assert.rejects(store.useJoinToken(token.hash, 2_000), hidesHash);
  await store.close();
});

function runNode(script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(out));
  });
}
