import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { buildkit } from '@archfarm/proto';
import { readBuildStream } from './build-stream';
import { BaseImageTimeoutError, BaseImageUnreachableError, BuildFailedError, EngineUnavailableError } from './errors';

const at = (s: number) => ({ seconds: 1_700_000_000 + s, nanos: 0 });

function trace(status: Partial<buildkit.StatusResponse>): string {
  const bytes = buildkit.StatusResponse.encode({ vertexes: [], statuses: [], logs: [], warnings: [], ...status }).finish();
  return JSON.stringify({ id: 'moby.buildkit.trace', aux: Buffer.from(bytes).toString('base64') });
}

const run = { digest: 'sha256:r', inputs: [], name: '[2/2] RUN uname -m', cached: false, started: at(0), completed: undefined, error: '' };

/** The engine's answer as it comes off the socket: "\r\n"-terminated JSON, cut at odd places. */
function answer(lines: string[], cut = 7): Readable {
  const text = lines.map((l) => `${l}\r\n`).join('');
  const chunks: Buffer[] = [];
  for (let i = 0; i < text.length; i += cut) chunks.push(Buffer.from(text.slice(i, i + cut)));
  return Readable.from(chunks);
}

test('decodes BuildKit status into lines and returns the image id', async () => {
  const lines: string[] = [];
  const from = { ...run, digest: 'sha256:f', name: `[builder 1/2] FROM 127.0.0.1:5000/archfarm/base:1@sha256:${'ab'.repeat(32)}` };
  const { imageId: id, bases } = await readBuildStream(
    answer([
      trace({ vertexes: [from, run] }),
      trace({ logs: [{ vertex: 'sha256:r', timestamp: at(1), stream: 1, msg: Buffer.from('s390x\n') }] }),
      trace({ vertexes: [{ ...run, completed: at(2) }] }),
      JSON.stringify({ id: 'moby.image.id', aux: { ID: 'sha256:1234' } }),
      JSON.stringify({ stream: 'Successfully tagged x:1\n' }),
    ]),
    (l) => lines.push(l),
  );
  assert.equal(id, 'sha256:1234');
  assert.deepEqual(bases, [{ ref: '127.0.0.1:5000/archfarm/base:1', digest: `sha256:${'ab'.repeat(32)}` }]);
  assert.deepEqual(lines, ['#1 [builder 1/2] FROM 127.0.0.1:5000/archfarm/base:1@sha256:' + 'ab'.repeat(32), '#2 [2/2] RUN uname -m', '#2 1.000 s390x', '#2 DONE 2.0s', 'Successfully tagged x:1']);
});

test('an error record fails the build with the engine\'s message, its cause named in front', async () => {
  const lines: string[] = [];
  const message = 'executor failed running [/bin/sh -c exit 3]: exit code: 3';
  await assert.rejects(
    readBuildStream(answer([trace({ vertexes: [run] }), JSON.stringify({ errorDetail: { message }, error: message })]), (l) => lines.push(l)),
    (err: unknown) => err instanceof BuildFailedError && err.detail === message && err.message === `a build step failed: ${message}` && err.kind === 'build',
  );
  assert.deepEqual(lines, ['#1 [2/2] RUN uname -m']);
});

test('a registry fault while resolving FROM is infrastructure (BASE_IMAGE_UNREACHABLE), so the job is retried', async () => {
  const message = 'failed to solve with frontend dockerfile.v0: failed to create LLB definition: failed to do request: Head "http://127.0.0.1:41903/v2/archfarm/base/manifests/1": dial tcp 127.0.0.1:41903: connect: connection refused';
  await assert.rejects(
    readBuildStream(answer([JSON.stringify({ errorDetail: { message }, error: message })]), () => undefined),
    (err: unknown) => err instanceof BaseImageUnreachableError && err.kind === 'infrastructure' && err.registry === '127.0.0.1:41903',
  );
});

test('an answer without id or error means the engine went away', async () => {
  await assert.rejects(readBuildStream(answer([trace({ vertexes: [run] })]), () => undefined), EngineUnavailableError);
});

test('never forwards what it cannot read', async () => {
  const lines: string[] = [];
  await readBuildStream(
    answer(['eyJub3QiOiJqc29uIn0=', JSON.stringify({ id: 'moby.buildkit.trace', aux: '////' }), JSON.stringify({ aux: { ID: 'sha256:1' } })]),
    (l) => lines.push(l),
  );
  assert.deepEqual(lines, ['(unreadable engine output, 20 bytes)', '(undecodable BuildKit status, 4 bytes)']);
});

/** An answer that sends `lines` and then nothing more, never ending (a registry that never answers the engine). */
function stalled(lines: string[]): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (sent) return;
      sent = true;
      this.push(lines.map((l) => `${l}\r\n`).join(''));
    },
  });
}

test('a FROM lookup left unanswered past the deadline fails the build as BASE_IMAGE_TIMEOUT and closes the answer', async () => {
  const lookup = { ...run, digest: 'sha256:m', name: '[internal] load metadata for 127.0.0.1:40783/archfarm/base:1' };
  const answer = stalled([trace({ vertexes: [lookup] })]);
  const started = Date.now();
  await assert.rejects(readBuildStream(answer, () => undefined, { resolveTimeoutMs: 300 }), (err: unknown) => {
    assert.ok(err instanceof BaseImageTimeoutError, String(err));
    assert.equal(err.registry, '127.0.0.1:40783');
    assert.match(err.message, /^the FROM image's registry 127\.0\.0\.1:40783 did not answer in time \(no answer to the lookup of 127\.0\.0\.1:40783\/archfarm\/base:1 within 0.3 s\)/);
    return true;
  });
  assert.ok(Date.now() - started < 2000);
  assert.ok(answer.destroyed, 'the request is closed, which stops the engine\'s build');
});

test('Podman\'s "Trying to pull" with nothing after it is the same timeout', async () => {
  const answer = stalled([JSON.stringify({ stream: 'STEP 1/2: FROM 127.0.0.1:1234/archfarm/base:1\n' }), JSON.stringify({ stream: 'Trying to pull 127.0.0.1:1234/archfarm/base:1...\n' })]);
  await assert.rejects(readBuildStream(answer, () => undefined, { resolveTimeoutMs: 300 }), BaseImageTimeoutError);
});

test('a lookup that completes, and a slow RUN after it, are not timed out', async () => {
  const lookup = { ...run, digest: 'sha256:m', name: '[internal] load metadata for 127.0.0.1:5000/archfarm/base:1' };
  const chunks = [trace({ vertexes: [lookup] }), trace({ vertexes: [{ ...lookup, completed: at(1) }, run] })];
  const slow = new Readable({ read() {} });
  for (const c of chunks) slow.push(`${c}\r\n`);
  setTimeout(() => {
    slow.push(`${JSON.stringify({ aux: { ID: 'sha256:1' } })}\r\n`);
    slow.push(null);
  }, 700);
  const { imageId } = await readBuildStream(slow, () => undefined, { resolveTimeoutMs: 300 });
  assert.equal(imageId, 'sha256:1');
});
