import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signEnvelope, verifyEnvelope } from '@archfarm/common';
import { loadOrCreateSigningKey } from './signing-key';
import { SigningKeyInvalidError, SigningKeyPermissionsError } from './errors';

async function withDataDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'signing-key-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('the key is made on first start (file 0600, folder 0700) and the same key is loaded after', () =>
  withDataDir(async (dir) => {
    const made = await loadOrCreateSigningKey(dir);
    assert.equal((await stat(join(dir, 'provenance'))).mode & 0o777, 0o700);
    assert.equal((await stat(join(dir, 'provenance', 'signing-key.pem'))).mode & 0o777, 0o600);
    const loaded = await loadOrCreateSigningKey(dir);
    assert.equal(loaded.keyId, made.keyId);
    assert.match(loaded.publicKeyPem, /^-----BEGIN PUBLIC KEY-----/);
    const envelope = signEnvelope(Buffer.from('{}'), loaded.privateKey);
    assert.deepEqual(verifyEnvelope(envelope, made.publicKeyPem), Buffer.from('{}'));
  }));

test('two starts at once end up with one key', () =>
  withDataDir(async (dir) => {
    const [a, b] = await Promise.all([loadOrCreateSigningKey(dir), loadOrCreateSigningKey(dir)]);
    assert.equal(a.keyId, b.keyId);
  }));

test('a key file or folder others may read is refused, naming the path', () =>
  withDataDir(async (dir) => {
    await loadOrCreateSigningKey(dir);
    const file = join(dir, 'provenance', 'signing-key.pem');
    await chmod(file, 0o644);
    await assert.rejects(loadOrCreateSigningKey(dir), (err: unknown) => err instanceof SigningKeyPermissionsError && err.code === 'SIGNING_KEY_PERMISSIONS' && err.path === file);
    await chmod(file, 0o600);
    await chmod(join(dir, 'provenance'), 0o755);
    await assert.rejects(loadOrCreateSigningKey(dir), SigningKeyPermissionsError);
  }));

test('a key file that is not an EC P-256 private key is refused', () =>
  withDataDir(async (dir) => {
    await loadOrCreateSigningKey(dir);
    const file = join(dir, 'provenance', 'signing-key.pem');
    await writeFile(file, 'not a key', { mode: 0o600 });
    await assert.rejects(loadOrCreateSigningKey(dir), (err: unknown) => err instanceof SigningKeyInvalidError && /not a PEM private key/.test(err.message));
  }));
