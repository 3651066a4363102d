import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { createKeyAndCsr } from '@archfarm/common';
import type { BuildPlan, EnrolResponse, ListAgentsResponse } from '@archfarm/proto';
import { SecureCoordinator, buildRequest, call, refusal } from './support/secure-coordinator';

/*
 * Threat 12 (issue 15): a join token was spent before the CSR and the name were checked, so
 * a typo burnt a one-use token; its labels were stored but never applied, and an agent's own
 * labels were trusted, so `--require-label` was no boundary. Now the token is spent only with
 * a successful enrolment, and its labels outrank the agent's own.
 */

let farm: SecureCoordinator;
before(async () => {
  farm = await SecureCoordinator.start();
});
after(async () => {
  await farm?.stop();
});

test('a refused enrolment (bad CSR, CSR for another name, bad name, taken name) does not spend a one-use token', async () => {
  const token = await farm.joinToken(1);
  const auth = farm.auth(farm.operator(null));
  const notACsr = await refusal(call<EnrolResponse>((cb) => auth.enrol({ joinToken: token, name: 'pi-a', csrPem: 'not a CSR' }, cb)));
  assert.equal(notACsr.code, status.INVALID_ARGUMENT);
  const otherName = await refusal(farm.enrol('pi-a', token, 'pi-b'));
  assert.match(otherName.details, /asks for CN/);
  const { csrPem } = await createKeyAndCsr('bad name');
  const badName = await refusal(call<EnrolResponse>((cb) => auth.enrol({ joinToken: token, name: 'bad name', csrPem }, cb)));
  assert.equal(badName.code, status.INVALID_ARGUMENT);
  await farm.enrol('pi-taken', await farm.joinToken(1));
  assert.equal((await refusal(farm.enrol('pi-taken', token))).code, status.ALREADY_EXISTS);

  // Every refusal above left the token whole: its one use enrols this agent.
  await farm.enrol('pi-a', token);
  const spent = await refusal(farm.enrol('pi-c', token));
  assert.match(spent.details, /no uses left/);
});

test("the join token's labels are applied to the agent and outrank the labels it gives itself", async () => {
  const secure = await farm.enrol('secure-1', await farm.joinToken(1, { zone: 'secure' }));
  const pretender = await farm.enrol('pretender', await farm.joinToken(1, { zone: 'public' }));
  const a = await farm.connect('secure-1', secure, { zone: 'other', arch: 'fast' });
  const b = await farm.connect('pretender', pretender, { zone: 'secure' });
  const builds = farm.builds();
  const { agents } = await call<ListAgentsResponse>((cb) => builds.listAgents({ all: false }, cb));
  const labels = Object.fromEntries(agents.map((x) => [x.name, x.labels]));
  assert.deepEqual(labels['secure-1'], { zone: 'secure', arch: 'fast' }, "the token's label wins; the agent's other labels stay");
  assert.deepEqual(labels.pretender, { zone: 'public' }, 'an agent cannot claim a label its token set otherwise');

  // --require-label zone=secure is a boundary: only the agent whose token says so is eligible.
  const digest = await farm.upload('FROM scratch\n');
  const plan = await call<BuildPlan>((cb) => builds.planBuild(buildRequest(digest, { requireLabels: { zone: 'secure' } }), cb));
  assert.equal(plan.jobs[0]?.agent, 'secure-1', JSON.stringify(plan));
  a.close();
  await new Promise((r) => setTimeout(r, 300));
  const without = await call<BuildPlan>((cb) => builds.planBuild(buildRequest(digest, { requireLabels: { zone: 'secure' } }), cb));
  assert.equal(without.jobs[0]?.agent ?? '', '', `the pretender must not be placed: ${JSON.stringify(without)}`);
  b.close();
});
