import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countStep, failedVertex, NO_STEPS, parseStepLine, stepView, type StepCount } from './steps';

const count = (lines: string[]): StepCount => lines.reduce((c, l) => countStep(c, parseStepLine(l)), NO_STEPS);

test('parses buildx plain lines: a step header, CACHED, DONE, ERROR; nothing else', () => {
  assert.deepEqual(parseStepLine('#5 [2/4] RUN make'), { type: 'step', vertex: 5, stage: '', index: 2, total: 4, name: 'RUN make' });
  assert.deepEqual(parseStepLine('#7 [build 1/3] FROM 127.0.0.1:5000/base@sha256:ab'), { type: 'step', vertex: 7, stage: 'build', index: 1, total: 3, name: 'FROM 127.0.0.1:5000/base@sha256:ab' });
  assert.deepEqual(parseStepLine('#3 [linux/amd64 build 2/2] RUN go build'), { type: 'step', vertex: 3, stage: 'linux/amd64 build', index: 2, total: 2, name: 'RUN go build' });
  // The step's own counter, not one inside its command.
  assert.deepEqual(parseStepLine('#4 [2/3] RUN echo "[x 1/9] y"'), { type: 'step', vertex: 4, stage: '', index: 2, total: 3, name: 'RUN echo "[x 1/9] y"' });
  assert.deepEqual(parseStepLine('#5 CACHED'), { type: 'cached', vertex: 5 });
  assert.deepEqual(parseStepLine('#5 DONE 0.4s'), { type: 'done', vertex: 5 });
  assert.deepEqual(parseStepLine('#5 ERROR: process "/bin/sh -c exit 3" did not complete successfully: exit code: 3'), { type: 'error', vertex: 5 });
  for (const other of ['#1 [internal] load build definition from Dockerfile', '#5 0.213 [2/4] RUN fake', '#5 0.213 #5 CACHED', '#2 sha256:ab 1.2MB / 3MB done', 'CACHED', '[2/4] RUN x', '#5 DONE', '']) {
    assert.equal(parseStepLine(other), undefined, other);
  }
});

test("parses the classic builder's and Podman's step lines and cache notes", () => {
  assert.deepEqual(parseStepLine('Step 2/4 : RUN make'), { type: 'step', vertex: undefined, stage: '', index: 2, total: 4, name: 'RUN make' });
  assert.deepEqual(parseStepLine('STEP 3/5: COPY . /src'), { type: 'step', vertex: undefined, stage: '', index: 3, total: 5, name: 'COPY . /src' });
  assert.deepEqual(parseStepLine(' ---> Using cache'), { type: 'cached', vertex: undefined });
  assert.deepEqual(parseStepLine('--> Using cache 9f2e0a1b2c3d'), { type: 'cached', vertex: undefined });
  assert.equal(parseStepLine(' ---> 3b2c1d0e'), undefined);
  assert.equal(parseStepLine('step 2/4 : lower case is a log line'), undefined);
});

test('a BuildKit build: step n/m across stages, cached steps, the current and the failed step', () => {
  const lines = [
    '#1 [internal] load build definition from Dockerfile',
    '#1 DONE 0.0s',
    '#2 [build 1/2] FROM base',
    '#2 CACHED',
    '#3 [stage-1 1/3] FROM base',
    '#3 CACHED',
    '#4 [build 2/2] RUN make',
    '#4 0.100 compiling',
  ];
  assert.deepEqual(stepView(count(lines)), { started: 3, total: 5, cached: 2, current: 'RUN make', failed: undefined });
  const done = count([...lines, '#4 DONE 3.0s', '#5 [stage-1 2/3] COPY --from=build /out /out', '#5 DONE 0.1s', '#6 [stage-1 3/3] RUN exit 3', '#6 ERROR: exit code: 3']);
  assert.deepEqual(stepView(done), { started: 5, total: 5, cached: 2, current: 'RUN exit 3', failed: 'RUN exit 3' });
  assert.equal(failedVertex(done), 6);
  // A header BuildKit repeats (the step ran again) is still one step, and a CACHED one stays cached.
  assert.deepEqual(stepView(count([...lines, '#2 [build 1/2] FROM base'])).cached, 2);
  assert.equal(stepView(count([...lines, '#4 [build 2/2] RUN make'])).started, 3);
});

test('a classic build: Step k/m, and Using cache belongs to the step before it', () => {
  const c = count(['Step 1/3 : FROM base', ' ---> 1a2b', 'Step 2/3 : RUN make', ' ---> Using cache', ' ---> 3c4d', 'Step 3/3 : RUN test']);
  assert.deepEqual(stepView(c), { started: 3, total: 3, cached: 1, current: 'RUN test', failed: undefined });
  assert.equal(countStep(c, undefined), c, 'a line about nothing leaves the count as it was');
  // A cache note or a DONE for a step never seen changes nothing.
  assert.equal(countStep(NO_STEPS, parseStepLine(' ---> Using cache')), NO_STEPS);
  assert.equal(countStep(NO_STEPS, parseStepLine('#9 DONE 1.0s')), NO_STEPS);
  assert.deepEqual(stepView(NO_STEPS), { started: 0, total: 0, cached: 0, current: '', failed: undefined });
});
