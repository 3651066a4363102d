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

/** "pi-1 (native), x86-1 (emulated)" */
export function formatCandidates(candidates: readonly Candidate[]): string {
  return candidates.map((c) => `${c.name} (${c.mode})`).join(', ');
}

/** "pi-1, pi-2" */
export function names(candidates: ReadonlyArray<{ name: string }>): string {
  return candidates.map((c) => c.name).join(', ');
}

export function busyReason(platform: string, candidates: readonly Candidate[]): string {
  return `all agents that build ${platform} are busy: ${formatCandidates(candidates)}`;
}
