import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { caFingerprint } from '@archfarm/common';
import { runCli } from '../cli';
import { ExitCode } from '../exit-codes';
import { FakeCoordinator } from '../testing/fake-coordinator';
import { testIo } from '../testing/io';
import { OTHER_TLS, TEST_TLS, TEST_TOKEN } from '../testing/tls';

const FP = caFingerprint(TEST_TLS.caPem);

async function setup(t: { after: (fn: () => unknown) => void }) {
  const fake = await FakeCoordinator.start();
  t.after(() => fake.stop());
  const dir = mkdtempSync(path.join(tmpdir(), 'archfarm-login-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = path.join(dir, 'archfarm', 'config.json');
  // A fresh machine: no CA, no token, only where the config goes.
  const env = { ARCHFARM_CONFIG: config, ARCHFARM_CA_FILE: undefined, ARCHFARM_TOKEN: undefined };
  return { fake, config, env };
}

test('login pins the CA by fingerprint, checks the token, stores all three 0600; later commands need nothing else', async (t) => {
  const { fake, config, env } = await setup(t);
  const io = testIo('/', env, `${TEST_TOKEN}\n`);
  assert.equal(await runCli(['login', '--coordinator', fake.address, '--ca-fingerprint', FP, '--token-stdin'], io), 0, io.stderr.text);
  assert.equal(io.stdout.text, '');
  assert.equal(io.stderr.text, `logged in to ${fake.address} as admin\n`);
  assert.deepEqual(JSON.parse(readFileSync(config, 'utf8')), { coordinator: fake.address, token: TEST_TOKEN, caPem: TEST_TLS.caPem });
  assert.equal(statSync(config).mode & 0o777, 0o600);
  assert.equal(statSync(path.dirname(config)).mode & 0o777, 0o700);
  assert.deepEqual(fake.auth.calls, [`WhoAmI Bearer ${TEST_TOKEN}`]);

  const agents = testIo('/', env);
  assert.equal(await runCli(['agents'], agents), 0, agents.stderr.text);
  assert.deepEqual(fake.auth.calls.at(-1), `ListAgents Bearer ${TEST_TOKEN}`);
});

test('login with --token; a new token replaces the stored one and keeps the stored CA', async (t) => {
  const { fake, config, env } = await setup(t);
  const first = testIo('/', env);
  assert.equal(await runCli(['login', '--coordinator', fake.address, '--ca-fingerprint', FP, '--token', TEST_TOKEN], first), 0, first.stderr.text);
  fake.auth.roles.set('af_builder', 'builder');
  const again = testIo('/', env);
  assert.equal(await runCli(['login', '--token', 'af_builder'], again), 0, again.stderr.text);
  assert.equal(again.stderr.text, `logged in to ${fake.address} as builder\n`);
  assert.equal((JSON.parse(readFileSync(config, 'utf8')) as { token: string }).token, 'af_builder');
});

test('a refused token, a wrong fingerprint or no token store nothing and never print the token', async (t) => {
  const { fake, config, env } = await setup(t);
  const bad = testIo('/', env, 'af_wrong_secret\n');
  assert.equal(await runCli(['login', '--coordinator', fake.address, '--ca-fingerprint', FP, '--token-stdin'], bad), ExitCode.notAllowed);
  assert.equal(bad.stderr.text, 'error: the API token is not known to this coordinator; run `archfarm login` with a valid token\n');
  assert.ok(!existsSync(config));

  const wrong = testIo('/', env);
  assert.equal(await runCli(['login', '--coordinator', fake.address, '--ca-fingerprint', caFingerprint(OTHER_TLS.caPem), '--token', TEST_TOKEN], wrong), ExitCode.notAllowed);
  assert.match(wrong.stderr.text, /check --ca-fingerprint\n$/);
  assert.ok(!existsSync(config));

  const none = testIo('/', env);
  assert.equal(await runCli(['login', '--coordinator', fake.address, '--ca-fingerprint', FP], none), ExitCode.badInput);
  assert.match(none.stderr.text, /^error: --token: login needs a token: --token T, --token-stdin or ARCHFARM_TOKEN/);
  const both = testIo('/', env, 'x\n');
  assert.equal(await runCli(['login', '--token', 'y', '--token-stdin', '--ca-fingerprint', FP], both), ExitCode.badInput);
  const empty = testIo('/', env, '\n');
  assert.equal(await runCli(['login', '--token-stdin', '--ca-fingerprint', FP], empty), ExitCode.badInput);
  assert.match(empty.stderr.text, /^error: --token-stdin: stdin was empty/);
  const insecure = testIo('/', env);
  assert.equal(await runCli(['login', '--insecure', '--token', 'x'], insecure), ExitCode.badInput);
  assert.match(insecure.stderr.text, /^error: --insecure: a dev coordinator checks no token/);
  for (const io of [bad, wrong, none, both, empty, insecure]) {
    assert.ok(!io.stderr.text.includes('af_wrong_secret') && !io.stdout.text.includes(TEST_TOKEN));
  }
  assert.ok(!existsSync(config));
});
