import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStatement } from './statement';
import { StatementInvalidError } from './errors';

const good = {
  _type: 'https://in-toto.io/Statement/v1',
  subject: [{ name: 'pkg:docker/r/x@1?platform=linux%2Farm64', digest: { sha256: 'ab' } }],
  predicateType: 'https://slsa.dev/provenance/v1',
  predicate: {},
};
const bytes = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

test('parseStatement reads an in-toto v1 statement with an SLSA provenance v1 predicate', () => {
  assert.equal(parseStatement(bytes(good)).subject[0]?.digest.sha256, 'ab');
});

test('parseStatement refuses other types, predicates, missing subjects and junk, by code', () => {
  const refused = (value: unknown, reason: RegExp): void => {
    assert.throws(
      () => parseStatement(typeof value === 'string' ? Buffer.from(value) : bytes(value)),
      (err: unknown) => err instanceof StatementInvalidError && err.code === 'STATEMENT_INVALID' && reason.test(err.reason),
    );
  };
  refused('{', /not JSON/);
  refused([good], /not a JSON object/);
  refused({ ...good, _type: 'https://in-toto.io/Statement/v0.1' }, /_type/);
  refused({ ...good, predicateType: 'https://slsa.dev/provenance/v0.2' }, /predicateType/);
  refused({ ...good, subject: [] }, /no subject/);
  refused({ ...good, subject: [{ name: 'x', digest: { sha512: 'ab' } }] }, /sha256/);
  refused({ ...good, predicate: 'x' }, /no predicate/);
});
