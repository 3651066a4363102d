import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Metadata, status } from '@grpc/grpc-js';
import { connectBuildService } from './client';
import { CoordinatorLostError } from './errors';
import { exitCodeFor } from './exit-codes';
import type { ReattachNote } from './reattach';
import { FakeCoordinator } from './testing/fake-coordinator';
import { watchBuild } from './watch';

/** Waits of a few milliseconds and a bound of a fraction of a second, in place of REATTACH's. */
const QUICK = { firstDelayMs: 10, maxDelayMs: 40, giveUpAfterMs: 400 };

async function start(t: { after: (fn: () => unknown) => void }) {
  const fake = await FakeCoordinator.start();
  t.after(() => fake.stop());
  const client = connectBuildService(fake.connection());
  t.after(() => client.close());
  const metadata = new Metadata();
  metadata.set('archfarm-code', 'BUILD_NOT_RESTORED');
  fake.watch = (call) => call.emit('error', { code: status.UNAVAILABLE, details: 'not restored yet', metadata });
  return { fake, client };
}

test('a loss that outlasts the bound ends in CoordinatorLostError (exit 3), after one note', async (t) => {
  const { fake, client } = await start(t);
  const notes: ReattachNote[] = [];
  const watch = watchBuild(client, fake.address, 'b1', { onEvent: () => undefined, onNote: (n) => notes.push(n), policy: QUICK });
  const err = await watch.finished.then(
    () => assert.fail('it gave up'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof CoordinatorLostError, String(err));
  assert.equal(exitCodeFor(err), 3);
  assert.match(err.message, /could not re-attach for 0 s; build b1 may still be running \(`archfarm logs -f b1` follows it\)$/);
  assert.deepEqual(notes, [{ type: 'lost', reason: 'BUILD_NOT_RESTORED' }]);
  assert.ok(fake.watchers.length >= 3, `it kept trying: ${fake.watchers.length} calls`);
  assert.ok(fake.watchers.slice(1).every((c) => c.request.resume));
});

test('stop() while waiting to re-attach: no further call', async (t) => {
  const { fake, client } = await start(t);
  const watch = watchBuild(client, fake.address, 'b1', { onEvent: () => undefined, onNote: () => {}, policy: { firstDelayMs: 200, maxDelayMs: 400, giveUpAfterMs: 60_000 } });
  while (fake.watchers.length === 0) await sleep(5);
  await sleep(50);
  watch.stop();
  await sleep(400);
  assert.equal(fake.watchers.length, 1);
});
