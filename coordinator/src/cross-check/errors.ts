import { ArchfarmError } from '@archfarm/common';
import type { ModeName } from '@archfarm/proto';

/** One of the two builds of a cross-checked platform. */
export interface CheckedBuild {
  agent: string;
  mode: ModeName;
  /** The pushed platform manifest's digest. */
  digest: string;
}

/** Where the two builds first part, as the coordinator found it in the registry. */
export interface MismatchWhere {
  /** 0-based; undefined when every layer agrees (the configs or manifests differ). */
  layerIndex?: number;
  layerDigests?: [string, string];
  /** The first file that differs, "/built-at"; undefined when it could not be told. */
  path?: string;
  /** One sentence: the layer and file, or why no file is named. */
  detail: string;
}

/**
 * `--cross-check`: two agents built one platform from the same inputs and got different
 * images, so the build is not reproducible (or an agent misbehaves). Nothing was published.
 * Not retried: building again gives the same answer.
 */
export class CrossCheckMismatchError extends ArchfarmError {
  readonly code = 'CROSS_CHECK_MISMATCH';
  readonly kind = 'build';
  constructor(
    readonly platform: string,
    readonly first: CheckedBuild,
    readonly second: CheckedBuild,
    readonly where: MismatchWhere,
  ) {
    super(
      `cross-check of ${platform} failed, nothing was published: ${first.agent} (${first.mode}) built ${first.digest}, ` +
        `${second.agent} (${second.mode}) built ${second.digest}; ${where.detail}`,
    );
  }
}
