import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BuildMode } from '@archfarm/proto';
import { Captured, jobLog } from '../testing/events';
import { LogsOutput } from './logs-output';

const NATIVE = BuildMode.BUILD_MODE_NATIVE;
const arm = (text: string | Buffer, attempt = 1, agent = 'pi-1') => jobLog('linux/arm64', agent, NATIVE, text, attempt);
const s390x = (text: string, attempt = 1) => jobLog('linux/s390x', 'builder-b', BuildMode.BUILD_MODE_EMULATED, text, attempt);

test('raw: the bytes exactly as sent, split characters and a missing last newline included', () => {
  const out = new Captured();
  const err = new Captured();
  const log = new LogsOutput(out, err, false);
  const bytes = Buffer.from('#1 naïve\r\n#2 → ok\nno newline');
  const cuts = [0, 8, 9, 15, 16, bytes.length];
  for (let i = 1; i < cuts.length; i++) log.write(arm(bytes.subarray(cuts[i - 1], cuts[i])));
  log.end();
  assert.ok(out.bytes.equals(bytes));
  assert.equal(err.text, '');
});

test('raw: a new attempt is marked on stderr and starts on its own line', () => {
  const out = new Captured();
  const err = new Captured();
  const log = new LogsOutput(out, err, false);
  log.write(arm('step 1\nstep 2 half'));
  log.write(arm('step 1\n', 2, 'pi-2'));
  log.write(arm('done\n', 3, 'pi-3'));
  assert.equal(out.text, 'step 1\nstep 2 half\nstep 1\ndone\n');
  assert.deepEqual(err.lines, ['--- linux/arm64 attempt 2 on pi-2 ---', '--- linux/arm64 attempt 3 on pi-3 ---']);
});

test('a first attempt other than 1 is marked (earlier ones left no log); attempt 0 never is', () => {
  const err = new Captured();
  const log = new LogsOutput(new Captured(), err, false);
  log.write(arm('a\n', 2, ''));
  log.write(s390x('b\n', 0));
  log.write(s390x('c\n', 0));
  assert.deepEqual(err.lines, ['--- linux/arm64 attempt 2 ---']);
});

test('prefixed: every line gets [platform], partial lines are held per platform until complete', () => {
  const out = new Captured();
  const log = new LogsOutput(out, new Captured(), true);
  log.write(arm('#1 load\n#2 RUN ma'));
  log.write(s390x('s390x line\ns390x half'));
  log.write(arm('ke\n\n'));
  log.write(s390x(' end\nunterminated'));
  assert.deepEqual(out.lines, ['[linux/arm64] #1 load', '[linux/s390x] s390x line', '[linux/arm64] #2 RUN make', '[linux/arm64] ', '[linux/s390x] s390x half end']);
  log.end();
  assert.equal(out.lines.at(-1), '[linux/s390x] unterminated');
  assert.ok(out.text.endsWith('\n'));
});

test("prefixed: a lost attempt's unfinished line is ended before the next attempt, never joined to it", () => {
  const out = new Captured();
  const err = new Captured();
  const log = new LogsOutput(out, err, true);
  log.write(arm('step 1\nstep 2 hal'));
  log.write(arm('step 1 again\n', 2, 'pi-2'));
  assert.deepEqual(out.lines, ['[linux/arm64] step 1', '[linux/arm64] step 2 hal', '[linux/arm64] step 1 again']);
  assert.deepEqual(err.lines, ['--- linux/arm64 attempt 2 on pi-2 ---']);
});

test("write() passes on stdout's backpressure", () => {
  const full = { write: () => false };
  const log = new LogsOutput(full, new Captured(), true);
  assert.equal(log.write(arm('partial')), true, 'nothing written yet');
  assert.equal(log.write(arm(' line\n')), false);
});

const HOSTILE = 'title\u001b]0;pwned\u0007 red\u001b[31m C1\u009b2J tab\tok\r\n';
const SHOWN = 'title\\x1b]0;pwned\\x07 red\\x1b[31m C1\\x9b2J tab\tok\r\n';

test('raw to a terminal, and prefixed: escape sequences are shown, not acted on (\\n and \\t kept); raw to a file stays exact', () => {
  const bytes = Buffer.from(HOSTILE);
  const tty = new Captured();
  const toTerminal = new LogsOutput(tty, new Captured(), false, true);
  // Cut inside the two-byte UTF-8 of U+009B: the decoder holds it for the next chunk.
  const cut = bytes.indexOf(0xc2) + 1;
  toTerminal.write(arm(bytes.subarray(0, cut)));
  toTerminal.write(arm(bytes.subarray(cut)));
  assert.equal(tty.text, SHOWN);
  assert.doesNotMatch(tty.text, /[\u001b\u0007\u009b]|\r(?!\n)/);

  const prefixedOut = new Captured();
  const prefixed = new LogsOutput(prefixedOut, new Captured(), true);
  prefixed.write(arm(bytes));
  prefixed.write(s390x('partial \u001b[2K'));
  prefixed.end();
  assert.equal(prefixedOut.text, `[linux/arm64] ${SHOWN}[linux/s390x] partial \\x1b[2K\n`);

  const file = new Captured();
  const toFile = new LogsOutput(file, new Captured(), false, false);
  toFile.write(arm(bytes));
  assert.ok(file.bytes.equals(bytes));
});
