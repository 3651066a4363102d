import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fitWidths, formatTable, terminalWidth } from './table';

const ROWS = [
  ['ID', 'TAG', 'STATE', 'PLATFORMS'],
  ['b1', 'registry.example:5000/team/service-with-a-long-name:1.2.3', 'published', 'linux/amd64,linux/arm64,linux/arm/v7'],
  ['b2', 'r/x:1', 'failed', 'linux/amd64'],
];

test('formatTable without a width keeps every cell whole (a pipe)', () => {
  const lines = formatTable(ROWS, '', { width: undefined, shrink: [1, 3] });
  assert.deepEqual(lines, formatTable(ROWS));
  assert.ok(lines[1]!.includes('registry.example:5000/team/service-with-a-long-name:1.2.3'));
  assert.ok(!lines.join('').includes('…'));
});

test('formatTable fits the width exactly, taking from the widest shrinkable column first (they end level), cut cells ending in an ellipsis', () => {
  const lines = formatTable(ROWS, '', { width: 80, shrink: [1, 3] });
  assert.equal(Math.max(...lines.map((l) => l.length)), 80);
  assert.deepEqual(lines, [
    'ID   TAG                              STATE       PLATFORMS',
    'b1   registry.example:5000/team/se…   published   linux/amd64,linux/arm64,linux…',
    'b2   r/x:1                            failed      linux/amd64',
  ]);
  // Narrower still: both free-text columns give way, the ids and states never do.
  const narrow = formatTable(ROWS, '', { width: 50, shrink: [1, 3] });
  assert.deepEqual(narrow, [
    'ID   TAG               STATE       PLATFORMS',
    'b1   registry.examp…   published   linux/amd64,li…',
    'b2   r/x:1             failed      linux/amd64',
  ]);
  assert.equal(Math.max(...narrow.map((l) => l.length)), 50);
});

test('a table that already fits is unchanged, and the indent counts against the width', () => {
  assert.deepEqual(formatTable(ROWS, '', { width: 200, shrink: [1, 3] }), formatTable(ROWS));
  const indented = formatTable(ROWS, '    ', { width: 80, shrink: [1, 3] });
  for (const line of indented) assert.ok(line.length <= 80);
  assert.ok(indented[1]!.startsWith('    b1   '));
});

test('fitWidths stops at each column floor (8, or the header) when even that does not fit', () => {
  assert.deepEqual(fitWidths([2, 50, 9, 30], ['ID', 'TAG', 'STATE', 'PLATFORMS'], [1, 3], 10), [2, 8, 9, 9]);
  // A short column is never widened to its floor.
  assert.deepEqual(fitWidths([2, 5, 9, 30], ['ID', 'TAG', 'STATE', 'PLATFORMS'], [1, 3], 10), [2, 5, 9, 9]);
  assert.deepEqual(fitWidths([2, 50], ['ID', 'TAG'], [], 10), [2, 50]);
});

test('terminalWidth: the columns of a TTY, undefined for a pipe or a sink without columns', () => {
  assert.equal(terminalWidth({ isTTY: true, columns: 120 }), 120);
  assert.equal(terminalWidth({ isTTY: false, columns: 120 }), undefined);
  assert.equal(terminalWidth({ write: () => true }), undefined);
  assert.equal(terminalWidth({ isTTY: true, columns: 0 }), undefined);
});
