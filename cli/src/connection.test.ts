import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { caFingerprint } from '@archfarm/common';
import { runCli } from './cli';
import { ExitCode } from './exit-codes';
import { tlsDetail } from './rpc';
import { details } from './testing/details';
import { FakeCoordinator } from './testing/fake-coordinator';
import { testIo } from './testing/io';
import { OTHER_TLS, TEST_TLS, TEST_TOKEN, testCaFile } from './testing/tls';

async function start(t: { after: (fn: () => unknown) => void }, tls?: Parameters<typeof FakeCoordinator.start>[0]): Promise<FakeCoordinator> {
  const fake = await FakeCoordinator.start(tls);
  t.after(() => fake.stop());
  return fake;
}

test('every call, unary or streaming, goes over TLS with the bearer token', async (t) => {
  const fake = await start(t);
  fake.builds.set('b1', details.build());
  for (const args of [['agents'], ['builds'], ['logs', 'b1'], ['cancel', 'b1']]) {
    const io = testIo('/', { ARCHFARM_COORDINATOR: fake.address });
    assert.equal(await runCli(args, io), 0, `${args.join(' ')}: ${io.stderr.text}`);
  }
  assert.deepEqual(fake.auth.calls, [
    `ListAgents Bearer ${TEST_TOKEN}`,
    `ListBuilds Bearer ${TEST_TOKEN}`,
    `InspectBuild Bearer ${TEST_TOKEN}`,
    `StreamLogs Bearer ${TEST_TOKEN}`,
    `CancelBuild Bearer ${TEST_TOKEN}`,
  ]);
});

test('a coordinator whose certificate another CA signed is refused before any call: exit 5', async (t) => {
  const fake = await start(t, OTHER_TLS);
  const io = testIo('/', { ARCHFARM_COORDINATOR: fake.address });
  assert.equal(await runCli(['agents'], io), ExitCode.notAllowed);
  assert.match(io.stderr.text, new RegExp(`^error: the coordinator at ${fake.address} failed the TLS check \\(self-signed certificate in certificate chain\\); is this the coordinator`));
  assert.deepEqual(fake.auth.calls, [], 'the token never left');

  const plain = await start(t, 'insecure');
  const tls = testIo('/', { ARCHFARM_COORDINATOR: plain.address });
  assert.equal(await runCli(['agents'], tls), ExitCode.notAllowed);
  assert.match(tls.stderr.text, /failed the TLS check \(it does not speak TLS\); .* a coordinator started with --insecure needs --insecure here\n$/);
});

test('--ca-fingerprint fetches the CA and pins it; a wrong one is refused before the token is sent', async (t) => {
  const fake = await start(t);
  const fp = caFingerprint(TEST_TLS.caPem);
  const io = testIo('/', { ARCHFARM_CA_FILE: undefined });
  assert.equal(await runCli(['agents', '--coordinator', fake.address, '--ca-fingerprint', fp], io), 0, io.stderr.text);
  assert.deepEqual(fake.auth.calls, [`ListAgents Bearer ${TEST_TOKEN}`]);

  const wrong = testIo('/', { ARCHFARM_CA_FILE: undefined, ARCHFARM_CA_FINGERPRINT: caFingerprint(OTHER_TLS.caPem) });
  assert.equal(await runCli(['agents', '--coordinator', fake.address], wrong), ExitCode.notAllowed);
  assert.equal(wrong.stderr.text, `error: the coordinator's CA is ${fp}, not the ${caFingerprint(OTHER_TLS.caPem)} you gave: check --ca-fingerprint\n`);
  assert.equal(fake.auth.calls.length, 1);

  const closed = testIo('/', { ARCHFARM_CA_FILE: undefined });
  assert.equal(await runCli(['agents', '--coordinator', '127.0.0.1:1', '--ca-fingerprint', fp], closed), ExitCode.unreachable);
  assert.match(closed.stderr.text, /^error: cannot fetch the CA from 127.0.0.1:1: /);
});

test('--insecure talks plain text to a dev coordinator, with a warning on stderr', async (t) => {
  const fake = await start(t, 'insecure');
  const io = testIo('/', { ARCHFARM_COORDINATOR: fake.address });
  assert.equal(await runCli(['agents', '--insecure'], io), 0, io.stderr.text);
  assert.equal(
    io.stderr.text,
    `warning: --insecure: talking to the coordinator at ${fake.address} in plain text, without checking who it is (dev mode only)\n` +
      `no agents are connected to the coordinator at ${fake.address}\n`,
  );
  const env = testIo('/', { ARCHFARM_COORDINATOR: fake.address, ARCHFARM_INSECURE: '1', ARCHFARM_CA_FILE: undefined });
  assert.equal(await runCli(['agents'], env), 0, env.stderr.text);
  assert.match(env.stderr.text, /^warning: ARCHFARM_INSECURE: talking to the coordinator/);
  const remote = testIo('/');
  assert.equal(await runCli(['agents', '--insecure', '--coordinator', '10.0.0.5'], remote), ExitCode.badInput);
  assert.match(remote.stderr.text, /^error: --insecure: only for a dev coordinator on this machine/);
});

test('no CA: the login hint, exit 2, nothing sent', async () => {
  const io = testIo('/', { ARCHFARM_CA_FILE: undefined });
  assert.equal(await runCli(['builds', '--coordinator', '127.0.0.1:1'], io), ExitCode.badInput);
  assert.equal(
    io.stderr.text,
    'error: no CA for the coordinator at 127.0.0.1:1: run `archfarm login --coordinator HOST:PORT --token T --ca-fingerprint sha256:...` ' +
      '(or give --ca-file, --ca-fingerprint or, for a dev coordinator on this machine, --insecure)\n',
  );
  const noToken = testIo('/', { ARCHFARM_TOKEN: undefined, ARCHFARM_CA_FILE: testCaFile() });
  assert.equal(await runCli(['builds', '--coordinator', '127.0.0.1:1'], noToken), ExitCode.badInput);
  assert.match(noToken.stderr.text, /^error: no API token for the coordinator at 127.0.0.1:1: run `archfarm login`/);
});

test("refused tokens and roles exit 5 in the coordinator's words", async (t) => {
  const fake = await start(t);
  const unknown = testIo('/', { ARCHFARM_COORDINATOR: fake.address, ARCHFARM_TOKEN: 'af_unknown' });
  assert.equal(await runCli(['agents'], unknown), ExitCode.notAllowed);
  assert.equal(unknown.stderr.text, 'error: the API token is not known to this coordinator; run `archfarm login` with a valid token\n');

  fake.auth.roles.set('af_viewer', 'viewer');
  fake.auth.refuse = (rpc, role) => (rpc === 'CancelBuild' && role === 'viewer' ? { code: status.PERMISSION_DENIED, details: `this token's role viewer may not cancel builds` } : undefined);
  fake.builds.set('b1', details.build());
  const viewer = testIo('/', { ARCHFARM_COORDINATOR: fake.address, ARCHFARM_TOKEN: 'af_viewer' });
  assert.equal(await runCli(['cancel', 'b1'], viewer), ExitCode.notAllowed);
  assert.equal(viewer.stderr.text, "error: this token's role viewer may not cancel builds\n");
  assert.deepEqual(fake.cancelled, []);
  // The same role may still look.
  assert.equal(await runCli(['builds'], testIo('/', { ARCHFARM_COORDINATOR: fake.address, ARCHFARM_TOKEN: 'af_viewer' })), 0);
});

test("tlsDetail keeps grpc-js's reason and cuts OpenSSL's codes", () => {
  assert.equal(tlsDetail('No connection established. Last error: Error: self-signed certificate in certificate chain. Resolution note: '), 'self-signed certificate in certificate chain');
  assert.equal(
    tlsDetail('No connection established. Last error: Error: 80:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../ssl3_record.c:350:\n. Resolution note: '),
    'it does not speak TLS',
  );
  assert.equal(tlsDetail("Hostname/IP does not match certificate's altnames"), "Hostname/IP does not match certificate's altnames");
});
