import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Parser, type ReadEntry } from 'tar';

/** What two builds of one layer must agree on, per tar entry. */
export interface TarEntrySummary {
  /** Normalised: no leading "./" or "/", directories without their trailing "/". */
  path: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkpath: string;
  /** Seconds. SOURCE_DATE_EPOCH clamps later times, so two reproducible builds agree on it too. */
  mtime: number;
  /** "sha256:<hex>" of the entry's bytes (of nothing, for directories and links). */
  digest: string;
}

/** The fields compared, in the order a difference is reported: content first, times last. */
const FIELDS = ['type', 'linkpath', 'size', 'digest', 'mode', 'uid', 'gid', 'mtime'] as const satisfies ReadonlyArray<keyof TarEntrySummary>;

export type TarField = (typeof FIELDS)[number];

/** The first way two layers' tar streams differ. */
export type TarDifference =
  /** The entry is in one layer and not the other. */
  | { kind: 'missing'; path: string; in: 'first' | 'second'; entry: TarEntrySummary }
  | { kind: 'field'; path: string; field: TarField; first: TarEntrySummary; second: TarEntrySummary }
  /** The same entries, in another order (a tar's order is part of its digest). */
  | { kind: 'order'; path: string; firstIndex: number; secondIndex: number };

/**
 * Reads a tar stream (plain, gzip or zstd: node-tar detects them) into one summary per
 * entry, in archive order. Content is hashed as it streams, so a layer is never held whole.
 */
export function tarEntries(stream: Readable): Promise<TarEntrySummary[]> {
  return new Promise((resolve, reject) => {
    const entries: TarEntrySummary[] = [];
    const pending: Array<Promise<void>> = [];
    const parser = new Parser({ strict: true });
    parser.on('entry', (entry: ReadEntry) => pending.push(summarise(entry).then((s) => void entries.push(s))));
    parser.on('error', reject);
    parser.on('end', () => Promise.all(pending).then(() => resolve(entries), reject));
    stream.on('error', reject);
    stream.pipe(parser);
  });
}

function summarise(entry: ReadEntry): Promise<TarEntrySummary> {
  const hash = createHash('sha256');
  return new Promise((resolve, reject) => {
    entry.on('data', (chunk: Buffer) => hash.update(chunk));
    entry.on('error', reject);
    entry.on('end', () =>
      resolve({
        path: normalise(entry.path),
        type: entry.type,
        mode: entry.mode ?? 0,
        uid: entry.uid ?? 0,
        gid: entry.gid ?? 0,
        size: entry.size ?? 0,
        linkpath: entry.linkpath ?? '',
        mtime: entry.mtime ? Math.floor(entry.mtime.getTime() / 1000) : 0,
        digest: `sha256:${hash.digest('hex')}`,
      }),
    );
  });
}

function normalise(path: string): string {
  return path.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
}

/**
 * The first difference between two layers' entries, or undefined when they hold the same
 * entries in the same order. Pure. "First" is in the first layer's order: an entry that
 * differs or that the second lacks, then entries only the second has, then order.
 */
export function firstDifference(first: readonly TarEntrySummary[], second: readonly TarEntrySummary[]): TarDifference | undefined {
  const byPath = new Map(second.map((e, i) => [e.path, { e, i }]));
  for (const a of first) {
    const b = byPath.get(a.path)?.e;
    if (!b) return { kind: 'missing', path: a.path, in: 'first', entry: a };
    const field = FIELDS.find((f) => a[f] !== b[f]);
    if (field) return { kind: 'field', path: a.path, field, first: a, second: b };
  }
  const inFirst = new Set(first.map((e) => e.path));
  const extra = second.find((e) => !inFirst.has(e.path));
  if (extra) return { kind: 'missing', path: extra.path, in: 'second', entry: extra };
  const moved = first.findIndex((a, i) => second[i]?.path !== a.path);
  if (moved >= 0) return { kind: 'order', path: first[moved]!.path, firstIndex: moved, secondIndex: byPath.get(first[moved]!.path)!.i };
  return undefined;
}

/** Both tar streams' first difference (see firstDifference). */
export async function diffTars(first: Readable, second: Readable): Promise<TarDifference | undefined> {
  const [a, b] = await Promise.all([tarEntries(first), tarEntries(second)]);
  return firstDifference(a, b);
}

/** "/built-at: content differs (sha256:1a2b3c4d5e6f, 29 bytes vs sha256:..., 29 bytes)" */
export function describeDifference(d: TarDifference, names: { first: string; second: string }): string {
  const path = `/${d.path}`;
  switch (d.kind) {
    case 'missing':
      return `${path}: only in the layer ${d.in === 'first' ? names.first : names.second} built`;
    case 'order':
      return `${path}: the same entries in another order (entry ${d.firstIndex} on ${names.first}, ${d.secondIndex} on ${names.second})`;
    case 'field':
      return `${path}: ${FIELD_WORDS[d.field]} differs (${show(d.field, d.first)} on ${names.first} vs ${show(d.field, d.second)} on ${names.second})`;
  }
}

const FIELD_WORDS: Record<TarField, string> = {
  type: 'entry type',
  linkpath: 'link target',
  size: 'size',
  digest: 'content',
  mode: 'mode',
  uid: 'owner uid',
  gid: 'owner gid',
  mtime: 'mtime',
};

function show(field: TarField, e: TarEntrySummary): string {
  switch (field) {
    case 'digest':
      return `${e.digest.slice(0, 19)}, ${e.size} bytes`;
    case 'mode':
      return `0${e.mode.toString(8)}`;
    case 'mtime':
      return new Date(e.mtime * 1000).toISOString();
    case 'size':
      return `${e.size} bytes`;
    default:
      return JSON.stringify(e[field]);
  }
}
