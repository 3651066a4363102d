import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidInputError } from '@archfarm/common';
import { parseNoProvenance } from './build-provenance';

test('--provenance false or 0 (any case) and disabled=true turn provenance off', () => {
  for (const value of ['false', 'FALSE', '0', ' false ', 'mode=max,disabled=true']) assert.equal(parseNoProvenance(value), true, value);
});

test('no --provenance, true, 1 and buildx modes keep provenance on', () => {
  for (const value of [undefined, 'true', '1', 'mode=max', 'mode=min', 'mode=max,inline-only=true', 'disabled=false']) assert.equal(parseNoProvenance(value), false, String(value));
});

test('an empty --provenance is refused, naming the flag', () => {
  assert.throws(() => parseNoProvenance(''), (err: unknown) => err instanceof InvalidInputError && err.field === '--provenance');
});
