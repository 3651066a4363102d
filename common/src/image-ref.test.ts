import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ImageRef } from './image-ref';

test('parses registry, repository, tag and digest', () => {
  const r = ImageRef.parse('127.0.0.1:5000/team/hello:1');
  assert.equal(r.registry, '127.0.0.1:5000');
  assert.equal(r.repository, 'team/hello');
  assert.equal(r.tag, '1');
  assert.equal(r.isLoopback, true);
  const d = `sha256:${'a'.repeat(64)}`;
  const withDigest = ImageRef.parse(`localhost:5000/x@${d}`);
  assert.equal(withDigest.digest, d);
  assert.equal(withDigest.reference, d);
});

test('applies Docker Hub defaults', () => {
  const r = ImageRef.parse('alpine');
  assert.equal(r.registry, 'registry-1.docker.io');
  assert.equal(r.repository, 'library/alpine');
  assert.equal(r.tag, 'latest');
  assert.equal(r.isLoopback, false);
});

test('rejects malformed references, naming the field', () => {
  assert.throws(() => ImageRef.parse('127.0.0.1:5000/Hello:1'), /tag: .*"Hello" must be lowercase/);
  assert.throws(() => ImageRef.parse('127.0.0.1:5000/hello:-bad'), /tag "-bad"/);
  assert.throws(() => ImageRef.parse(''), /empty/);
  assert.throws(() => ImageRef.parse('reg.example/app@sha256:abc'), /digest/);
  assert.throws(() => ImageRef.parse('reg.example/'), /repository name is missing|must be lowercase/);
});
