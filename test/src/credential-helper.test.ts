import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestFleet } from './support/fleet';
import { AuthRegistry } from './support/auth-registry';
import { baseImage, makeContext } from './support/context';
import { uniqueRepository } from './support/registry';
import { run } from './support/processes';

// A Docker credential helper, as Docker Desktop, ECR and GCR users have: the password of an
// htpasswd registry lives only in what docker-credential-test prints, the Docker config only
// names the helper (credHelpers), and the coordinator holds no login of its own.
let fleet: TestFleet;
let registry: AuthRegistry;
let dir: string;
const password = `pw-${randomBytes(12).toString('hex')}`;

before(async () => {
  registry = await AuthRegistry.start('helped', password);
  fleet = await TestFleet.start([{ name: 'pusher', platforms: 'linux/amd64' }]);
  dir = await mkdtemp(join(tmpdir(), 'archfarm-cred-helper-e2e-'));
  await mkdir(join(dir, 'bin'));
  await mkdir(join(dir, 'docker'));
  const helper = join(dir, 'bin', 'docker-credential-test');
  // It logs what it was asked for (never the secret) and answers as docker-credential-helpers do.
  await writeFile(
    helper,
    [
      '#!/bin/sh',
      '[ "$1" = get ] || exit 9',
      'read -r server',
      `echo "$server" >> ${join(dir, 'asked.log')}`,
      `[ "$server" = "${registry.address}" ] && printf '{"ServerURL":"%s","Username":"helped","Secret":"${password}"}' "$server" && exit 0`,
      'echo "credentials not found in native keychain"; exit 1',
      '',
    ].join('\n'),
  );
  await chmod(helper, 0o755);
  await writeFile(join(dir, 'docker', 'config.json'), JSON.stringify({ credHelpers: { [registry.address]: 'test' } }));
});
after(async () => {
  await fleet?.stop();
  await registry?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const helperEnv = () => ({ DOCKER_CONFIG: join(dir, 'docker'), PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}` });

async function allFiles(root: string): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  for (const entry of await readdir(root, { recursive: true })) {
    const path = join(root, entry);
    if ((await stat(path)).isFile()) out.push([path, await readFile(path, 'latin1')]);
  }
  return out;
}

test('credHelpers names docker-credential-test, which supplies the password; the build publishes there', async () => {
  const tag = `${registry.address}/${uniqueRepository('helper')}:1`;
  const ctx = await makeContext({ Dockerfile: `FROM ${baseImage()}\nRUN echo helped build\n` });
  const build = await fleet.cli(['build', '--platform', 'linux/amd64', '-t', tag, '--progress', 'plain', '--forward-credentials', ctx], helperEnv());
  assert.equal(build.code, 0, build.stderr);
  assert.deepEqual((await readFile(join(dir, 'asked.log'), 'utf8')).trim().split('\n'), [registry.address], 'the helper was asked for that registry, once');
  const inspected = await run('skopeo', ['inspect', '--tls-verify=false', '--raw', '--creds', `helped:${password}`, `docker://${tag}`]);
  assert.equal(inspected.code, 0, inspected.stderr);
  const anonymous = await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${tag}`]);
  assert.notEqual(anonymous.code, 0, 'the registry really demands a login');
  for (const text of [build.stdout, build.stderr, ...fleet.logs]) assert.ok(!text.includes(password), 'the password is in no output and no process log');
  for (const [path, text] of await allFiles(fleet.dir)) assert.ok(!text.includes(password), `the password is not in ${path}`);
});

test('a helper the config names but PATH lacks: exit 2, naming docker-credential-NAME, before anything is sent', async () => {
  const tag = `${registry.address}/${uniqueRepository('nohelper')}:1`;
  const ctx = await makeContext({ Dockerfile: `FROM ${baseImage()}\n` });
  const build = await fleet.cli(['build', '--platform', 'linux/amd64', '-t', tag, '--forward-credentials', ctx], { DOCKER_CONFIG: join(dir, 'docker'), PATH: '/usr/bin:/bin' });
  assert.equal(build.code, 2, build.stderr);
  assert.match(build.stderr, /docker-credential-test \(named in .*config\.json\) is not on PATH/);
});
