import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@archfarm/common';
import { ContextStore } from '../context-store';
import { TestGitRepo } from '../testing/git-daemon';
import { GitCommandFailed, runGit } from './git-client';
import { GitContexts } from './git-contexts';

async function setUp(t: { after: (fn: () => Promise<void>) => void }, maxBytes = 1024 * 1024) {
  const repo = await TestGitRepo.start();
  const dir = await mkdtemp(join(tmpdir(), 'archfarm-gitctx-'));
  t.after(async () => {
    await repo.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const contexts = new ContextStore(join(dir, 'contexts'), maxBytes);
  await contexts.init();
  const git = new GitContexts({ dir: join(dir, 'git'), contexts, maxBytes, logger: createLogger('test', 'silent') });
  await git.init();
  return { repo, contexts, git, dir };
}

test('fetches a ref:subdir into the context store, the same commit always the same digest', async (t) => {
  const { repo, contexts, git, dir } = await setUp(t);
  const first = repo.commit({ 'sub/Dockerfile': 'FROM scratch\nCOPY a.txt /\n', 'sub/a.txt': 'one\n', 'outside.txt': 'not in sub\n' });
  const source = { url: repo.url, ref: 'main', subdir: 'sub' };
  assert.equal(await git.resolve(source), first);
  const a = await git.fetch(source);
  assert.equal(a.commit, first);
  assert.equal((await contexts.readFile(a.contextDigest, 'a.txt'))?.toString(), 'one\n');
  assert.equal(await contexts.readFile(a.contextDigest, 'outside.txt'), undefined);
  // A second coordinator (no memory of the first) makes the very same bytes.
  const again = new GitContexts({ dir: join(dir, 'git2'), contexts, maxBytes: 1024 * 1024, logger: createLogger('test', 'silent') });
  await again.init();
  assert.equal((await again.fetch(source)).contextDigest, a.contextDigest);
  assert.deepEqual(await readdir(join(dir, 'git', 'scratch')), [], 'scratch repositories are removed');

  const second = repo.commit({ 'sub/a.txt': 'two\n' });
  assert.equal(await git.resolve(source), second);
  const b = await git.fetch(source);
  assert.equal(b.commit, second);
  assert.notEqual(b.contextDigest, a.contextDigest);
  assert.equal((await contexts.readFile(b.contextDigest, 'a.txt'))?.toString(), 'two\n');
  // A full commit id is taken as it is: the old commit still builds.
  const pinned = await git.fetch({ ...source, ref: first });
  assert.deepEqual(pinned, { contextDigest: a.contextDigest, commit: first });
  // HEAD, an annotated tag, the root.
  repo.git('-c', 'user.name=t', '-c', 'user.email=t@t', 'tag', '-a', 'v1', '-m', 'v1', first);
  repo.git('push', '--quiet', join(repo.root, 'served', 'repo.git'), 'v1');
  assert.equal(await git.resolve({ url: repo.url, ref: '', subdir: '' }), second);
  assert.equal((await git.fetch({ url: repo.url, ref: 'v1', subdir: 'sub' })).commit, first);
  assert.equal((await contexts.readFile((await git.fetch({ url: repo.url, ref: '', subdir: '' })).contextDigest, 'outside.txt'))?.toString(), 'not in sub\n');
});

test('names what is wrong: the ref, the subdir, the repository', async (t) => {
  const { repo, git } = await setUp(t);
  const commit = repo.commit({ 'sub/Dockerfile': 'FROM scratch\n' });
  await assert.rejects(git.resolve({ url: repo.url, ref: 'nope', subdir: '' }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'GIT_REF_NOT_FOUND');
    assert.match(err.message, /^context: .* has no branch, tag or ref "nope"/);
    return true;
  });
  await assert.rejects(git.fetch({ url: repo.url, ref: 'f'.repeat(40), subdir: '' }), { code: 'GIT_REF_NOT_FOUND' });
  await assert.rejects(git.fetch({ url: repo.url, ref: 'main', subdir: 'missing' }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'GIT_SUBDIR_NOT_FOUND');
    assert.match(err.message, new RegExp(`^context: .* at ${commit.slice(0, 12)} has no directory "missing"`));
    return true;
  });
  await assert.rejects(git.fetch({ url: repo.url, ref: 'main', subdir: 'sub/Dockerfile' }), { code: 'GIT_SUBDIR_NOT_FOUND' });
  await assert.rejects(git.resolve({ url: repo.url.replace('repo.git', 'other.git'), ref: 'main', subdir: '' }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'GIT_UNREACHABLE');
    assert.match(err.message, /^context: the coordinator cannot read the repository .*not exported/);
    return true;
  });
});

test('a tree over the size limit is refused as an upload would be', async (t) => {
  const { repo, git } = await setUp(t, 64 * 1024);
  repo.commit({ 'big.bin': 'x'.repeat(200 * 1024) });
  await assert.rejects(git.fetch({ url: repo.url, ref: 'main', subdir: '' }), { code: 'CONTEXT_TOO_LARGE' });
});

test('file:// and ext:: are refused twice: by the URL check, and by git itself (protocol.allow=never)', async (t) => {
  const { repo, git, dir } = await setUp(t);
  repo.commit({ 'a.txt': 'x' });
  const local = `file://${join(repo.root, 'served', 'repo.git')}`;
  await assert.rejects(git.resolve({ url: local, ref: 'main', subdir: '' }), { code: 'INVALID_INPUT', field: 'context' });
  await assert.rejects(git.fetch({ url: 'https://u:secret@127.0.0.1/repo.git', ref: 'main', subdir: '' }), { code: 'INVALID_INPUT', field: 'context' });
  const opts = { home: dir, timeoutMs: 10_000 };
  await assert.rejects(runGit(['ls-remote', '--', local], opts), (err: unknown) => err instanceof GitCommandFailed && /transport 'file' not allowed/.test(err.stderr));
  const marker = join(dir, 'ext-ran');
  await assert.rejects(runGit(['ls-remote', '--', `ext::sh -c touch% ${marker}`], opts), (err: unknown) => err instanceof GitCommandFailed && /transport 'ext' not allowed/.test(err.stderr));
  await assert.rejects(stat(marker), { code: 'ENOENT' });
});
