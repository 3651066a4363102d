import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Platform } from './platform';
import { InvalidInputError } from './errors';

test('normalises kernel and Debian names to OCI names', () => {
  assert.equal(Platform.parse('linux/aarch64').toString(), 'linux/arm64');
  assert.equal(Platform.parse('linux/arm64/v8').toString(), 'linux/arm64');
  assert.equal(Platform.parse('linux/armhf').toString(), 'linux/arm/v7');
  assert.equal(Platform.parse('linux/arm').toString(), 'linux/arm/v7');
  assert.equal(Platform.parse('arm/v6').toString(), 'linux/arm/v6');
  assert.equal(Platform.parse('linux/x86_64').toString(), 'linux/amd64');
  assert.equal(Platform.fromUname('armv7l').toString(), 'linux/arm/v7');
  assert.equal(Platform.fromUname('s390x').toString(), 'linux/s390x');
});

test('rejects unknown platforms with the field and a hint', () => {
  assert.throws(() => Platform.parse('linux/arm/v9'), (err: unknown) => {
    assert.ok(err instanceof InvalidInputError);
    assert.equal(err.field, 'platform');
    assert.match(err.message, /unknown variant "v9".*v5, v6, v7, v8/);
    return true;
  });
  assert.throws(() => Platform.parse('linux/sparc'), /unknown architecture "sparc"/);
  assert.throws(() => Platform.parse('windows/amd64'), /unknown os "windows"/);
  assert.throws(() => Platform.parse('linux//arm'), /not a platform/);
});

test('parses a comma-separated list without duplicates', () => {
  const list = Platform.parseList('linux/amd64, linux/aarch64,linux/arm64,linux/arm/v7');
  assert.deepEqual(list.map(String), ['linux/amd64', 'linux/arm64', 'linux/arm/v7']);
});
