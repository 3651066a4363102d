import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Platform } from '@archfarm/common';
import { withPostgres } from '@archfarm/coordinator';
import { TestFleet } from './support/fleet';
import { baseImage, makeContext } from './support/context';
import { inspect, submitDetached, waitFor } from './support/builds';
import { run } from './support/processes';
import { testRegistry, uniqueRepository } from './support/registry';
import { skopeoInspect } from './support/skopeo';

const FOUR = ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/s390x'];
const UNAME: Record<string, string> = { 'linux/amd64': 'x86_64', 'linux/arm64': 'aarch64', 'linux/arm/v7': 'armv7l', 'linux/s390x': 's390x' };
const ended = (b: { state: string }) => ['published', 'failed', 'cancelled'].includes(b.state);

interface IndexJson {
  manifests: Array<{ digest: string; platform: { os: string; architecture: string; variant?: string } }>;
}

const platformOf = (p: IndexJson['manifests'][number]['platform']) => Platform.of(p.os, p.architecture, p.variant).toString();

/**
 * The farm end to end on the PostgreSQL store (--store postgres://..., a database made for this
 * file on the test cluster of scripts/postgres.sh): real coordinator and agents as processes,
 * the real engine, QEMU and registry. One fleet for the file; its tests run in order and the
 * last one reads what the first two left in the database.
 */
describe('the farm on PostgreSQL', () => {
  let fleet: TestFleet;
  const published: Array<{ id: string; digest: string }> = [];

  before(async () => {
    testRegistry();
    fleet = await TestFleet.start(
      [
        { name: 'pg-a', platforms: 'linux/amd64,linux/arm64' },
        { name: 'pg-b', platforms: 'linux/arm/v7,linux/s390x' },
      ],
      // A lease that outlasts the coordinator's restart, and a port the agents find it at again.
      { store: 'postgres', fixedPort: true, coordinatorArgs: ['--lease-ttl', '15s', '--retry-base-delay', '1s'] },
    );
  });

  after(async () => {
    await fleet?.stop();
  });

  test('four CPUs publish one index; builds inspect and logs read the build back', async () => {
    const marker = randomBytes(4).toString('hex');
    // The quotes keep the marker out of the step's name line: it shows only once RUN really ran.
    const ctx = await makeContext({ Dockerfile: `FROM ${baseImage()}\nRUN echo ${marker}''-on-$(uname -m)\nCMD ["uname", "-m"]\n` });
    const tag = `${testRegistry()}/${uniqueRepository('pg-seed')}:1`;
    const res = await fleet.cli(['build', '--platform', FOUR.join(','), '-t', tag, ctx]);
    assert.equal(res.code, 0, `build failed:\n${res.stderr}\n${fleet.logs.join('').slice(-4000)}`);
    const digest = res.stdout.trim().split('\n').at(-1) ?? '';
    assert.match(digest, /^sha256:[a-f0-9]{64}$/);

    const raw = await skopeoInspect(tag);
    assert.equal(raw.code, 0, raw.stderr);
    assert.equal(`sha256:${createHash('sha256').update(raw.stdout).digest('hex')}`, digest, 'the printed digest is the tag digest');
    // The platform images only: the attestation manifests (unknown/unknown) follow them.
    const children = (JSON.parse(raw.stdout) as IndexJson).manifests.filter((m) => m.platform.architecture !== 'unknown');
    assert.deepEqual(children.map((m) => platformOf(m.platform)).sort(), [...FOUR].sort());
    const repo = tag.slice(0, tag.lastIndexOf(':'));
    for (const m of children) {
      const platform = platformOf(m.platform);
      const out = await run('docker', ['run', '--rm', '--platform', platform, `${repo}@${m.digest}`]);
      assert.equal(out.code, 0, out.stderr);
      assert.equal(out.stdout.trim(), UNAME[platform], `${platform} image prints its CPU`);
    }

    const builds = await fleet.cli(['builds', '--output', 'json']);
    assert.equal(builds.code, 0, builds.stderr);
    const listed = (JSON.parse(builds.stdout) as Array<{ buildId: string; tag: string; state: string }>).filter((b) => b.tag === tag);
    assert.equal(listed.length, 1, builds.stdout);
    const id = listed[0]!.buildId;
    const shown = await inspect(fleet, id);
    assert.deepEqual([shown.state, shown.digest, shown.tag], ['published', digest, tag]);
    assert.deepEqual(shown.platforms.map((p) => p.platform).sort(), [...FOUR].sort());
    for (const p of shown.platforms) {
      assert.deepEqual(p.attempts.map((a) => a.outcome), ['succeeded'], `${p.platform}: one attempt`);
      const log = await fleet.cli(['logs', id, '--platform', p.platform]);
      assert.equal(log.code, 0, log.stderr);
      assert.ok(log.stdout.includes(`${marker}-on-${UNAME[p.platform]}`), `${p.platform}: its log shows the RUN step's output\n${log.stdout}`);
    }
    published.push({ id, digest });
  });

  test('kill -9 the coordinator mid-build and start it on the same database: published once, no job run twice', async () => {
    const marker = randomBytes(4).toString('hex');
    const ctx = await makeContext({ Dockerfile: `FROM ${baseImage()}\nRUN echo ${marker}-st''art; sleep 5; echo ${marker}-do''ne\n` });
    const tag = `${testRegistry()}/${uniqueRepository('pg-killcoord')}:1`;
    const id = await submitDetached(fleet, ['--platform', 'linux/amd64,linux/s390x', '-t', tag, ctx]);
    const deadline = Date.now() + 60_000;
    while (!(await fleet.cli(['logs', id])).stdout.includes(`${marker}-start`)) {
      if (Date.now() > deadline) throw new Error(`the build never started\n${fleet.logs.join('').slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    await fleet.killCoordinator();
    // With no coordinator left to write, the database says where the kill landed: mid-build.
    const atKill = await withPostgres(fleet.database!.url, async (c) => (await c.query<{ state: string }>('SELECT state FROM builds WHERE id = $1', [id])).rows);
    assert.deepEqual(atKill, [{ state: 'running' }], 'the kill landed while the build was running');
    await fleet.restartCoordinator();
    const done = await waitFor(fleet, id, ended, 120_000, 'the build to end after the coordinator restarted');
    assert.equal(done.state, 'published', JSON.stringify(done.error));
    for (const p of done.platforms) {
      assert.equal(p.attempts.length, 1, `${p.platform} ran once: its agent kept running it across the restart`);
      assert.equal(p.attempts[0]!.outcome, 'succeeded');
      const log = await fleet.cli(['logs', id, '--platform', p.platform]);
      assert.ok(log.stdout.includes(`${marker}-done`), `${p.platform}: the whole log reached the restarted coordinator`);
    }
    const publishes = fleet.coordinatorLines('build published').filter((l) => l.buildId === id);
    assert.equal(publishes.length, 1, 'published exactly once across both coordinator processes');
    assert.equal((await skopeoInspect(tag)).code, 0, 'the tag exists');
    published.push({ id, digest: done.digest });
  });

  test('the builds are rows in PostgreSQL, and there is no SQLite file', async () => {
    assert.equal(published.length, 2, 'the two builds above published');
    assert.equal(existsSync(join(fleet.dataDir, 'archfarm.db')), false, 'no archfarm.db in the data dir');
    const rows = await withPostgres(fleet.database!.url, async (c) => {
      const builds = await c.query<{ id: string; state: string; digest: string }>('SELECT id, state, digest FROM builds ORDER BY seq');
      const attempts = await c.query<{ build_id: string; n: string }>('SELECT j.build_id, count(*) AS n FROM attempts a JOIN jobs j ON j.id = a.job_id GROUP BY j.build_id');
      return { builds: builds.rows, attempts: new Map(attempts.rows.map((r) => [r.build_id, Number(r.n)])) };
    });
    assert.deepEqual(
      rows.builds.map((b) => [b.id, b.state, b.digest]),
      published.map((b) => [b.id, 'published', b.digest]),
    );
    assert.deepEqual(
      published.map((b) => rows.attempts.get(b.id)),
      [4, 2],
      'one attempt per platform in the database',
    );
  });
});
