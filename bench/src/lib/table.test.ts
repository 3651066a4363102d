import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatMs, formatNumber, renderMarkdown, renderText } from './table';

const table = { columns: ['what', 'time'], rows: [['farm', '12.3 s'], ['manual recipe', '850 ms']] };

test('text tables align numbers right and words left', () => {
  assert.equal(renderText(table), ['what             time', '-------------  ------', 'farm           12.3 s', 'manual recipe  850 ms'].join('\n'));
});

test('markdown tables mark numeric columns right-aligned and escape pipes', () => {
  const md = renderMarkdown({ columns: ['a|b', 'n'], rows: [['x', '1']] });
  assert.equal(md, '| a\\|b | n |\n|---|---:|\n| x | 1 |');
});

test('a row of the wrong width is refused', () => {
  assert.throws(() => renderText({ columns: ['a'], rows: [['1', '2']] }), RangeError);
});

test('numbers keep fewer decimals as they grow', () => {
  assert.deepEqual([0.1234, 1.234, 12.34, 1234.5].map(formatNumber), ['0.123', '1.23', '12.3', '1235']);
  assert.deepEqual([850, 12_340, 125_000].map(formatMs), ['850 ms', '12.3 s', '2 min 05 s']);
});
