import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { MediaType, RegistryClient, sha256Digest } from '@archfarm/common';
import { tarArchive } from '@archfarm/agent';
import { pushBlob } from './oci-fixture';

/**
 * Pushes a linux/amd64 image no engine has seen: one layer holding `sizeBytes` of random
 * data (random, so gzip cannot shrink it and the engine must download all of it), with a
 * history entry (Podman refuses configs without one). For FROMs that must reach the blobs.
 * Returns its reference (e.g. 127.0.0.1:5000/test/unique-1a2b:1) and its layer's digest.
 */
export async function pushUniqueImage(registry: string, repository: string, sizeBytes: number): Promise<{ ref: string; layer: string }> {
  const client = new RegistryClient(registry, { insecure: true, userAgent: 'archfarm-test' });
  const tar = tarArchive([{ path: 'payload', data: randomBytes(sizeBytes) }]);
  const layer = await pushBlob(client, repository, MediaType.OciLayerGzip, gzipSync(tar, { level: 1 }));
  const config = {
    architecture: 'amd64',
    os: 'linux',
    config: {},
    rootfs: { type: 'layers', diff_ids: [sha256Digest(tar)] },
    history: [{ created: '1970-01-01T00:00:00Z', created_by: 'archfarm test: random payload' }],
  };
  const configDesc = await pushBlob(client, repository, MediaType.OciConfig, Buffer.from(JSON.stringify(config)));
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: configDesc, layers: [layer] }));
  await client.putManifest(repository, '1', MediaType.OciManifest, manifest);
  return { ref: `${registry}/${repository}:1`, layer: layer.digest };
}
