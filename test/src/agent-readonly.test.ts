/**
 * Issue 14, end to end with the real engine and registry: the agent's state dir turns
 * read-only while a job runs, as a failing SD card's does. The job must end failed with a
 * message naming the cause, the engine's work must stop, and once the disk is writable again
 * the agent takes and completes the next job. Needs root (mount, loop devices); `make test`
 * runs as root.
 *
 * The state dir is an ext4 image of the test's own, mounted with errors=remount-ro, and the
 * kernel is told to take it read-only through /sys/fs/ext4/<dev>/trigger_fs_error: what the
 * kernel does to a card that fails under a running agent, open files included. A plain
 * `mount -o remount,ro` (of a tmpfs or a bind mount) is refused with EBUSY while the agent
 * holds its log spool open for writing, so it cannot stand in for that.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { TestFleet } from './support/fleet';
import { baseImage, makeContext } from './support/context';
import { inspect, submitDetached, waitFor } from './support/builds';
import { coordinatorTail, ended, logsContain } from './support/lifecycle';
import { run } from './support/processes';
import { testRegistry, uniqueRepository } from './support/registry';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function sh(cmd: string, args: string[]): Promise<void> {
  const res = await run(cmd, args);
  if (res.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${res.code}): ${res.stderr}`);
}

/** Unmounts (lazily when something still holds a file there); the loop device goes with it. */
async function unmount(mountPoint: string): Promise<void> {
  if ((await run('umount', [mountPoint])).code !== 0) await run('umount', ['-l', mountPoint]);
}

/** An ext4 image mounted on `mountPoint` that the kernel takes read-only on its first error. */
async function mountImage(image: string, mountPoint: string): Promise<string> {
  await sh('mount', ['-o', 'loop,errors=remount-ro', image, mountPoint]);
  const device = (await run('findmnt', ['-n', '-o', 'SOURCE', mountPoint])).stdout.trim();
  return basename(device); // loop3: its name under /sys/fs/ext4
}

let fleet: TestFleet | undefined;
let dir: string | undefined;
after(async () => {
  await fleet?.stop();
  if (dir) {
    // Always: a mount left behind would outlive the test run.
    await unmount(join(dir, 'mnt'));
    await rm(dir, { recursive: true, force: true });
  }
  testRegistry();
});

test("the agent's state dir turns read-only mid-job: the job fails naming the cause, the engine's work stops, and after a remount rw the agent completes the next job", async () => {
  dir = await mkdtemp(join(tmpdir(), 'archfarm-ro-state-'));
  const image = join(dir, 'state.img');
  const mountPoint = join(dir, 'mnt');
  await sh('truncate', ['-s', '256M', image]);
  await sh('mkfs.ext4', ['-q', '-F', image]);
  await mkdir(mountPoint);
  const device = await mountImage(image, mountPoint);
  const stateDir = join(mountPoint, 'agent');
  // One attempt: the failure is infrastructure (retried elsewhere), and there is nowhere else.
  fleet = await TestFleet.start([], { coordinatorArgs: ['--max-attempts', '1', '--retry-base-delay', '1s'] });
  await fleet.addAgent({ name: 'ro-agent', platforms: 'linux/amd64', slots: 1 }, ['--state-dir', stateDir]);
  await fleet.waitForAgents(['ro-agent']);

  const marker = `ro${randomBytes(5).toString('hex')}`;
  const ctx = await makeContext({ Dockerfile: `FROM ${baseImage()}\nRUN i=0; while [ $i -lt 300 ]; do i=$((i+1)); echo "${marker}-out-$i"; sleep 0.2; done\n` });
  const id = await submitDetached(fleet, ['--platform', 'linux/amd64', '-t', `${testRegistry()}/${uniqueRepository('readonly')}:1`, ctx]);
  await logsContain(fleet, id, `${marker}-out-3`);
  const running = async () => (await run('pgrep', ['-f', marker])).stdout.trim();
  assert.notEqual(await running(), '', 'the RUN step runs on the engine');

  // What the agent wrote so far stays (the card fails later, not back in time): the second
  // half of the test finds its enrolment and caches as it left them.
  await sh('sync', ['-f', mountPoint]);
  await writeFile(`/sys/fs/ext4/${device}/trigger_fs_error`, '1');
  assert.match((await run('findmnt', ['-n', '-o', 'OPTIONS', mountPoint])).stdout, /^ro,|emergency_ro/, 'the kernel took the disk read-only');
  const done = await waitFor(fleet, id, ended, 60_000, 'the build to end after the state dir went read-only');
  assert.equal(done.state, 'failed', JSON.stringify(done, null, 1));
  const said = JSON.stringify(done);
  assert.match(said, /STATE_DIR_UNWRITABLE/, said);
  assert.match(said, new RegExp(`the agent's state dir ${stateDir} is not writable \\(EROFS: read-only file system`), said);
  const log = (await fleet.cli(['logs', id])).stdout;
  assert.match(log, /archfarm: ERROR: the agent's state dir .* is not writable \(EROFS/, `the error line reached the coordinator\n${log.slice(-2000)}`);
  for (let i = 0; i < 40 && (await running()) !== ''; i++) await sleep(250);
  assert.equal(await running(), '', "the engine's build was stopped");

  // The disk is back: after an ext4 error only a fresh mount (after fsck) is writable again.
  await unmount(mountPoint);
  const fsck = await run('e2fsck', ['-f', '-y', image]);
  assert.ok(fsck.code !== null && fsck.code <= 2, `e2fsck: ${fsck.stdout}${fsck.stderr}`);
  await mountImage(image, mountPoint);
  const next = await submitDetached(fleet, ['--platform', 'linux/amd64', '-t', `${testRegistry()}/${uniqueRepository('readonly-next')}:1`, await makeContext({ Dockerfile: `FROM ${baseImage()}\nRUN echo next-${marker}\n` })]);
  const published = await waitFor(fleet, next, ended, 120_000, 'the next build');
  assert.equal(published.state, 'published', `${JSON.stringify(published.error)}\n${coordinatorTail(fleet)}`);
  assert.deepEqual(published.platforms[0]!.attempts.map((a) => [a.agent, a.outcome]), [['ro-agent', 'succeeded']]);
  assert.equal((await inspect(fleet, id)).state, 'failed');
});
