import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Header } from 'tar';
import { unpackedTree } from './context-tree';
import { toStat } from './file-sync';

/** A tar the way a hostile or careless client could send it: headers written by hand. */
function tarOf(entries: Array<{ path: string; type?: 'File' | 'Directory' | 'SymbolicLink'; data?: string; mode?: number; mtime?: number; linkpath?: string }>): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    const header = Buffer.alloc(512);
    new Header({ path: e.path, type: e.type ?? 'File', mode: e.mode ?? 0o644, size: e.type === undefined || e.type === 'File' ? data.length : 0, mtime: new Date((e.mtime ?? 0) * 1000), uid: 1000, gid: 1000, linkpath: e.linkpath ?? '' }).encode(header);
    parts.push(header);
    if (data.length > 0) parts.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

async function read(stream: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks).toString();
}

test('stats come from the tar headers (mode, owner, mtime), with implied directories added', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'archfarm-tree-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const tarPath = join(dir, 'ctx.tar');
  await writeFile(tarPath, tarOf([{ path: 'Dockerfile', data: 'FROM scratch\n', mtime: 1_700_000_000 }, { path: 'bin/run', data: '#!/bin/sh\n', mode: 0o4755, mtime: 5 }]));
  const tree = await unpackedTree(tarPath);
  assert.deepEqual(
    tree.entries.map((e) => [e.path, e.kind, e.mode.toString(8), e.uid, e.mtime]),
    [
      ['Dockerfile', 'file', '644', 1000, 1_700_000_000],
      ['bin', 'dir', '755', 0, 0],
      ['bin/run', 'file', '4755', 1000, 5],
    ],
  );
  assert.equal(await read(tree.open('bin/run') as AsyncIterable<Buffer>), '#!/bin/sh\n');
  // Go's os.FileMode: setuid is bit 23, a directory bit 31; mtime in nanoseconds, exactly.
  assert.equal(toStat(tree.entries[2]!).mode, 2 ** 23 + 0o755);
  assert.equal(toStat(tree.entries[1]!).mode, 2 ** 31 + 0o755);
  assert.equal(toStat(tree.entries[0]!).modTime, 1_700_000_000_000_000_000);
  // A second job of the same context reuses the unpacked directory.
  assert.equal((await unpackedTree(tarPath)).entries.length, 3);
});

test('a context cannot make the agent read outside it through a symlink', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'archfarm-tree-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const secret = join(dir, 'host-secret');
  await writeFile(secret, 'host data');
  const tarPath = join(dir, 'ctx.tar');
  await writeFile(tarPath, tarOf([{ path: 'link', type: 'SymbolicLink', linkpath: secret }, { path: 'up', type: 'SymbolicLink', linkpath: '..' }]));
  const tree = await unpackedTree(tarPath);
  assert.deepEqual(tree.entries.map((e) => [e.path, e.kind, e.linkname]), [['link', 'symlink', secret], ['up', 'symlink', '..']]);
  await assert.rejects(read(tree.open('link') as AsyncIterable<Buffer>), { code: 'CONTEXT_UNREADABLE' });
  await assert.rejects(read(tree.open('up/host-secret') as AsyncIterable<Buffer>), { code: 'CONTEXT_UNREADABLE' });
  assert.equal(await readFile(secret, 'utf8'), 'host data');
});
