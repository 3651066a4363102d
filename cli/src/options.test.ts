import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidInputError } from '@archfarm/common';
import { collect, parseChoice, parseDuration, parseKeyValues, resolveCoordinator } from './options';

/** Asserts `fn` throws an InvalidInputError for `field` whose message matches `pattern`. */
function assertInvalid(fn: () => unknown, field: string, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidInputError, `expected InvalidInputError, got ${String(err)}`);
    assert.equal(err.field, field);
    assert.match(err.message, pattern);
    return true;
  });
}

test('coordinator: flag over ARCHFARM_COORDINATOR over the default, port 7420 implied', () => {
  assert.equal(resolveCoordinator(undefined, {}), '127.0.0.1:7420');
  assert.equal(resolveCoordinator(undefined, { ARCHFARM_COORDINATOR: 'farm.example:9000' }), 'farm.example:9000');
  assert.equal(resolveCoordinator('10.0.0.5', { ARCHFARM_COORDINATOR: 'farm.example:9000' }), '10.0.0.5:7420');
  assert.equal(resolveCoordinator('[::1]:7421', {}), '[::1]:7421');
  assert.equal(resolveCoordinator('unix:/run/archfarm.sock', {}), 'unix:/run/archfarm.sock');
  assertInvalid(() => resolveCoordinator('host:99999', {}), '--coordinator', /not host\[:port\]/);
  assertInvalid(() => resolveCoordinator(undefined, { ARCHFARM_COORDINATOR: 'a b' }), 'ARCHFARM_COORDINATOR', /"a b"/);
});

test('durations: plain seconds, units and Go-style combinations', () => {
  assert.equal(parseDuration('90', '--wait-timeout'), 90);
  assert.equal(parseDuration('30s', '--wait-timeout'), 30);
  assert.equal(parseDuration('5m', '--wait-timeout'), 300);
  assert.equal(parseDuration('1h', '--wait-timeout'), 3600);
  assert.equal(parseDuration('1h30m', '--wait-timeout'), 5400);
  assert.equal(parseDuration('0', '--wait-timeout'), 0);
});

test('durations: bad ones name the flag and show examples', () => {
  for (const bad of ['', '5x', '1.5h', '-1', '30ms', 'm', '1h1h', '99999999999']) {
    assertInvalid(() => parseDuration(bad, '--wait-timeout'), '--wait-timeout', /e\.g\. 90, 30s, 5m, 1h/);
  }
});

test('KEY=VALUE: values may hold "=" or be empty; the last key wins', () => {
  assert.deepEqual(parseKeyValues(['A=1', 'URL=http://x/?a=b', 'EMPTY=', 'A=2'], '--build-arg'), {
    A: '2',
    URL: 'http://x/?a=b',
    EMPTY: '',
  });
  for (const bad of ['FOO', '=x', 'A B=1']) {
    assertInvalid(() => parseKeyValues([bad], '--build-arg'), '--build-arg', /is not KEY=VALUE; write e\.g\. --build-arg VERSION=1\.4/);
  }
});

test('choices are checked case-insensitively and listed when wrong', () => {
  assert.equal(parseChoice('JSON', ['text', 'json'], '--output'), 'json');
  assertInvalid(() => parseChoice('yaml', ['text', 'json'], '--output'), '--output', /"yaml" is not one of text, json/);
});

test('collect gathers a repeated option', () => {
  assert.deepEqual(collect('b', collect('a', undefined)), ['a', 'b']);
});
