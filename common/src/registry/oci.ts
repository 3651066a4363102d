/**
 * Media types and JSON shapes of the OCI image spec and of Docker's schema2, which
 * registries and engines still use side by side.
 */
export const MediaType = {
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayer: 'application/vnd.oci.image.layer.v1.tar',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

/** Every manifest type archfarm reads; sent as Accept so registries do not down-convert. */
export const MANIFEST_MEDIA_TYPES: readonly string[] = [
  MediaType.OciIndex,
  MediaType.OciManifest,
  MediaType.DockerManifestList,
  MediaType.DockerManifest,
];

/** Annotation BuildKit puts on attestation manifests inside an index. */
export const ANNOTATION_REFERENCE_TYPE = 'vnd.docker.reference.type';
/** Annotation naming the image manifest an attestation describes. */
export const ANNOTATION_REFERENCE_DIGEST = 'vnd.docker.reference.digest';
export const ATTESTATION_MANIFEST = 'attestation-manifest';

/** The platform fields of an index entry or an image config. */
export interface OciPlatform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

/** A pointer to content: what it is, its digest and its size in bytes. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: OciPlatform;
  annotations?: Record<string, string>;
  urls?: string[];
}

/** A single-platform image manifest (OCI or Docker schema2). */
export interface Manifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

/** An image index (OCI) or manifest list (Docker): one entry per platform. */
export interface Index {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** The fields of an image config archfarm reads; the rest is carried as bytes, unchanged. */
export interface ImageConfig {
  os: string;
  architecture: string;
  variant?: string;
  rootfs?: { type: string; diff_ids: string[] };
}

/** True for an OCI index or a Docker manifest list. */
export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === MediaType.OciIndex || mediaType === MediaType.DockerManifestList;
}

/** True for a single-platform OCI or Docker schema2 image manifest. */
export function isImageManifestMediaType(mediaType: string): boolean {
  return mediaType === MediaType.OciManifest || mediaType === MediaType.DockerManifest;
}
