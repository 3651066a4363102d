import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pickRemoteRef } from './remote-refs';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const LS = [`${A}\tHEAD`, `${A}\trefs/heads/main`, `${B}\trefs/heads/v1`, `${C}\trefs/tags/v1`, `${A}\trefs/tags/v1^{}`, `${B}\trefs/pull/4/head`, ''].join('\n');

test('picks the ref as git would: tags before branches, annotated tags peeled', () => {
  assert.deepEqual(pickRemoteRef(LS, ''), { name: 'HEAD', commit: A });
  assert.deepEqual(pickRemoteRef(LS, 'main'), { name: 'refs/heads/main', commit: A });
  assert.deepEqual(pickRemoteRef(LS, 'v1'), { name: 'refs/tags/v1', commit: A });
  assert.deepEqual(pickRemoteRef(LS, 'heads/v1'), { name: 'refs/heads/v1', commit: B });
  assert.deepEqual(pickRemoteRef(LS, 'refs/pull/4/head'), { name: 'refs/pull/4/head', commit: B });
  assert.equal(pickRemoteRef(LS, 'nope'), undefined);
  assert.equal(pickRemoteRef(LS, 'ain'), undefined);
});
