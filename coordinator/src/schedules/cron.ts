import { InvalidInputError } from '@archfarm/common';
import cron, { type ScheduledTask, type TaskFn } from 'node-cron';

/** A schedule's time zone when `--timezone` is not given: the same instant on every host. */
export const DEFAULT_TIMEZONE = 'UTC';

/** How many coming run times `schedules add` and `schedules show` print. */
export const NEXT_RUNS_SHOWN = 5;

/** A cron expression and the time zone it is read in, both checked (checkCron). */
export interface CronTimes {
  cron: string;
  timezone: string;
}

/**
 * Checks a cron expression and time zone as node-cron, which runs the ticks, reads them, so
 * what `add` accepts is exactly what fires. Errors name the field and show the form.
 */
export function checkCron(expression: string, timezone: string): CronTimes {
  const text = expression.trim().replace(/\s+/g, ' ');
  if (text === '') throw new InvalidInputError('cron', 'give a cron expression, e.g. --cron "0 3 * * *" (minute hour day-of-month month day-of-week), or six fields with seconds first');
  const check = cron.validateDetailed(text);
  if (!check.valid) {
    const why = check.errors.map((e) => (e.field === 'expression' ? e.message : `${e.field}: ${e.message}`)).join('; ');
    throw new InvalidInputError('cron', `"${text}" is not a valid cron expression (${why}); e.g. "0 3 * * *" for 03:00 every day, "*/5 * * * * *" for every 5 seconds`);
  }
  return { cron: text, timezone: checkTimezone(timezone) };
}

function checkTimezone(zone: string): string {
  const name = zone.trim() === '' ? DEFAULT_TIMEZONE : zone.trim();
  try {
    // Intl knows the IANA database Node ships; node-cron converts times with it too.
    return new Intl.DateTimeFormat('en', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    throw new InvalidInputError('timezone', `"${zone}" is not an IANA time zone; e.g. Europe/Zurich, America/New_York or UTC`);
  }
}

/** A node-cron task for these times; not started. */
export function cronTask(times: CronTimes, name: string, fn: TaskFn): ScheduledTask {
  // No overlap inside node-cron either: a tick that is still deciding is not run twice.
  return cron.createTask(times.cron, fn, { timezone: times.timezone, name, noOverlap: true, suppressMissedWarning: true });
}

/** The next `count` fire times after now, in ms since the epoch. */
export function nextRuns(times: CronTimes, count: number): number[] {
  const task = cronTask(times, 'next-runs', () => undefined);
  try {
    return task.getNextRuns(count).map((d) => d.getTime());
  } finally {
    void task.destroy();
  }
}

/** The first fire time strictly after `after` (ms); now or later. */
export function nextRunAfter(times: CronTimes, after: number): number {
  return nextRuns(times, 3).find((t) => t > after) ?? nextRuns(times, 1)[0]!;
}
