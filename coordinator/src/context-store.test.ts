import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { c as createTar } from 'tar';
import { ContextStore } from './context-store';
import { ContextNotFoundError } from './errors';

const MiB = 1024 * 1024;
const DOCKERFILE = 'FROM scratch\nCOPY app /app\n';
/** Longer than readFile keeps in memory. */
const BIG = Buffer.alloc(MiB + 300_000, 'abcdefghij');

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'archfarm-contexts-'));
});
after(() => rm(dir, { recursive: true, force: true }));
let made = 0;

interface Context {
  digest: string;
  bytes: Buffer;
}

/** A context tar packed from `files` (path -> contents), as the CLI packs one. */
async function contextOf(files: Record<string, string | Buffer>): Promise<Context> {
  const src = join(dir, `src-${++made}`);
  for (const [path, data] of Object.entries(files)) {
    await mkdir(join(src, path, '..'), { recursive: true });
    await writeFile(join(src, path), data);
  }
  const tarPath = `${src}.tar`;
  await createTar({ file: tarPath, cwd: src, portable: true }, Object.keys(files));
  const bytes = await readFile(tarPath);
  return { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, bytes };
}

async function* chunks(bytes: Buffer): AsyncIterable<Buffer> {
  for (let at = 0; at < bytes.length; at += 64 * 1024) yield bytes.subarray(at, at + 64 * 1024);
}

async function freshStore(): Promise<{ store: ContextStore; root: string }> {
  const root = join(dir, `store-${++made}`);
  const store = new ContextStore(root, 16 * MiB);
  await store.init();
  return { store, root };
}

async function stored(store: ContextStore, context: Context): Promise<void> {
  await store.write(context.digest, context.bytes.length, chunks(context.bytes));
}

/** Where ContextStore keeps the blob of `digest`. */
const blobOf = (root: string, digest: string) => join(root, 'sha256', digest.slice('sha256:'.length));

test('has() is false for an unknown digest and true once the context is written', async () => {
  const { store, root } = await freshStore();
  const context = await contextOf({ Dockerfile: DOCKERFILE });
  assert.equal(await store.has(context.digest), false);
  assert.equal(await store.has(context.digest), false, 'a digest not found is not remembered as found');
  await stored(store, context);
  assert.equal(await store.has(context.digest), true);
  assert.equal(await store.has(context.digest), true);
  // Another store on the same directory (a restarted coordinator) finds it on disk.
  const again = new ContextStore(root, 16 * MiB);
  assert.equal(await again.has(context.digest), true);
});

test('a broken upload leaves has() false', async () => {
  const { store } = await freshStore();
  const context = await contextOf({ Dockerfile: DOCKERFILE });
  const wrong = await contextOf({ Dockerfile: 'FROM busybox\n' });
  await assert.rejects(store.write(context.digest, wrong.bytes.length, chunks(wrong.bytes)));
  assert.equal(await store.has(context.digest), false);
});

test('concurrent readFile calls of one file all get its contents', async () => {
  const { store } = await freshStore();
  const context = await contextOf({ Dockerfile: DOCKERFILE, 'src/main.c': 'int main(void) { return 0; }\n' });
  await stored(store, context);
  const reads = await Promise.all([
    store.readFile(context.digest, 'Dockerfile'),
    store.readFile(context.digest, 'Dockerfile'),
    store.readFile(context.digest, './Dockerfile'),
    store.readFile(context.digest, 'src/main.c'),
    store.readFile(context.digest, 'Dockerfile'),
  ]);
  assert.deepEqual(
    reads.map((r) => r?.toString('utf8')),
    [DOCKERFILE, DOCKERFILE, DOCKERFILE, 'int main(void) { return 0; }\n', DOCKERFILE],
  );
  // And again, once the first reads are done.
  assert.equal((await store.readFile(context.digest, 'src/../Dockerfile'))?.toString('utf8'), DOCKERFILE);
});

test('readFile returns at most maxBytes: one byte of a longer file is truthy', async () => {
  const { store } = await freshStore();
  const context = await contextOf({ Dockerfile: DOCKERFILE });
  await stored(store, context);
  const one = await store.readFile(context.digest, 'Dockerfile', 1);
  assert.ok(one);
  assert.equal(one.toString('utf8'), 'F');
  // A short read first does not shorten later ones (they share the cached read).
  assert.equal((await store.readFile(context.digest, 'Dockerfile'))?.toString('utf8'), DOCKERFILE);
  assert.equal((await store.readFile(context.digest, 'Dockerfile', 4))?.toString('utf8'), 'FROM');
  const [a, b] = await Promise.all([store.readFile(context.digest, 'Dockerfile', 2), store.readFile(context.digest, 'Dockerfile', 100)]);
  assert.equal(a?.toString('utf8'), 'FR');
  assert.equal(b?.toString('utf8'), DOCKERFILE);
});

test('an empty file is an empty buffer, not undefined', async () => {
  const { store } = await freshStore();
  const context = await contextOf({ Dockerfile: '' });
  await stored(store, context);
  const got = await store.readFile(context.digest, 'Dockerfile', 1);
  assert.ok(got);
  assert.equal(got.length, 0);
});

test('a file longer than 1 MiB reads as a prefix of at most 1 MiB, whatever maxBytes', async () => {
  const { store } = await freshStore();
  const context = await contextOf({ Dockerfile: DOCKERFILE, big: BIG });
  await stored(store, context);
  for (const maxBytes of [undefined, 2 * MiB]) {
    const got = await store.readFile(context.digest, 'big', maxBytes);
    assert.ok(got && got.length > 0 && got.length <= MiB, String(got?.length));
    assert.ok(got.equals(BIG.subarray(0, got.length)), 'a prefix of the file');
  }
  assert.ok((await store.readFile(context.digest, 'big', 10))?.equals(BIG.subarray(0, 10)));
});

test('a missing file is undefined, and stays undefined', async () => {
  const { store } = await freshStore();
  const context = await contextOf({ Dockerfile: DOCKERFILE });
  await stored(store, context);
  assert.equal(await store.readFile(context.digest, 'Containerfile'), undefined);
  assert.equal(await store.readFile(context.digest, 'Containerfile'), undefined);
  assert.deepEqual(await Promise.all([store.readFile(context.digest, 'nope/Dockerfile'), store.readFile(context.digest, 'nope/Dockerfile', 1)]), [undefined, undefined]);
  assert.equal((await store.readFile(context.digest, 'Dockerfile'))?.toString('utf8'), DOCKERFILE);
});

test('readFile of a context not stored fails, and is not remembered once the context arrives', async () => {
  const { store } = await freshStore();
  const context = await contextOf({ Dockerfile: DOCKERFILE });
  const both = await Promise.allSettled([store.readFile(context.digest, 'Dockerfile'), store.readFile(context.digest, 'Dockerfile')]);
  for (const r of both) assert.ok(r.status === 'rejected' && r.reason instanceof ContextNotFoundError, String(r.status));
  await stored(store, context);
  assert.equal((await store.readFile(context.digest, 'Dockerfile'))?.toString('utf8'), DOCKERFILE);
});

test('the same path in two contexts reads from each', async () => {
  const { store } = await freshStore();
  const one = await contextOf({ Dockerfile: 'FROM one\n' });
  const two = await contextOf({ Dockerfile: 'FROM two\n' });
  await stored(store, one);
  await stored(store, two);
  const got = await Promise.all([store.readFile(one.digest, 'Dockerfile'), store.readFile(two.digest, 'Dockerfile')]);
  assert.deepEqual(
    got.map((b) => b?.toString('utf8')),
    ['FROM one\n', 'FROM two\n'],
  );
});

test('readFile keeps the 64 files read last: the least recently read one is read from disk again', async () => {
  const { store, root } = await freshStore();
  const files: Record<string, string> = {};
  for (let i = 0; i < 70; i++) files[`f${i}`] = `file ${i}\n`;
  const context = await contextOf(files);
  await stored(store, context);
  const read = (i: number) => store.readFile(context.digest, `f${i}`);

  for (let i = 0; i < 64; i++) assert.equal((await read(i))?.toString('utf8'), `file ${i}\n`);
  assert.equal((await read(0))?.toString('utf8'), 'file 0\n'); // f0 is now the most recent, f1 the oldest
  assert.equal((await read(64))?.toString('utf8'), 'file 64\n'); // 65 files: f1 goes

  // Without the blob, only what is in memory can be read.
  await rm(blobOf(root, context.digest));
  assert.equal((await read(0))?.toString('utf8'), 'file 0\n');
  assert.equal((await read(64))?.toString('utf8'), 'file 64\n');
  assert.equal((await read(2))?.toString('utf8'), 'file 2\n');
  await assert.rejects(read(1), { code: 'ENOENT' });
});
