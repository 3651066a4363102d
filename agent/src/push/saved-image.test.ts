import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SavedImageInvalidError } from './errors';
import { readSavedImage } from './saved-image';

const root = mkdtempSync(join(tmpdir(), 'archfarm-saved-'));
after(() => rmSync(root, { recursive: true, force: true }));
const hex = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** Lays out what Docker 20.10's `docker save` writes; `edit` breaks it on purpose. */
function layout(name: string, edit: (m: { Config: string; Layers: string[] }[], config: Record<string, unknown>) => void = () => undefined): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'l1'), { recursive: true });
  mkdirSync(join(dir, 'l2'));
  writeFileSync(join(dir, 'l1', 'layer.tar'), 'one');
  symlinkSync('../l1/layer.tar', join(dir, 'l2', 'layer.tar'));
  const config: Record<string, unknown> = { architecture: 'arm64', os: 'linux', variant: 'v8', rootfs: { type: 'layers', diff_ids: [`sha256:${hex('one')}`, `sha256:${hex('one')}`] } };
  const manifest = [{ Config: '', Layers: ['l1/layer.tar', 'l2/layer.tar'] }];
  edit(manifest, config);
  const bytes = Buffer.from(JSON.stringify(config));
  const configName = manifest[0]!.Config || `${hex(bytes)}.json`;
  manifest[0]!.Config = configName;
  writeFileSync(join(dir, configName), bytes);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return dir;
}

test('reads config bytes, platform, diff_ids and real layer paths', async () => {
  const image = await readSavedImage(layout('ok'));
  assert.equal(image.platform.toString(), 'linux/arm64');
  assert.equal(image.configDigest, `sha256:${hex(image.configBytes)}`);
  assert.equal(image.layout, 'docker-archive');
  assert.equal(image.layers.length, 2);
  assert.equal(image.layers[0]!.path, image.layers[1]!.path, 'a linked repeat resolves to its first copy');
  assert.deepEqual(image.layers.map((l) => l.diffId), [`sha256:${hex('one')}`, `sha256:${hex('one')}`]);
  assert.ok(image.layers.every((l) => l.compression === 'none' && l.digest === undefined));
});

test('refuses archives that are not one sound image', async () => {
  const broken: Record<string, Parameters<typeof layout>[1]> = {
    'two images': (m) => m.push({ Config: 'x.json', Layers: [] }),
    'a path out of the archive': (m) => { m[0]!.Layers[1] = '../../etc/passwd'; },
    'a missing layer': (m) => { m[0]!.Layers[1] = 'l3/layer.tar'; },
    'diff_ids not matching layers': (_m, c) => { c.rootfs = { type: 'layers', diff_ids: [] }; },
    'an unknown architecture': (_m, c) => { c.architecture = 'vax'; },
    'a config named for another digest': (m) => { m[0]!.Config = `${'0'.repeat(64)}.json`; },
  };
  for (const [what, edit] of Object.entries(broken)) {
    await assert.rejects(readSavedImage(layout(what.replace(/ /g, '-'), edit)), SavedImageInvalidError, what);
  }
  await assert.rejects(readSavedImage(join(root, 'nothing-here')), SavedImageInvalidError);
});
