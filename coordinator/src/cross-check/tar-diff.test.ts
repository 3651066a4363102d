import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { Header } from 'tar';
import { describeDifference, diffTars, firstDifference, tarEntries, type TarEntrySummary } from './tar-diff';

interface Entry {
  path: string;
  body?: string;
  type?: 'File' | 'Directory' | 'SymbolicLink';
  mode?: number;
  mtime?: number;
  linkpath?: string;
}

/** A tar archive of these entries, as a layer holds them (mtime in seconds). */
function tarOf(entries: readonly Entry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    const type = e.type ?? 'File';
    const header = new Header({ path: e.path, type, mode: e.mode ?? 0o644, size: type === 'File' ? body.length : 0, mtime: new Date((e.mtime ?? 0) * 1000), uid: 0, gid: 0, linkpath: e.linkpath });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block);
    if (type === 'File' && body.length > 0) blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

const stream = (b: Buffer) => Readable.from([b]);
const BASE: Entry[] = [
  { path: 'etc/', type: 'Directory', mode: 0o755 },
  { path: 'etc/os-release', body: 'ID=test\n' },
  { path: 'built-at', body: 'Fri Dec  4 19:00:00 UTC 2026\n' },
];

test('the same entries in the same order: no difference, gzip or plain', async () => {
  assert.equal(await diffTars(stream(tarOf(BASE)), stream(gzipSync(tarOf(BASE)))), undefined);
});

test('a file whose bytes differ is named, with both digests; paths lose ./ and trailing /', async () => {
  const other = BASE.map((e) => (e.path === 'built-at' ? { ...e, body: 'Fri Dec  4 19:00:07 UTC 2026\n' } : e));
  const d = await diffTars(stream(gzipSync(tarOf(BASE))), stream(gzipSync(tarOf(other))));
  assert.ok(d && d.kind === 'field');
  assert.equal(d.path, 'built-at');
  assert.equal(d.field, 'digest');
  assert.notEqual(d.first.digest, d.second.digest);
  const text = describeDifference(d, { first: 'a', second: 'b' });
  assert.match(text, /^\/built-at: content differs \(sha256:[0-9a-f]{12}, 29 bytes on a vs sha256:[0-9a-f]{12}, 29 bytes on b\)$/);
  const entries = await tarEntries(stream(tarOf(BASE)));
  assert.deepEqual(entries.map((e) => e.path), ['etc', 'etc/os-release', 'built-at']);
});

test('size is reported before content, and mode, owner and mtime after it', async () => {
  const grown = BASE.map((e) => (e.path === 'etc/os-release' ? { ...e, body: 'ID=test2\n' } : e));
  assert.deepEqual(pick(firstDifference(await entries(BASE), await entries(grown))), ['etc/os-release', 'size']);
  const chmod = BASE.map((e) => (e.path === 'etc/' ? { ...e, mode: 0o700 } : e));
  assert.deepEqual(pick(firstDifference(await entries(BASE), await entries(chmod))), ['etc', 'mode']);
  const touched = BASE.map((e) => (e.path === 'built-at' ? { ...e, mtime: 5 } : e));
  const d = firstDifference(await entries(BASE), await entries(touched));
  assert.deepEqual(pick(d), ['built-at', 'mtime']);
  assert.match(describeDifference(d!, { first: 'a', second: 'b' }), /1970-01-01T00:00:00\.000Z on a vs 1970-01-01T00:00:05\.000Z on b/);
  const relinked = [...BASE, { path: 'l', type: 'SymbolicLink' as const, linkpath: 'etc' }];
  const relinked2 = [...BASE, { path: 'l', type: 'SymbolicLink' as const, linkpath: 'built-at' }];
  assert.deepEqual(pick(firstDifference(await entries(relinked), await entries(relinked2))), ['l', 'linkpath']);
});

test('an entry one layer lacks, either way; then the same entries in another order', async () => {
  const more = [...BASE, { path: 'extra', body: 'x' }];
  const lacking = firstDifference(await entries(more), await entries(BASE));
  assert.ok(lacking?.kind === 'missing' && lacking.in === 'first' && lacking.path === 'extra');
  const extra = firstDifference(await entries(BASE), await entries(more));
  assert.ok(extra?.kind === 'missing' && extra.in === 'second');
  assert.equal(describeDifference(extra, { first: 'a', second: 'b' }), '/extra: only in the layer b built');
  const reordered = firstDifference(await entries(BASE), await entries([BASE[0]!, BASE[2]!, BASE[1]!]));
  assert.ok(reordered?.kind === 'order');
  assert.deepEqual([reordered.path, reordered.firstIndex, reordered.secondIndex], ['etc/os-release', 1, 2]);
});

test('a stream that is no tar rejects', async () => {
  await assert.rejects(tarEntries(stream(Buffer.from('not a tar archive at all, not even close'.repeat(20)))));
});

function entries(list: readonly Entry[]): Promise<TarEntrySummary[]> {
  return tarEntries(stream(tarOf(list)));
}

function pick(d: ReturnType<typeof firstDifference>): [string, string] | undefined {
  return d?.kind === 'field' ? [d.path, d.field] : undefined;
}
