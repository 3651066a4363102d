import { access, readFile } from 'node:fs/promises';
import {
  ANNOTATION_REFERENCE_TYPE,
  ATTESTATION_MANIFEST,
  isDigest,
  isImageManifestMediaType,
  isIndexMediaType,
  sha256Digest,
  type Descriptor,
  type Index,
  type Manifest,
  type Platform,
} from '@archfarm/common';
import { describeImage, inside, parseConfig, platformOf, readJson, type SavedImage } from './archive-files';
import { SavedImageInvalidError } from './errors';
import { compressionOfMediaType } from './layer-compression';

/** Index → index → manifest is what engines write; deeper is refused rather than followed forever. */
const MAX_DEPTH = 4;
/** Manifests, indexes and configs are small JSON; a bigger blob is not one. */
const MAX_JSON_BLOB = 4 << 20;

/**
 * Reads the OCI layout of `docker save` on Docker 25 and later: index.json points at an
 * image manifest (Docker v2 or OCI) or, for a pulled multi-platform image, at an index
 * (moby/moby#47065), which is followed to the manifest of `platform`. The layers are blobs
 * named by digest, compressed as the engine keeps them (gzip or zstd on the containerd
 * image store, plain tar on the classic store).
 */
export async function readOciLayout(dir: string, platform: Platform | undefined): Promise<SavedImage> {
  const index = await readJson<Index>(dir, 'index.json');
  const listed = await imageManifests(dir, index.manifests, 0);
  const descriptor = await choose(dir, listed, platform);
  const manifest = parseJson<Manifest>(await readBlob(dir, descriptor), `manifest ${descriptor.digest}`);
  if (!manifest.config || !Array.isArray(manifest.layers)) {
    throw new SavedImageInvalidError(`manifest ${descriptor.digest} has no config or layers`);
  }
  const configBytes = await readBlob(dir, manifest.config);
  const files = manifest.layers.map((layer) => {
    if (compressionOfMediaType(layer.mediaType) === undefined) {
      throw new SavedImageInvalidError(`manifest ${descriptor.digest} has a layer of type ${layer.mediaType}, which archfarm does not push`);
    }
    return { path: blobPath(layer.digest), digest: layer.digest };
  });
  return describeImage(dir, 'oci-layout', configBytes, manifest.config.digest, files);
}

/** The image manifests an index lists, nested indexes followed; attestations left out. */
async function imageManifests(dir: string, descriptors: Descriptor[] | undefined, depth: number): Promise<Descriptor[]> {
  if (!Array.isArray(descriptors)) throw new SavedImageInvalidError('an index in the archive has no manifests');
  const out: Descriptor[] = [];
  for (const d of descriptors) {
    if (d.annotations?.[ANNOTATION_REFERENCE_TYPE] === ATTESTATION_MANIFEST || d.platform?.os === 'unknown') continue;
    if (isImageManifestMediaType(d.mediaType)) {
      out.push(d);
    } else if (isIndexMediaType(d.mediaType)) {
      if (depth >= MAX_DEPTH) throw new SavedImageInvalidError(`indexes nested more than ${MAX_DEPTH} deep`);
      const child = parseJson<Index>(await readBlob(dir, d), `index ${d.digest}`);
      out.push(...(await imageManifests(dir, child.manifests, depth + 1)));
    }
  }
  return out;
}

/**
 * The one manifest to push: the only one whose content the archive holds (the containerd
 * store saves only the platforms it pulled), or else the one for `platform`, by the index's
 * platform field or, where that is missing, by the manifest's config.
 */
async function choose(dir: string, listed: Descriptor[], platform: Platform | undefined): Promise<Descriptor> {
  const present: Descriptor[] = [];
  for (const d of listed) {
    if (present.some((p) => p.digest === d.digest)) continue;
    if (await exists(dir, d.digest)) present.push(d);
  }
  if (present.length === 1) return present[0]!;
  const shown = listed.map(describe).join(', ') || 'none';
  if (present.length === 0) throw new SavedImageInvalidError(`the archive holds none of the image manifests its index lists (${shown})`);
  if (!platform) throw new SavedImageInvalidError(`the archive holds several images (${shown}); name the platform to push`);
  const matching: Descriptor[] = [];
  for (const d of present) if ((await platformOfManifest(dir, d))?.equals(platform)) matching.push(d);
  if (matching.length === 1) return matching[0]!;
  throw new SavedImageInvalidError(`the archive holds ${matching.length === 0 ? 'no' : 'several'} image manifests for ${platform.toString()} (${shown})`);
}

async function platformOfManifest(dir: string, d: Descriptor): Promise<Platform | undefined> {
  try {
    if (d.platform) return platformOf(d.platform);
    const manifest = parseJson<Manifest>(await readBlob(dir, d), `manifest ${d.digest}`);
    return platformOf(parseConfig(await readBlob(dir, manifest.config)));
  } catch (err) {
    if (err instanceof SavedImageInvalidError && d.platform) return undefined; // a platform archfarm does not know
    throw err;
  }
}

function describe(d: Descriptor): string {
  const p = d.platform;
  return p ? [p.os, p.architecture, p.variant].filter(Boolean).join('/') : d.digest;
}

/** Reads a JSON blob and checks it is the content its descriptor names. */
async function readBlob(dir: string, d: Descriptor): Promise<Buffer> {
  if (!(d.size >= 0 && d.size <= MAX_JSON_BLOB)) throw new SavedImageInvalidError(`blob ${d.digest} is ${d.size} bytes, too large for ${d.mediaType}`);
  const bytes = await readFile(inside(dir, blobPath(d.digest))).catch((err: unknown) => {
    throw new SavedImageInvalidError(`blob ${d.digest} (${d.mediaType}) is missing from the archive`, { cause: err });
  });
  if (bytes.length !== d.size || sha256Digest(bytes) !== d.digest) {
    throw new SavedImageInvalidError(`blob ${d.digest} in the archive does not match its descriptor`);
  }
  return bytes;
}

async function exists(dir: string, digest: string): Promise<boolean> {
  return access(inside(dir, blobPath(digest))).then(
    () => true,
    () => false,
  );
}

/** Where the OCI layout keeps a blob; only sha256, the one algorithm engines write. */
function blobPath(digest: string): string {
  if (typeof digest !== 'string' || !isDigest(digest)) throw new SavedImageInvalidError(`the archive names a blob by "${String(digest)}", not a sha256 digest`);
  return `blobs/sha256/${digest.slice('sha256:'.length)}`;
}

function parseJson<T>(bytes: Buffer, what: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (err) {
    throw new SavedImageInvalidError(`${what} is not JSON`, { cause: err });
  }
}
