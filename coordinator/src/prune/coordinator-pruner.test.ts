import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { c as createTar } from 'tar';
import { createLogger } from '@archfarm/common';
import { ContextStore } from '../context-store';
import { MemoryStore, type BuildRecord, type ScheduleRecord, type StoredBuild } from '../store';
import { CoordinatorPruner } from './coordinator-pruner';

/*
 * The pruner against a real ContextStore on disk and a MemoryStore: a context a schedule uses
 * is never pruned while the schedule exists, however old it is and however full the disk.
 */

const DAY = 86_400_000;
const NOW = Date.now();
const LONG_AGO = NOW - 60 * DAY;

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'archfarm-pruner-'));
});
after(() => rm(dir, { recursive: true, force: true }));
let made = 0;

interface Fixture {
  store: MemoryStore;
  contexts: ContextStore;
  pruner: (limits?: { retentionMs: number; maxDiskBytes: number }) => CoordinatorPruner;
  /** A context stored 60 days ago with a Dockerfile saying `text`; its digest. */
  oldContext: (text: string) => Promise<string>;
}

async function fixture(store = new MemoryStore()): Promise<Fixture> {
  const root = join(dir, `case-${++made}`);
  const contexts = new ContextStore(join(root, 'contexts'), 1024 * 1024);
  await contexts.init();
  const logsDir = join(root, 'logs');
  await mkdir(logsDir);
  const logger = createLogger('archfarm-coordinator', 'silent');
  const oldContext = async (text: string): Promise<string> => {
    const src = join(root, `src-${++made}`);
    await mkdir(src);
    await writeFile(join(src, 'Dockerfile'), `FROM scratch\nLABEL note="${text}"\n`);
    await createTar({ file: `${src}.tar`, cwd: src, portable: true }, ['Dockerfile']);
    const bytes = await readFile(`${src}.tar`);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    await contexts.write(digest, bytes.length, (async function* () {
      yield bytes;
    })());
    const blob = join(root, 'contexts', 'sha256', digest.slice('sha256:'.length));
    await utimes(blob, LONG_AGO / 1000, LONG_AGO / 1000);
    return digest;
  };
  const pruner = (limits = { retentionMs: 7 * DAY, maxDiskBytes: 1024 ** 3 }) => new CoordinatorPruner({ store, contexts, logsDir, limits, logger, clock: () => NOW });
  return { store, contexts, pruner, oldContext };
}

/** A build of `digest` that finished 60 days ago. */
function finishedBuild(id: string, digest: string): BuildRecord {
  return {
    id,
    spec: {
      platforms: ['linux/amd64'],
      tag: '127.0.0.1:5000/app:1',
      contextDigest: digest,
      dockerfile: 'Dockerfile',
      buildArgs: {},
      target: '',
      waitTimeoutSeconds: 60,
      timeoutSeconds: 600,
      allowPartial: false,
      smokeCommand: [],
      emulation: 'prefer-native',
      requireLabels: {},
      tags: ['127.0.0.1:5000/app:1'],
      labels: {},
      annotations: [],
      pull: false,
      noCache: false,
      secretIds: [],
    },
    state: 'published',
    createdAt: LONG_AGO,
    finishedAt: LONG_AGO,
  };
}

function schedule(name: string, spec: BuildRecord['spec']): ScheduleRecord {
  return { name, cron: '0 3 * * *', timezone: 'UTC', owner: '', spec: { ...spec, schedule: name }, onBaseChange: false, paused: false, createdAt: LONG_AGO, nextDueAt: NOW + DAY };
}

test("a schedule's context is never pruned while the schedule exists, however old and however full the disk", async () => {
  const { store, contexts, pruner, oldContext } = await fixture();
  const pinned = await oldContext('scheduled');
  const loose = await oldContext('built once');
  await store.createBuild(finishedBuild('b-pinned', pinned), []);
  await store.createBuild(finishedBuild('b-loose', loose), []);
  await store.createSchedule(schedule('nightly', finishedBuild('x', pinned).spec));
  // A schedule of a git source fetches afresh at each tick: it pins no context.
  await store.createSchedule({ ...schedule('from-git', finishedBuild('x', '').spec), git: { url: 'https://git.local/app.git', ref: 'main', subdir: '' } });

  const removed = await pruner().prune();
  assert.deepEqual(removed.map((r) => r.id), [loose]);
  assert.equal(await contexts.has(pinned), true);
  assert.equal(await contexts.has(loose), false);

  // Disk pressure does not take it either.
  assert.deepEqual(await pruner({ retentionMs: 7 * DAY, maxDiskBytes: 0 }).prune(), []);
  assert.equal(await contexts.has(pinned), true);

  // Once the schedule is gone, the context is an old one like any other.
  assert.equal(await store.deleteSchedule('nightly'), true);
  assert.deepEqual((await pruner().prune()).map((r) => r.id), [pinned]);
  assert.equal(await contexts.has(pinned), false);
});

test('under disk pressure a pinned context counts as kept: newer unpinned ones go to make room', async () => {
  const { store, contexts, pruner, oldContext } = await fixture();
  const pinned = await oldContext('oldest, scheduled');
  const newer = await oldContext('newer, built once');
  await store.createBuild({ ...finishedBuild('b-newer', newer), finishedAt: LONG_AGO + DAY }, []);
  await store.createSchedule(schedule('nightly', finishedBuild('x', pinned).spec));
  const sizes = new Map((await contexts.list()).map((c) => [c.digest, c.bytes]));
  // Room for the pinned one only; nothing is past the retention.
  const removed = await pruner({ retentionMs: 365 * DAY, maxDiskBytes: sizes.get(pinned)! }).prune();
  assert.deepEqual(removed.map((r) => r.id), [newer]);
  assert.equal(await contexts.has(pinned), true);
});

/** A store on which a schedule of `digest` is added after the pruner planned, before it removes. */
class ScheduleAddedMeanwhile extends MemoryStore {
  digest = '';
  override async unfinishedBuilds(): Promise<StoredBuild[]> {
    if (this.digest !== '') await this.createSchedule(schedule('late', finishedBuild('x', this.digest).spec));
    return super.unfinishedBuilds();
  }
}

test('a schedule added while a pass runs keeps its context: the pass checks again before it removes', async () => {
  const store = new ScheduleAddedMeanwhile();
  const { contexts, pruner, oldContext } = await fixture(store);
  store.digest = await oldContext('added late');
  assert.deepEqual(await pruner().prune(), []);
  assert.equal(await contexts.has(store.digest), true);
  assert.deepEqual((await store.listSchedules()).map((s) => s.name), ['late']);
});
