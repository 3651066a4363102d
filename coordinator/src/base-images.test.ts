import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromImages, fromRegistries } from './base-images';

const names = (dockerfile: string, args: Record<string, string> = {}) => fromImages(dockerfile, args).map(String);

test('the images of FROM lines, without stages, scratch or flags', () => {
  const dockerfile = [
    'FROM --platform=$BUILDPLATFORM reg.example:5000/tools/go:1.22 AS build',
    'RUN make',
    'FROM build AS test',
    'FROM scratch',
    'FROM ghcr.io/team/base@sha256:' + 'a'.repeat(64),
    'COPY --from=build /app /app',
    'FROM alpine',
  ].join('\n');
  assert.deepEqual(names(dockerfile), [
    'reg.example:5000/tools/go:1.22',
    `ghcr.io/team/base@sha256:${'a'.repeat(64)}`,
    'registry-1.docker.io/library/alpine:latest',
  ]);
  assert.deepEqual(fromRegistries(dockerfile, {}), ['reg.example:5000', 'ghcr.io', 'registry-1.docker.io']);
});

test('global ARGs resolve from build args, then their defaults; an unresolved one is left out', () => {
  const dockerfile = [
    '# syntax=docker/dockerfile:1',
    'ARG REGISTRY=reg.example',
    'ARG VERSION',
    'ARG FLAVOUR=slim',
    'FROM ${REGISTRY}/base:${VERSION:-1}-$FLAVOUR',
    'FROM $UNSET/other:1',
    'ARG LATE=late.example',
    'FROM $LATE/x:1',
  ].join('\n');
  assert.deepEqual(names(dockerfile), ['reg.example/base:1-slim']);
  // A build arg that no global ARG declares does not reach FROM, as in Docker.
  assert.deepEqual(names(dockerfile, { REGISTRY: 'private.example:5000', VERSION: '3', UNSET: 'u.example' }), ['private.example:5000/base:3-slim']);
});

test('odd input gives fewer images, never an exception', () => {
  assert.deepEqual(names('FROM\nFROM Not/Valid:ref\nFROM "quoted.example/app:1"\n'), ['quoted.example/app:1']);
});
