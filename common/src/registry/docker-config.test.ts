import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { defaultDockerConfigPath, loadDockerCredentials } from './docker-config';
import { DockerConfigInvalidError } from './errors';

const dir = mkdtempSync(join(tmpdir(), 'archfarm-dockercfg-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function configFile(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

const b64 = (text: string): string => Buffer.from(text).toString('base64');

test('reads base64 auth, splitting at the first colon only', () => {
  const path = configFile('a.json', { auths: { 'reg.example:5000': { auth: b64('ci:pa:ss') } } });
  assert.deepEqual(loadDockerCredentials('reg.example:5000', path), { username: 'ci', password: 'pa:ss' });
});

test('reads username/password fields and keys written as URLs', () => {
  const path = configFile('b.json', { auths: { 'https://reg.example/v2/': { username: 'u', password: 'p' } } });
  assert.deepEqual(loadDockerCredentials('reg.example', path), { username: 'u', password: 'p' });
  assert.equal(loadDockerCredentials('reg.example:5000', path), undefined, 'another port is another registry');
});

test('maps every Docker Hub host name to https://index.docker.io/v1/', () => {
  const path = configFile('c.json', { auths: { 'https://index.docker.io/v1/': { auth: b64('hub:secret') } } });
  for (const host of ['registry-1.docker.io', 'docker.io', 'index.docker.io']) {
    assert.deepEqual(loadDockerCredentials(host, path), { username: 'hub', password: 'secret' }, host);
  }
});

test('a missing file or entry is anonymous; a broken file is an error', () => {
  assert.equal(loadDockerCredentials('reg.example', join(dir, 'none.json')), undefined);
  assert.equal(loadDockerCredentials('other.example', configFile('d.json', { auths: { 'reg.example': { auth: b64('a:b') } } })), undefined);
  assert.equal(loadDockerCredentials('reg.example', configFile('e.json', { credsStore: 'desktop' })), undefined);
  assert.throws(() => loadDockerCredentials('reg.example', configFile('f.json', '{nope')), DockerConfigInvalidError);
  const noColon = configFile('g.json', { auths: { 'reg.example': { auth: b64('nocolon') } } });
  assert.throws(() => loadDockerCredentials('reg.example', noColon), (err: unknown) => {
    assert.ok(err instanceof DockerConfigInvalidError);
    assert.doesNotMatch(err.message, /nocolon/, 'the message never shows the secret');
    return true;
  });
});

test('the default path follows DOCKER_CONFIG, else ~/.docker', () => {
  assert.equal(defaultDockerConfigPath({ DOCKER_CONFIG: '/etc/x' }), '/etc/x/config.json');
  assert.match(defaultDockerConfigPath({}), /\.docker\/config\.json$/);
});
