import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidInputError, Platform } from '@archfarm/common';
import { AnnotationLevel, type SubmitBuildRequest } from '@archfarm/proto';
import { checkSubmitLimits } from '../security/limits';
import { validateBuild } from './validate-build';

const request = (over: Partial<SubmitBuildRequest> = {}): SubmitBuildRequest => ({
  platforms: ['linux/amd64', 'linux/arm64'],
  tag: '',
  contextDigest: `sha256:${'0'.repeat(64)}`,
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
  tags: ['reg.example/app:1.4'],
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

/** Asserts the request is refused with an InvalidInputError naming `field`, and returns its message. */
function refused(req: SubmitBuildRequest, field: string): string {
  let message = '';
  assert.throws(
    () => {
      checkSubmitLimits(req);
      validateBuild(req);
    },
    (err: unknown) => {
      assert.ok(err instanceof InvalidInputError, String(err));
      assert.equal(err.field, field, err.message);
      message = err.message;
      return true;
    },
  );
  return message;
}

test('tags: an old client sends tag alone; a new one tags, with tag empty or tags[0]; repeats collapse', () => {
  assert.deepEqual(validateBuild(request({ tag: 'reg.example/app:1', tags: [] })).tags.map(String), ['reg.example/app:1']);
  const spec = validateBuild(request({ tag: 'reg.example/app:1.4', tags: ['reg.example/app:1.4', 'reg.example/app:1', 'reg.example/app:1'] }));
  assert.deepEqual(spec.tags.map(String), ['reg.example/app:1.4', 'reg.example/app:1']);
  assert.equal(spec.tag.toString(), 'reg.example/app:1.4');
  assert.match(refused(request({ tag: 'reg.example/app:2', tags: ['reg.example/app:1'] }), 'tag'), /not the first of tags/);
});

test('tags: each is a valid tag of the same registry and repository', () => {
  assert.match(refused(request({ tags: ['reg.example/app:1', 'reg.example/other:1'] }), 'tag'), /same registry and repository/);
  assert.match(refused(request({ tags: ['reg.example/app:1', 'ghcr.io/x/app:1'] }), 'tag'), /same registry and repository/);
  assert.match(refused(request({ tags: ['reg.example/app:1', `reg.example/app@sha256:${'a'.repeat(64)}`] }), 'tag'), /names a digest/);
  refused(request({ tags: ['reg.example/app:1', 'reg.example/App:1'] }), 'tag');
  refused(request({ tags: Array.from({ length: 65 }, (_, i) => `reg.example/app:${i}`) }), 'tag');
});

test('labels, pull and no-cache are carried; an empty label key is refused', () => {
  const spec = validateBuild(request({ labels: { 'org.opencontainers.image.version': '1.4' }, pull: true, noCache: true }));
  assert.deepEqual([spec.labels, spec.pull, spec.noCache], [{ 'org.opencontainers.image.version': '1.4' }, true, true]);
  refused(request({ labels: { ' ': 'x' } }), 'label');
});

test("annotations: buildx's levels, unprefixed meaning manifest; platform only where it applies; the farm's keys refused", () => {
  const a = (level: AnnotationLevel, key: string, platform = '') => ({ level, key, value: 'v', platform });
  const spec = validateBuild(
    request({
      annotations: [
        a(AnnotationLevel.ANNOTATION_LEVEL_UNSPECIFIED, 'plain'),
        a(AnnotationLevel.ANNOTATION_LEVEL_INDEX, 'idx'),
        a(AnnotationLevel.ANNOTATION_LEVEL_MANIFEST_DESCRIPTOR, 'desc', 'linux/aarch64'),
      ],
    }),
  );
  assert.deepEqual(
    spec.annotations.map((x) => [x.level, x.key, x.platform?.toString()]),
    [
      ['manifest', 'plain', undefined],
      ['index', 'idx', undefined],
      ['manifest-descriptor', 'desc', Platform.parse('linux/arm64').toString()],
    ],
  );
  assert.match(refused(request({ annotations: [a(AnnotationLevel.ANNOTATION_LEVEL_INDEX, 'k', 'linux/amd64')] }), 'annotation'), /whole index/);
  assert.match(refused(request({ annotations: [a(AnnotationLevel.ANNOTATION_LEVEL_MANIFEST, 'k', 'linux/s390x')] }), 'annotation'), /does not make/);
  assert.match(refused(request({ annotations: [a(AnnotationLevel.ANNOTATION_LEVEL_INDEX, 'io.archfarm.build.id')] }), 'annotation'), /farm's own/);
  refused(request({ annotations: [a(AnnotationLevel.ANNOTATION_LEVEL_INDEX, '')] }), 'annotation');
  refused(request({ annotations: [a(AnnotationLevel.UNRECOGNIZED, 'k')] }), 'annotation');
});

test('secrets: ids as BuildKit takes them, once each, 500 KiB each, and a message never quotes a value', () => {
  const secret = (id: string, value: Buffer | string = 'hunter2') => ({ id, value: Buffer.from(value) });
  const spec = validateBuild(request({ secrets: [secret('npmrc'), secret('a.b_c-1')] }));
  assert.deepEqual(spec.secretIds, ['npmrc', 'a.b_c-1']);
  assert.equal(spec.secrets?.[0]?.value.toString(), 'hunter2');
  for (const id of ['', 'has space', 'slash/no', 'ünï']) assert.match(refused(request({ secrets: [secret(id)] }), 'secret'), /must be 1 or more/);
  assert.match(refused(request({ secrets: [secret('a'), secret('a')] }), 'secret'), /twice/);
  const big = Buffer.alloc(500 * 1024 + 1, 'x');
  assert.doesNotMatch(refused(request({ secrets: [secret('big', big)] }), 'secret'), /xxxx/);
  assert.ok(validateBuild(request({ secrets: [secret('max', Buffer.alloc(500 * 1024, 'x'))] })));
  const many = Array.from({ length: 5 }, (_, i) => secret(`s${i}`, Buffer.alloc(500 * 1024, 'y')));
  assert.match(refused(request({ secrets: many }), 'secret'), /add up/);
  refused(request({ secrets: Array.from({ length: 65 }, (_, i) => secret(`s${i}`)) }), 'secret');
});
