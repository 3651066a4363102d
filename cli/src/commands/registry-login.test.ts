import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../cli';
import { ExitCode } from '../exit-codes';
import { FakeCoordinator } from '../testing/fake-coordinator';
import { testIo } from '../testing/io';
import { parseRegistry } from './registry-login';

const PASSWORD = 'hunter2-Sup3rSecret';

async function start(t: { after: (fn: () => unknown) => void }): Promise<FakeCoordinator> {
  const fake = await FakeCoordinator.start();
  t.after(() => fake.stop());
  return fake;
}

test('registry login --password-stdin: RegistryLogin with the password, which is never shown', async (t) => {
  const fake = await start(t);
  const io = testIo('/', { ARCHFARM_COORDINATOR: fake.address }, `${PASSWORD}\n`);
  assert.equal(await runCli(['registry', 'login', '127.0.0.1:5000', '-u', 'ci', '--password-stdin'], io), 0, io.stderr.text);
  assert.deepEqual(fake.auth.registryLogins, [{ registry: '127.0.0.1:5000', username: 'ci', password: PASSWORD }]);
  assert.equal(io.stdout.text, '');
  assert.equal(io.stderr.text, `stored the credentials of ci for 127.0.0.1:5000 on the coordinator at ${fake.address}\n`);
});

test('registry login --password works, with a warning about the process list', async (t) => {
  const fake = await start(t);
  const io = testIo('/', { ARCHFARM_COORDINATOR: fake.address });
  assert.equal(await runCli(['registry', 'login', 'https://Reg.Example/v1/', '--username', 'ci', '--password', PASSWORD], io), 0, io.stderr.text);
  assert.deepEqual(fake.auth.registryLogins, [{ registry: 'reg.example', username: 'ci', password: PASSWORD }]);
  assert.match(io.stderr.lines[0]!, /^warning: --password is visible to other users in the process list .*use --password-stdin$/);
  assert.ok(!io.stderr.text.includes(PASSWORD));
});

test('registry login: bad input is exit 2 before connecting, and never echoes the password', async () => {
  const cases: [string[], string, RegExp][] = [
    [['reg.example', '-u', 'ci'], '', /^error: --password-stdin: give the password on stdin/],
    [['reg.example', '-u', 'ci', '--password-stdin'], '', /^error: --password-stdin: stdin was empty/],
    [['reg.example', '-u', 'ci', '--password-stdin', '--password', PASSWORD], PASSWORD, /^error: --password-stdin: and --password both give the password/],
    [['reg.example/team/app', '-u', 'ci', '--password-stdin'], PASSWORD, /^error: REGISTRY: "reg.example\/team\/app" is not a registry host\[:port\]/],
    [['reg.example', '-u', 'c:i', '--password-stdin'], PASSWORD, /^error: --username: "c:i" is not a registry user name/],
    [['reg.example', '--password-stdin'], PASSWORD, /^error: required option '-u, --username <user>' not specified/],
  ];
  for (const [args, stdin, pattern] of cases) {
    const io = testIo('/', {}, stdin);
    assert.equal(await runCli(['registry', 'login', '--coordinator', '127.0.0.1:1', ...args], io), ExitCode.badInput, args.join(' '));
    assert.match(io.stderr.text, pattern);
    assert.ok(!io.stderr.text.includes(PASSWORD) && !io.stdout.text.includes(PASSWORD), args.join(' '));
  }
});

test("registries are named as image references name them: Docker Hub's aliases are one", () => {
  assert.equal(parseRegistry('docker.io'), 'registry-1.docker.io');
  assert.equal(parseRegistry('https://index.docker.io/v1/'), 'registry-1.docker.io');
  assert.equal(parseRegistry('GHCR.io'), 'ghcr.io');
  assert.equal(parseRegistry('localhost:5000'), 'localhost:5000');
  assert.equal(parseRegistry('[::1]:5000'), '[::1]:5000');
  assert.throws(() => parseRegistry(''), /REGISTRY: "" is not a registry/);
});

test('registry logout: RegistryLogout of the normalised host, says whether anything was removed', async (t) => {
  const fake = await start(t);
  fake.auth.registryLogins.push({ registry: '127.0.0.1:5000', username: 'ci', password: PASSWORD });
  const io = testIo('/', { ARCHFARM_COORDINATOR: fake.address });
  assert.equal(await runCli(['registry', 'logout', 'https://127.0.0.1:5000/v2/'], io), 0, io.stderr.text);
  assert.deepEqual(fake.auth.registryLogouts, ['127.0.0.1:5000']);
  assert.equal(io.stderr.text, `removed the credentials for 127.0.0.1:5000 from the coordinator at ${fake.address}\n`);
  const none = testIo('/', { ARCHFARM_COORDINATOR: fake.address });
  assert.equal(await runCli(['registry', 'logout', 'ghcr.io'], none), 0, none.stderr.text);
  assert.match(none.stderr.text, /^no credentials were stored for ghcr.io/);
});
