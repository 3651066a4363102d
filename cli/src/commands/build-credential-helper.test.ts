import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../cli';
import { ev } from '../testing/events';
import { FakeCoordinator } from '../testing/fake-coordinator';
import { testIo } from '../testing/io';

const SECRET = 'h3lper-Secret';

/** A Docker config naming credential helpers, and a real docker-credential-test on PATH. */
async function setup(t: { after: (fn: () => unknown) => void }, config: object) {
  const fake = await FakeCoordinator.start();
  t.after(() => fake.stop());
  fake.watch = (call) => {
    call.write(ev.finished({ digest: `sha256:${'d'.repeat(64)}` }));
    call.end();
  };
  const dir = await mkdtemp(path.join(tmpdir(), 'archfarm-cred-helper-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'Dockerfile'), 'FROM scratch\n');
  await mkdir(path.join(dir, 'docker'));
  await mkdir(path.join(dir, 'bin'));
  await writeFile(path.join(dir, 'docker', 'config.json'), JSON.stringify(config));
  const helper = path.join(dir, 'bin', 'docker-credential-test');
  await writeFile(helper, `#!/bin/sh\nread -r server\n[ "$server" = 127.0.0.1:5000 ] && printf '{"Username":"ci","Secret":"${SECRET}"}' && exit 0\necho "credentials not found in native keychain"; exit 1\n`);
  await chmod(helper, 0o755);
  const env = { ARCHFARM_COORDINATOR: fake.address, DOCKER_CONFIG: path.join(dir, 'docker'), PATH: `${path.join(dir, 'bin')}:${process.env.PATH ?? ''}` };
  return { fake, io: () => testIo(dir, env) };
}

// The helper is run only when the operator asks for their login to be forwarded.
const build = (tag: string) => ['build', '--platform', 'linux/amd64', '-t', tag, '--progress', 'quiet', '--forward-credentials', '.'];

test("credHelpers' helper supplies the tag's registry credentials; a host it lacks sends none", async (t) => {
  const { fake, io } = await setup(t, { credHelpers: { '127.0.0.1:5000': 'test', 'other.example': 'test' } });
  const run = io();
  assert.equal(await runCli(build('127.0.0.1:5000/hello:1'), run), 0, run.stderr.text);
  assert.deepEqual(fake.submitted[0]?.registryAuth, { registry: '127.0.0.1:5000', username: 'ci', password: SECRET });
  assert.ok(!run.stderr.text.includes(SECRET) && !run.stdout.text.includes(SECRET));

  const other = io();
  assert.equal(await runCli(build('other.example/hello:1'), other), 0, other.stderr.text);
  assert.equal(fake.submitted[1]?.registryAuth, undefined);
});

test('a credsStore helper that is not installed stops the build with exit 2, naming it', async (t) => {
  const { fake, io } = await setup(t, { credsStore: 'archfarm-missing' });
  const run = io();
  assert.equal(await runCli(build('127.0.0.1:5000/hello:1'), run), 2);
  assert.match(run.stderr.text, /^error: docker-credential-archfarm-missing \(named in .*config\.json\) is not on PATH/);
  assert.equal(fake.submitted.length, 0);
});
