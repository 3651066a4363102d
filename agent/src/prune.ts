import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage, planPrune, type Logger, type PruneCandidate, type RetentionLimits } from '@archfarm/common';
import { digestOf, type ContextCache } from './context-cache';
import type { Engine } from './engine';

/** What the agent holds now: none of it is ever pruned. */
export interface HeldWork {
  /** Job ids of held attempts (their images are named by job). */
  jobIds: ReadonlySet<string>;
  /** "<jobId>.<attempt>" of held attempts (their spool files). */
  attempts: ReadonlySet<string>;
  /** Context digests held attempts build from. */
  contexts: ReadonlySet<string>;
}

type Candidate = PruneCandidate & { kind: 'context' | 'spool' | 'image'; name: string };

export interface AgentPrunerDeps {
  stateDir: string;
  /** "archfarm-job/<agent>/": the agent's own images; nothing else in the engine is touched. */
  imagePrefix: string;
  engine: Engine;
  contexts: ContextCache;
  held: () => HeldWork;
  limits: RetentionLimits;
  logger: Logger;
  clock?: () => number;
}

/**
 * Keeps the agent's disk bounded (--retention, --max-disk): cached contexts, spool files of
 * finished attempts and the agent's own job images, oldest first. The decision is
 * planPrune's; this only lists and deletes, and checks "held" again just before each delete.
 */
export class AgentPruner {
  constructor(private readonly deps: AgentPrunerDeps) {}

  /** One pass; resolves to what it deleted. A failure to delete one item is logged, not thrown. */
  async prune(): Promise<Candidate[]> {
    const { deps } = this;
    const held = deps.held();
    const items = [...(await this.contextItems(held)), ...(await this.spoolItems(held)), ...(await this.imageItems(held))];
    const doomed = planPrune(items, (deps.clock ?? Date.now)(), deps.limits);
    const done: Candidate[] = [];
    for (const item of doomed) {
      if (isHeld(item, deps.held(), deps.contexts)) continue; // assigned since the listing
      try {
        if (item.kind === 'context') await deps.contexts.evict(item.id);
        else if (item.kind === 'spool') await rm(join(deps.stateDir, 'logs', item.name), { force: true });
        else await deps.engine.removeImage(item.id);
        done.push(item);
      } catch (err) {
        deps.logger.warn({ kind: item.kind, name: item.name, err: errorMessage(err) }, 'cannot prune');
      }
    }
    if (done.length > 0) deps.logger.info({ removed: done.length, bytes: done.reduce((s, i) => s + i.bytes, 0) }, 'pruned finished work');
    return done;
  }

  private async contextItems(held: HeldWork): Promise<Candidate[]> {
    const dir = join(this.deps.stateDir, 'contexts');
    return filesOf(dir, (name) => {
      const digest = digestOf(name);
      return digest && { kind: 'context' as const, id: digest, inUse: held.contexts.has(digest) || this.deps.contexts.busy(digest) };
    });
  }

  private async spoolItems(held: HeldWork): Promise<Candidate[]> {
    return filesOf(join(this.deps.stateDir, 'logs'), (name) => {
      const m = /^(.+\.\d+)\.log$/.exec(name);
      return m && { kind: 'spool' as const, id: m[1]!, inUse: held.attempts.has(m[1]!) };
    });
  }

  private async imageItems(held: HeldWork): Promise<Candidate[]> {
    const images = (await this.deps.engine.listImages?.(this.deps.imagePrefix)) ?? [];
    return images.map((image) => {
      const job = jobOf(image.ref, this.deps.imagePrefix);
      // A probe's image is the probe's to remove, and may be in use right now.
      return { kind: 'image' as const, id: image.ref, name: image.ref, bytes: image.bytes, lastUsedMs: image.createdMs, inUse: job === undefined || job.startsWith('probe') || held.jobIds.has(job) };
    });
  }
}

/** The job id in "<prefix><job>:<attempt>" (the engine may put its own prefix before it). */
function jobOf(ref: string, prefix: string): string | undefined {
  const at = ref.indexOf(prefix);
  if (at < 0) return undefined;
  return ref.slice(at + prefix.length).split(/[:/]/)[0];
}

function isHeld(item: Candidate, held: HeldWork, contexts: ContextCache): boolean {
  if (item.kind === 'context') return held.contexts.has(item.id) || contexts.busy(item.id);
  if (item.kind === 'spool') return held.attempts.has(item.id);
  const job = item.name.split('/').at(-1)?.split(':')[0];
  return job !== undefined && held.jobIds.has(job);
}

/** Files of `dir` that `describe` knows, with their size and mtime; none when the dir is absent. */
async function filesOf(dir: string, describe: (name: string) => Omit<Candidate, 'bytes' | 'lastUsedMs' | 'name'> | undefined | null | ''): Promise<Candidate[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out: Candidate[] = [];
  for (const name of names) {
    const d = describe(name);
    if (!d) continue;
    const s = await stat(join(dir, name)).catch(() => undefined);
    if (s?.isFile()) out.push({ ...d, name, bytes: s.size, lastUsedMs: s.mtimeMs });
  }
  return out;
}
