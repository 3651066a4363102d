import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { MediaType, sha256Digest, type Platform, type RegistryClient } from '@archfarm/common';

/* Publishing into a real registry: `make setup` runs one on 127.0.0.1:5000. */
export const REGISTRY = process.env.ARCHFARM_TEST_REGISTRY ?? '127.0.0.1:5000';

async function registryUp(): Promise<boolean> {
  try {
    return (await fetch(`http://${REGISTRY}/v2/`, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

/** False when the registry answers; else skips the test loudly, with the reason. */
export async function missingRegistry(t: TestContext): Promise<boolean> {
  if (await registryUp()) return false;
  const reason = `SKIPPED: no registry at ${REGISTRY} (run make setup, or set ARCHFARM_TEST_REGISTRY)`;
  console.error(reason);
  t.skip(reason);
  return true;
}

/** A tiny image for `platform`, pushed by digest: its manifest's digest. */
export async function pushImage(client: RegistryClient, repository: string, platform: Platform): Promise<string> {
  const put = async (mediaType: string, bytes: Buffer) => {
    const d = { mediaType, digest: sha256Digest(bytes), size: bytes.length };
    await client.uploadBlob(repository, d, bytes);
    return d;
  };
  const raw = Buffer.from(`layer for ${platform.toString()} ${randomBytes(4).toString('hex')}\n`);
  const layer = await put(MediaType.OciLayerGzip, gzipSync(raw));
  const config = await put(MediaType.OciConfig, Buffer.from(JSON.stringify({ architecture: platform.architecture, os: platform.os, rootfs: { type: 'layers', diff_ids: [sha256Digest(raw)] }, config: {} })));
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers: [layer] }));
  return client.putManifest(repository, sha256Digest(manifest), MediaType.OciManifest, manifest);
}

