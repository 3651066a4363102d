import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidInputError, Platform } from '@archfarm/common';
import { CROSS_CHECK_EPOCH, validateCrossCheck } from './spec';

const platforms = Platform.parseList('linux/amd64,linux/arm64');

test('a platform of the build, once; SOURCE_DATE_EPOCH fixed unless given', () => {
  const v = validateCrossCheck(['linux/arm64', 'linux/arm64,linux/aarch64'], platforms, { A: '1' });
  assert.deepEqual(v.crossCheck.map(String), ['linux/arm64']);
  assert.deepEqual(v.buildArgs, { A: '1', SOURCE_DATE_EPOCH: CROSS_CHECK_EPOCH });
  assert.deepEqual(validateCrossCheck(['linux/arm64'], platforms, { SOURCE_DATE_EPOCH: '1700000000' }).buildArgs, { SOURCE_DATE_EPOCH: '1700000000' });
  assert.deepEqual(validateCrossCheck([], platforms, { A: '1' }), { crossCheck: [], buildArgs: { A: '1' } }, 'no cross-check, no epoch');
});

test('a platform the build lacks is refused, naming --cross-check and the fix', () => {
  assert.throws(
    () => validateCrossCheck(['linux/s390x'], platforms, {}),
    (err: unknown) => err instanceof InvalidInputError && err.field === 'cross-check' && /linux\/s390x is not a platform of this build \(linux\/amd64,linux\/arm64\); add it to --platform or drop --cross-check linux\/s390x/.test(err.message),
  );
  assert.throws(() => validateCrossCheck(['nonsense'], platforms, {}), InvalidInputError);
});
