import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ImageRef, InvalidInputError, Platform, RegistryClient } from '@archfarm/common';
import { publishIndex } from './publish-index';

// These requests are refused before any network use, so the client's registry need not exist.
const client = new RegistryClient('127.0.0.1:1');
const amd64 = Platform.parse('linux/amd64');
const digest = `sha256:${'a'.repeat(64)}`;

test('refuses requests that could not give a sound index, before touching the registry', async () => {
  const target = ImageRef.parse('127.0.0.1:1/team/app:1');
  const cases: Array<[string, Parameters<typeof publishIndex>[0]]> = [
    ['no platforms', { client, target, images: [] }],
    ['a platform twice', { client, target, images: [{ platform: amd64, digest }, { platform: Platform.parse('x86_64'), digest }] }],
    ['a bad digest', { client, target, images: [{ platform: amd64, digest: 'sha256:abc' }] }],
    ['a target with a digest', { client, target: ImageRef.parse(`127.0.0.1:1/team/app:1@${digest}`), images: [{ platform: amd64, digest }] }],
    ['another registry', { client, target: ImageRef.parse('reg.example/team/app:1'), images: [{ platform: amd64, digest }] }],
  ];
  for (const [what, opts] of cases) {
    await assert.rejects(publishIndex(opts), InvalidInputError, what);
  }
});
