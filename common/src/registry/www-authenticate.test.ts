import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseWwwAuthenticate } from './www-authenticate';

test('parses a Bearer challenge with quoted parameters', () => {
  const header = 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"';
  assert.deepEqual(parseWwwAuthenticate(header), [
    {
      scheme: 'bearer',
      params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/alpine:pull' },
    },
  ]);
});

test('keeps commas inside quoted values (scopes with several actions)', () => {
  const [c] = parseWwwAuthenticate('Bearer realm="http://127.0.0.1:1/t",scope="repository:a/b:pull,push"');
  assert.equal(c?.params.scope, 'repository:a/b:pull,push');
});

test('parses Basic, token values, spaces, case and escapes', () => {
  assert.deepEqual(parseWwwAuthenticate('Basic realm="Registry Realm"'), [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
  assert.deepEqual(parseWwwAuthenticate('BEARER Realm = tok , Service="a\\"b"'), [{ scheme: 'bearer', params: { realm: 'tok', service: 'a"b' } }]);
});

test('splits several challenges in one header', () => {
  const got = parseWwwAuthenticate('Basic realm="r1", Bearer realm="https://t/x",service="s"');
  assert.deepEqual(got, [
    { scheme: 'basic', params: { realm: 'r1' } },
    { scheme: 'bearer', params: { realm: 'https://t/x', service: 's' } },
  ]);
});

test('an empty or odd header gives no usable challenge, never throws', () => {
  assert.deepEqual(parseWwwAuthenticate(''), []);
  assert.deepEqual(parseWwwAuthenticate('Bearer'), [{ scheme: 'bearer', params: {} }]);
  assert.doesNotThrow(() => parseWwwAuthenticate('Bearer realm="unterminated'));
  assert.doesNotThrow(() => parseWwwAuthenticate('=,="x" "'));
});
