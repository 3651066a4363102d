import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { sha256Digest } from '@archfarm/common';
import { compressLayer } from './compress-layer';
import { SavedImageInvalidError } from './errors';

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

test('refuses a layer that is already gzip', async () => {
  writeFileSync(join(dir, 'gz.tar'), gzipSync(Buffer.from('x')));
  await assert.rejects(compressLayer(join(dir, 'gz.tar'), join(dir, 'out.gz')), SavedImageInvalidError);
});
