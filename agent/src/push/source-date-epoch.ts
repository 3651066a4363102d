import { InvalidInputError } from '@archfarm/common';
import { SavedImageInvalidError } from './errors';

/** The build arg (reproducible-builds.org's convention, as buildx passes it) that asks for it. */
export const SOURCE_DATE_EPOCH = 'SOURCE_DATE_EPOCH';

/** 9999-12-31T23:59:59Z: the last second an RFC 3339 date with a four-digit year can say. */
const MAX_EPOCH = 253_402_300_799;

/**
 * The SOURCE_DATE_EPOCH build arg as seconds, or undefined when the build has none.
 * Only a decimal count of seconds is accepted, as BuildKit accepts it.
 */
export function sourceDateEpochOf(buildArgs: Readonly<Record<string, string>>): number | undefined {
  const text = buildArgs[SOURCE_DATE_EPOCH];
  if (text === undefined || text === '') return undefined;
  const seconds = /^\d{1,12}$/.test(text) ? Number(text) : NaN;
  if (!(seconds <= MAX_EPOCH)) {
    throw new InvalidInputError(`build-arg ${SOURCE_DATE_EPOCH}`, `must be a decimal count of seconds since 1970 (at most ${MAX_EPOCH}), not ${JSON.stringify(text)}`);
  }
  return seconds;
}

/** The epoch as Go and BuildKit write a time in a config: RFC 3339, UTC, no fraction. */
export function formatEpoch(epoch: number): string {
  return new Date(epoch * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

/** True when an RFC 3339 time in a config is later than `epoch`, to the nanosecond. */
export function isTimeLater(text: string, epoch: number): boolean {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) return true;
  if (ms !== epoch * 1000) return ms > epoch * 1000;
  // Equal to the millisecond: any further digit of the fraction makes it later.
  const fraction = /\.(\d+)/.exec(text)?.[1] ?? '';
  return /[1-9]/.test(fraction.slice(3));
}

interface ConfigTimes {
  created?: unknown;
  history?: { created?: unknown }[];
  rootfs?: { type?: string; diff_ids?: string[] };
}

/**
 * The image config for a build with SOURCE_DATE_EPOCH, as BuildKit's exporter patches it:
 * `created` and each `history[].created` later than the epoch (or missing from a history
 * entry) become the epoch, and `rootfs.diff_ids` are those of the rewritten layers. Returns
 * the original bytes when nothing changes, so the image ID stays the engine's.
 */
export function clampConfig(bytes: Buffer, diffIds: readonly string[], epoch: number): Buffer {
  let config: ConfigTimes;
  try {
    config = JSON.parse(bytes.toString('utf8')) as ConfigTimes;
  } catch (err) {
    throw new SavedImageInvalidError('the image config is not JSON', { cause: err });
  }
  const stamp = formatEpoch(epoch);
  let changed = false;
  const later = (value: unknown): boolean => typeof value !== 'string' || isTimeLater(value, epoch);
  if (config.created !== undefined && later(config.created)) {
    config.created = stamp;
    changed = true;
  }
  for (const entry of config.history ?? []) {
    if (later(entry.created)) {
      entry.created = stamp;
      changed = true;
    }
  }
  const old = config.rootfs?.diff_ids ?? [];
  if (old.length !== diffIds.length || old.some((d, i) => d !== diffIds[i])) {
    config.rootfs = { ...config.rootfs, type: config.rootfs?.type ?? 'layers', diff_ids: [...diffIds] };
    changed = true;
  }
  return changed ? Buffer.from(JSON.stringify(config)) : bytes;
}
