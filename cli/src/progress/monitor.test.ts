import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BuildMode, JobState, type BuildEvent } from '@archfarm/proto';
import { Captured, ev } from '../testing/events';
import { JsonRenderer } from './json';
import { BuildMonitor } from './monitor';

const EMU = BuildMode.BUILD_MODE_EMULATED;

/** What a re-attached stream repeats: each job's latest state and the waiting reason given since. */
test('a job state or waiting reason the platform already has is passed over, for every renderer', () => {
  const err = new Captured();
  const monitor = new BuildMonitor(new JsonRenderer(err));
  const assigned = ev.job('linux/arm64', JobState.JOB_STATE_ASSIGNED, { agent: 'pi-1', mode: EMU, reason: 'native first' });
  const succeeded = ev.job('linux/arm64', JobState.JOB_STATE_SUCCEEDED, { agent: 'pi-1', mode: EMU, digest: 'sha256:2' });
  const events: BuildEvent[] = [
    ev.job('linux/s390x', JobState.JOB_STATE_QUEUED),
    ev.waiting('linux/s390x', 'no agent serves linux/s390x'),
    assigned,
    // re-attached:
    ev.job('linux/s390x', JobState.JOB_STATE_QUEUED),
    ev.waiting('linux/s390x', 'no agent serves linux/s390x'),
    assigned,
    ev.log('linux/arm64', 'pi-1', EMU, 'last line, no newline'),
    succeeded,
    // re-attached again, after the job ended:
    succeeded,
    // a state that really changed is shown, and so is a wait that comes back after it:
    ev.job('linux/s390x', JobState.JOB_STATE_ASSIGNED, { agent: 'z-1', mode: EMU }),
    ev.job('linux/s390x', JobState.JOB_STATE_QUEUED),
    ev.waiting('linux/s390x', 'no agent serves linux/s390x'),
  ];
  for (const e of events) monitor.handle(e);
  const shown = err.lines.map((l) => JSON.parse(l) as { type: string; platform: string; state?: string });
  assert.deepEqual(
    shown.map((o) => `${o.type} ${o.platform} ${o.state ?? ''}`.trim()),
    [
      'job linux/s390x queued',
      'waiting linux/s390x',
      'job linux/arm64 assigned',
      'log linux/arm64',
      'job linux/arm64 succeeded',
      'job linux/s390x assigned',
      'job linux/s390x queued',
      'waiting linux/s390x',
    ],
  );
  assert.deepEqual(monitor.logs.tail('linux/arm64'), ['last line, no newline'], 'the flush at the end ran once');
});
