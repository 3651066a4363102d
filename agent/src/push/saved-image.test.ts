import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Platform } from '@archfarm/common';
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

/** Writes an OCI layout: blobs by digest, index.json pointing at `top`. */
function ociLayout(name: string, build: (blob: (json: unknown) => { digest: string; size: number }) => unknown[]): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const blob = (content: unknown): { digest: string; size: number } => {
    const bytes = Buffer.isBuffer(content) ? content : Buffer.from(JSON.stringify(content));
    writeFileSync(join(dir, 'blobs', 'sha256', hex(bytes)), bytes);
    return { digest: `sha256:${hex(bytes)}`, size: bytes.length };
  };
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: build(blob) }));
  return dir;
}

const IDX = 'application/vnd.oci.image.index.v1+json';
const MAN = 'application/vnd.oci.image.manifest.v1+json';

/** An image manifest for `arch` whose one layer is gzip; its descriptor for an index. */
function image(blob: (json: unknown) => { digest: string; size: number }, arch: string): { mediaType: string; digest: string; size: number; platform: object } {
  const layer = blob(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, arch.length]));
  const config = blob({ architecture: arch, os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${hex(arch)}`] } });
  const manifest = blob({ schemaVersion: 2, mediaType: MAN, config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }] });
  return { mediaType: MAN, ...manifest, platform: { architecture: arch, os: 'linux' } };
}

test('an OCI layout: index → index → manifest, attestations and absent platforms passed over', async () => {
  const dir = ociLayout('nested', (blob) => {
    const amd64 = image(blob, 'amd64');
    const s390x = image(blob, 's390x');
    const absent = { mediaType: MAN, digest: `sha256:${'f'.repeat(64)}`, size: 10, platform: { architecture: 'arm64', os: 'linux' } };
    const attestation = { mediaType: MAN, digest: amd64.digest, size: amd64.size, platform: { architecture: 'unknown', os: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } };
    const inner = blob({ schemaVersion: 2, mediaType: IDX, manifests: [amd64, absent, attestation, s390x] });
    return [{ mediaType: IDX, ...inner }];
  });
  const s390x = await readSavedImage(dir, { platform: Platform.parse('linux/s390x') });
  assert.equal(s390x.layout, 'oci-layout');
  assert.equal(s390x.platform.toString(), 'linux/s390x');
  assert.equal(s390x.layers[0]?.compression, 'gzip');
  assert.match(s390x.layers[0]?.digest ?? '', /^sha256:/);
  assert.equal((await readSavedImage(dir, { platform: Platform.parse('linux/amd64') })).platform.toString(), 'linux/amd64');
  await assert.rejects(readSavedImage(dir), /several images/);
  await assert.rejects(readSavedImage(dir, { platform: Platform.parse('linux/arm64') }), /no image manifests for linux\/arm64/);
});

test('an OCI layout whose blobs are not what their descriptors say is refused', async () => {
  const dir = ociLayout('tampered', (blob) => [image(blob, 'amd64')]);
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: { size: number }[] };
  index.manifests[0]!.size += 1;
  writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
  await assert.rejects(readSavedImage(dir), /does not match its descriptor/);
  const deep = ociLayout('deep', (blob) => {
    let d: unknown = image(blob, 'amd64');
    for (let i = 0; i < 6; i++) d = { mediaType: IDX, ...blob({ schemaVersion: 2, manifests: [d] }) };
    return [d];
  });
  await assert.rejects(readSavedImage(deep), /nested more than/);
});
