import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidInputError } from '@archfarm/common';
import type { SubmitBuildRequest } from '@archfarm/proto';
import type { GitSourceRecord } from '../store/store-schedules';
import { materialiseContext, validateBuild } from './validate-build';

const DIGEST = `sha256:${'0'.repeat(64)}`;
const GIT = { url: 'git://127.0.0.1:9418/repo.git', ref: 'main', subdir: 'sub', commit: '' };

const request = (over: Partial<SubmitBuildRequest>): SubmitBuildRequest => ({
  platforms: ['linux/amd64'],
  tag: 'reg.example/app:1',
  contextDigest: '',
  dockerfile: '',
  buildArgs: {},
  target: '',
  waitTimeoutSeconds: 0,
  timeoutSeconds: 0,
  allowPartial: false,
  smokeCommand: [],
  emulation: '',
  requireLabels: {},
  registryAuth: undefined,
  tags: [],
  labels: {},
  annotations: [],
  pull: false,
  noCache: false,
  secrets: [],
  git: undefined,
  noProvenance: false,
  crossCheck: [],
  ...over,
});

function refusedContext(req: SubmitBuildRequest, words: RegExp): void {
  assert.throws(() => validateBuild(req), (err: unknown) => {
    assert.ok(err instanceof InvalidInputError);
    assert.equal(err.field, 'context');
    assert.match(err.message, words);
    return true;
  });
}

test('a git source instead of a digest: checked, not fetched', () => {
  const spec = validateBuild(request({ git: { ...GIT, subdir: './sub/', commit: 'ignored-from-a-client' } }));
  assert.equal(spec.contextDigest, '');
  assert.deepEqual(spec.git, { url: GIT.url, ref: 'main', subdir: 'sub', commit: '' });
  assert.equal(validateBuild(request({ contextDigest: DIGEST })).git, undefined);
});

test('git XOR context_digest, and a bad git source, are refused naming context', () => {
  refusedContext(request({ contextDigest: DIGEST, git: GIT }), /either .* not both/);
  refusedContext(request({}), /no context given/);
  refusedContext(request({ git: { url: '', ref: '', subdir: '', commit: '' } }), /no context given/);
  refusedContext(request({ git: { ...GIT, url: 'file:///etc' } }), /not an allowed git transport/);
  refusedContext(request({ git: { ...GIT, url: 'https://u:tok@host/r.git' } }), /carries credentials/);
});

test('materialiseContext fetches a git source and records its commit; an upload passes through', async () => {
  const asked: GitSourceRecord[] = [];
  const fetcher = {
    fetch: (source: GitSourceRecord) => {
      asked.push(source);
      return Promise.resolve({ contextDigest: DIGEST, commit: 'c'.repeat(40) });
    },
  };
  const spec = await materialiseContext(validateBuild(request({ git: GIT })), fetcher);
  assert.deepEqual(asked, [{ url: GIT.url, ref: 'main', subdir: 'sub' }]);
  assert.equal(spec.contextDigest, DIGEST);
  assert.deepEqual(spec.git, { url: GIT.url, ref: 'main', subdir: 'sub', commit: 'c'.repeat(40) });
  const uploaded = validateBuild(request({ contextDigest: DIGEST }));
  assert.equal(await materialiseContext(uploaded, fetcher), uploaded);
  assert.equal(asked.length, 1);
});
