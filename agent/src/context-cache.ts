import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DigestStream } from '@archfarm/common';
import type { AgentServiceClient, DataChunk } from '@archfarm/proto';
import { ContextCorruptError } from './errors';

/**
 * Build contexts fetched from the coordinator, kept by digest in the state dir so the
 * next platform of the same build (or a rebuild) does not fetch them again.
 */
export class ContextCache {
  constructor(
    private readonly dir: string,
    private readonly client: () => Pick<AgentServiceClient, 'fetchContext'>,
  ) {}

  /** Fetches under way, by digest: two jobs of one build share one download. */
  private readonly fetching = new Map<string, Promise<string>>();
  /** Removals under way, by digest: a get() waits for one, then fetches afresh. */
  private readonly evicting = new Map<string, Promise<void>>();

  /**
   * The path of the context's tar, fetched and verified if it is not here yet. `signal` stops
   * this caller's wait (a download another job shares goes on for that job).
   */
  async get(digest: string, signal?: AbortSignal): Promise<string> {
    const path = this.pathOf(digest);
    await this.evicting.get(digest);
    if (await exists(path)) {
      const now = new Date();
      await utimes(path, now, now).catch(() => {}); // last used now: the pruner keeps what is used, not what is old
      return path;
    }
    signal?.throwIfAborted();
    let fetch = this.fetching.get(digest);
    if (!fetch) {
      fetch = this.fetch(digest, path).finally(() => this.fetching.delete(digest));
      this.fetching.set(digest, fetch);
    }
    return abortable(fetch, signal);
  }

  /** Digests being fetched now (the pruner must not count their files as finished work). */
  busy(digest: string): boolean {
    return this.fetching.has(digest);
  }

  /**
   * Removes a cached context (the pruner's call, for one no held job uses); a get() that
   * comes meanwhile waits and fetches it again rather than opening a file about to vanish.
   */
  async evict(digest: string): Promise<void> {
    if (this.fetching.has(digest) || this.evicting.has(digest)) return;
    const removal = rm(this.pathOf(digest), { force: true }).finally(() => this.evicting.delete(digest));
    this.evicting.set(digest, removal);
    await removal;
  }

  /** The cache file of a digest; `digestOf` is its inverse. */
  pathOf(digest: string): string {
    return join(this.dir, digest.replace(':', '-') + '.tar');
  }

  private async fetch(digest: string, path: string): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.part`;
    try {
      const actual = await this.download(digest, tmp);
      if (actual !== digest) throw new ContextCorruptError(digest, actual);
      await syncFile(tmp); // whole on disk before it gets its name: a power cut never leaves a torn tar under it
      await rename(tmp, path);
      return path;
    } finally {
      await rm(tmp, { force: true });
    }
  }

  private async download(digest: string, to: string): Promise<string> {
    const hash = new DigestStream();
    // pipeline: a write error (a full or read-only state dir) rejects here instead of going unhandled.
    await pipeline(this.client().fetchContext({ digest }), dataOf, hash, createWriteStream(to));
    return hash.digest();
  }
}

/** The promise, or an AbortError as soon as `signal` aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

async function* dataOf(chunks: AsyncIterable<DataChunk>): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) yield Buffer.from(chunk.data);
}

/** The digest a cache file name stands for, or undefined for any other file (a download's temporary). */
export function digestOf(fileName: string): string | undefined {
  const m = /^(sha256)-([a-f0-9]{64})\.tar$/.exec(fileName);
  return m ? `${m[1]}:${m[2]}` : undefined;
}

async function syncFile(path: string): Promise<void> {
  const file = await open(path, 'r+');
  try {
    await file.sync();
  } finally {
    await file.close();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
