import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Parser, x as extractTar, type ReadEntry } from 'tar';
import { BASE_IMAGE, DOCKER_20, build, engineMissing, removeImage, saveTo } from './engine-fixtures';
import { SavedImageInvalidError } from './errors';
import { readSavedImage } from './saved-image';
import { TarTimestampRewriter, type TimestampStats } from './tar-timestamps';

/** Runs the rewriter over `input`, fed in chunks of `chunk` bytes. */
async function rewrite(input: Buffer, epoch: number, chunk = 65536): Promise<{ out: Buffer; stats: TimestampStats }> {
  const rewriter = new TarTimestampRewriter(epoch);
  const parts: Buffer[] = [];
  const pieces = function* () {
    for (let i = 0; i < input.length; i += chunk) yield input.subarray(i, i + chunk);
  };
  await pipeline(Readable.from(pieces()), rewriter, async (source: AsyncIterable<Buffer>) => {
    for await (const part of source) parts.push(part);
  });
  return { out: Buffer.concat(parts), stats: rewriter.stats };
}

interface Seen {
  path: string;
  type: string;
  mtime: number;
  size: number;
  mode: number | undefined;
  uid: number | undefined;
  uname: string | undefined;
  linkpath: string | undefined;
  body: string;
  pax: string[];
}

/** The entries as node-tar (an independent reader) sees them. */
async function entries(tar: Buffer): Promise<Seen[]> {
  const seen: Seen[] = [];
  const parser = new Parser({ strict: true });
  parser.on('entry', (entry: ReadEntry) => {
    const chunks: Buffer[] = [];
    entry.on('data', (c: Buffer) => chunks.push(c));
    entry.on('end', () => {
      const pax = entry.extended ? Object.entries(entry.extended).filter(([k, v]) => v !== undefined && k !== 'global' && k !== 'mtime').map(([k, v]) => `${k}=${String(v)}`) : [];
      seen.push({
        path: entry.path,
        type: entry.type,
        mtime: (entry.mtime?.getTime() ?? NaN) / 1000,
        size: entry.size,
        mode: entry.mode,
        uid: entry.uid,
        uname: entry.uname,
        linkpath: entry.linkpath,
        body: Buffer.concat(chunks).toString('base64'),
        pax,
      });
    });
  });
  await pipeline(Readable.from([tar]), parser);
  return seen;
}

let dir = '';
let layer: Buffer | undefined;
let skipReal: string | false = false;
const epoch = Math.floor(Date.now() / 1000) - 3600;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'archfarm-tar-ts-'));
  skipReal = await engineMissing(DOCKER_20);
  if (skipReal) return console.warn(`SKIP real-layer tests: ${skipReal}`);
  // A layer made by the engine itself: files written now (later than the epoch), one touched
  // into 2300 (beyond octal's reach, so a PAX mtime record), a long and a non-ASCII name
  // (PAX path records), on a base whose files are all dated 1970 (earlier than the epoch).
  const name = `archfarm-fixture/tar-timestamps:${process.pid}`;
  const long = 'n'.repeat(120);
  const run = `echo made > /made.txt && mkdir -p /d && echo x > /d/${long} && touch -d '2300-01-01 00:00:00' /d/future && echo u > /d/ünï && ln -s made.txt /link`;
  // noCache: a layer cached by an earlier run (over an hour ago) would be older than the epoch.
  await build(DOCKER_20, { Dockerfile: `FROM ${BASE_IMAGE}\nRUN ${run}\n` }, name, { noCache: true });
  await saveTo(DOCKER_20, name, join(dir, 'saved.tar'));
  await removeImage(DOCKER_20, name);
  await pipeline(createReadStream(join(dir, 'saved.tar')), extractTar({ cwd: dir }));
  const image = await readSavedImage(dir);
  layer = await readFile(image.layers.at(-1)!.path);
});

after(() => rm(dir, { recursive: true, force: true }));

test('a real layer from dockerd 20.10: later times clamped, earlier untouched, PAX kept, every other byte the same', async (t) => {
  if (!layer) return t.skip(String(skipReal));
  const { out, stats } = await rewrite(layer, epoch);
  const [was, now] = [await entries(layer), await entries(out)];
  assert.equal(now.length, was.length);
  assert.ok(stats.clamped >= was.length, `every entry was made after the epoch: ${JSON.stringify(stats)}`);
  const future = was.find((e) => e.path === 'd/future');
  assert.equal(future?.mtime, Date.UTC(2300, 0, 1) / 1000, 'the engine wrote the 2300 mtime (a PAX record)');
  for (const [i, e] of was.entries()) {
    assert.deepEqual(now[i], { ...e, mtime: Math.min(e.mtime, epoch) }, e.path);
  }
  assert.ok(was.some((e) => e.pax.some((p) => p.startsWith('path=d/nnn'))), 'the long name is a PAX record, and it is kept');
  assert.ok(now.some((e) => e.path === 'd/ünï'));
  // Byte for byte: only mtime and checksum fields differ, and the one PAX mtime record
  // (11 digits in 2300, 10 now) with its header's size field.
  const paxData = layer.indexOf('21 mtime=10413792000\n');
  assert.equal(paxData % 512, 0);
  assert.equal(out.toString('latin1', paxData, paxData + 21), `${rec('mtime', String(epoch))}\0`);
  assert.equal(out.length, layer.length);
  for (let i = 0; i < layer.length; i++) {
    if (out[i] === layer[i]) continue;
    const at = i % 512;
    const ok = (at >= 136 && at < 156) || (i >= paxData && i < paxData + 512) || (i >= paxData - 512 && i < paxData && at >= 124 && at < 136);
    assert.ok(ok, `byte ${i} (${at} in its block) changed`);
  }
  const earlier = await rewrite(layer, 0);
  const untouched = await rewrite(layer, Date.UTC(2400, 0, 1) / 1000);
  assert.equal(untouched.stats.clamped, 0);
  assert.ok(untouched.out.equals(layer), 'an epoch later than every time changes no byte');
  assert.ok(earlier.stats.clamped > 0);
});

test('rewriting is deterministic and idempotent, whatever the chunking', async (t) => {
  if (!layer) return t.skip(String(skipReal));
  const once = await rewrite(layer, epoch);
  const again = await rewrite(layer, epoch, 1);
  const odd = await rewrite(layer, epoch, 511);
  const twice = await rewrite(once.out, epoch, 7);
  assert.ok(again.out.equals(once.out));
  assert.ok(odd.out.equals(once.out));
  assert.ok(twice.out.equals(once.out), 'a rewritten layer needs no second rewrite');
  assert.equal(twice.stats.clamped, 0);
});

// Hand-written headers for the cases real engines rarely write.
const E = 1_000_000;
function header(name: string, opts: { type?: string; size?: number; mtime?: Buffer | number; gnu?: boolean; atime?: number; ctime?: number } = {}): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, 'latin1');
  b.write('0000644\0', 100, 'latin1');
  b.write('0000000\0', 108, 'latin1');
  b.write('0000000\0', 116, 'latin1');
  b.write(`${(opts.size ?? 0).toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  if (Buffer.isBuffer(opts.mtime)) opts.mtime.copy(b, 136);
  else b.write(`${(opts.mtime ?? 0).toString(8).padStart(11, '0')}\0`, 136, 'latin1');
  b.write(opts.type ?? '0', 156, 'latin1');
  b.write(opts.gnu ? 'ustar  \0' : 'ustar\x0000', 257, 'latin1');
  if (opts.gnu && opts.atime !== undefined) b.write(`${opts.atime.toString(8).padStart(11, '0')}\0`, 345, 'latin1');
  if (opts.gnu && opts.ctime !== undefined) b.write(`${opts.ctime.toString(8).padStart(11, '0')}\0`, 357, 'latin1');
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : b[i]!;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}
const data = (text: string): Buffer => {
  const b = Buffer.alloc(Math.ceil(text.length / 512) * 512);
  b.write(text, 'latin1');
  return b;
};
const end = Buffer.alloc(1024);
/** A PAX record; its length counts its own digits. */
function rec(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  for (let n = body.length + 1; ; n++) if (`${n}${body}`.length === n) return `${n}${body}`;
}
const pax = (records: string): Buffer[] => [header('PaxHeaders/x', { type: 'x', size: records.length }), data(records)];

test('PAX times: later ones (also by a fraction) become the epoch, the record shrinks, the size record still governs', async () => {
  const kept = rec('atime', `${E - 1}.75`) + rec('ctime', '999999') + rec('size', '1000');
  const records = rec('mtime', `${E}.5`) + kept;
  const tar = Buffer.concat([...pax(records), header('big', { size: 5, mtime: E + 9 }), data('x'.repeat(1000)), header('next', { mtime: E }), end]);
  const { out, stats } = await rewrite(tar, E);
  assert.equal(stats.clamped, 2, 'the fractional mtime and the header mtime; atime and ctime are earlier');
  const seen = await entries(out);
  assert.deepEqual(seen.map((e) => [e.path, e.mtime, e.size]), [['big', E, 1000], ['next', E, 0]]);
  assert.ok(out.includes(rec('mtime', String(E)) + kept), 'the other records keep their bytes');
  assert.equal(out.length, tar.length);
});

test('GNU headers: base-256 mtime, atime and ctime clamped in place', async () => {
  const base256 = Buffer.alloc(12);
  base256[0] = 0x80;
  base256.writeUIntBE(2 ** 40, 6, 6);
  const tar = Buffer.concat([header('gnu', { gnu: true, mtime: base256, atime: E + 1, ctime: E - 1 }), end]);
  const { out, stats } = await rewrite(tar, E);
  assert.equal(stats.clamped, 2);
  assert.equal(out[136], 0x80, 'a base-256 field stays base-256');
  assert.equal(out.readUIntBE(142, 6), E);
  assert.equal(out.toString('latin1', 345, 357), `${E.toString(8).padStart(11, '0')}\0`);
  assert.equal(out.toString('latin1', 357, 369), `${(E - 1).toString(8).padStart(11, '0')}\0`);
  assert.equal((await entries(out))[0]?.mtime, E);
});

test('links and directories carry no data whatever their size field; trailing padding passes through', async () => {
  const tar = Buffer.concat([header('dir/', { type: '5', size: 4096, mtime: E + 5 }), header('file', { size: 3, mtime: E - 5 }), data('abc'), end, Buffer.alloc(8192)]);
  const { out, stats } = await rewrite(tar, E);
  assert.equal(stats.entries, 2);
  assert.equal(out.length, tar.length);
  assert.deepEqual((await entries(out)).map((e) => [e.path, e.mtime]), [['dir/', E], ['file', E - 5]]);
});

test('refuses what is not a whole tar', async () => {
  const good = Buffer.concat([header('f', { size: 600 }), data('y'.repeat(600)), end]);
  await assert.rejects(rewrite(good.subarray(0, 900), E), SavedImageInvalidError, 'cut in the middle of an entry');
  const bad = Buffer.from(good);
  bad[0] = 0x41;
  await assert.rejects(rewrite(bad, E), /checksum/);
  await assert.rejects(rewrite(Buffer.concat([...pax('9 mtime=\n'), end]), E), /PAX/);
});
