import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BuildMode, BuildState, JobState, type BuildEvent } from '@archfarm/proto';
import { ev } from '../testing/events';
import { failedStepBlock, fit, formatDuration, initialLive, liveEvent, liveFrame, liveLines, summaryFrame, withQuestion, type LiveState } from './live-view';

const NATIVE = BuildMode.BUILD_MODE_NATIVE;
const EMU = BuildMode.BUILD_MODE_EMULATED;
const at = (e: BuildEvent, timeMs: number): BuildEvent => ({ ...e, timeMs });

/** Events fed in as if received at their own time plus `skew` on this machine's clock. */
function feed(state: LiveState, events: BuildEvent[], skew = 0): LiveState {
  return events.reduce((s, e) => liveEvent(s, e, e.timeMs + skew), state);
}

test('one line per platform: agent, mode, step n/m, cached, elapsed, current step; columns aligned', () => {
  let s = initialLive(['linux/amd64', 'linux/arm64', 'linux/s390x']);
  s = feed(s, [
    at(ev.job('linux/amd64', JobState.JOB_STATE_RUNNING, { agent: 'x86-1', mode: NATIVE }), 10_000),
    at(ev.job('linux/arm64', JobState.JOB_STATE_RUNNING, { agent: 'x86-1', mode: EMU }), 11_000),
    at(ev.waiting('linux/s390x', 'no agent can build it yet'), 11_500),
  ]);
  s = liveLines(s, 'linux/amd64', ['#1 [1/3] FROM base', '#1 CACHED', '#2 [2/3] RUN sleep 5', '#2 0.1 hello']);
  s = liveLines(s, 'linux/arm64', ['#1 [1/3] FROM base']);
  assert.deepEqual(liveFrame(s, 22_300, 200), [
    'linux/amd64  x86-1  native    step 2/3  1 cached  12.3s  RUN sleep 5',
    'linux/arm64  x86-1  emulated  step 1/3  11.3s  FROM base',
    'linux/s390x  -                waiting: no agent can build it yet',
  ]);
  s = feed(s, [at(ev.job('linux/amd64', JobState.JOB_STATE_SUCCEEDED, { agent: 'x86-1', mode: NATIVE, digest: 'sha256:1' }), 24_000)]);
  assert.equal(liveFrame(s, 30_000, 200)[0], 'linux/amd64  x86-1  native    done  step 2/3  1 cached  14.0s');
  // The question goes under the platforms, and away again.
  assert.equal(liveFrame(withQuestion(s, 'cancel the build or detach? [c/d]'), 30_000, 200).at(-1), 'cancel the build or detach? [c/d]');
  assert.equal(liveFrame(withQuestion(withQuestion(s, 'q'), undefined), 30_000, 200).length, 3);
});

test("elapsed counts on the coordinator's clock: a skewed local clock and replayed events do not distort it", () => {
  let s = initialLive(['linux/arm64']);
  // Replayed from the start (received late), then a live one: the smallest difference is the skew.
  s = liveEvent(s, at(ev.job('linux/arm64', JobState.JOB_STATE_RUNNING, { agent: 'pi', mode: NATIVE }), 1_000), 500_000);
  s = liveEvent(s, at(ev.log('linux/arm64', 'pi', NATIVE, 'x'), 5_000), 405_000);
  assert.equal(s.skewMs, 400_000);
  assert.match(liveFrame(s, 406_000, 100)[0]!, /starting {2}5\.0s$/);
});

test('a new attempt starts its steps over; a failed one says why', () => {
  let s = initialLive(['linux/arm64']);
  s = feed(s, [at(ev.job('linux/arm64', JobState.JOB_STATE_RUNNING, { agent: 'pi-1', mode: NATIVE }), 1000), at(ev.log('linux/arm64', 'pi-1', NATIVE, 'x', 1), 1001)]);
  s = liveLines(s, 'linux/arm64', ['#1 [1/2] FROM base', '#2 [2/2] RUN make']);
  s = feed(s, [at(ev.job('linux/arm64', JobState.JOB_STATE_FAILED, { agent: 'pi-1', mode: NATIVE, error: { code: 'AGENT_LOST', message: 'agent pi-1 lost', kind: 'infrastructure' } }), 3000)]);
  assert.equal(liveFrame(s, 3000, 200)[0], 'linux/arm64  pi-1  native  failed  step 2/2  2.0s  agent pi-1 lost');
  s = feed(s, [at(ev.job('linux/arm64', JobState.JOB_STATE_QUEUED), 4000)]);
  assert.equal(liveFrame(s, 4000, 200)[0], 'linux/arm64  pi-1  native  queued', 'the last agent is kept, the steps are not');
  s = feed(s, [at(ev.job('linux/arm64', JobState.JOB_STATE_RUNNING, { agent: 'pi-2', mode: NATIVE }), 5000), at(ev.log('linux/arm64', 'pi-2', NATIVE, 'y', 2), 5001)]);
  s = liveLines(s, 'linux/arm64', ['#1 [1/2] FROM base']);
  assert.equal(liveFrame(s, 6000, 200)[0], 'linux/arm64  pi-2  native  step 1/2  1.0s  FROM base');
});

test('lines are cut to the width, and control characters from others are neutralised', () => {
  let s = initialLive(['linux/amd64']);
  s = feed(s, [at(ev.job('linux/amd64', JobState.JOB_STATE_RUNNING, { agent: 'evil\u001b]0;pwned\u0007', mode: NATIVE }), 1000)]);
  s = liveLines(s, 'linux/amd64', ['#1 [1/1] RUN echo \u001b[2J very long step name that goes on and on']);
  const [line] = liveFrame(s, 2000, 40);
  assert.equal(line, 'linux/amd64  evil\\x1b]0;pwned\\x07  nat…');
  assert.equal(Array.from(line!).length, 39);
  assert.doesNotMatch(liveFrame(s, 2000, 500)[0]!, /[\u0000-\u001f]/);
  assert.equal(fit('naïve → ok', 80), 'naïve → ok');
  assert.equal(fit('abcdef', 4), 'ab…');
});

test('the summary table: platform, agent, mode, duration, digest; short digests when full ones do not fit', () => {
  const d1 = `sha256:${'1'.repeat(64)}`;
  const d2 = `sha256:${'2'.repeat(64)}`;
  let s = initialLive(['linux/amd64', 'linux/arm64']);
  s = feed(s, [
    at(ev.job('linux/amd64', JobState.JOB_STATE_RUNNING, { agent: 'x86-1', mode: NATIVE }), 1000),
    at(ev.job('linux/arm64', JobState.JOB_STATE_RUNNING, { agent: 'x86-1', mode: EMU }), 1000),
    at(ev.job('linux/amd64', JobState.JOB_STATE_SUCCEEDED, { agent: 'x86-1', mode: NATIVE, digest: d1 }), 7200),
    at(ev.job('linux/arm64', JobState.JOB_STATE_SUCCEEDED, { agent: 'x86-1', mode: EMU, digest: d2 }), 66_000),
    at(
      ev.finished({
        tag: '127.0.0.1:5000/app:1',
        digest: `sha256:${'9'.repeat(64)}`,
        platforms: [
          { platform: 'linux/amd64', digest: d1, agent: 'x86-1', mode: NATIVE, bases: [] },
          { platform: 'linux/arm64', digest: d2, agent: 'x86-1', mode: EMU, bases: [] },
        ],
      }),
      66_500,
    ),
  ]);
  assert.deepEqual(summaryFrame(s, 200), [
    'PLATFORM      AGENT   MODE       DURATION   DIGEST',
    `linux/amd64   x86-1   native     6.2s       ${d1}`,
    `linux/arm64   x86-1   emulated   1m05s      ${d2}`,
    'published 127.0.0.1:5000/app:1',
  ]);
  assert.deepEqual(summaryFrame(s, 80).slice(1, 3), ['linux/amd64   x86-1   native     6.2s       sha256:111111111111', 'linux/arm64   x86-1   emulated   1m05s      sha256:222222222222']);
});

test('the summary of a failed build names each outcome', () => {
  let s = initialLive(['linux/amd64', 'linux/s390x']);
  s = feed(s, [
    at(ev.job('linux/amd64', JobState.JOB_STATE_RUNNING, { agent: 'a', mode: NATIVE }), 1000),
    at(ev.job('linux/amd64', JobState.JOB_STATE_FAILED, { agent: 'a', mode: NATIVE, error: { code: 'BUILD_STEP', message: 'exit 2', kind: 'build' } }), 2000),
    at(ev.job('linux/s390x', JobState.JOB_STATE_CANCELLED), 2100),
    at(ev.finished({ state: BuildState.BUILD_STATE_FAILED, failedPlatform: 'linux/amd64' }), 2200),
  ]);
  assert.deepEqual(summaryFrame(s, 100), ['PLATFORM      AGENT   MODE     DURATION   DIGEST', 'linux/amd64   a       native   1.0s       failed', 'linux/s390x   -       -        -          cancelled', 'failed']);
});

test("a failed step's block holds that step's lines only, else the whole tail", () => {
  let s = initialLive(['linux/arm64']);
  s = feed(s, [at(ev.job('linux/arm64', JobState.JOB_STATE_RUNNING, { agent: 'pi', mode: EMU }), 1000)]);
  const tail = ['#1 [1/2] FROM base', '#1 CACHED', '#2 [2/2] RUN make', '#2 0.1 cc -o x', '#3 0.0 other', '#2 0.5 error: boom', '#2 ERROR: exit code: 2'];
  s = liveLines(s, 'linux/arm64', tail);
  const p = s.platforms[0]!;
  assert.deepEqual(failedStepBlock(p, tail), ['--- linux/arm64 failed at RUN make (pi, emulated) ---', '#2 [2/2] RUN make', '#2 0.1 cc -o x', '#2 0.5 error: boom', '#2 ERROR: exit code: 2', '---']);
  const classic = liveLines(initialLive(['linux/arm64']), 'linux/arm64', ['Step 1/1 : RUN make', 'boom']).platforms[0]!;
  assert.deepEqual(failedStepBlock(classic, ['Step 1/1 : RUN make', 'boom']), ['--- linux/arm64 failed ---', 'Step 1/1 : RUN make', 'boom', '---']);
  assert.deepEqual(failedStepBlock(classic, []), []);
});

test('durations as people read them', () => {
  assert.equal(formatDuration(400), '0.4s');
  assert.equal(formatDuration(59_940), '59.9s');
  assert.equal(formatDuration(65_000), '1m05s');
  assert.equal(formatDuration(7_380_000), '2h03m');
  assert.equal(formatDuration(-5), '0.0s');
});

test('no more rows than the terminal has, less one: the rest are counted', () => {
  const platforms = ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/s390x', 'linux/ppc64le'];
  const s = initialLive(platforms);
  assert.equal(liveFrame(s, 0, 80, 6).length, 5, 'all fit in 6 rows');
  assert.deepEqual(liveFrame(s, 0, 80, 5), ['linux/amd64    -    queued', 'linux/arm64    -    queued', 'linux/arm/v7   -    queued', '… and 2 more platforms']);
  const asked = liveFrame(withQuestion(s, 'q?'), 0, 80, 5);
  assert.deepEqual(asked.slice(-2), ['… and 3 more platforms', 'q?'], 'the question is never the one left out');
  assert.equal(asked.length, 4);
});
