import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Platform } from '@archfarm/common';
import { fromImages } from '../base-images';
import { BUILD_PLATFORM, baseChanges, basesToResolve, distinctNeeds, resolveForLabel, type BaseInput } from './base-digests';

const P = (text: string) => Platform.parse(text);

/** Per target platform, "image for" strings. */
function plan(dockerfile: string, platforms: string[], more: Partial<BaseInput> = {}) {
  const result = basesToResolve({ dockerfile, buildArgs: {}, target: '', platforms: platforms.map(P), ...more });
  return {
    bases: Object.fromEntries(result.platforms.map((p) => [p.platform.toString(), p.bases.map((b) => `${b.ref.toString()} ${resolveForLabel(b)}`)])),
    unresolved: result.unresolved,
    needs: distinctNeeds(result).map((b) => `${b.ref.toString()} ${resolveForLabel(b)}`),
  };
}

test('a multi-stage build: each platform resolves its own FROM images; stages and scratch are not images', () => {
  const dockerfile = [
    'FROM reg.example:5000/base/busybox:1 AS base',
    'RUN true',
    'FROM base AS app',
    'COPY --from=reg.example:5000/tools/files:2 /f /f',
    'FROM scratch AS out',
    'COPY --from=app /f /f',
  ].join('\n');
  const got = plan(dockerfile, ['linux/amd64', 'linux/arm64']);
  assert.deepEqual(got.unresolved, []);
  assert.deepEqual(got.bases, {
    'linux/amd64': ['reg.example:5000/base/busybox:1 linux/amd64', 'reg.example:5000/tools/files:2 linux/amd64'],
    'linux/arm64': ['reg.example:5000/base/busybox:1 linux/arm64', 'reg.example:5000/tools/files:2 linux/arm64'],
  });
});

test('--platform: a fixed platform, $TARGETPLATFORM, none, and $BUILDPLATFORM (the tag itself)', () => {
  const dockerfile = [
    'FROM --platform=$BUILDPLATFORM reg.example/tools/go:1.22 AS build',
    'FROM --platform=linux/amd64 reg.example/tools/amd64-only:1 AS fixed',
    'FROM --platform=${TARGETPLATFORM} reg.example/base/a:1 AS a',
    'FROM --platform=$BUILDOS/$BUILDARCH reg.example/tools/b:1 AS b',
    'FROM build AS compiled',
    'RUN --mount=type=bind,from=reg.example/tools/src:3,target=/src make',
    'FROM reg.example/base/runtime:1',
    'COPY --from=compiled /app /app',
    'COPY --from=fixed /x /x',
    'COPY --from=a /y /y',
    'COPY --from=b /z /z',
  ].join('\n');
  const got = plan(dockerfile, ['linux/arm64', 'linux/s390x']);
  assert.deepEqual(got.unresolved, []);
  assert.deepEqual(got.bases['linux/s390x'], [
    'reg.example/base/runtime:1 linux/s390x',
    'reg.example/tools/go:1.22 $BUILDPLATFORM',
    // A stage FROM a $BUILDPLATFORM stage runs there too, and so reads its mounts there.
    'reg.example/tools/src:3 $BUILDPLATFORM',
    'reg.example/tools/amd64-only:1 linux/amd64',
    'reg.example/base/a:1 linux/s390x',
    'reg.example/tools/b:1 $BUILDPLATFORM',
  ]);
  // The platform-independent ones are asked for once, whatever the number of platforms.
  assert.deepEqual(got.needs, [
    'reg.example/base/runtime:1 linux/arm64',
    'reg.example/tools/go:1.22 $BUILDPLATFORM',
    'reg.example/tools/src:3 $BUILDPLATFORM',
    'reg.example/tools/amd64-only:1 linux/amd64',
    'reg.example/base/a:1 linux/arm64',
    'reg.example/tools/b:1 $BUILDPLATFORM',
    'reg.example/base/runtime:1 linux/s390x',
    'reg.example/base/a:1 linux/s390x',
  ]);
  assert.equal(BUILD_PLATFORM, '$BUILDPLATFORM');
});

test('global ARGs from build args or defaults, the target platform\'s automatic ARGs, stage ARGs for --from', () => {
  const dockerfile = [
    'ARG REGISTRY=reg.example',
    'ARG VERSION',
    'ARG PIN=linux/arm/v7',
    'FROM ${REGISTRY}/base:${VERSION:-1}-$TARGETARCH AS one',
    'FROM --platform=$PIN $REGISTRY/pinned:1 AS two',
    'FROM one',
    'ARG REGISTRY',
    'ARG TOOLS=tools:2',
    'COPY --from=$REGISTRY/$TOOLS /t /t',
    'COPY --from=two /p /p',
  ].join('\n');
  const got = plan(dockerfile, ['linux/arm/v7', 'linux/amd64'], { buildArgs: { VERSION: '3', TOOLS: 'tools:9' } });
  assert.deepEqual(got.unresolved, []);
  assert.deepEqual(got.bases, {
    'linux/arm/v7': ['reg.example/base:3-arm linux/arm/v7', 'reg.example/tools:9 linux/arm/v7', 'reg.example/pinned:1 linux/arm/v7'],
    'linux/amd64': ['reg.example/base:3-amd64 linux/amd64', 'reg.example/tools:9 linux/amd64', 'reg.example/pinned:1 linux/arm/v7'],
  });
});

test('only the stages the target needs: a named target prunes the rest', () => {
  const dockerfile = [
    'FROM reg.example/base/a:1 AS a',
    'FROM reg.example/base/b:1 AS b',
    'COPY --from=0 /x /x',
    'FROM reg.example/base/c:1 AS c',
    'FROM b AS d',
    'COPY --from=reg.example/base/e:1 /e /e',
  ].join('\n');
  assert.deepEqual(plan(dockerfile, ['linux/amd64'], { target: 'B' }).bases['linux/amd64'], ['reg.example/base/b:1 linux/amd64', 'reg.example/base/a:1 linux/amd64']);
  assert.deepEqual(plan(dockerfile, ['linux/amd64'], { target: 'c' }).bases['linux/amd64'], ['reg.example/base/c:1 linux/amd64']);
  assert.deepEqual(plan(dockerfile, ['linux/amd64']).bases['linux/amd64'], [
    'reg.example/base/b:1 linux/amd64',
    'reg.example/base/a:1 linux/amd64',
    'reg.example/base/e:1 linux/amd64',
  ]);
  assert.deepEqual(plan(dockerfile, ['linux/amd64'], { target: 'nope' }).unresolved, ['target stage "nope" is not in the Dockerfile']);
});

test('what cannot be worked out is said, not left out', () => {
  const dockerfile = [
    'FROM $UNSET/app:1 AS a',
    'FROM reg.example/tools/x:$BUILDARCH AS b',
    'FROM --platform=windows/amd64 reg.example/w:1 AS c',
    'FROM Not/Valid:ref',
    'COPY --from=a /a /a',
    'COPY --from=b /b /b',
    'COPY --from=c /c /c',
  ].join('\n');
  assert.deepEqual(plan(dockerfile, ['linux/amd64']).unresolved, [
    'FROM Not/Valid:ref: "Not/Valid:ref" is not an image reference',
    'FROM $UNSET/app:1: a variable in it has no value (give it with --build-arg or an ARG default)',
    'FROM reg.example/tools/x:$BUILDARCH: the image name depends on the build platform, which is not known before placement',
    'FROM --platform=windows/amd64 reg.example/w:1: not a platform archfarm knows',
  ]);
  assert.deepEqual(plan('', ['linux/amd64']).unresolved, ['the Dockerfile has no FROM line']);
});

test('a digest-pinned FROM stays as written; fromImages reads the same stages as before', () => {
  const pinned = `reg.example/base@sha256:${'b'.repeat(64)}`;
  assert.deepEqual(plan(`FROM ${pinned}\n`, ['linux/amd64']).bases['linux/amd64'], [`${pinned} linux/amd64`]);
  const dockerfile = 'ARG R=reg.example\nFROM $R/a:1 AS a\nFROM a\nCOPY --from=reg.example/c:1 /c /c\nFROM scratch\n';
  assert.deepEqual(fromImages(dockerfile, {}).map(String), ['reg.example/a:1']);
});

test('baseChanges: one line per changed, new or gone image and platform; none when equal', () => {
  const a = 'sha256:' + 'a'.repeat(64);
  const b = 'sha256:' + 'b'.repeat(64);
  const busybox = '127.0.0.1:5000/base/busybox:1';
  const previous = [
    { platform: 'linux/amd64', ref: busybox, digest: a },
    { platform: 'linux/s390x', ref: busybox, digest: a },
    { platform: 'linux/amd64', ref: 'reg.example/old:1', digest: a },
  ];
  const current = [
    { platform: 'linux/s390x', ref: busybox, digest: b },
    { platform: 'linux/amd64', ref: busybox, digest: a },
    { platform: '$BUILDPLATFORM', ref: 'reg.example/go:1', digest: b },
  ];
  assert.deepEqual(baseChanges(previous, current), [
    `base ${busybox} linux/s390x changed ${a} -> ${b}`,
    `base reg.example/go:1 $BUILDPLATFORM new ${b}`,
    `base reg.example/old:1 linux/amd64 gone (was ${a})`,
  ]);
  assert.deepEqual(baseChanges(previous, [...previous].reverse()), []);
  assert.deepEqual(baseChanges([], []), []);
});
