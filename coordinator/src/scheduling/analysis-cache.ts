import type { DockerfileAnalysis } from './dockerfile-analysis';

/** Analyses kept per coordinator: a few hundred bytes each. */
const ENTRIES = 1024;

/**
 * Dockerfile analyses by context digest and Dockerfile path, least recently used dropped
 * first. A context is content-addressed and never changes, so an entry never goes stale:
 * submit, `--plan` (at will) and restore() of the same build pay for one analysis. A
 * computation in flight is shared; a failed one is not remembered.
 */
export class AnalysisCache {
  private readonly entries = new Map<string, Promise<DockerfileAnalysis>>();

  constructor(private readonly max = ENTRIES) {}

  get(contextDigest: string, dockerfile: string, compute: () => Promise<DockerfileAnalysis>): Promise<DockerfileAnalysis> {
    const key = `${contextDigest}\u0000${dockerfile}`;
    let entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key); // to the young end
    } else {
      entry = compute();
      const mine = entry;
      entry.catch(() => this.entries.get(key) === mine && this.entries.delete(key));
    }
    this.entries.set(key, entry);
    while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
    return entry;
  }

  /** The analysis if it is held (done or in flight), without computing it. */
  peek(contextDigest: string, dockerfile: string): Promise<DockerfileAnalysis> | undefined {
    return this.entries.get(`${contextDigest}\u0000${dockerfile}`);
  }
}
