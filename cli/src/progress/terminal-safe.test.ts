import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonSafe, terminalSafe } from './terminal-safe';

test('terminalSafe shows every control character but \\n and \\t as \\xNN', () => {
  const all = Array.from({ length: 0xa0 }, (_, i) => String.fromCharCode(i)).join('');
  const safe = terminalSafe(all);
  assert.doesNotMatch(safe, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/, 'no control left (the CR here is followed by \\x0e, not \\n)');
  assert.ok(safe.includes('\t\n'), 'tab and newline kept');
  assert.ok(safe.includes('\\x1b') && safe.includes('\\x9b') && safe.includes('\\x7f'));
  assert.equal(terminalSafe('naïve → ok'), 'naïve → ok');
  assert.equal(terminalSafe('crlf\r\nbar\rover'), 'crlf\r\nbar\\x0dover', 'a CRLF ends a line; a lone CR would overwrite it');
});

test('jsonSafe escapes DEL, C1 and line separators and parses back to the same value', () => {
  const value = { text: 'a\u001b[31m\u009b\u007f\u2028b' };
  const line = jsonSafe(JSON.stringify(value));
  assert.doesNotMatch(line, /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
  assert.deepEqual(JSON.parse(line), value);
});
