import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { c as createTar } from 'tar';
import { scanContext, TarInvalidError, UnsafeContextError, type ScanOptions } from './context-scan';

/** A ustar header written by hand: node-tar will not create most of the bad entries below. */
function header(name: string, type: string, opts: { size?: number; linkpath?: string } = {}): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, 100);
  b.write('0000644\0', 100);
  b.write('0000000\0', 108);
  b.write('0000000\0', 116);
  b.write(`${(opts.size ?? 0).toString(8).padStart(11, '0')}\0`, 124);
  b.write('00000000000\0', 136);
  b.write(type, 156);
  b.write(opts.linkpath ?? '', 157, 100);
  b.write('ustar\u000000', 257);
  b.fill(' ', 148, 156);
  const sum = b.reduce((a, x) => a + x, 0);
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return b;
}

type Entry = [name: string, type: string, opts?: { data?: string; linkpath?: string; size?: number }];

function tarOf(entries: Entry[], end = true): Buffer {
  const parts = entries.flatMap(([name, type, opts = {}]) => {
    const data = Buffer.from(opts.data ?? '');
    const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
    return [header(name, type, { size: opts.size ?? data.length, linkpath: opts.linkpath }), data, pad];
  });
  return Buffer.concat([...parts, Buffer.alloc(end ? 1024 : 0)]);
}

/** A pax extended header ('x') setting `key` for the entry after it. */
function pax(key: string, value: string): Entry {
  const rest = ` ${key}=${value}\n`;
  let len = rest.length + 1;
  while (`${len}${rest}`.length !== len) len = `${len}${rest}`.length;
  return ['PaxHeader/x', 'x', { data: `${len}${rest}` }];
}

async function scan(bytes: Buffer, opts?: ScanOptions) {
  const dir = await mkdtemp(path.join(tmpdir(), 'archfarm-scan-'));
  try {
    await writeFile(path.join(dir, 'context.tar'), bytes);
    return await scanContext(path.join(dir, 'context.tar'), opts);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function refused(entries: Entry[], entry: string, message: RegExp, opts?: ScanOptions): Promise<void> {
  await assert.rejects(scan(tarOf(entries), opts), (err: unknown) => {
    assert.ok(err instanceof UnsafeContextError, `expected UnsafeContextError, got ${String(err)}`);
    assert.equal(err.code, 'UNSAFE_CONTEXT');
    assert.equal(err.kind, 'input');
    assert.equal(err.entry, entry);
    assert.match(err.message, message);
    return true;
  });
}

const notATar = (reason: RegExp) => (err: unknown) =>
  err instanceof TarInvalidError && err.code === 'CONTEXT_NOT_A_TAR' && reason.test(err.message);

test('a context packed as the CLI packs it passes and lists its files and links', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'archfarm-ctx-'));
  try {
    await mkdir(path.join(dir, 'src/deep'), { recursive: true });
    await writeFile(path.join(dir, 'Dockerfile'), 'FROM scratch\n');
    await writeFile(path.join(dir, 'src/deep/main.c'), 'int main(void) { return 0; }\n');
    await symlink('deep/main.c', path.join(dir, 'src/main.c'));
    await symlink('..', path.join(dir, 'src/up'));
    const paths = ['Dockerfile', 'src', 'src/deep', 'src/deep/main.c', 'src/main.c', 'src/up'];
    const file = path.join(dir, 'context.tar');
    await createTar({ file, cwd: dir, portable: true, noDirRecurse: true, strict: true }, paths);
    const result = await scanContext(file);
    assert.equal(result.entries, 6);
    assert.equal(result.bytes, 13 + 29);
    assert.deepEqual(result.files.sort(), ['Dockerfile', 'src/deep/main.c', 'src/main.c', 'src/up']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('harmless oddities pass: ./ prefixes, .. that stays inside, links inside', async () => {
  const result = await scan(
    tarOf([
      ['./', '5'],
      ['./a/', '5'],
      ['a/../Dockerfile', '0', { data: 'FROM scratch\n' }],
      ['a/l', '2', { linkpath: '../Dockerfile' }],
      ['a/h', '1', { linkpath: 'a/../Dockerfile' }],
    ]),
  );
  assert.deepEqual(result.files, ['Dockerfile', 'a/l', 'a/h']);
});

test('absolute and escaping paths are refused, also when a pax header sets them', async () => {
  await refused([['/etc/passwd', '0', { data: 'x' }]], '/etc/passwd', /^context entry "\/etc\/passwd" has an absolute path; pack the context/);
  await refused([['../etc/passwd', '0']], '../etc/passwd', /^context entry "\.\.\/etc\/passwd" leaves the context; remove it or add it to \.dockerignore$/);
  await refused([['a/../../x', '5']], 'a/../../x', /leaves the context/);
  await refused([pax('path', '../evil'), ['innocent', '0']], '../evil', /leaves the context/);
  await refused([['././@LongLink', 'L', { data: '../gnu-evil\0' }], ['innocent', '0']], '../gnu-evil', /leaves the context/);
  await refused([['C:\\Windows\\evil', '0']], 'C:\\Windows\\evil', /absolute path/);
});

test('devices, FIFOs and unknown entry types are refused', async () => {
  await refused([['dev/null', '3']], 'dev/null', /"dev\/null" is a character device; a context holds only files, directories and links; remove it/);
  await refused([['sda', '4']], 'sda', /is a block device/);
  await refused([['pipe', '6']], 'pipe', /is a named pipe \(FIFO\)/);
  await refused([['vol', 'V']], 'vol', /tar entry of type "V"/);
  await refused([pax('comment', 'x'.repeat(1024 * 1024)), ['f', '0']], 'PaxHeader/x', /too large to check/);
});

test('symlinks and hard links that resolve outside the context are refused', async () => {
  await refused([['l', '2', { linkpath: '/etc/shadow' }]], 'l', /^context entry "l" is a symlink to "\/etc\/shadow", outside the context; make the link relative/);
  await refused([['a/l', '2', { linkpath: '../../x' }]], 'a/l', /symlink to "\.\.\/\.\.\/x", outside the context/);
  await refused([['h', '1', { linkpath: '/etc/shadow' }]], 'h', /hard link to "\/etc\/shadow", an absolute path/);
  // A hard link names its target from the context root, not from its own directory.
  await refused([['a/h', '1', { linkpath: '../x' }]], 'a/h', /hard link to "\.\.\/x", outside the context/);
});

test('links are followed as the kernel would: chains through other symlinks cannot escape', async () => {
  // "a" is the root itself, so a/a/a/s sits at the root and ../../../etc leaves it.
  await refused([['a', '2', { linkpath: '.' }], ['a/a/a/s', '2', { linkpath: '../../../etc' }]], 'a/a/a/s', /once the symlinks before it are followed/);
  // Through a directory that does not exist yet and back up: still counted from where "a" lands.
  await refused([['a', '2', { linkpath: '.' }], ['s', '2', { linkpath: 'a/ghost/../../x' }]], 's', /once the symlinks before it are followed/);
  // s was inside when written; "a" added later makes it point out.
  await refused([['s', '2', { linkpath: 'a/../x' }], ['a', '2', { linkpath: '.' }]], 's', /which other links lead outside the context/);
  await refused(
    [['s', '2', { linkpath: 'a/../x' }], ['a', '2', { linkpath: '.' }], ['s/evil', '0']],
    's/evil',
    /is reached through a symlink that leaves the context/,
  );
  // A hard link to a symlink is that symlink, now read from the hard link's directory.
  await refused([['sub/s', '2', { linkpath: '../x' }], ['h', '1', { linkpath: 'sub/s' }]], 'h', /symlink to "\.\.\/x"/);
  await refused([['a', '2', { linkpath: 'b' }], ['b', '2', { linkpath: 'a' }]], 'a', /more than 40 symlinks \(a loop\?\)/);
  // Dangling links and links into directories made later are fine.
  assert.equal((await scan(tarOf([['d', '2', { linkpath: 'later/x' }], ['later/x', '0'], ['g', '2', { linkpath: 'ghost' }]]))).entries, 3);
});

test('size and count limits name the entry that crossed them', async () => {
  // The header claims 2 GiB without a body: refused before truncation is noticed.
  await refused([['big.iso', '0', { size: 2 * 1024 ** 3 }]], 'big.iso', /is 2147483648 bytes, over the limit of 1073741824 for one file/);
  await refused([['a', '0', { data: 'x'.repeat(11) }]], 'a', /over the limit of 10/, { maxFileBytes: 10 });
  await refused([['a', '0', { data: 'xx' }], ['b', '0', { data: 'xx' }]], 'b', /add up to more than 3 bytes \(at "b"\)/, { maxTotalBytes: 3 });
  await refused([['a', '5'], ['b', '5'], ['c', '5']], 'c', /^the context has more than 2 entries \(at "c"\)/, { maxEntries: 2 });
});

test('garbage, compressed, truncated and corrupt tars are TarInvalidError', async () => {
  const good = tarOf([['Dockerfile', '0', { data: 'FROM scratch\n'.repeat(100) }], ['b', '0', { data: 'b' }]]);
  await assert.rejects(scan(Buffer.from('this is not a tar archive at all '.repeat(40))), notATar(/checksum/));
  await assert.rejects(scan(Buffer.alloc(0)), notATar(/Unrecognized archive format/));
  await assert.rejects(scan(gzipSync(good)), notATar(/gzip-compressed/));
  await assert.rejects(scan(good.subarray(0, 1000)), notATar(/Truncated input/));
  await assert.rejects(scan(good.subarray(0, 512 * 4)), notATar(/end-of-archive marker/));
  const corrupt = Buffer.from(good);
  corrupt[512 * 4] = 0x41; // the second header's name
  await assert.rejects(scan(corrupt), notATar(/checksum failure/));
  assert.equal((await scan(good)).entries, 2);
});

/** A pax header of `type` ('x' for the next entry, 'g' global) with these records. */
function paxOf(type: 'x' | 'g', records: Record<string, string>): Entry {
  const data = Object.entries(records)
    .map(([key, value]) => {
      const rest = ` ${key}=${value}\n`;
      let len = Buffer.byteLength(rest) + 1;
      while (Buffer.byteLength(`${len}${rest}`) !== len) len = Buffer.byteLength(`${len}${rest}`);
      return `${len}${rest}`;
    })
    .join('');
  return [type === 'g' ? 'pax_global_header' : 'PaxHeader/x', type, { data }];
}

test('a PAX global header is refused: its linkpath made an escaping symlink pass (threat 7 of issue 15)', async () => {
  // node-tar gave "ok" the global linkpath "inside"; Go (Docker) ignores global headers and extracts "../../etc".
  const entries: Entry[] = [paxOf('g', { linkpath: 'inside' }), ['inside', '0'], ['ok', '2', { linkpath: '../../etc' }]];
  await refused(entries, 'pax_global_header', /"pax_global_header" is a PAX global header/);
  await refused([paxOf('g', { comment: 'harmless' }), ['f', '0']], 'pax_global_header', /PAX global header/);
});

test('unknown PAX keywords, GNU sparse files and entries the two readings disagree on are refused', async () => {
  await refused([paxOf('x', { 'GNU.sparse.map': '0,1' }), ['f', '0']], 'PaxHeader/x', /keyword "GNU\.sparse\.map"/);
  // node-tar reads PAX records line by line; a newline in a value hides the record from it, not from Go.
  await refused([paxOf('x', { linkpath: '../../etc\nx' }), ['l', '2', { linkpath: 'safe' }]], 'l', /link target of "\.\.\/\.\.\/etc\\nx" in its raw tar headers but "safe" as parsed/);
  // A symlink with a size: node-tar reads a body Go does not, so they see different entries after it.
  await refused([['l', '2', { linkpath: 'a', size: 512 }], ['f', '0']], 'l', /header-only entry \(type 2\) with a 512-byte body/);
  // Type '0' with a trailing slash: node-tar makes it a directory without a body, Go a file with one.
  await refused([['d/', '0', { data: 'x' }]], 'd/', /type of "0" in its raw tar headers but "5" as parsed/);
});

test('kept SCHILY.xattr records, GNU long names and a NUL-typed directory scan as before', async () => {
  const long = `${'d'.repeat(120)}/file`;
  const result = await scan(tarOf([paxOf('x', { 'SCHILY.xattr.user.x': '1', path: long }), ['short', '0', { data: 'x' }], ['l/', '\0'], ['././@LongLink', 'L', { data: `${long}2\0` }], ['cut', '0']]));
  assert.deepEqual(result.files.sort(), [long, `${long}2`]);
});
