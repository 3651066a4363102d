import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BuildMode, BuildState, JobState } from '@archfarm/proto';
import { Captured, ev } from '../testing/events';
import { BuildMonitor } from './monitor';
import { PlainRenderer } from './plain';
import { QuietRenderer } from './quiet';
import type { ProgressRenderer } from './renderer';

const EMU = BuildMode.BUILD_MODE_EMULATED;
const NATIVE = BuildMode.BUILD_MODE_NATIVE;

test('prints state changes once and log lines prefixed by platform, agent and mode', () => {
  const err = new Captured();
  const renderer = new PlainRenderer(err);
  const monitor = new BuildMonitor(renderer);
  renderer.context({ digest: 'sha256:abc', size: 1_234_567, uploading: true });
  renderer.submitted('b1', ['linux/amd64', 'linux/arm64']);
  for (const e of [
    ev.job('linux/arm64', JobState.JOB_STATE_QUEUED),
    ev.waiting('linux/arm64', 'no agent serves linux/arm64'),
    ev.waiting('linux/arm64', 'no agent serves linux/arm64'),
    ev.job('linux/arm64', JobState.JOB_STATE_ASSIGNED, { agent: 'pi-1', mode: EMU }),
    ev.job('linux/arm64', JobState.JOB_STATE_ASSIGNED, { agent: 'pi-1', mode: EMU }),
    ev.job('linux/amd64', JobState.JOB_STATE_RUNNING, { agent: 'x86-1', mode: NATIVE }),
    ev.log('linux/arm64', 'pi-1', EMU, '#1 [internal] load\n#2 RUN ma'),
    ev.log('linux/amd64', 'x86-1', NATIVE, 'amd64 line\n'),
    ev.log('linux/arm64', 'pi-1', EMU, 'ke\nunterminated'),
    ev.job('linux/arm64', JobState.JOB_STATE_SUCCEEDED, { agent: 'pi-1', mode: EMU, digest: 'sha256:111' }),
    ev.finished({ state: BuildState.BUILD_STATE_PUBLISHED, digest: 'sha256:999', tag: '127.0.0.1:5000/hello:1' }),
  ]) {
    monitor.handle(e);
  }
  assert.deepEqual(err.lines, [
    'uploading context 1.2 MB',
    'build b1: linux/amd64, linux/arm64',
    '[linux/arm64] queued',
    '[linux/arm64] waiting: no agent serves linux/arm64',
    '[linux/arm64] assigned to pi-1 (emulated)',
    '[linux/amd64] building on x86-1 (native)',
    '[linux/arm64 pi-1 emulated] #1 [internal] load',
    '[linux/amd64 x86-1 native] amd64 line',
    '[linux/arm64 pi-1 emulated] #2 RUN make',
    // The job's unfinished last line is shown before its end.
    '[linux/arm64 pi-1 emulated] unterminated',
    '[linux/arm64] pushed sha256:111',
    'published 127.0.0.1:5000/hello:1',
  ]);
});

test('a failed job: failure line, then the failure block with the last lines', () => {
  const err = new Captured();
  const monitor = new BuildMonitor(new PlainRenderer(err));
  monitor.handle(ev.job('linux/s390x', JobState.JOB_STATE_RUNNING, { agent: 'builder-b', mode: EMU }));
  monitor.handle(ev.log('linux/s390x', 'builder-b', EMU, 'ok\nerror: exit 2'));
  monitor.handle(ev.job('linux/s390x', JobState.JOB_STATE_FAILED, { agent: 'builder-b', mode: EMU, error: { code: 'BUILD_STEP', message: 'RUN make: exit 2', kind: 'build' } }));
  monitor.handle(ev.job('linux/s390x', JobState.JOB_STATE_QUEUED));
  err.text = '';
  monitor.reportFailure('linux/s390x');
  assert.deepEqual(err.lines, ['--- last log lines of linux/s390x (builder-b, emulated) ---', 'ok', 'error: exit 2', '---']);
});

test("a lost attempt's unfinished line is shown on its own, before the next attempt's lines", () => {
  const err = new Captured();
  const monitor = new BuildMonitor(new PlainRenderer(err));
  monitor.handle(ev.log('linux/arm64', 'pi-1', NATIVE, 'step 1\nstep 2 hal', 1));
  monitor.handle(ev.log('linux/arm64', 'pi-2', NATIVE, 'step 1\n', 2));
  assert.deepEqual(err.lines, ['[linux/arm64 pi-1 native] step 1', '[linux/arm64 pi-1 native] step 2 hal', '[linux/arm64 pi-2 native] step 1']);
});

test('waiting is shown again when the reason changes or after the job moved', () => {
  const err = new Captured();
  const monitor = new BuildMonitor(new PlainRenderer(err));
  monitor.handle(ev.waiting('linux/ppc64le', 'no agent'));
  monitor.handle(ev.waiting('linux/ppc64le', 'all 2 agents busy'));
  monitor.handle(ev.job('linux/ppc64le', JobState.JOB_STATE_QUEUED));
  monitor.handle(ev.waiting('linux/ppc64le', 'all 2 agents busy'));
  assert.deepEqual(err.lines, [
    '[linux/ppc64le] waiting: no agent',
    '[linux/ppc64le] waiting: all 2 agents busy',
    '[linux/ppc64le] queued',
    '[linux/ppc64le] waiting: all 2 agents busy',
  ]);
});

test('quiet shows nothing but the failure block', () => {
  const err = new Captured();
  const renderer: ProgressRenderer = new QuietRenderer(err);
  const monitor = new BuildMonitor(renderer);
  renderer.context({ digest: 'sha256:abc', size: 1, uploading: false });
  monitor.handle(ev.job('linux/arm64', JobState.JOB_STATE_RUNNING, { agent: 'pi-1', mode: NATIVE }));
  monitor.handle(ev.log('linux/arm64', 'pi-1', NATIVE, 'boom\n'));
  assert.equal(err.text, '');
  monitor.reportFailure('linux/arm64');
  assert.deepEqual(err.lines, ['--- last log lines of linux/arm64 (pi-1, native) ---', 'boom', '---']);
});

test('an assignment with a reason says why the scheduler chose that agent', () => {
  const err = new Captured();
  const monitor = new BuildMonitor(new PlainRenderer(err));
  const reason = 'native; 2 of 2 slots free; built this repository last';
  monitor.handle(ev.job('linux/arm64', JobState.JOB_STATE_ASSIGNED, { agent: 'pi-1', mode: NATIVE, reason }));
  monitor.handle(ev.job('linux/arm64', JobState.JOB_STATE_RUNNING, { agent: 'pi-1', mode: NATIVE, reason }));
  assert.deepEqual(err.lines, [`[linux/arm64] assigned to pi-1 (native): ${reason}`, '[linux/arm64] building on pi-1 (native)']);
});
