import { ArchfarmError } from '@archfarm/common';

/**
 * The engine's `docker save` output is not an image archfarm can push (no manifest.json,
 * several images, a layer that does not match its diff_id, ...). It points at the
 * engine, not at the Dockerfile, so another agent may succeed.
 */
export class SavedImageInvalidError extends ArchfarmError {
  readonly code = 'SAVED_IMAGE_INVALID';
  readonly kind = 'infrastructure';
  constructor(
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`the image saved by the engine cannot be pushed: ${detail}`, options);
  }
}
