import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { RegistryClient } from '@archfarm/common';
import { DiskFullError, EngineUnavailableError } from '../engine/errors';
import { pushSavedImage } from './push-saved-image';

/** A `docker save` stream that breaks after a first chunk, with the errno a socket or disk gives. */
function breaking(code: string, message: string): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (sent) return void this.destroy(Object.assign(new Error(message), { code }));
      sent = true;
      this.push(Buffer.alloc(512)); // an empty tar header block: the parser waits for more
    },
  });
}

async function pushFrom(stream: Readable): Promise<unknown> {
  const workDir = await mkdtemp(join(tmpdir(), 'archfarm-saved-stream-'));
  try {
    // Nothing listens on port 1: the registry is never reached, the stream fails first.
    await pushSavedImage(stream, { client: new RegistryClient('127.0.0.1:1'), repository: 'x', workDir });
    return undefined;
  } catch (err) {
    assert.deepEqual(await readdir(workDir), [], 'the scratch dir is removed');
    return err;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

test('the engine going away mid-save is ENGINE_UNAVAILABLE (retried), not an internal error', async () => {
  const err = await pushFrom(breaking('ECONNRESET', 'aborted'));
  assert.ok(err instanceof EngineUnavailableError, String(err));
  assert.equal(err.kind, 'infrastructure');
  assert.match(err.message, /^the engine went away \(aborted\)/);
});

test('a full disk while unpacking the saved image is DISK_FULL', async () => {
  const err = await pushFrom(breaking('ENOSPC', "ENOSPC: no space left on device, write '/state/work/x'"));
  assert.ok(err instanceof DiskFullError, String(err));
  assert.equal(err.kind, 'infrastructure');
  assert.match(err.message, /^the agent's state dir is full/);
});
