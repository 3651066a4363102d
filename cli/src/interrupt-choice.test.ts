import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { canAskOnInterrupt, choiceForKeys } from './interrupt-choice';
import { Interrupts } from './interrupts';

test('keys: c or a raw Ctrl-C cancels, d detaches, the first answer in a chunk wins, others are ignored', () => {
  assert.equal(choiceForKeys('c'), 'cancel');
  assert.equal(choiceForKeys('C'), 'cancel');
  assert.equal(choiceForKeys('\u0003'), 'cancel');
  assert.equal(choiceForKeys('d'), 'detach');
  assert.equal(choiceForKeys('D'), 'detach');
  assert.equal(choiceForKeys('xyd'), 'detach');
  assert.equal(choiceForKeys('dc'), 'detach');
  assert.equal(choiceForKeys('\r'), undefined);
  assert.equal(choiceForKeys('q'), undefined);
  assert.equal(choiceForKeys(''), undefined);
});

test('asks only for SIGINT with a terminal on stdin', () => {
  const tty = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => undefined });
  assert.equal(canAskOnInterrupt('SIGINT', tty), true);
  assert.equal(canAskOnInterrupt('SIGTERM', tty), false);
  assert.equal(canAskOnInterrupt('SIGINT', new PassThrough()), false);
  assert.equal(canAskOnInterrupt('SIGINT', Object.assign(new PassThrough(), { isTTY: true })), false, 'no raw mode, no keys one by one');
});

test('holdNext: the second signal answers instead of exiting; once released, a signal exits again', async () => {
  const signals = new EventEmitter();
  const exits: number[] = [];
  const interrupts = new Interrupts(signals, (code) => {
    exits.push(code);
    return undefined as never;
  });
  signals.emit('SIGINT');
  assert.equal(await interrupts.fired, 'SIGINT');
  const held = interrupts.holdNext();
  signals.emit('SIGINT');
  assert.equal(await held.next, 'SIGINT');
  assert.deepEqual(exits, []);
  signals.emit('SIGINT');
  assert.deepEqual(exits, [130], 'the hold answers one signal only');
  const again = interrupts.holdNext();
  again.release();
  signals.emit('SIGTERM');
  assert.deepEqual(exits, [130, 143]);
  interrupts.dispose();
});
