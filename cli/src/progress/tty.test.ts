import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BuildMode, BuildState, JobState, type BuildEvent } from '@archfarm/proto';
import { Captured, ev } from '../testing/events';
import { BuildMonitor } from './monitor';
import { TtyRenderer } from './tty';

const NATIVE = BuildMode.BUILD_MODE_NATIVE;
const EMU = BuildMode.BUILD_MODE_EMULATED;

/**
 * What a terminal shows after `text`: the sequences the renderer uses (cursor up, carriage
 * return, erase to the end of the screen, newline) applied to rows; anything else fails.
 */
function screen(text: string): string[] {
  const rows: string[] = [''];
  let row = 0;
  let col = 0;
  for (let i = 0; i < text.length; ) {
    const esc = /^\u001b\[(\d*)([AJ])/.exec(text.slice(i));
    if (esc) {
      if (esc[2] === 'A') {
        row = Math.max(row - Number(esc[1] || 1), 0);
      } else {
        rows.splice(row + 1);
        rows[row] = rows[row]!.slice(0, col);
      }
      i += esc[0].length;
      continue;
    }
    const c = text[i++]!;
    assert.ok(c === '\n' || c === '\r' || c >= ' ', `unexpected control ${JSON.stringify(c)}`);
    if (c === '\r') col = 0;
    else if (c === '\n') {
      row += 1;
      col = 0;
      if (rows.length <= row) rows.push('');
    } else {
      const line = rows[row]!.padEnd(col);
      rows[row] = line.slice(0, col) + c + line.slice(col + 1);
      col += 1;
    }
  }
  return rows.at(-1) === '' ? rows.slice(0, -1) : rows;
}

function setup(columns = 100) {
  const out = new Captured();
  let now = 0;
  const renderer = new TtyRenderer(out, { columns: () => columns, rows: () => 24, now: () => now }, 0);
  const monitor = new BuildMonitor(renderer);
  const send = (e: BuildEvent, timeMs: number) => {
    now = timeMs;
    monitor.handle({ ...e, timeMs });
  };
  return { out, renderer, monitor, send, tick: (ms: number) => ((now = ms), renderer.redraw()) };
}

test('live lines redrawn in place, lines that stay above them, the summary table at the end', () => {
  const { out, renderer, send, tick } = setup();
  renderer.context({ digest: 'sha256:c', size: 1234, uploading: true });
  renderer.submitted('b1', ['linux/amd64', 'linux/arm64']);
  send(ev.job('linux/amd64', JobState.JOB_STATE_RUNNING, { agent: 'x86', mode: NATIVE }), 1000);
  send(ev.job('linux/arm64', JobState.JOB_STATE_RUNNING, { agent: 'x86', mode: EMU }), 1000);
  send(ev.log('linux/amd64', 'x86', NATIVE, '#1 [1/2] FROM base\n#1 CACHED\n#2 [2/2] RUN sleep 3\n'), 1500);
  tick(3000);
  assert.deepEqual(screen(out.text), [
    'uploading context 1.2 kB',
    'build b1: linux/amd64, linux/arm64',
    'linux/amd64  x86  native    step 2/2  1 cached  2.0s  RUN sleep 3',
    'linux/arm64  x86  emulated  starting  2.0s',
  ]);
  renderer.reattach({ type: 'lost', reason: 'UNAVAILABLE' });
  tick(3500);
  assert.deepEqual(screen(out.text).slice(2), [
    'archfarm: lost the coordinator (UNAVAILABLE); re-attaching',
    'linux/amd64  x86  native    step 2/2  1 cached  2.5s  RUN sleep 3',
    'linux/arm64  x86  emulated  starting  2.5s',
  ]);
  send(ev.job('linux/amd64', JobState.JOB_STATE_SUCCEEDED, { agent: 'x86', mode: NATIVE, digest: `sha256:${'a'.repeat(64)}` }), 5000);
  send(ev.job('linux/arm64', JobState.JOB_STATE_SUCCEEDED, { agent: 'x86', mode: EMU, digest: `sha256:${'b'.repeat(64)}` }), 9000);
  send(ev.finished({ tag: 'reg/app:1', digest: `sha256:${'c'.repeat(64)}` }), 9100);
  tick(20_000); // after the end, nothing is redrawn
  assert.deepEqual(screen(out.text).slice(3), [
    'PLATFORM      AGENT   MODE       DURATION   DIGEST',
    'linux/amd64   x86     native     4.0s       sha256:aaaaaaaaaaaa',
    'linux/arm64   x86     emulated   8.0s       sha256:bbbbbbbbbbbb',
    'published reg/app:1',
  ]);
  renderer.close();
  assert.equal(screen(out.text).length, 7);
});

test("a failing Dockerfile: the failed step's output at once, not again at the end", () => {
  const { out, renderer, monitor, send } = setup();
  renderer.submitted('b1', ['linux/arm64']);
  send(ev.job('linux/arm64', JobState.JOB_STATE_RUNNING, { agent: 'pi', mode: NATIVE }), 1000);
  send(ev.log('linux/arm64', 'pi', NATIVE, '#1 [1/2] FROM base\n#1 CACHED\n#2 [2/2] RUN make\n#2 0.2 \u001b[31mboom\n#2 ERROR: exit code: 2'), 1200);
  send(ev.job('linux/arm64', JobState.JOB_STATE_FAILED, { agent: 'pi', mode: NATIVE, error: { code: 'BUILD_STEP', message: 'RUN make: exit 2', kind: 'build' } }), 2000);
  const block = ['--- linux/arm64 failed at RUN make (pi, native) ---', '#2 [2/2] RUN make', '#2 0.2 \\x1b[31mboom', '#2 ERROR: exit code: 2', '---'];
  assert.deepEqual(screen(out.text), ['build b1: linux/arm64', ...block, 'linux/arm64  pi  native  failed  step 2/2  1 cached  1.0s  RUN make: exit 2']);
  send(ev.finished({ state: BuildState.BUILD_STATE_FAILED, failedPlatform: 'linux/arm64' }), 2100);
  monitor.reportFailure('linux/arm64');
  assert.deepEqual(screen(out.text), ['build b1: linux/arm64', ...block, 'PLATFORM      AGENT   MODE     DURATION   DIGEST', 'linux/arm64   pi      native   1.0s       failed', 'failed']);
});

test('an infrastructure failure has no block of its own: the end reports the last lines', () => {
  const { out, renderer, monitor, send } = setup();
  renderer.submitted('b1', ['linux/arm64']);
  send(ev.job('linux/arm64', JobState.JOB_STATE_RUNNING, { agent: 'pi', mode: NATIVE }), 1000);
  send(ev.log('linux/arm64', 'pi', NATIVE, 'pushing\n'), 1200);
  send(ev.job('linux/arm64', JobState.JOB_STATE_FAILED, { agent: 'pi', mode: NATIVE, error: { code: 'PUSH', message: 'registry said 500', kind: 'infrastructure' } }), 2000);
  send(ev.finished({ state: BuildState.BUILD_STATE_FAILED, failedPlatform: 'linux/arm64' }), 2100);
  monitor.reportFailure('linux/arm64');
  assert.deepEqual(screen(out.text).slice(-3), ['--- last log lines of linux/arm64 (pi, native) ---', 'pushing', '---']);
});

test('the question under the live lines; close leaves the last frame without it and stops drawing', () => {
  const { out, renderer, send, tick } = setup();
  renderer.submitted('b1', ['linux/amd64']);
  send(ev.job('linux/amd64', JobState.JOB_STATE_RUNNING, { agent: 'x86', mode: NATIVE }), 1000);
  renderer.ask?.('cancel the build or detach? [c/d]');
  assert.equal(screen(out.text).at(-1), 'cancel the build or detach? [c/d]');
  tick(2000);
  renderer.close();
  const after = out.text;
  assert.deepEqual(screen(after), ['build b1: linux/amd64', 'linux/amd64  x86  native  starting  1.0s']);
  tick(5000);
  renderer.cancelling('b1');
  assert.equal(out.text, `${after}cancelling build b1…\n`, 'after close: plain lines, no cursor movement');
});

test('every frame fits the width, so a redraw never has to count wrapped rows', () => {
  const { out, renderer, send, tick } = setup(30);
  renderer.submitted('b1', ['linux/amd64']);
  send(ev.job('linux/amd64', JobState.JOB_STATE_RUNNING, { agent: 'a-rather-long-agent-name', mode: NATIVE }), 1000);
  tick(1500);
  for (const row of screen(out.text)) assert.ok(Array.from(row).length <= 29, row);
});

test('no frame before the first event: --detach returns with the build line alone; a question still shows', () => {
  const detached = setup();
  detached.renderer.submitted('b1', ['linux/amd64', 'linux/arm64']);
  detached.tick(1000);
  detached.renderer.close();
  assert.equal(detached.out.text, 'build b1: linux/amd64, linux/arm64\n');
  const asked = setup();
  asked.renderer.submitted('b1', ['linux/amd64']);
  asked.renderer.ask?.('cancel the build or detach? [c/d]');
  assert.deepEqual(screen(asked.out.text), ['build b1: linux/amd64', 'linux/amd64  -    queued', 'cancel the build or detach? [c/d]']);
});
