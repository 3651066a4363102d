import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, readdir, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { t as listTar, type ReadEntry } from 'tar';
import { packContext, type ContextTar } from './context-tar';

interface Entry {
  path: string;
  type: string;
  mode: number;
  linkpath: string;
  uid: number | undefined;
  uname: string | undefined;
}

async function entries(file: string): Promise<Entry[]> {
  const out: Entry[] = [];
  await listTar({
    file,
    onReadEntry: (e: ReadEntry) => {
      out.push({ path: e.path, type: e.type, mode: e.mode ?? 0, linkpath: e.linkpath ?? '', uid: e.uid, uname: e.uname });
    },
  });
  return out;
}

async function tree(files: Record<string, string>): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), 'archfarm-ctx-')));
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

async function pack(dir: string, dockerfile = 'Dockerfile'): Promise<ContextTar> {
  return packContext({ contextDir: dir, dockerfile: { absolute: path.join(dir, dockerfile), inContext: dockerfile } });
}

const FILES = {
  Dockerfile: 'FROM scratch\nCOPY . /\n',
  '.dockerignore': '# build outputs\nnode_modules\n*.log\n!keep.log\nlogs\n!logs/keep.txt\nDockerfile\n',
  'app/main.js': 'console.log(1)\n',
  'app/run.sh': '#!/bin/sh\necho hi\n',
  'node_modules/dep/index.js': 'module.exports = 1\n',
  'debug.log': 'noise\n',
  'keep.log': 'wanted\n',
  'logs/a.txt': 'noise\n',
  'logs/keep.txt': 'wanted\n',
  'z@weird name.txt': 'names starting with @ are not archives here\n',
  '@at.txt': 'really\n',
};

test('packs the context honouring .dockerignore, sorted, with modes and symlinks', async (t) => {
  const { dir, cleanup } = await tree(FILES);
  t.after(cleanup);
  await chmod(path.join(dir, 'app/run.sh'), 0o755);
  await symlink('app/main.js', path.join(dir, 'link.js'));
  const tar = await pack(dir);
  t.after(tar.dispose);
  const list = await entries(tar.file);
  assert.deepEqual(
    list.map((e) => e.path),
    // Dockerfile is ignored by the rules but sent anyway, as docker does; so is .dockerignore.
    ['.dockerignore', '@at.txt', 'Dockerfile', 'app/', 'app/main.js', 'app/run.sh', 'keep.log', 'link.js', 'logs/keep.txt', 'z@weird name.txt'],
  );
  const byPath = new Map(list.map((e) => [e.path, e]));
  assert.equal(byPath.get('app/run.sh')!.mode & 0o777, 0o755);
  assert.equal(byPath.get('app/main.js')!.mode & 0o777, 0o644);
  assert.equal(byPath.get('link.js')!.type, 'SymbolicLink');
  assert.equal(byPath.get('link.js')!.linkpath, 'app/main.js');
  for (const e of list) {
    assert.ok(!e.uname, `${e.path} carries no user name`);
    assert.ok(!e.uid, `${e.path} carries no uid`);
  }
  assert.equal(tar.entries, list.length);
});

test('the digest is the sha256 of the tar file, and stable for the same tree', async (t) => {
  const { dir, cleanup } = await tree(FILES);
  t.after(cleanup);
  const a = await pack(dir);
  t.after(a.dispose);
  const b = await pack(dir);
  t.after(b.dispose);
  const bytes = await readFile(a.file);
  assert.equal(a.digest, `sha256:${createHash('sha256').update(bytes).digest('hex')}`);
  assert.equal(a.size, bytes.length);
  assert.equal((await stat(a.file)).size, a.size);
  assert.equal(b.digest, a.digest);
  assert.notEqual(b.file, a.file);

  await writeFile(path.join(dir, 'app/main.js'), 'console.log(2)\n');
  const c = await pack(dir);
  t.after(c.dispose);
  assert.notEqual(c.digest, a.digest);
  // An ignored file changing does not change the context.
  await writeFile(path.join(dir, 'node_modules/dep/index.js'), 'changed\n');
  const d = await pack(dir);
  t.after(d.dispose);
  assert.equal(d.digest, c.digest);
});

test('a Dockerfile-specific ignore file wins, and an ignored Dockerfile directory still yields the Dockerfile', async (t) => {
  const { dir, cleanup } = await tree({
    '.dockerignore': 'secret.txt\n',
    'build/Dockerfile': 'FROM scratch\n',
    'build/Dockerfile.dockerignore': 'build\nREADME.md\n',
    'README.md': 'docs\n',
    'secret.txt': 'kept: only the Dockerfile-specific rules apply\n',
  });
  t.after(cleanup);
  const tar = await pack(dir, 'build/Dockerfile');
  t.after(tar.dispose);
  assert.deepEqual(
    (await entries(tar.file)).map((e) => e.path),
    ['.dockerignore', 'build/Dockerfile', 'secret.txt'],
  );
});

test('no .dockerignore: everything is packed', async (t) => {
  const { dir, cleanup } = await tree({ Dockerfile: 'FROM scratch\n', 'a/b/c.txt': 'x' });
  t.after(cleanup);
  const tar = await pack(dir);
  t.after(tar.dispose);
  assert.deepEqual((await entries(tar.file)).map((e) => e.path), ['Dockerfile', 'a/', 'a/b/', 'a/b/c.txt']);
  await tar.dispose();
  await assert.rejects(stat(tar.file), /ENOENT/);
});

test('an aborted pack leaves no temporary file behind', async (t) => {
  const { dir, cleanup } = await tree({ Dockerfile: 'FROM scratch\n', big: 'x'.repeat(1 << 20) });
  t.after(cleanup);
  const root = await mkdtemp(path.join(tmpdir(), 'archfarm-tmp-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(
    packContext({ contextDir: dir, dockerfile: { absolute: path.join(dir, 'Dockerfile'), inContext: 'Dockerfile' }, signal: controller.signal, tmpRoot: root }),
    /abort/i,
  );
  assert.deepEqual(await readdir(root), []);
});
