import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ClientWritableStream, ServiceError } from '@grpc/grpc-js';
import type { UploadContextRequest, UploadContextResponse } from '@archfarm/proto';
import { connectBuildService } from './client';
import { CoordinatorUnreachableError, RequestRejectedError } from './errors';
import type { ContextNote } from './progress/renderer';
import { FakeCoordinator } from './testing/fake-coordinator';
import { TEST_TLS, TEST_TOKEN } from './testing/tls';
import { UPLOAD_CHUNK_BYTES, ensureContext, uploadContext, type ContextFile } from './upload';

async function contextFile(bytes: Buffer): Promise<{ file: ContextFile; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'archfarm-upload-'));
  const file = path.join(dir, 'context.tar');
  await writeFile(file, bytes);
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  return { file: { file, digest, size: bytes.length }, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

test('uploads once: header first, then 256 KiB chunks whose sha256 matches', async (t) => {
  const fake = await FakeCoordinator.start();
  t.after(() => fake.stop());
  const client = connectBuildService(fake.connection());
  t.after(() => client.close());
  const bytes = randomBytes(5 * UPLOAD_CHUNK_BYTES + 1234);
  const { file, cleanup } = await contextFile(bytes);
  t.after(cleanup);

  const notes: ContextNote[] = [];
  assert.equal(await ensureContext(client, fake.address, file, (n) => notes.push(n)), true);
  assert.equal(fake.uploads.length, 1);
  const upload = fake.uploads[0]!;
  assert.deepEqual(upload.header, { digest: file.digest, size: bytes.length });
  assert.equal(upload.sha256, file.digest);
  assert.deepEqual(upload.chunkSizes, [...Array(5).fill(UPLOAD_CHUNK_BYTES), 1234]);
  assert.ok(fake.contexts.get(file.digest)?.equals(bytes));

  // Content-addressed: the second time, HasContext says it is there and nothing is sent.
  assert.equal(await ensureContext(client, fake.address, file, (n) => notes.push(n)), false);
  assert.equal(fake.uploads.length, 1);
  assert.deepEqual(notes, [
    { digest: file.digest, size: bytes.length, uploading: true },
    { digest: file.digest, size: bytes.length, uploading: false },
  ]);
});

test('waits for drain when the coordinator reads slowly', async (t) => {
  const fake = await FakeCoordinator.start();
  t.after(() => fake.stop());
  fake.uploadStallMs = 300;
  const client = connectBuildService(fake.connection());
  t.after(() => client.close());
  const { file, cleanup } = await contextFile(randomBytes(40 * UPLOAD_CHUNK_BYTES));
  t.after(cleanup);
  let refused = 0;
  let writesWhileFull = 0;
  type Callback = (error: ServiceError | null, response: UploadContextResponse) => void;
  const open = client.uploadContext.bind(client) as (callback: Callback) => ClientWritableStream<UploadContextRequest>;
  const spy = (callback: Callback) => {
    const call = open(callback);
    const write = call.write.bind(call) as (message: UploadContextRequest) => boolean;
    let full = false;
    call.on('drain', () => (full = false));
    call.write = (message: UploadContextRequest) => {
      if (full) writesWhileFull += 1;
      const accepted = write(message);
      if (!accepted) {
        refused += 1;
        full = true;
      }
      return accepted;
    };
    return call;
  };
  const spied = { ...client, uploadContext: spy as unknown as typeof client.uploadContext };
  await uploadContext(spied, fake.address, file);
  assert.ok(refused > 0, 'the stream filled up at least once');
  assert.equal(writesWhileFull, 0, "no write before 'drain'");
  assert.equal(fake.uploads[0]!.sha256, file.digest);
  assert.equal(fake.uploads[0]!.chunkSizes.length, 40);
});

test('an empty context is a header and no data', async (t) => {
  const fake = await FakeCoordinator.start();
  t.after(() => fake.stop());
  const client = connectBuildService(fake.connection());
  t.after(() => client.close());
  const { file, cleanup } = await contextFile(Buffer.alloc(0));
  t.after(cleanup);
  const res = await uploadContext(client, fake.address, file);
  assert.equal(res.digest, file.digest);
  assert.deepEqual(fake.uploads[0]!.chunkSizes, []);
});

test("the server's refusal surfaces as a typed error", async (t) => {
  const fake = await FakeCoordinator.start();
  t.after(() => fake.stop());
  const client = connectBuildService(fake.connection());
  t.after(() => client.close());
  const { file, cleanup } = await contextFile(randomBytes(3 * UPLOAD_CHUNK_BYTES));
  t.after(cleanup);
  // A lying header: the fake hashes what it receives and refuses.
  const wrong = { ...file, digest: `sha256:${'0'.repeat(64)}` };
  await assert.rejects(uploadContext(client, fake.address, wrong), (err: unknown) => {
    assert.ok(err instanceof RequestRejectedError);
    assert.match(err.message, /digest mismatch/);
    return true;
  });
});

test('a coordinator that is not there is "cannot reach"', async (t) => {
  const client = connectBuildService({ address: '127.0.0.1:1', caPem: TEST_TLS.caPem, token: TEST_TOKEN });
  t.after(() => client.close());
  const { file, cleanup } = await contextFile(Buffer.from('x'));
  t.after(cleanup);
  await assert.rejects(ensureContext(client, '127.0.0.1:1', file, () => {}), CoordinatorUnreachableError);
});
