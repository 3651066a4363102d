import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ContainerOutput, MAX_LINE_LENGTH } from './container-output';

/** One frame of the engine's multiplexed stream. */
function frame(stream: 1 | 2, text: string | Buffer): Buffer {
  const payload = typeof text === 'string' ? Buffer.from(text) : text;
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

function collect(): { output: ContainerOutput; lines: string[] } {
  const lines: string[] = [];
  return { output: new ContainerOutput((l) => lines.push(l)), lines };
}

test('frames become lines, each stream keeping its own partial line', () => {
  const { output, lines } = collect();
  output.write(Buffer.concat([frame(1, 'out 1\nout'), frame(2, 'err 1\n'), frame(1, ' 2\r\n\n'), frame(2, 'no end')]));
  assert.deepEqual(lines, ['out 1', 'err 1', 'out 2', '']);
  output.end();
  assert.deepEqual(lines, ['out 1', 'err 1', 'out 2', '', 'no end']);
});

test('a stream cut anywhere, even inside a header or a character, gives the same lines', () => {
  const bytes = Buffer.concat([frame(1, 'grüße\nzwei'), frame(2, Buffer.from('€ drei\n')), frame(1, ' zeilen\n')]);
  for (let size = 1; size <= bytes.length; size++) {
    const { output, lines } = collect();
    for (let i = 0; i < bytes.length; i += size) output.write(bytes.subarray(i, i + size));
    output.end();
    assert.deepEqual(lines, ['grüße', '€ drei', 'zwei zeilen'], `chunks of ${size}`);
  }
});

test('output without line ends is cut into bounded pieces', () => {
  const { output, lines } = collect();
  output.write(frame(1, 'x'.repeat(MAX_LINE_LENGTH * 2 + 5)));
  assert.deepEqual(
    lines.map((l) => l.length),
    [MAX_LINE_LENGTH, MAX_LINE_LENGTH],
  );
  output.end();
  assert.equal(lines[2], 'xxxxx');
});

test('a frame cut short by an abort is dropped at the end', () => {
  const { output, lines } = collect();
  output.write(frame(1, 'whole\n'));
  output.write(frame(1, 'cut off\n').subarray(0, 10));
  output.end();
  assert.deepEqual(lines, ['whole']);
});
