import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogBook, TAIL_LINES } from './log-book';

test('splits chunks into lines, holding a partial line until it completes', () => {
  const book = new LogBook();
  assert.deepEqual(book.append('linux/arm64', Buffer.from('step 1\nstep')), ['step 1']);
  assert.deepEqual(book.append('linux/arm64', Buffer.from(' 2\r\nstep 3\n\n')), ['step 2', 'step 3', '']);
  assert.deepEqual(book.append('linux/arm64', Buffer.from('no newline yet')), []);
  assert.deepEqual(book.tail('linux/arm64'), ['step 1', 'step 2', 'step 3', '', 'no newline yet']);
  assert.equal(book.flush('linux/arm64'), 'no newline yet');
  assert.equal(book.flush('linux/arm64'), undefined);
});

test('keeps platforms apart', () => {
  const book = new LogBook();
  book.append('linux/amd64', Buffer.from('amd64 start'));
  book.append('linux/s390x', Buffer.from('s390x line\n'));
  assert.deepEqual(book.append('linux/amd64', Buffer.from(' end\n')), ['amd64 start end']);
  assert.deepEqual(book.tail('linux/s390x'), ['s390x line']);
  assert.deepEqual(book.tail('linux/ppc64le'), []);
});

test('decodes a UTF-8 character split across chunks', () => {
  const book = new LogBook();
  const bytes = Buffer.from('naïve → ok\n');
  const cut = bytes.indexOf(0xc3) + 1; // inside "ï"
  assert.deepEqual(book.append('p', bytes.subarray(0, cut)), []);
  assert.deepEqual(book.append('p', bytes.subarray(cut)), ['naïve → ok']);
});

test(`keeps only the last ${TAIL_LINES} lines`, () => {
  const book = new LogBook();
  const text = Array.from({ length: 100 }, (_, i) => `line ${i}\n`).join('');
  assert.equal(book.append('p', Buffer.from(text)).length, 100);
  const tail = book.tail('p');
  assert.equal(tail.length, TAIL_LINES);
  assert.equal(tail[0], 'line 70');
  assert.equal(tail.at(-1), 'line 99');
  book.append('p', Buffer.from('partial'));
  assert.equal(book.tail('p').length, TAIL_LINES);
  assert.equal(book.tail('p').at(-1), 'partial');
});
