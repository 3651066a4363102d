import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, lstat, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinatorChild } from './support/coordinator-child';

/*
 * Threat 14 (issue 15): the data dir was 0755 and the database 0644 (token hashes, sealed
 * credentials, the CA key's neighbours readable by every local user), and two coordinators
 * started on one data dir were not refused. Now: dir 0700, files 0600, an older dir narrowed
 * on start, and an OS-level lock that refuses a second coordinator naming the first's pid and
 * that a killed coordinator never leaves behind.
 */

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'archfarm-hostile-data-'));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Every entry below `dir` whose mode is wider than 0700 (dirs) or 0600 (files). */
async function tooOpen(dir: string): Promise<string[]> {
  const wide: string[] = [];
  const self = await lstat(dir);
  if ((self.mode & 0o777) !== 0o700) wide.push(`${dir} ${(self.mode & 0o777).toString(8)}`);
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath ?? entry.path, entry.name);
    const mode = (await lstat(path)).mode & 0o777;
    if (entry.isDirectory() && mode !== 0o700) wide.push(`${path} ${mode.toString(8)}`);
    if (entry.isFile() && mode !== 0o600) wide.push(`${path} ${mode.toString(8)}`);
  }
  return wide;
}

async function allEntries(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

test('a new data dir is 0700 and every file in it 0600 (database, WAL, keys, token, pid)', async () => {
  const data = join(work, 'fresh', 'data');
  const coordinator = await CoordinatorChild.start(data);
  try {
    const entries = await allEntries(data);
    for (const expected of ['archfarm.db', 'admin-token', 'coordinator.lock', 'coordinator.pid', join('tls', 'ca.key')]) assert.ok(entries.includes(expected), `${expected} in ${entries.join(', ')}`);
    assert.deepEqual(await tooOpen(data), []);
  } finally {
    await coordinator.stop();
  }
});

test("an older data dir (0755, files 0644) is narrowed on start, contents included", async () => {
  const data = join(work, 'old', 'data');
  const first = await CoordinatorChild.start(data);
  await first.stop();
  await mkdir(join(data, 'logs', 'b1'), { recursive: true });
  for (const entry of [data, ...(await allEntries(data)).map((e) => join(data, e))]) {
    await chmod(entry, (await lstat(entry)).isDirectory() ? 0o755 : 0o644);
  }
  assert.notDeepEqual(await tooOpen(data), [], 'the test starts from an open dir');
  const second = await CoordinatorChild.start(data);
  try {
    assert.deepEqual(await tooOpen(data), []);
    assert.match(second.output, /data dir was readable by other users; made it private/, 'the operator is told the files were open');
    assert.ok(second.output.includes(join(data, 'archfarm.db')), 'the files that were open are named');
  } finally {
    await second.stop();
  }
});

test('a second coordinator on the same data dir is refused with the first one\'s pid; a killed one leaves no lock behind', async () => {
  const data = join(work, 'shared', 'data');
  const first = await CoordinatorChild.start(data);
  const second = CoordinatorChild.spawn(data);
  const code = await second.exited();
  assert.notEqual(code, 0, 'the second coordinator must not start');
  assert.match(second.output, new RegExp(`in use by another coordinator \\(pid ${first.pid}\\)`));
  assert.ok(!second.output.includes('coordinator serving'));
  assert.equal((await first.cli(['tokens', 'list'], '')).code !== 3, true, 'the first one still serves');

  // kill -9: no shutdown code runs, the pid file stays; the kernel drops the lock with the process.
  await first.stop('SIGKILL');
  const third = await CoordinatorChild.start(data);
  try {
    assert.ok(third.output.includes('coordinator serving'));
  } finally {
    await third.stop();
  }
});

test('a shared directory such as /tmp (sticky bit) is refused as a data dir, and left as it was', async () => {
  const sticky = join(work, 'sticky');
  await mkdir(sticky);
  await chmod(sticky, 0o1777);
  const refused = CoordinatorChild.spawn(sticky);
  assert.notEqual(await refused.exited(), 0);
  assert.match(refused.output, /shared directory \(sticky bit/);
  assert.equal((await lstat(sticky)).mode & 0o7777, 0o1777);
});
