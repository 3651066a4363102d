import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidInputError } from '@archfarm/common';
import { SubmitBuildRequest } from '@archfarm/proto';
import { checkSubmitLimits, GRPC_MAX_MESSAGE_BYTES, MAX_BUILD_ARG_BYTES, MAX_BUILD_ARGS, MAX_LABELS, MAX_PLATFORMS, MAX_SMOKE_ARGS } from './limits';

function request(fields: Partial<SubmitBuildRequest>): SubmitBuildRequest {
  return SubmitBuildRequest.fromPartial({ platforms: ['linux/amd64'], tag: 'registry.local/app:1', ...fields });
}

function refused(fields: Partial<SubmitBuildRequest>, field: string, message: RegExp): void {
  assert.throws(
    () => checkSubmitLimits(request(fields)),
    (err: unknown) => err instanceof InvalidInputError && err.field === field && message.test(err.message),
  );
}

const many = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i));
const record = (n: number, value = 'v') => Object.fromEntries(many(n, (i) => `K${i}`).map((k) => [k, value]));

test('the gRPC cap holds a context chunk and a log chunk with room to spare', () => {
  assert.equal(GRPC_MAX_MESSAGE_BYTES, 8 * 1024 * 1024);
  assert.ok(GRPC_MAX_MESSAGE_BYTES > 256 * 1024 * 2);
});

test('requests at every limit pass', () => {
  checkSubmitLimits(
    request({
      platforms: [many(MAX_PLATFORMS, (i) => `linux/p${i}`).join(',')],
      buildArgs: record(MAX_BUILD_ARGS),
      requireLabels: record(MAX_LABELS),
      smokeCommand: many(MAX_SMOKE_ARGS, String),
    }),
  );
});

test('one over a limit is refused, naming the flag', () => {
  refused({ platforms: [...many(MAX_PLATFORMS, (i) => `linux/p${i}`), 'linux/one-more'] }, 'platform', /^platform: 33 platforms, over the limit of 32/);
  refused({ platforms: [many(MAX_PLATFORMS + 1, (i) => `linux/p${i}`).join(',')] }, 'platform', /33 platforms/);
  refused({ buildArgs: record(MAX_BUILD_ARGS + 1) }, 'build-arg', /201 build args, over the limit of 200/);
  refused({ requireLabels: record(MAX_LABELS + 1) }, 'require-label', /51 required labels, over the limit of 50/);
  refused({ smokeCommand: many(MAX_SMOKE_ARGS + 1, String) }, 'smoke', /65 smoke command arguments, over the limit of 64/);
});

test('build args are capped by their total size in UTF-8 too', () => {
  refused({ buildArgs: { BIG: 'x'.repeat(MAX_BUILD_ARG_BYTES) } }, 'build-arg', /add up to 65540 bytes, over the limit of 65536/);
  refused({ buildArgs: { A: 'é'.repeat(MAX_BUILD_ARG_BYTES / 2) } }, 'build-arg', /add up to 65538 bytes/);
  checkSubmitLimits(request({ buildArgs: { BIG: 'x'.repeat(MAX_BUILD_ARG_BYTES - 4) } }));
});
