import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forbiddenAddress, realmRefusal, realmRefusalResolved } from './realm-policy';

test('link-local and unspecified addresses are refused, however written', () => {
  for (const a of ['169.254.169.254', '169.254.0.1', '0.0.0.0', '0.1.2.3', 'fe80::1', '[fe80::1]', '::', '::ffff:169.254.169.254', '::ffff:a9fe:a9fe']) {
    assert.ok(forbiddenAddress(a), a);
  }
  for (const a of ['127.0.0.1', '10.0.0.1', '192.168.1.1', '::1', '2001:db8::1', 'auth.example']) assert.equal(forbiddenAddress(a), undefined, a);
  // WHATWG URL normalises other spellings of the metadata address to the dotted form.
  assert.match(realmRefusal(new URL('http://0xa9fea9fe/latest'), true)!, /link-local/);
  assert.match(realmRefusal(new URL('https://[::ffff:169.254.169.254]/'), true)!, /link-local/);
});

test('plain http only for a plain-HTTP registry or a loopback realm; never another scheme or userinfo', () => {
  assert.match(realmRefusal(new URL('http://auth.example/token'), false)!, /plain http/);
  assert.equal(realmRefusal(new URL('http://auth.example/token'), true), undefined);
  assert.equal(realmRefusal(new URL('http://127.0.0.1:9/token'), false), undefined);
  assert.equal(realmRefusal(new URL('https://auth.example/token'), false), undefined);
  assert.match(realmRefusal(new URL('file:///etc/passwd'), true)!, /scheme/);
  assert.match(realmRefusal(new URL('https://u:p@auth.example/'), false)!, /user name/);
});

test('a host name is judged by every address it resolves to', async () => {
  const resolve = async (host: string) => (host === 'metadata.internal' ? ['10.0.0.2', '169.254.169.254'] : ['10.0.0.3']);
  assert.match((await realmRefusalResolved(new URL('https://metadata.internal/'), false, resolve))!, /resolves to a link-local address \(169\.254\.169\.254\)/);
  assert.equal(await realmRefusalResolved(new URL('https://auth.example/'), false, resolve), undefined);
  const failing = async () => Promise.reject(new Error('ENOTFOUND'));
  assert.equal(await realmRefusalResolved(new URL('https://nowhere.example/'), false, failing), undefined, 'fetch reports an unknown host itself');
});
