import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { keyId } from '@archfarm/common';
import { exitCodeFor, ExitCode } from '../exit-codes';
import { VerifyKeyInvalidError } from './verify-errors';
import { keyFromFile } from './verify-key';

async function pemFile(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'archfarm-key-'));
  await writeFile(join(dir, name), text);
  return dir;
}

test('--key takes a P-256 public key PEM, relative to the working directory', async () => {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const dir = await pemFile('farm.pub.pem', publicKey.export({ type: 'spki', format: 'pem' }).toString());
  assert.equal(keyId(await keyFromFile('farm.pub.pem', dir)), keyId(publicKey));
});

test('--key refuses, as bad input naming the file, what is no P-256 public key', async () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  for (const [text, why] of [['not a key', /not a PEM public key/], [rsa, /an RSA key/], [p384, /an EC secp384r1 key/]] as const) {
    const dir = await pemFile('k.pem', text);
    const err = await keyFromFile('k.pem', dir).catch((e: unknown) => e);
    assert.ok(err instanceof VerifyKeyInvalidError, String(err));
    assert.match(err.message, /^--key k\.pem: /);
    assert.match(err.message, why);
    assert.equal(exitCodeFor(err), ExitCode.badInput);
  }
  const missing = await keyFromFile('nope.pem', tmpdir()).catch((e: unknown) => e);
  assert.ok(missing instanceof VerifyKeyInvalidError && /cannot read it/.test(missing.message));
});
