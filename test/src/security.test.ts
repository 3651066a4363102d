import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { createCa, createKeyAndCsr, signClientCsr } from '@archfarm/common';
import { TestFleet } from './support/fleet';
import { agentClient, agentIdentity, buildClient, clientCertCredentials, failure, operatorCredentials } from './support/grpc';
import { baseImage, makeContext } from './support/context';
import { testRegistry, uniqueRepository } from './support/registry';

describe('only known agents and operators get in', () => {
  let fleet: TestFleet;
  before(async () => {
    fleet = await TestFleet.start([{ name: 'trusted', platforms: 'linux/amd64' }]);
  });
  after(async () => {
    await fleet?.stop();
  });

  /** Starts an agent that must fail to join; resolves to what it printed. */
  async function refusedAgent(name: string, args: string[]): Promise<string> {
    const child = await fleet.addAgent({ name, platforms: 'linux/amd64' }, args);
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.notEqual(code, 0, `${name} must not start`);
    return err;
  }

  test('an agent RPC without a client certificate is refused', async () => {
    const client = agentClient(fleet, operatorCredentials(fleet, null));
    const err = await failure((cb) => client.logOffset({ jobId: 'x', attempt: 1 }, cb));
    assert.equal(err.code, status.UNAUTHENTICATED);
    assert.match(err.details, /client certificate issued by this coordinator's CA/);
  });

  test('a certificate from another CA is refused', async () => {
    const otherCa = await createCa('someone else');
    const { keyPem, csrPem } = await createKeyAndCsr('trusted');
    const forged = await signClientCsr(otherCa, csrPem, { name: 'trusted', validMs: 3600_000 });
    const client = agentClient(fleet, clientCertCredentials(fleet, keyPem, forged.certPem));
    const err = await failure((cb) => client.logOffset({ jobId: 'x', attempt: 1 }, cb));
    assert.equal(err.code, status.UNAUTHENTICATED);
  });

  test('an expired join token is refused', async () => {
    const token = await fleet.createJoinToken(1, ['--ttl', '1s']);
    await new Promise((r) => setTimeout(r, 1500));
    const out = await refusedAgent('late', ['--join-token', token]);
    assert.match(out, /expired/);
  });

  test('a used-up join token is refused', async () => {
    const token = await fleet.createJoinToken(1);
    await fleet.addAgent({ name: 'first-use', platforms: 'linux/amd64' }, ['--join-token', token]);
    await fleet.waitForAgents(['first-use']);
    const out = await refusedAgent('second-use', ['--join-token', token]);
    assert.match(out, /no uses left/);
  });

  test('a wrong CA fingerprint on the agent side is refused before anything is sent', async () => {
    const token = await fleet.createJoinToken(1);
    const out = await refusedAgent('wrong-ca', ['--join-token', token, '--ca-fingerprint', `sha256:${'0'.repeat(64)}`]);
    assert.match(out, /--ca-fingerprint|fingerprint/);
    const again = await fleet.cli(['agents', '--all', '--output', 'json']);
    assert.ok(!again.stdout.includes('wrong-ca'), 'the agent never reached the coordinator');
  });

  test('a revoked agent is cut off and cannot reconnect', async () => {
    const token = await fleet.createJoinToken(1);
    await fleet.addAgent({ name: 'doomed', platforms: 'linux/amd64' }, ['--join-token', token]);
    await fleet.waitForAgents(['doomed']);
    const identity = agentIdentity(fleet, 'doomed');
    const revoked = await fleet.cli(['agents', 'revoke', 'doomed']);
    assert.equal(revoked.code, 0, revoked.stderr);
    const client = agentClient(fleet, clientCertCredentials(fleet, identity.keyPem, identity.certPem));
    const err = await failure((cb) => client.logOffset({ jobId: 'x', attempt: 1 }, cb));
    assert.equal(err.code, status.PERMISSION_DENIED);
    assert.match(err.details, /revoked/);
    const listed = JSON.parse((await fleet.cli(['agents', '--output', 'json'])).stdout) as Array<{ name: string }>;
    assert.ok(!listed.some((a) => a.name === 'doomed'));
  });

  test('roles: a viewer cannot submit or cancel, a builder cannot revoke or create join tokens, an agent cannot list builds', async () => {
    const viewer = (await fleet.cli(['tokens', 'create', '--role', 'viewer'])).stdout.trim();
    const builder = (await fleet.cli(['tokens', 'create', '--role', 'builder'])).stdout.trim();
    const ctx = await makeContext({ Dockerfile: `FROM ${baseImage()}\n` });
    const tag = `${testRegistry()}/${uniqueRepository('roles')}:1`;
    const submit = await fleet.cli(['build', '--platform', 'linux/amd64', '-t', tag, ctx], { ARCHFARM_TOKEN: viewer });
    assert.equal(submit.code, 5, submit.stderr);
    assert.match(submit.stderr, /viewer/);
    assert.equal((await fleet.cli(['cancel', 'abc123'], { ARCHFARM_TOKEN: viewer })).code, 5);
    assert.equal((await fleet.cli(['builds'], { ARCHFARM_TOKEN: viewer })).code, 0, 'a viewer may look');
    assert.equal((await fleet.cli(['agents', 'revoke', 'trusted'], { ARCHFARM_TOKEN: builder })).code, 5);
    assert.equal((await fleet.cli(['tokens', 'create'], { ARCHFARM_TOKEN: builder })).code, 5);
    const id = agentIdentity(fleet, 'trusted');
    const asAgent = buildClient(fleet, clientCertCredentials(fleet, id.keyPem, id.certPem));
    const err = await failure((cb) => asAgent.listBuilds({ limit: 5, schedule: '', states: [], createdWithinMs: 0 }, cb));
    assert.equal(err.code, status.PERMISSION_DENIED);
    const adminAsAgent = await failure((cb) => agentClient(fleet, operatorCredentials(fleet)).logOffset({ jobId: 'x', attempt: 1 }, cb));
    assert.equal(adminAsAgent.code, status.PERMISSION_DENIED, 'an operator token cannot act as an agent');
    const noToken = await failure((cb) => buildClient(fleet, operatorCredentials(fleet, null)).listBuilds({ limit: 5, schedule: '', states: [], createdWithinMs: 0 }, cb));
    assert.equal(noToken.code, status.UNAUTHENTICATED);
    const badToken = await failure((cb) => buildClient(fleet, operatorCredentials(fleet, `afa_${randomBytes(8).toString('hex')}`)).listBuilds({ limit: 5, schedule: '', states: [], createdWithinMs: 0 }, cb));
    assert.equal(badToken.code, status.UNAUTHENTICATED);
  });
});

describe('short-lived agent certificates', () => {
  let fleet: TestFleet | undefined;
  after(async () => {
    await fleet?.stop();
  });

  test('an agent renews its certificate before it expires and stays connected', async () => {
    fleet = await TestFleet.start([{ name: 'renewer', platforms: 'linux/amd64' }], { coordinatorArgs: ['--agent-cert-ttl', '15s'] });
    const before = agentIdentity(fleet, 'renewer');
    const deadline = Date.now() + 40_000;
    while (agentIdentity(fleet, 'renewer').certPem === before.certPem) {
      assert.ok(Date.now() < deadline, 'the certificate was renewed');
      await new Promise((r) => setTimeout(r, 500));
    }
    const after = agentIdentity(fleet, 'renewer');
    assert.notEqual(after.keyPem, before.keyPem, 'a fresh key pair came with it');
    await new Promise((r) => setTimeout(r, 6000));
    await fleet.waitForAgents(['renewer'], 10_000);
    const ctx = await makeContext({ Dockerfile: `FROM ${baseImage()}\nCMD ["uname", "-m"]\n` });
    const res = await fleet.cli(['build', '--platform', 'linux/amd64', '-t', `${testRegistry()}/${uniqueRepository('renewed')}:1`, ctx]);
    assert.equal(res.code, 0, res.stderr);
  });
});
