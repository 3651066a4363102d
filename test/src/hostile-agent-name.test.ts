import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import type { ListAgentsResponse } from '@archfarm/proto';
import { SecureCoordinator, call, refusal, type AgentKeys } from './support/secure-coordinator';

/*
 * Threat 1 (issue 15): any join token took over an enrolled agent's name. The impostor kicked
 * the real agent off and got its jobs; revoking the name then locked out the real one too.
 * Now a name is one enrolment until an admin forgets it, and revocation is of that enrolment.
 */

let farm: SecureCoordinator;
before(async () => {
  farm = await SecureCoordinator.start();
});
after(async () => {
  await farm?.stop();
});

/** A call only an accepted agent certificate gets through (RenewCertificate needs one and nothing else). */
async function agentCall(name: string, keys: AgentKeys): Promise<void> {
  await farm.renew(name, keys);
}

async function connectedNames(): Promise<string[]> {
  const builds = farm.builds();
  const { agents } = await call<ListAgentsResponse>((cb) => builds.listAgents({ all: false }, cb));
  return agents.map((a) => a.name).sort();
}

test('a second join token cannot take over an enrolled name; the real agent stays connected', async () => {
  const real = await farm.enrol('pi-1', await farm.joinToken());
  const stream = await farm.connect('pi-1', real);
  assert.deepEqual(await connectedNames(), ['pi-1']);

  const impostorToken = await farm.joinToken();
  const err = await refusal(farm.enrol('pi-1', impostorToken));
  assert.equal(err.code, status.ALREADY_EXISTS);
  assert.match(err.details, /agent name pi-1 is already enrolled/);
  assert.match(err.details, /archfarm agents forget pi-1/, 'the refusal names the fix');

  await new Promise((r) => setTimeout(r, 300));
  assert.equal(stream.ended, false, 'the real agent was not kicked off');
  assert.deepEqual(await connectedNames(), ['pi-1']);
  await agentCall('pi-1', real);
  // The refused token was not spent: it still enrols a machine under a free name.
  await farm.enrol('pi-impostor-elsewhere', impostorToken);
  stream.close();
});

test('revoking refuses that enrolment (renewed certificates too) and re-enrolling the name is refused', async () => {
  const first = await farm.enrol('pi-2', await farm.joinToken());
  const renewed = await farm.renew('pi-2', first);
  await agentCall('pi-2', renewed);
  const auth = farm.auth();
  await call((cb) => auth.revokeAgent({ name: 'pi-2' }, cb));
  for (const keys of [first, renewed]) {
    const err = await refusal(agentCall('pi-2', keys));
    assert.equal(err.code, status.PERMISSION_DENIED);
    assert.match(err.details, /pi-2 was revoked/);
  }
  const again = await refusal(farm.enrol('pi-2', await farm.joinToken()));
  assert.equal(again.code, status.ALREADY_EXISTS, 'a revocation cannot be bypassed by enrolling again');
  assert.match(again.details, /already enrolled \(and revoked\)/);
});

test('after forget a new enrolment of the name works; the old revoked one stays refused', async () => {
  const old = await farm.enrol('pi-3', await farm.joinToken());
  const oldStream = await farm.connect('pi-3', old);
  const auth = farm.auth();
  await call((cb) => auth.revokeAgent({ name: 'pi-3' }, cb));
  const builder = farm.auth(farm.operator(await builderToken()));
  const denied = await refusal(call((cb) => builder.forgetAgent({ name: 'pi-3' }, cb)));
  assert.equal(denied.code, status.PERMISSION_DENIED, 'only an admin frees a name');
  await call((cb) => auth.forgetAgent({ name: 'pi-3' }, cb));
  const unknown = await refusal(call((cb) => auth.forgetAgent({ name: 'pi-3' }, cb)));
  assert.equal(unknown.code, status.NOT_FOUND);

  const replacement = await farm.enrol('pi-3', await farm.joinToken());
  const stream = await farm.connect('pi-3', replacement);
  await agentCall('pi-3', replacement);
  assert.ok((await connectedNames()).includes('pi-3'), 'the earlier revocation does not lock out the new enrolment');
  const err = await refusal(agentCall('pi-3', old));
  assert.equal(err.code, status.PERMISSION_DENIED, 'the old certificate is not the new enrolment');
  assert.equal(oldStream.ended, true);

  // Forgetting a connected, unrevoked agent cuts it off too.
  await call((cb) => auth.forgetAgent({ name: 'pi-3' }, cb));
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(!(await connectedNames()).includes('pi-3'));
  assert.equal((await refusal(agentCall('pi-3', replacement))).code, status.PERMISSION_DENIED);
  stream.close();
});

async function builderToken(): Promise<string> {
  const auth = farm.auth();
  const res = await call<{ token: string }>((cb) => auth.createToken({ kind: 'builder', ttlSeconds: 0, neverExpires: false, uses: 0, labels: {}, description: '' }, cb));
  return res.token;
}
