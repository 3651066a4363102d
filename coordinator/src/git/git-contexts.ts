import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { formatGitSource, validateGitSource, type GitSource, type Logger } from '@archfarm/common';
import type { ContextStore } from '../context-store';
import { ContextTooLargeError, GitRefNotFoundError, GitSubdirNotFoundError, GitUnreachableError } from '../errors';
import { GitCommandFailed, runGit } from './git-client';
import { tarGlobalHeaderBytes } from './tar-global-header';
import { COMMIT_ID, lsRemotePatterns, pickRemoteRef, type RemoteRef } from './remote-refs';

/** How long one git command (ls-remote, fetch, archive) may take by default. */
export const GIT_TIMEOUT_MS = 120_000;
/** Digests remembered by source and commit (a few hundred bytes each). */
const MADE_ENTRIES = 1000;

export interface GitContextsOptions {
  /** The coordinator's own dir for git (under its data dir): an empty home and scratch repositories. */
  dir: string;
  contexts: ContextStore;
  /** The context size limit (--max-context-size): a tree over it is refused as an upload would be. */
  maxBytes: number;
  timeoutMs?: number;
  logger: Logger;
}

/** A git context turned into a stored context: its digest and the commit it holds. */
export interface FetchedContext {
  contextDigest: string;
  commit: string;
}

/**
 * Git contexts (`archfarm build https://host/repo.git#ref:subdir`), fetched by the coordinator
 * with the system git rather than handed to the agents' engines as remote contexts: agents
 * sit behind NAT and may not reach the git host; one fetch serves every platform; the tree
 * then goes through the same size limit, context scan and pinning as an uploaded context
 * (it is one, in the ContextStore); and the coordinator knows the exact commit it built,
 * which is what a schedule compares at each tick (resolve: `git ls-remote`, no fetch).
 */
export class GitContexts {
  private readonly home: string;
  private readonly scratch: string;
  private readonly timeoutMs: number;
  /** Digests already made, by url, commit and subdir: a tick on an unchanged commit fetches nothing. */
  private readonly made = new Map<string, string>();

  constructor(private readonly opts: GitContextsOptions) {
    this.home = join(opts.dir, 'home');
    this.scratch = join(opts.dir, 'scratch');
    this.timeoutMs = opts.timeoutMs ?? GIT_TIMEOUT_MS;
  }

  /** Makes the empty home and clears scratch repositories a killed coordinator left. */
  async init(): Promise<void> {
    await rm(this.scratch, { recursive: true, force: true });
    await mkdir(this.scratch, { recursive: true, mode: 0o700 });
    await rm(this.home, { recursive: true, force: true });
    await mkdir(this.home, { recursive: true, mode: 0o700 });
  }

  /**
   * The commit the source's ref names now (`git ls-remote`, nothing fetched); a full commit
   * id is taken as it is. Errors: InvalidInputError (field `context`), GitRefNotFoundError,
   * GitUnreachableError, GitClientMissingError.
   */
  async resolve(source: GitSource): Promise<string> {
    return (await this.remoteRef(validateGitSource(source))).commit;
  }

  /**
   * Fetches the commit the ref names now (one shallow fetch) and stores its `subdir` tree as
   * a context tar: the same commit and subdir always give the same digest (file times are the
   * commit's, modes git's, no commit id inside). Errors: those of resolve, and
   * GitSubdirNotFoundError, ContextTooLargeError, the context scan's refusals.
   */
  async fetch(given: GitSource): Promise<FetchedContext> {
    // Checked here too, whoever calls (SubmitBuild, a schedule's tick): git only ever sees a
    // network URL without credentials, so nothing logged or stored from it holds a secret.
    const source = validateGitSource(given);
    const ref = await this.remoteRef(source);
    const known = this.made.get(key(source, ref.commit));
    if (known !== undefined && (await this.opts.contexts.has(known))) return { contextDigest: known, commit: ref.commit };
    const dir = join(this.scratch, randomBytes(8).toString('hex'));
    try {
      await mkdir(dir, { mode: 0o700 });
      const fetched = await this.fetchInto(dir, source, ref);
      const contextDigest = await this.archive(dir, source, fetched);
      this.made.set(key(source, fetched), contextDigest);
      if (this.made.size > MADE_ENTRIES) this.made.delete(this.made.keys().next().value!);
      this.opts.logger.info({ git: formatGitSource(source), commit: fetched, digest: contextDigest }, 'git context stored');
      return { contextDigest, commit: fetched };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private async remoteRef(source: GitSource): Promise<RemoteRef> {
    if (COMMIT_ID.test(source.ref)) return { name: source.ref, commit: source.ref };
    const out = await this.git(['ls-remote', '--', source.url, ...lsRemotePatterns(source.ref)], source);
    const found = pickRemoteRef(out, source.ref);
    if (!found) throw new GitRefNotFoundError(source.url, source.ref);
    return found;
  }

  /** The commit fetched: the ref's tip now (it may have moved since resolve), peeled to a commit. */
  private async fetchInto(dir: string, source: GitSource, ref: RemoteRef): Promise<string> {
    await this.git(['init', '--bare', '--quiet', dir], source);
    try {
      await this.git(['-C', dir, 'fetch', '--quiet', '--depth=1', '--no-tags', '--no-write-fetch-head', '--', source.url, `+${ref.name}:refs/archfarm/context`], source);
    } catch (err) {
      // A commit id the remote lacks (or will not serve): the ref is wrong, not the host.
      if (ref.name === ref.commit && err instanceof GitUnreachableError) throw new GitRefNotFoundError(source.url, source.ref);
      throw err;
    }
    return (await this.git(['-C', dir, 'rev-parse', '--verify', 'refs/archfarm/context^{commit}'], source)).trim();
  }

  /**
   * `git archive` of commit:subdir into the ContextStore. A tree alone would get the current
   * time as every file's mtime, so it is wrapped in a commit of fixed identity whose dates are
   * the source commit's: same tree and time, same commit, same bytes. Its archive opens with a
   * pax global header naming that commit, which the context scan refuses (Docker ignores such
   * headers); it is left out of what is stored.
   */
  private async archive(dir: string, source: GitSource, commit: string): Promise<string> {
    const type = await this.git(['-C', dir, 'cat-file', '-t', `${commit}:${source.subdir}`], source).catch(() => '');
    if (type.trim() !== 'tree') throw new GitSubdirNotFoundError(source.url, commit, source.subdir);
    const time = (await this.git(['-C', dir, 'show', '-s', '--format=%ct', commit], source)).trim();
    const who = { NAME: 'archfarm', EMAIL: 'archfarm@localhost', DATE: `@${time} +0000` };
    const env = Object.fromEntries(['AUTHOR', 'COMMITTER'].flatMap((role) => Object.entries(who).map(([k, v]) => [`GIT_${role}_${k}`, v])));
    const wrapped = (await this.git(['-C', dir, 'commit-tree', '-m', `archfarm context ${commit}`, `${commit}:${source.subdir}`], source, env)).trim();
    const tar = join(dir, 'context.tar');
    await this.git(['-C', dir, 'archive', '--format=tar', wrapped], source, undefined, { path: tar, maxBytes: this.opts.maxBytes + 64 * 1024 });
    return this.store(tar);
  }

  private async store(tar: string): Promise<string> {
    const skip = await readGlobalHeaderBytes(tar);
    const size = (await stat(tar)).size - skip;
    if (size > this.opts.maxBytes) throw new ContextTooLargeError(size, this.opts.maxBytes);
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(tar, { start: skip })) hash.update(chunk as Buffer);
    const digest = `sha256:${hash.digest('hex')}`;
    if (!(await this.opts.contexts.has(digest))) await this.opts.contexts.write(digest, size, createReadStream(tar, { start: skip }));
    return digest;
  }

  /** One git command, its failure turned into the error a person can act on. */
  private async git(args: string[], source: GitSource, env?: Record<string, string>, toFile?: { path: string; maxBytes: number }): Promise<string> {
    try {
      return await runGit(args, { home: this.home, timeoutMs: this.timeoutMs, env, toFile });
    } catch (err) {
      if (!(err instanceof GitCommandFailed)) throw err;
      if (err.reason === 'too-large') throw new ContextTooLargeError(toFile?.maxBytes ?? 0, this.opts.maxBytes);
      const detail = err.reason === 'timeout' ? `git ${args[0] === '-C' ? args[2] : args[0]} did not finish in ${Math.round(this.timeoutMs / 1000)}s` : err.stderr;
      throw new GitUnreachableError(source.url, detail, { cause: err });
    }
  }
}

function key(source: GitSource, commit: string): string {
  return `${source.url}\u0000${commit}\u0000${source.subdir}`;
}

async function readGlobalHeaderBytes(tar: string): Promise<number> {
  const file = await open(tar, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await file.read(head, 0, 512, 0);
    return tarGlobalHeaderBytes(head.subarray(0, bytesRead));
  } finally {
    await file.close();
  }
}
