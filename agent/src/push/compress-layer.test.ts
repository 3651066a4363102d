import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { once } from 'node:events';
import { gunzipSync } from 'node:zlib';
import { sha256Digest } from '@archfarm/common';
import { compressLayer } from './compress-layer';
import { DeterministicGzip } from './deterministic-gzip';

const dir = mkdtempSync(join(tmpdir(), 'archfarm-gz-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('gzips a layer and gives the digests of both sides', async () => {
  const tar = Buffer.alloc(300_000, 'archfarm ');
  writeFileSync(join(dir, 'layer.tar'), tar);
  const layer = await compressLayer(join(dir, 'layer.tar'), join(dir, 'layer.tar.gz'));
  const gz = readFileSync(layer.path);
  assert.equal(layer.diffId, sha256Digest(tar));
  assert.equal(layer.digest, sha256Digest(gz));
  assert.equal(layer.size, gz.length);
  assert.deepEqual(gunzipSync(gz), tar);
  const again = await compressLayer(join(dir, 'layer.tar'), join(dir, 'again.tar.gz'));
  assert.equal(again.digest, layer.digest, 'the same tar always gives the same blob');
});

test('deterministic gzip: canonical zlib bytes (no name, mtime 0), whatever the chunking', async () => {
  // Text with long matches and noise, so the hash chains (where zlib forks differ) matter.
  const words = Array.from({ length: 40_000 }, (_, i) => `w${(i * 7919) % 1237} `).join('');
  const tar = Buffer.from(words.repeat(3));
  writeFileSync(join(dir, 'words.tar'), tar);
  const layer = await compressLayer(join(dir, 'words.tar'), join(dir, 'words.tar.gz'), { deterministic: true });
  const gz = readFileSync(layer.path);
  assert.deepEqual(gunzipSync(gz), tar);
  assert.deepEqual([...gz.subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3], 'no FNAME flag, mtime 0, OS unix');
  assert.equal(layer.diffId, sha256Digest(tar));
  const byPieces = new DeterministicGzip();
  const out: Buffer[] = [];
  byPieces.on('data', (c: Buffer) => out.push(c));
  for (let i = 0; i < tar.length; i += 777) byPieces.write(tar.subarray(i, i + 777));
  byPieces.end();
  await once(byPieces, 'end');
  assert.ok(Buffer.concat(out).equals(gz), 'the bytes do not depend on how the input arrives');
  // The bytes of canonical zlib 1.2.13 (Debian's libz, through Python's zlib.compressobj(6,
  // DEFLATED, 31)), checked by hand. Node's own zlib (Chromium's fork) gives other bytes for
  // this input (sha256:a4f78ee7...), and differs again on s390x, so the reproducible path does
  // not use it. A change here changes every reproducible digest the farm has published.
  assert.equal(layer.digest, 'sha256:e7c9aeaf7802c7e8b197be50c2595901188351f3381f0071ba96330e7f344bd5');
});

test('node:zlib and deterministic gzip of a plain tar both hash it to its diff_id', async () => {
  const tar = Buffer.alloc(4096, 'tar ');
  writeFileSync(join(dir, 'plain.tar'), tar);
  const a = await compressLayer(join(dir, 'plain.tar'), join(dir, 'a.gz'));
  const b = await compressLayer(join(dir, 'plain.tar'), join(dir, 'b.gz'), { deterministic: true });
  assert.equal(a.diffId, b.diffId);
  assert.deepEqual(gunzipSync(readFileSync(b.path)), tar);
});
