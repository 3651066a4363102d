import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage, planPrune, type Logger, type PruneCandidate, type RetentionLimits } from '@archfarm/common';
import type { ContextStore } from '../context-store';
import type { BuildRecord, Store } from '../store';

/** A context uploaded this recently may be about to be submitted: never pruned. */
const UPLOAD_GRACE_MS = 10 * 60_000;
/** How many finished builds one pass looks at (the newest; older ones were pruned already). */
const BUILDS_LOOKED_AT = 100_000;

type Candidate = PruneCandidate & { kind: 'context' | 'logs' };

export interface CoordinatorPrunerDeps {
  store: Store;
  contexts: ContextStore;
  /** The logs dir: one folder per build. */
  logsDir: string;
  limits: RetentionLimits;
  logger: Logger;
  clock?: () => number;
}

/**
 * Keeps the coordinator's disk bounded (--retention, --max-disk): finished builds' log folders
 * and contexts no unfinished build uses, oldest first. The decision is planPrune's. A context a
 * schedule pins (its spec's contextDigest) is in use however old, for as long as the schedule
 * exists: its next tick builds from it. A pruned build's store rows stay (its state and digests
 * are small and are the history operators read); `archfarm logs` on it then finds no log file.
 */
export class CoordinatorPruner {
  constructor(private readonly deps: CoordinatorPrunerDeps) {}

  /** One pass; `nowMs` defaults to the clock. */
  async prune(nowMs?: number): Promise<Candidate[]> {
    const { deps } = this;
    const now = nowMs ?? (deps.clock ?? Date.now)();
    const builds = await deps.store.listBuilds(BUILDS_LOOKED_AT);
    const pinned = await this.pinnedContexts();
    const doomed = planPrune([...(await this.logItems(builds)), ...(await this.contextItems(builds, pinned, now))], now, deps.limits);
    const done: Candidate[] = [];
    // Checked again just before: a build submitted or a schedule added meanwhile on an old context keeps it.
    const unfinished = (await deps.store.unfinishedBuilds()).flatMap((b) => [b.build.id, b.build.spec.contextDigest]);
    const stillUsed = new Set([...unfinished, ...(await this.pinnedContexts())]);
    for (const item of doomed) {
      if (stillUsed.has(item.id)) continue;
      try {
        if (item.kind === 'context') await deps.contexts.remove(item.id);
        else await rm(join(deps.logsDir, item.id), { recursive: true, force: true });
        done.push(item);
      } catch (err) {
        deps.logger.warn({ kind: item.kind, id: item.id, err: errorMessage(err) }, 'cannot prune');
      }
    }
    if (done.length > 0) deps.logger.info({ removed: done.length, bytes: done.reduce((s, i) => s + i.bytes, 0) }, 'pruned finished builds');
    return done;
  }

  /** One item per build folder under logs/; a build still running keeps its own. */
  private async logItems(builds: BuildRecord[]): Promise<Candidate[]> {
    const byId = new Map(builds.map((b) => [b.id, b]));
    const out: Candidate[] = [];
    for (const id of await readdir(this.deps.logsDir).catch(() => [] as string[])) {
      const build = byId.get(id);
      const { bytes, newestMs } = await folderSize(join(this.deps.logsDir, id));
      // A folder of a build the store does not list (beyond the newest builds looked at) is finished.
      out.push({ kind: 'logs', id, bytes, lastUsedMs: build?.finishedAt ?? newestMs, inUse: build !== undefined && !isFinished(build) });
    }
    return out;
  }

  /** The contexts schedules build from; a schedule of a git source pins none (its digest is ''). */
  private async pinnedContexts(): Promise<Set<string>> {
    return new Set((await this.deps.store.listSchedules()).map((s) => s.spec.contextDigest).filter((d) => d !== ''));
  }

  private async contextItems(builds: BuildRecord[], pinned: ReadonlySet<string>, now: number): Promise<Candidate[]> {
    const lastUse = new Map<string, number>();
    const inUse = new Set<string>(pinned);
    for (const b of builds) {
      const digest = b.spec.contextDigest;
      if (!isFinished(b)) inUse.add(digest);
      lastUse.set(digest, Math.max(lastUse.get(digest) ?? 0, b.finishedAt ?? b.createdAt));
    }
    return (await this.deps.contexts.list()).map((c) => {
      const lastUsedMs = Math.max(c.storedMs, lastUse.get(c.digest) ?? 0);
      return { kind: 'context' as const, id: c.digest, bytes: c.bytes, lastUsedMs, inUse: inUse.has(c.digest) || now - c.storedMs < UPLOAD_GRACE_MS };
    });
  }
}

function isFinished(build: BuildRecord): boolean {
  return build.state !== 'running' && build.state !== 'publishing';
}

async function folderSize(dir: string): Promise<{ bytes: number; newestMs: number }> {
  let bytes = 0;
  // The folder's own time, so an empty one (a build whose first log line has not come) is as
  // new as it is, not from 1970.
  let newestMs = (await stat(dir).catch(() => undefined))?.mtimeMs ?? 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const s = await stat(join(dir, name)).catch(() => undefined);
    if (!s?.isFile()) continue;
    bytes += s.size;
    newestMs = Math.max(newestMs, s.mtimeMs);
  }
  return { bytes, newestMs };
}
