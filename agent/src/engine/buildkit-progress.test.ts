import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { buildkit } from '@archfarm/proto';
import { BuildkitProgress } from './buildkit-progress';

const T0 = 1_700_000_000;
/** A timestamp `ms` after T0. */
const at = (ms: number) => ({ seconds: T0 + Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });

function vertex(digest: string, name: string, fields: Partial<buildkit.Vertex> = {}): buildkit.Vertex {
  return { digest, inputs: [], name, cached: false, started: undefined, completed: undefined, error: '', ...fields };
}

function status(fields: Partial<buildkit.StatusResponse>): buildkit.StatusResponse {
  return { vertexes: [], statuses: [], logs: [], warnings: [], ...fields };
}

function log(vertexDigest: string, ms: number, msg: string, stream = 1): buildkit.VertexLog {
  return { vertex: vertexDigest, timestamp: at(ms), stream, msg: Buffer.from(msg) };
}

function render(messages: buildkit.StatusResponse[]): string[] {
  const lines: string[] = [];
  const progress = new BuildkitProgress((l) => lines.push(l));
  for (const m of messages) progress.write(m);
  progress.end();
  return lines;
}

test('renders a run step like buildx --progress plain', () => {
  const run = vertex('sha256:b', '[2/3] RUN uname -m');
  const lines = render([
    status({ vertexes: [vertex('sha256:a', '[internal] load build definition from Dockerfile'), run] }),
    status({ vertexes: [vertex('sha256:a', '[internal] load build definition from Dockerfile', { started: at(0), completed: at(40) })] }),
    status({ vertexes: [{ ...run, started: at(100) }] }),
    status({ logs: [log('sha256:b', 313, 'aarch64\n')] }),
    status({ vertexes: [{ ...run, started: at(100), completed: at(520) }] }),
  ]);
  assert.deepEqual(lines, [
    '#1 [internal] load build definition from Dockerfile',
    '#1 DONE 0.0s',
    '#2 [2/3] RUN uname -m',
    '#2 0.213 aarch64',
    '#2 DONE 0.4s',
  ]);
});

test('numbers vertexes in order of first appearance, shows CACHED and ERROR', () => {
  const from = vertex('sha256:f', '[1/2] FROM base');
  const bad = vertex('sha256:r', '[2/2] RUN exit 3');
  const lines = render([
    status({ vertexes: [from, bad] }),
    status({ vertexes: [{ ...bad, started: at(0) }] }),
    status({ vertexes: [{ ...from, cached: true, started: at(0), completed: at(0) }] }),
    status({
      vertexes: [{ ...bad, started: at(0), completed: at(1500), error: 'executor failed running [/bin/sh -c exit 3]: exit code: 3' }],
      logs: [log('sha256:r', 1200, 'boom')],
    }),
  ]);
  assert.deepEqual(lines, [
    '#2 [2/2] RUN exit 3',
    '#1 [1/2] FROM base',
    '#1 CACHED',
    // The unterminated "boom" is flushed before the step's ERROR line.
    '#2 1.200 boom',
    '#2 ERROR: executor failed running [/bin/sh -c exit 3]: exit code: 3',
  ]);
});

test('joins log text split across messages and keeps streams apart', () => {
  const v = vertex('sha256:v', '[1/1] RUN make', { started: at(0) });
  const lines = render([
    status({ vertexes: [v] }),
    status({ logs: [log('sha256:v', 10, 'hel'), log('sha256:v', 11, 'warn: x\n', 2)] }),
    status({ logs: [log('sha256:v', 20, 'lo\nwor')] }),
    status({ logs: [log('sha256:v', 30, 'ld\r\n')] }),
  ]);
  assert.deepEqual(lines, ['#1 [1/1] RUN make', '#1 0.011 warn: x', '#1 0.010 hello', '#1 0.020 world']);
});

test('keeps only the last redraw of a carriage-return progress line', () => {
  const v = vertex('sha256:v', '[1/1] RUN curl', { started: at(0) });
  const lines = render([status({ vertexes: [v], logs: [log('sha256:v', 5, ' 10%\r 50%\r100%\n')] })]);
  assert.deepEqual(lines, ['#1 [1/1] RUN curl', '#1 0.005 100%']);
});

test('shows a transfer once, when it completes', () => {
  const v = vertex('sha256:c', '[internal] load remote build context', { started: at(0) });
  const transfer: buildkit.VertexStatus = {
    ID: 'transferring context', vertex: 'sha256:c', name: '', current: 0, total: 0, timestamp: at(1), started: at(0), completed: undefined,
  };
  const lines = render([
    status({ vertexes: [v], statuses: [{ ...transfer, current: 1200 }] }),
    status({ statuses: [{ ...transfer, current: 2_500_000, completed: at(30) }] }),
    status({ statuses: [{ ...transfer, current: 2_500_000, completed: at(30) }] }),
  ]);
  assert.deepEqual(lines, ['#1 [internal] load remote build context', '#1 transferring context 2.50MB done']);
});

test('renders warnings and shows a vertex that runs again', () => {
  const v = vertex('sha256:w', '[1/1] FROM base');
  const lines = render([
    status({ vertexes: [{ ...v, started: at(0), completed: at(10) }] }),
    status({ vertexes: [{ ...v, started: at(20) }] }),
    status({ vertexes: [{ ...v, started: at(20), completed: at(30) }] }),
    status({
      warnings: [{ vertex: 'sha256:w', level: 1, short: Buffer.from('deprecated syntax'), detail: [Buffer.from('use FROM x')], url: '' }],
    }),
  ]);
  assert.deepEqual(lines, [
    '#1 [1/1] FROM base',
    '#1 DONE 0.0s',
    '#1 [1/1] FROM base',
    '#1 DONE 0.0s',
    '#1 WARN: deprecated syntax',
    '#1 use FROM x',
  ]);
});
