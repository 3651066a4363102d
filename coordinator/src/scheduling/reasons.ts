import type { Candidate } from './placement-types';

/** "40 s", "2 min 10 s", "1 h 5 min": how operators read build times. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (!Number.isFinite(s) || s < 1) return '<1 s';
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}

/** "rack=pi-shelf, gpu=yes" */
export function formatLabels(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

/**
 * Agents a reason names at most: a reason is a sentence for an operator, sent with every
 * waiting event and stored with every attempt, not a fleet listing (`archfarm agents` is).
 */
export const NAMED_AT_MOST = 10;

/** "pi-1 (native), x86-1 (emulated)" */
export function formatCandidates(candidates: readonly Candidate[]): string {
  return listed(candidates, (c) => `${c.name} (${c.mode})`);
}

/** "pi-1, pi-2"; past {@link NAMED_AT_MOST}, "pi-1, ..., pi-10 and 1190 more" */
export function names(candidates: ReadonlyArray<{ name: string }>): string {
  return listed(candidates, (c) => c.name);
}

/** The first {@link NAMED_AT_MOST} items, formatted, then how many more. */
export function listed<T>(items: readonly T[], format: (item: T) => string, separator = ', '): string {
  const shown = items.slice(0, NAMED_AT_MOST).map(format).join(separator);
  return items.length > NAMED_AT_MOST ? `${shown} and ${items.length - NAMED_AT_MOST} more` : shown;
}

export function busyReason(platform: string, candidates: readonly Candidate[]): string {
  return `all agents that build ${platform} are busy: ${formatCandidates(candidates)}`;
}
