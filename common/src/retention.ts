import { InvalidInputError } from './errors';

/**
 * What a coordinator or an agent keeps of finished work, and the one decision of what to
 * delete. Both roles share the defaults and the rule: oldest first, never anything in use.
 */

/** `--retention`: finished work older than this goes. */
export const DEFAULT_RETENTION = '7d';
/** `--max-disk`: beyond this many bytes of kept work, the oldest finished work goes. */
export const DEFAULT_MAX_DISK = '20GiB';
/** How often a pruner looks. */
export const PRUNE_INTERVAL_MS = 10 * 60_000;

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_UNITS: Record<string, number> = { '': 1, B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 };

/** "7d", "12h", "30m", "45s", "500ms" in milliseconds; `field` names the option (or config key) at fault. */
export function parseDuration(value: string, field: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim());
  // A bare number was milliseconds once (--lease-ttl 30000); saying so beats guessing a unit.
  if (!m && /^\d+(?:\.\d+)?$/.test(value.trim())) throw new InvalidInputError(field, `"${value}" has no unit; write it with one, e.g. ${value.trim()}ms, 30s, 5m, 12h or 7d`);
  if (!m) throw new InvalidInputError(field, `"${value}" is not a duration such as 7d, 12h, 30m, 45s or 500ms`);
  return Math.round(Number(m[1]) * DURATION_UNITS[m[2]!]!);
}

/** --retention's duration (see {@link parseDuration}). */
export function parseRetention(value: string, flag = '--retention'): number {
  return parseDuration(value, flag);
}

/** Milliseconds in the largest unit that divides them exactly: 30000 -> "30s", 86400000 -> "1d". */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms !== 0 && ms % DURATION_UNITS[unit]! === 0) return `${ms / DURATION_UNITS[unit]!}${unit}`;
  }
  return `${ms}ms`;
}

/** "20GiB", "500MiB", "1TB", "4096" in bytes; `flag` names the option at fault. */
export function parseDiskSize(value: string, flag = '--max-disk'): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?$/.exec(value.trim());
  const unit = SIZE_UNITS[m?.[2] ?? ''];
  if (!m || unit === undefined) throw new InvalidInputError(flag, `"${value}" is not a size such as 20GiB, 500MiB or 1TB`);
  return Math.round(Number(m[1]) * unit);
}

export interface RetentionLimits {
  retentionMs: number;
  maxDiskBytes: number;
}

/** One thing a pruner could delete: a context, a log file, an image... `id` is the executor's. */
export interface PruneCandidate {
  id: string;
  bytes: number;
  /** When it was last written or used, ms since the epoch. */
  lastUsedMs: number;
  /** Work that is running (or may run again) uses it: never deleted. */
  inUse: boolean;
}

/**
 * What to delete, oldest first: everything not in use older than the retention, then more
 * not-in-use items, oldest first, until the total (in-use items counted) fits `maxDiskBytes`.
 * Pure: from a listing and the clock to a list of deletions.
 */
export function planPrune<T extends PruneCandidate>(items: readonly T[], nowMs: number, limits: RetentionLimits): T[] {
  const oldestFirst = [...items].sort((a, b) => a.lastUsedMs - b.lastUsedMs || a.id.localeCompare(b.id));
  let total = items.reduce((sum, i) => sum + i.bytes, 0);
  const doomed: T[] = [];
  for (const item of oldestFirst) {
    if (item.inUse) continue;
    if (nowMs - item.lastUsedMs > limits.retentionMs || total > limits.maxDiskBytes) {
      doomed.push(item);
      total -= item.bytes;
    }
  }
  return doomed;
}
