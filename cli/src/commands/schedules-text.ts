import { formatGitSource } from '@archfarm/common';
import { TickOutcome, type Schedule, type ScheduleTick } from '@archfarm/proto';
import { formatTable, shortTime, timeAgo } from '../table';
import { causeName, outcomeName, zoneOf } from './schedules-json';

/**
 * A wire time as the wall clock of `timeZone` with its offset, in ISO 8601:
 * "2025-05-02T03:00:00+02:00". A zone this machine's ICU does not know gives the UTC time.
 */
export function zonedTime(ms: number, timeZone: string): string {
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'longOffset' }).formatToParts(ms);
  } catch {
    return shortTime(ms);
  }
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  // longOffset is "GMT+02:00", or plain "GMT" for a zero offset.
  const offset = part('timeZoneName').replace(/^GMT/, '') || '+00:00';
  return `${part('year')}-${part('month')}-${part('day')}T${part('hour')}:${part('minute')}:${part('second')}${offset}`;
}

/** Each next run as the schedule's own clock, then UTC; one UTC time for a UTC schedule. */
export function nextRunLines(s: Schedule, indent = '  '): string[] {
  const zone = zoneOf(s);
  return s.nextRunsMs.map((ms) => (zone === 'UTC' ? `${indent}${shortTime(ms)}` : `${indent}${zonedTime(ms, zone)}   ${shortTime(ms)}`));
}

/** "0 3 * * * (Europe/Zurich)". */
export function cronText(s: Schedule): string {
  return `${s.cron} (${zoneOf(s)})`;
}

/** What `schedules add` prints: the schedule, then its next five runs. */
export function addedLines(s: Schedule): string[] {
  const runs = s.nextRunsMs.length === 0 ? ['next runs: none'] : ['next runs:', ...nextRunLines(s)];
  return [`schedule ${s.name} added: ${cronText(s)}${s.onBaseChange ? ', only when a base image or the git commit changed' : ''}`, ...runs];
}

/** `schedules list`: one line each; times are UTC, LAST TICK is the newest tick's outcome and age. */
export function schedulesTable(list: readonly Schedule[], now: number, width?: number): string[] {
  const rows = [
    ['NAME', 'CRON', 'TZ', 'NEXT', 'LAST TICK', 'PAUSED'],
    ...list.map((s) => {
      const last = s.ticks[0];
      return [s.name, s.cron, zoneOf(s), shortTime(s.nextRunsMs[0] ?? 0), last ? `${outcomeName(last.outcome)} ${timeAgo(last.ranMs, now)}` : '-', s.paused ? 'yes' : 'no'];
    }),
  ];
  // The name is what other commands take, so it stays whole; cron and zone may be cut.
  return formatTable(rows, '', { width, shrink: [1, 2] });
}

/** `schedules show`: every field, the next runs, then the recent ticks. */
export function scheduleLines(s: Schedule): string[] {
  const fields: [string, string][] = [
    ['schedule', s.name],
    ['cron', cronText(s)],
    ['paused', s.paused ? 'yes' : 'no'],
    ['on-base-change', s.onBaseChange ? 'yes (builds only when a base image or the git commit changed)' : 'no'],
    ['owner', s.owner || '-'],
    ['created', shortTime(s.createdMs)],
    ['tags', s.tags.join(', ') || '-'],
    ['platforms', s.platforms.join(', ') || '-'],
    s.git?.url ? ['git', formatGitSource(s.git)] : ['context', s.contextDigest || '-'],
    ['dockerfile', s.dockerfile || '-'],
  ];
  const zone = zoneOf(s);
  const runs = s.nextRunsMs.length === 0 ? [s.paused ? 'next runs: none while paused' : 'next runs: none'] : [zone === 'UTC' ? 'next runs (UTC):' : `next runs (${zone}, then UTC):`, ...nextRunLines(s)];
  const ticks = s.ticks.length === 0 ? ['no ticks yet'] : ['ticks, newest first:', ...s.ticks.flatMap((t) => tickLines(t, '  '))];
  return [...formatTable(fields), '', ...runs, '', ...ticks];
}

/**
 * One tick: "2025-05-01T10:00:00Z built b3 (scheduled, ran 2025-05-01T10:00:01Z)", then its
 * reason, commit and base digests on lines of their own (reasons are long: not a column).
 */
export function tickLines(t: ScheduleTick, indent = ''): string[] {
  const build = t.buildId ? ` ${t.buildId}` : '';
  const lines = [`${indent}${shortTime(t.dueMs)} ${outcomeName(t.outcome)}${build} (${causeName(t.cause)}, ran ${shortTime(t.ranMs)})`];
  const details: [string, string][] = [];
  if (t.reason) details.push(['reason', t.reason]);
  if (t.commit) details.push(['commit', t.commit]);
  for (const b of t.bases) details.push(['base', `${b.platform} ${b.ref}@${b.digest}`]);
  if (details.length > 0) lines.push(...formatTable(details, `${indent}    `));
  return lines;
}

/** `schedules run`: the tick, and for a build how to follow it. */
export function ranLines(name: string, t: ScheduleTick): string[] {
  const lines = [`schedule ${name}: ${tickLines(t)[0]}`, ...tickLines(t).slice(1)];
  if (t.outcome === TickOutcome.TICK_OUTCOME_BUILT && t.buildId) {
    lines.push(`follow it:   archfarm logs -f ${t.buildId}`, `inspect it:  archfarm builds inspect ${t.buildId}`);
  }
  return lines;
}
