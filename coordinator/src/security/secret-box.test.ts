import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { after, test } from 'node:test';
import { SecretBox, SecretCorruptError, SecretKeyInvalidError, SecretKeyPermissionsError } from './secret-box';

const root = mkdtempSync(join(tmpdir(), 'archfarm-secret-box-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(root, `data-${++dirs}`);

test('seal then unseal gives the plaintext back; each seal is different', async () => {
  const box = await SecretBox.open(freshDir());
  for (const text of ['hunter2', '', 'pässwörd ✓ with unicode', 'x'.repeat(10_000)]) {
    const sealed = box.seal(text);
    assert.equal(sealed[0], 1, 'version byte');
    assert.equal(sealed.length, 1 + 12 + 16 + Buffer.byteLength(text));
    assert.equal(box.unseal(sealed), text);
  }
  const [a, b] = [box.seal('same'), box.seal('same')];
  assert.notDeepEqual(a, b, 'a fresh nonce every time');
  assert.ok(!a.includes(Buffer.from('same')));
});

test('any altered, truncated or foreign byte string is refused with SecretCorruptError', async () => {
  const box = await SecretBox.open(freshDir());
  const sealed = box.seal('registry password');
  for (let i = 0; i < sealed.length; i++) {
    const tampered = Buffer.from(sealed);
    tampered[i] = (tampered[i] ?? 0) ^ 0x01;
    assert.throws(() => box.unseal(tampered), SecretCorruptError, `byte ${i}`);
  }
  assert.throws(() => box.unseal(sealed.subarray(0, sealed.length - 1)), SecretCorruptError);
  assert.throws(() => box.unseal(sealed.subarray(0, 20)), SecretCorruptError);
  assert.throws(() => box.unseal(Buffer.alloc(0)), SecretCorruptError);
  const other = await SecretBox.open(freshDir());
  assert.throws(
    () => other.unseal(sealed),
    (err: unknown) => err instanceof SecretCorruptError && err.code === 'SECRET_CORRUPT' && !err.message.includes('registry password'),
  );
});

test('the key file is created with mode 0600 and a reopen reads the same key', async () => {
  const dir = freshDir();
  const first = await SecretBox.open(dir);
  const path = join(dir, 'secrets.key');
  assert.equal(first.keyPath, path);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(statSync(path).size, 32);
  assert.deepEqual(readdirSync(dir), ['secrets.key'], 'no temporary file left behind');
  const key = readFileSync(path);
  const second = await SecretBox.open(dir);
  assert.equal(second.unseal(first.seal('kept')), 'kept');
  assert.deepEqual(readFileSync(path), key);
});

test('the key file is 0600 even under a permissive umask', async () => {
  const dir = freshDir();
  const old = process.umask(0);
  try {
    await SecretBox.open(dir);
  } finally {
    process.umask(old);
  }
  assert.equal(statSync(join(dir, 'secrets.key')).mode & 0o777, 0o600);
});

test('a key file that group or others may read or write is refused with a clear error', async () => {
  const dir = freshDir();
  await SecretBox.open(dir);
  const path = join(dir, 'secrets.key');
  for (const mode of [0o640, 0o604, 0o620, 0o644]) {
    chmodSync(path, mode);
    await assert.rejects(SecretBox.open(dir), (err: unknown) => {
      return err instanceof SecretKeyPermissionsError && err.code === 'SECRET_KEY_PERMISSIONS' && err.message.includes(`chmod 600 ${path}`) && err.message.includes(mode.toString(8));
    });
  }
  chmodSync(path, 0o400);
  await SecretBox.open(dir);
});

test('a key file of the wrong size is refused, not replaced', async () => {
  const dir = freshDir();
  await SecretBox.open(dir);
  const path = join(dir, 'secrets.key');
  writeFileSync(path, Buffer.alloc(16), { mode: 0o600 });
  await assert.rejects(SecretBox.open(dir), (err: unknown) => err instanceof SecretKeyInvalidError && /16 bytes, not 32/.test(err.message));
  assert.equal(statSync(path).size, 16);
});

test('the key shows in neither inspect nor JSON output', async () => {
  const dir = freshDir();
  const box = await SecretBox.open(dir);
  const key = readFileSync(join(dir, 'secrets.key'));
  const shown = `${inspect(box, { showHidden: true, depth: 5 })} ${JSON.stringify(box)}`;
  for (const encoding of ['hex', 'base64'] as const) assert.ok(!shown.includes(key.toString(encoding)), shown);
  assert.ok(!shown.includes(inspect(key)), shown);
});

test('processes opening one new data dir at once all end up with the same key', async () => {
  const dir = freshDir();
  const child = `
    const { SecretBox } = require(${JSON.stringify(require.resolve('./secret-box'))});
    SecretBox.open(${JSON.stringify(dir)}).then((box) => process.stdout.write(box.seal('from child').toString('base64')));`;
  const sealed = await Promise.all(Array.from({ length: 6 }, () => runNode(child)));
  const box = await SecretBox.open(dir);
  for (const s of sealed) assert.equal(box.unseal(Buffer.from(s, 'base64')), 'from child');
  assert.deepEqual(readdirSync(dir), ['secrets.key']);
});

function runNode(script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited with ${code}`))));
  });
}
