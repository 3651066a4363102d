import { ImageRef } from '@archfarm/common';
import { BaseImageTimeoutError } from './errors';

/** BuildKit's step that looks a FROM image up in its registry. */
const LOAD_METADATA = /^\[internal\] load metadata for (\S+)$/;
/** Podman's (buildah's) line before it asks the registry for a FROM image. */
const PODMAN_PULL = /^Trying to pull (\S+?)\.\.\.$/;

interface Lookup {
  ref: string;
  since: number;
}

/**
 * Watches a build's lookups of its FROM images and says when one has waited too long. A
 * registry that takes the connection and never answers gets no error at all from dockerd 20.10
 * or Podman 4.3 (seen: both still waited after 150 s; dockerd 26 gives up after 10 s), so
 * without a deadline of the agent's own the job would hold its slot forever.
 */
export class ResolveWatch {
  private readonly open = new Map<string, Lookup>();

  constructor(
    private readonly timeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A BuildKit vertex as it arrives: a lookup opens when it starts and closes when it completes. */
  vertex(v: { digest: string; name: string; started: unknown; completed: unknown }): void {
    const ref = LOAD_METADATA.exec(v.name)?.[1];
    if (ref === undefined) return;
    if (v.completed !== undefined) this.open.delete(v.digest);
    else if (v.started !== undefined && !this.open.has(v.digest)) this.open.set(v.digest, { ref, since: this.now() });
  }

  /** A plain progress line (Podman): "Trying to pull REF..." opens a lookup, the next line closes it. */
  line(text: string): void {
    this.open.delete('podman');
    const ref = PODMAN_PULL.exec(text.trim())?.[1];
    if (ref !== undefined) this.open.set('podman', { ref, since: this.now() });
  }

  /** The error for the first lookup past its deadline, if one is. */
  overdue(): BaseImageTimeoutError | undefined {
    for (const { ref, since } of this.open.values()) {
      if (this.now() - since < this.timeoutMs) continue;
      return new BaseImageTimeoutError(registryOf(ref), `no answer to the lookup of ${ref} within ${this.timeoutMs / 1000} s`);
    }
    return undefined;
  }
}

function registryOf(ref: string): string | undefined {
  try {
    return ImageRef.parse(ref, 'FROM').registry;
  } catch {
    return undefined;
  }
}
