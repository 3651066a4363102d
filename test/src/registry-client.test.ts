import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { BlobNotFoundError, ManifestNotFoundError, MediaType, RegistryClient, RegistryRequestError, sha256Digest } from '@archfarm/common';
import { listTags, pushBlob, pushTinyImage } from './support/oci-fixture';
import { testRegistry, uniqueRepository } from './support/registry';
import { skopeoInspect } from './support/skopeo';

const ZERO_DIGEST = `sha256:${'0'.repeat(64)}`;

test('uploads blobs from bytes and from a stream, and reads them back verified', async () => {
  const client = new RegistryClient(testRegistry());
  const repo = uniqueRepository('client');
  const bytes = Buffer.from('hello archfarm\n');
  const desc = { digest: sha256Digest(bytes), size: bytes.length };
  assert.equal(await client.blobExists(repo, desc.digest), false);
  assert.equal(await client.uploadBlob(repo, desc, bytes), true);
  assert.equal(await client.blobExists(repo, desc.digest), true);
  assert.equal(await client.uploadBlob(repo, desc, bytes), false, 'a blob already there is skipped');
  assert.deepEqual(await client.getBlob(repo, desc.digest, 1024), bytes);

  const big = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
  const bigDesc = { digest: sha256Digest(big), size: big.length };
  const chunks = (): Readable => Readable.from([big.subarray(0, 1_000_000), big.subarray(1_000_000)]);
  assert.equal(await client.uploadBlob(repo, bigDesc, chunks), true);
  assert.deepEqual(await client.getBlob(repo, bigDesc.digest, big.length), big);
  await assert.rejects(client.getBlob(repo, bigDesc.digest, 1024), { code: 'CONTENT_TOO_LARGE' });
  await assert.rejects(client.getBlob(repo, ZERO_DIGEST, 1024), BlobNotFoundError);
});

test('a blob whose bytes do not match the digest is refused with the registry message', async () => {
  const client = new RegistryClient(testRegistry());
  const repo = uniqueRepository('client');
  const err = await client.uploadBlob(repo, { digest: ZERO_DIGEST, size: 3 }, Buffer.from('abc')).catch((e: unknown) => e);
  assert.ok(err instanceof RegistryRequestError, String(err));
  assert.equal(err.status, 400);
  assert.match(err.message, /DIGEST_INVALID/);
  assert.match(err.message, new RegExp(repo));
});

test('puts a manifest by digest, gets the same bytes back, HEAD finds it, no tag is made', async () => {
  const registry = testRegistry();
  const client = new RegistryClient(registry);
  const repo = uniqueRepository('client');
  const image = await pushTinyImage(client, repo, { architecture: 'arm', os: 'linux', variant: 'v7' }, 'client');
  const got = await client.getManifest(repo, image.digest);
  assert.equal(got.digest, image.digest);
  assert.equal(got.mediaType, MediaType.OciManifest);
  assert.equal(got.size, image.size);
  assert.equal(sha256Digest(got.bytes), image.digest);
  assert.equal((got.json as { schemaVersion: number }).schemaVersion, 2);
  assert.equal(await client.manifestExists(repo, image.digest), true);
  assert.equal(await client.manifestExists(repo, ZERO_DIGEST), false);
  await assert.rejects(client.getManifest(repo, ZERO_DIGEST), ManifestNotFoundError);
  await assert.rejects(client.getManifest(repo, 'latest'), ManifestNotFoundError);
  assert.deepEqual(await listTags(registry, repo), []);

  const raw = await skopeoInspect(`${registry}/${repo}@${image.digest}`);
  assert.equal(raw.code, 0, raw.stderr);
  assert.equal(sha256Digest(Buffer.from(raw.stdout)), image.digest, 'skopeo sees the exact bytes we put');
  const config = await skopeoInspect(`${registry}/${repo}@${image.digest}`, '--config');
  assert.equal(config.code, 0, config.stderr);
  assert.deepEqual(JSON.parse(config.stdout), { ...JSON.parse(config.stdout), architecture: 'arm', os: 'linux', variant: 'v7' });
});

test('putManifest under a tag returns the digest of the bytes and the tag resolves to them', async () => {
  const registry = testRegistry();
  const client = new RegistryClient(registry);
  const repo = uniqueRepository('client');
  const image = await pushTinyImage(client, repo, { architecture: 'amd64', os: 'linux' }, 'tagged');
  const { bytes } = await client.getManifest(repo, image.digest);
  assert.equal(await client.putManifest(repo, 'v1', MediaType.OciManifest, bytes), image.digest);
  assert.equal((await client.getManifest(repo, 'v1')).digest, image.digest);
  assert.deepEqual(await listTags(registry, repo), ['v1']);
  await assert.rejects(pushBlob(client, 'Bad/Name', MediaType.OciLayerGzip, bytes), { code: 'INVALID_INPUT' });
});
