import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TestFleet } from './support/fleet';
import { AuthRegistry } from './support/auth-registry';
import { baseImage, makeContext } from './support/context';
import { uniqueRepository } from './support/registry';
import { run } from './support/processes';

let fleet: TestFleet;
let registry: AuthRegistry;
const password = `pw-${randomBytes(12).toString('hex')}`;

before(async () => {
  registry = await AuthRegistry.start('builder', password);
  fleet = await TestFleet.start([{ name: 'pusher', platforms: 'linux/amd64,linux/arm64' }]);
});
after(async () => {
  await fleet?.stop();
  await registry?.stop();
});

/** Every file under `dir` (logs, state, the store) as text, to search for a leaked secret. */
async function allFiles(dir: string): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  for (const entry of await readdir(dir, { recursive: true })) {
    const path = join(dir, entry);
    if ((await stat(path)).isFile()) out.push([path, await readFile(path, 'latin1')]);
  }
  return out;
}

test('a build against an htpasswd registry works after `archfarm registry login`, and the password leaks nowhere', async () => {
  const outputs: string[] = [];
  const login = await fleet.cli(['registry', 'login', registry.address, '-u', 'builder', '--password-stdin'], {}, `${password}\n`);
  outputs.push(login.stdout, login.stderr);
  assert.equal(login.code, 0, login.stderr);
  const tag = `${registry.address}/${uniqueRepository('private')}:1`;
  const ctx = await makeContext({ Dockerfile: `FROM ${baseImage()}\nRUN echo private build\n` });
  // No Docker config of the user is involved: the coordinator's stored login must do it.
  const build = await fleet.cli(['build', '--platform', 'linux/amd64,linux/arm64', '-t', tag, '--no-docker-config', '--progress', 'plain', ctx]);
  outputs.push(build.stdout, build.stderr);
  assert.equal(build.code, 0, build.stderr);
  const inspected = await run('skopeo', ['inspect', '--tls-verify=false', '--raw', '--creds', `builder:${password}`, `docker://${tag}`]);
  assert.equal(inspected.code, 0, inspected.stderr);
  const anonymous = await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${tag}`]);
  assert.notEqual(anonymous.code, 0, 'the registry really demands a login');
  for (const text of [...outputs, ...fleet.logs]) assert.ok(!text.includes(password), 'the password is in no CLI output and no process log');
  for (const [path, text] of await allFiles(fleet.dir)) assert.ok(!text.includes(password), `the password is not in ${path}`);
});
