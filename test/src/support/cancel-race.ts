import assert from 'node:assert/strict';
import type { TestFleet } from './fleet';
import type { DelayProxy } from './delay-proxy';
import { waitFor, type Inspected } from './builds';
import { testRegistry, uniqueRepository } from './registry';
import { coordinatorTail, ended, manifestDigest, skopeoRaw, submit } from './lifecycle';

// One round of "cancel racing publish" (lifecycle.test.ts): a build, a cancel fired at a
// chosen moment around its publish, and a check that the CLI's answer and the registry agree.

/** When, around the end of a build, a round fires `archfarm cancel`. */
export type Moment = 'publish-get' | 'index-put' | 'after-success' | 'inspect-publishing' | 'after-publish-get' | 'after-published';
export const MOMENTS: Moment[] = ['publish-get', 'index-put', 'after-success', 'inspect-publishing', 'after-publish-get', 'after-published'];
/** How long the proxy holds the publish's manifest GETs and the index PUT: a window another process can hit. */
export const HOLD_MS = 1500;

/** One build, one cancel at `moment`; checks that the CLI's answer and the registry agree. */
export async function raceRound(fleet: TestFleet, proxy: DelayProxy, ctx: string, moment: Moment): Promise<{ side: 'cancelled' | 'published'; whilePublishing: boolean }> {
  const repo = uniqueRepository('race');
  const id = await submit(fleet, ['--platform', 'linux/amd64', '-t', `${proxy.address}/${repo}:1`, ctx]);
  await reach(fleet, proxy, id, repo, moment);
  const answer = await fleet.cli(['cancel', id]);
  const done = await waitFor(fleet, id, ended, 60_000, `build ${id} to end after the cancel`);
  // Straight to the registry, past the proxy: what a user pulling the tag would see.
  const raw = await skopeoRaw(`${testRegistry()}/${repo}:1`);
  const whilePublishing = fleet.coordinatorLines('cancel requested while publishing').some((l) => l.buildId === id);
  const what = `${moment}: cancel exited ${answer.code}, said ${JSON.stringify(answer.stderr.trim())}; build ${done.state}; skopeo exited ${raw.code}`;
  if (answer.code === 0) {
    assert.match(answer.stderr, new RegExp(`cancelled ${id}`), `${what}\n${coordinatorTail(fleet)}`);
    assert.notEqual(raw.code, 0, `said cancelled, yet the tag is in the registry (${what})\n${coordinatorTail(fleet)}`);
    assert.equal(done.state, 'cancelled', what);
    return { side: 'cancelled', whilePublishing };
  }
  assert.match(answer.stderr, /already published/, `a failed cancel must say the build was published (${what})\n${coordinatorTail(fleet)}`);
  assert.equal(raw.code, 0, `said published, yet no tag (${what}): ${raw.stderr}`);
  assert.equal(done.state, 'published', what);
  assert.equal(manifestDigest(raw.stdout), done.digest, `the tag holds the build's index (${what})`);
  return { side: 'published', whilePublishing };
}

/** Waits for `moment` of build `id`, whose tag is `repo`:1 behind `proxy`. */
async function reach(fleet: TestFleet, proxy: DelayProxy, id: string, repo: string, moment: Moment): Promise<void> {
  const escaped = repo.replace(/[/.-]/g, (c) => `\\${c}`);
  const publishGet = new RegExp(`^GET /v2/${escaped}/manifests/sha256:`);
  const random = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.floor(Math.random() * ms)));
  const jobDone = (b: Inspected) => ended(b) || b.state === 'publishing' || b.platforms.every((p) => p.state === 'succeeded');
  switch (moment) {
    case 'publish-get':
      await proxy.next(publishGet);
      return;
    case 'index-put':
      await proxy.next(new RegExp(`^PUT /v2/${escaped}/manifests/1 `));
      return;
    case 'after-success':
      await waitFor(fleet, id, jobDone, 60_000, `the job of ${id} to succeed`);
      return random(3 * HOLD_MS);
    case 'inspect-publishing':
      await waitFor(fleet, id, (b) => b.state !== 'running', 60_000, `build ${id} to publish`);
      return;
    case 'after-publish-get':
      await proxy.next(publishGet);
      return random(2 * HOLD_MS);
    case 'after-published':
      await waitFor(fleet, id, ended, 60_000, `build ${id} to be published`);
      return;
  }
}
