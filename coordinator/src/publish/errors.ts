import { ArchfarmError, type Platform } from '@archfarm/common';

/**
 * A pushed image is not for the platform its job was for: the build (or the engine that
 * ran it) produced another architecture. Retrying the same build gives the same result.
 */
export class PlatformMismatchError extends ArchfarmError {
  readonly code = 'PLATFORM_MISMATCH';
  readonly kind = 'build';
  constructor(
    readonly asked: Platform,
    /** What the image says it is, e.g. "linux/amd64", or the platforms an index offers. */
    readonly found: string,
    readonly digest: string,
    /** registry/repository the image is in. */
    readonly repository: string,
  ) {
    super(`image ${repository}@${digest} was asked for ${asked.toString()} but is for ${found}`);
  }
}

/**
 * A digest an agent reported is not in the registry (or an index it pushed points at a
 * manifest that is not): the push was lost or is incomplete, so building again may help.
 */
export class PlatformImageMissingError extends ArchfarmError {
  readonly code = 'PLATFORM_IMAGE_MISSING';
  readonly kind = 'infrastructure';
  constructor(
    readonly platform: Platform,
    readonly digest: string,
    readonly repository: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`the ${platform.toString()} image ${repository}@${digest} is missing: ${detail}`, options);
  }
}

/** A pushed manifest is of a kind archfarm cannot put in an index (schema1, nested index, ...). */
export class UnsupportedManifestError extends ArchfarmError {
  readonly code = 'UNSUPPORTED_MANIFEST';
  readonly kind = 'build';
  constructor(
    readonly platform: Platform,
    readonly digest: string,
    readonly repository: string,
    readonly mediaType: string,
    detail: string,
  ) {
    super(`the ${platform.toString()} image ${repository}@${digest} (${mediaType}) cannot be published: ${detail}`);
  }
}

/** A cancel reached the publish before the index was written: no tag moved. Not retried. */
export class PublishStoppedError extends ArchfarmError {
  readonly code = 'PUBLISH_STOPPED';
  readonly kind = 'input';
  constructor(readonly target: string) {
    super(`publishing ${target} was stopped by a cancel before the index was written; no tag moved`);
  }
}
