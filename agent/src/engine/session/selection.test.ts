import { test } from 'node:test';
import assert from 'node:assert/strict';
import { comparePaths, memoryTree, type ContextEntry } from './context-tree';
import { selectEntries, type SyncRequest } from './selection';

const tree = memoryTree([
  { path: 'Dockerfile', data: 'FROM scratch' },
  { path: 'a-b', data: '1' },
  { path: 'a/b', data: '2' },
  { path: 'a/c/d.go', data: '3' },
  { path: 'docs/readme.md', data: '4' },
  { path: 'docs/keep.md', data: '5' },
  { path: 'sub/Dockerfile', data: 'FROM scratch' },
]);

const select = (req: Partial<SyncRequest>): string[] =>
  selectEntries(tree.entries, { dir: '', includes: [], excludes: [], followPaths: [], ...req }).map((e) => `${e.path}${e.kind === 'dir' ? '/' : ''}`);

test('entries come parents first, in the walk order fsutil checks, not plain string order', () => {
  assert.deepEqual(select({}), ['Dockerfile', 'a/', 'a/b', 'a/c/', 'a/c/d.go', 'a-b', 'docs/', 'docs/keep.md', 'docs/readme.md', 'sub/', 'sub/Dockerfile']);
  assert.ok(comparePaths('a/b', 'a-b') < 0 && comparePaths('a', 'a/b') < 0 && comparePaths('B', 'a') < 0);
});

test('exclude patterns have .dockerignore meaning, exceptions included, with the parents they need', () => {
  assert.deepEqual(select({ excludes: ['docs', '!docs/keep.md', '**/*.go'] }), ['Dockerfile', 'a/', 'a/b', 'a/c/', 'a-b', 'docs/', 'docs/keep.md', 'sub/', 'sub/Dockerfile']);
});

test('include patterns choose paths and what lies under a matching directory, with their parents', () => {
  assert.deepEqual(select({ includes: ['a/c', 'Dockerfile'] }), ['Dockerfile', 'a/', 'a/c/', 'a/c/d.go']);
  assert.deepEqual(select({ includes: ['.dockerignore'] }), []);
});

test('a directory request is relative to it; follow paths pick the Dockerfile', () => {
  assert.deepEqual(select({ dir: 'sub', followPaths: ['Dockerfile', 'Dockerfile.dockerignore'] }), ['Dockerfile']);
});

test('a symlink among the follow paths brings its target, never a path outside the tree', () => {
  const entries: ContextEntry[] = [
    { path: 'Dockerfile', kind: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, mtime: 0, linkname: 'build/Dockerfile.real' },
    { path: 'build', kind: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0, linkname: '' },
    { path: 'build/Dockerfile.real', kind: 'file', mode: 0o644, uid: 0, gid: 0, size: 1, mtime: 0, linkname: '' },
    { path: 'escape', kind: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, mtime: 0, linkname: '../../etc/passwd' },
  ];
  const picked = selectEntries(entries, { dir: '', includes: [], excludes: [], followPaths: ['Dockerfile', 'escape'] }).map((e) => e.path);
  assert.deepEqual(picked, ['Dockerfile', 'build', 'build/Dockerfile.real', 'escape']);
});
