import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidInputError } from '@archfarm/common';
import { checkCron, nextRunAfter, nextRuns } from './cron';

test('a five- or six-field cron is accepted as node-cron reads it; the time zone defaults to UTC', () => {
  assert.deepEqual(checkCron(' 0  3 * * * ', ''), { cron: '0 3 * * *', timezone: 'UTC' });
  assert.deepEqual(checkCron('*/5 * * * * *', 'Europe/Zurich'), { cron: '*/5 * * * * *', timezone: 'Europe/Zurich' });
});

test('a bad cron or time zone is refused naming the field and showing the form', () => {
  const refused = (cron: string, tz: string, field: string, text: RegExp) =>
    assert.throws(() => checkCron(cron, tz), (err: unknown) => err instanceof InvalidInputError && err.field === field && text.test(err.message));
  refused('', '', 'cron', /give a cron expression/);
  refused('61 * * * *', '', 'cron', /minute.*e\.g\. "0 3 \* \* \*"/);
  refused('* * * *', '', 'cron', /expected 5 or 6 fields but got 4/);
  refused('0 3 * * *', 'Mars/Olympus', 'timezone', /"Mars\/Olympus" is not an IANA time zone/);
});

test('the next runs are read in the schedule\'s time zone', () => {
  // 03:00 in Zurich is 02:00 or 01:00 UTC (winter, summer); in New York 07:00 or 08:00.
  const zurich = nextRuns({ cron: '0 3 * * *', timezone: 'Europe/Zurich' }, 5).map((t) => new Date(t).getUTCHours());
  assert.equal(zurich.length, 5);
  for (const hour of zurich) assert.ok(hour === 1 || hour === 2, `Zurich 03:00 is ${hour}:00 UTC`);
  const york = nextRuns({ cron: '0 3 * * *', timezone: 'America/New_York' }, 1).map((t) => new Date(t).getUTCHours());
  assert.ok(york[0] === 7 || york[0] === 8);
  const runs = nextRuns({ cron: '*/5 * * * * *', timezone: 'UTC' }, 3);
  assert.deepEqual([runs[1]! - runs[0]!, runs[2]! - runs[1]!], [5000, 5000]);
  for (const t of runs) assert.equal(new Date(t).getUTCSeconds() % 5, 0);
});

test('nextRunAfter is strictly after the given time', () => {
  const times = { cron: '*/5 * * * * *', timezone: 'UTC' };
  const first = nextRuns(times, 1)[0]!;
  assert.equal(nextRunAfter(times, first), first + 5000);
  assert.equal(nextRunAfter(times, first - 1), first);
});
