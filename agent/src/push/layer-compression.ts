import { open } from 'node:fs/promises';
import { MediaType } from '@archfarm/common';
import { SavedImageInvalidError } from './errors';

/** How a layer blob in a saved image is stored. */
export type LayerCompression = 'none' | 'gzip' | 'zstd';

/** OCI's zstd layer type; Docker's schema2 has none, one more reason to push OCI manifests. */
export const OCI_LAYER_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';

/** The media type a layer is pushed with, by how it is stored. */
export function pushedLayerMediaType(compression: 'gzip' | 'zstd'): string {
  return compression === 'gzip' ? MediaType.OciLayerGzip : OCI_LAYER_ZSTD;
}

/**
 * What a layer descriptor's media type says (OCI and Docker names, with or without the
 * "nondistributable" variants), or undefined for a type that is not a layer archfarm pushes.
 */
export function compressionOfMediaType(mediaType: string): LayerCompression | undefined {
  const m = /^application\/vnd\.(?:oci\.image\.layer(?:\.nondistributable)?\.v1\.tar|docker\.image\.rootfs\.(?:foreign\.)?diff\.tar)(?:[+.](gzip|zstd))?$/.exec(mediaType);
  if (!m) return undefined;
  return (m[1] as 'gzip' | 'zstd' | undefined) ?? 'none';
}

/**
 * How a layer file is really stored, from its first bytes: gzip (1f 8b), zstd (28 b5 2f fd),
 * anything else is taken for a tar and checked as one when it is read. The bytes decide,
 * not the name or a media type, since only they say how to read it.
 */
export async function sniffCompression(path: string): Promise<LayerCompression> {
  const file = await open(path, 'r').catch((err: unknown) => {
    throw new SavedImageInvalidError(`cannot open the layer ${path}`, { cause: err });
  });
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await file.read(head, 0, 4, 0);
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
    if (bytesRead === 4 && head.readUInt32BE(0) === 0x28b52ffd) return 'zstd';
    return 'none';
  } finally {
    await file.close();
  }
}
