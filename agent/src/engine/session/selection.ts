import { posix } from 'node:path';
import ignore from '@balena/dockerignore';
import type { ContextEntry } from './context-tree';

/** What BuildKit asks of one directory of the session (the gRPC metadata of a DiffCopy call). */
export interface SyncRequest {
  /** "" for the whole tree, else a directory of it; entries come relative to it. */
  dir: string;
  /** Only these (and what lies under a matching directory); empty: everything. */
  includes: readonly string[];
  /** .dockerignore rules, `!` exceptions included. */
  excludes: readonly string[];
  /** Paths the engine reads by name (the Dockerfile); a symlink among them brings its target. */
  followPaths: readonly string[];
}

/**
 * The entries of one request, relative to its directory, in the tree's order, with every
 * directory on the way to a chosen entry (the receiver needs a parent before its children).
 * Patterns have Docker's meaning (moby/patternmatcher, as fsutil's FilterFS applies them),
 * through the same library the CLI packs contexts with.
 */
export function selectEntries(entries: readonly ContextEntry[], req: SyncRequest): ContextEntry[] {
  const scoped = scope(entries, req.dir);
  const includes = [...req.includes, ...followed(scoped, req.followPaths)];
  const included = includes.length > 0 ? ignore().add(includes) : undefined;
  const excluded = req.excludes.length > 0 ? ignore().add([...req.excludes]) : undefined;
  const chosen = new Set<string>();
  for (const e of scoped) {
    if (included && !included.ignores(e.path)) continue;
    if (excluded?.ignores(e.path)) continue;
    chosen.add(e.path);
    for (let p = posix.dirname(e.path); p !== '.' && !chosen.has(p); p = posix.dirname(p)) chosen.add(p);
  }
  return scoped.filter((e) => chosen.has(e.path));
}

function scope(entries: readonly ContextEntry[], dir: string): ContextEntry[] {
  const d = dir.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
  if (d === '' || d === '.') return [...entries];
  const prefix = `${d}/`;
  return entries.filter((e) => e.path.startsWith(prefix)).map((e) => ({ ...e, path: e.path.slice(prefix.length) }));
}

/** The follow paths themselves, and the targets of those that are symlinks inside the tree. */
function followed(entries: readonly ContextEntry[], paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    out.push(p);
    const link = entries.find((e) => e.path === p && e.kind === 'symlink');
    if (!link) continue;
    const target = posix.normalize(posix.join(posix.dirname(link.path), link.linkname));
    if (!target.startsWith('..') && !posix.isAbsolute(target)) out.push(target);
  }
  return out;
}
