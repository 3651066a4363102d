import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { defaultDockerConfigPath, loadDockerCredentials } from './docker-config';
import { CredentialHelperError, DockerConfigInvalidError } from './errors';

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

/**
 * Real helper programs on PATH, as Docker Desktop, ECR and GCR install theirs: each logs the
 * server it was asked for, then answers as docker-credential-helpers do.
 */
const bin = join(dir, 'bin');
const asked = join(dir, 'asked.log');
function helper(name: string, body: string): void {
  writeFileSync(join(bin, `docker-credential-${name}`), `#!/bin/sh\n[ "$1" = get ] || exit 9\nread -r server\necho "${name} $server" >> ${asked}\n${body}\n`);
  chmodSync(join(bin, `docker-credential-${name}`), 0o755);
}

mkdirSync(bin, { recursive: true });
helper('test', `case "$server" in
  127.0.0.1:5000) printf '{"ServerURL":"%s","Username":"helper-user","Secret":"helper:pass"}' "$server" ;;
  https://index.docker.io/v1/) printf '{"Username":"hub-user","Secret":"hub-pass"}' ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac`);
helper('store', `printf '{"Username":"store-user","Secret":"store-pass"}'`);
helper('garbage', `echo "not json: secret-in-output"`);
helper('broken', `echo "keychain locked" >&2; exit 3`);
helper('slow', `sleep 5`);
const withBin = { env: { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` } };
const askedFor = (): string[] => readFileSync(asked, 'utf8').trim().split('\n');

test('credHelpers[host] first, with the host on stdin; Docker Hub is asked as https://index.docker.io/v1/', () => {
  rmSync(asked, { force: true });
  const path = configFile('h1.json', {
    credHelpers: { '127.0.0.1:5000': 'test', 'https://index.docker.io/v1/': 'test' },
    credsStore: 'store',
    auths: { '127.0.0.1:5000': { auth: b64('file:pass') } },
  });
  assert.deepEqual(loadDockerCredentials('127.0.0.1:5000', path, withBin), { username: 'helper-user', password: 'helper:pass' });
  assert.deepEqual(loadDockerCredentials('registry-1.docker.io', path, withBin), { username: 'hub-user', password: 'hub-pass' });
  // Not a credHelpers host: the credsStore answers.
  assert.deepEqual(loadDockerCredentials('reg.example', path, withBin), { username: 'store-user', password: 'store-pass' });
  assert.deepEqual(askedFor(), ['test 127.0.0.1:5000', 'test https://index.docker.io/v1/', 'store reg.example']);
});

test('a helper that holds nothing for the host falls back to auths, else anonymous', () => {
  const path = configFile('h2.json', { credHelpers: { 'a.example': 'test', 'b.example': 'test' }, auths: { 'a.example': { auth: b64('file:pass') } } });
  assert.deepEqual(loadDockerCredentials('a.example', path, withBin), { username: 'file', password: 'pass' });
  assert.equal(loadDockerCredentials('b.example', path, withBin), undefined);
});

test('a missing, failing, slow or garbled helper is a CredentialHelperError naming it, never showing its output', () => {
  const expect = (store: string, pattern: RegExp, timeoutMs?: number) =>
    assert.throws(() => loadDockerCredentials('reg.example', configFile(`h-${store.replace(/\W/g, '')}.json`, { credsStore: store }), { ...withBin, timeoutMs }), (err: unknown) => {
      assert.ok(err instanceof CredentialHelperError, String(err));
      assert.equal(err.program, `docker-credential-${store}`);
      assert.match(err.message, pattern);
      assert.doesNotMatch(err.message, /secret-in-output/);
      return true;
    });
  expect('desktop', /docker-credential-desktop \(named in .*h-desktop\.json\) is not on PATH; install it, or remove credsStore\/credHelpers/);
  expect('broken', /docker-credential-broken .* failed \(.*\): keychain locked/);
  expect('garbage', /printed something that is not JSON/);
  expect('slow', /did not answer within 0.3 s/, 300);
  expect('../evil', /is not a valid helper name/);
  assert.throws(() => loadDockerCredentials('reg.example', configFile('h-bad.json', { credsStore: 7 }), withBin), DockerConfigInvalidError);
});
