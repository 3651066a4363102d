import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidInputError } from '@archfarm/common';
import { quoteShellWords, splitShellWords } from './shell-words';

const split = (text: string) => splitShellWords(text, '--smoke');

test('splits on blanks, as sh does', () => {
  assert.deepEqual(split('uname -m'), ['uname', '-m']);
  assert.deepEqual(split('  /app/server\t--self-test \n --port=0 '), ['/app/server', '--self-test', '--port=0']);
  assert.deepEqual(split(''), []);
  assert.deepEqual(split('   '), []);
});

test('quotes keep blanks and shell characters; adjacent parts join into one word', () => {
  assert.deepEqual(split(`sh -c 'uname -m | grep -q arm'`), ['sh', '-c', 'uname -m | grep -q arm']);
  assert.deepEqual(split(`python3 -c "print('ok'); import sys"`), ['python3', '-c', "print('ok'); import sys"]);
  assert.deepEqual(split(`echo 'a'"b"c`), ['echo', 'abc']);
  assert.deepEqual(split(`echo '' ""`), ['echo', '', '']);
  assert.deepEqual(split(`echo '$HOME' it\\'s`), ['echo', '$HOME', "it's"]);
  // Quoted text is not expanded: the inner shell gets its script as written.
  assert.deepEqual(split(`sh -c "echo on $(uname -m); test $(uname -m) != armv7l"`), ['sh', '-c', 'echo on $(uname -m); test $(uname -m) != armv7l']);
  assert.deepEqual(split('echo "\\$HOME `id`"'), ['echo', '$HOME `id`']);
  assert.deepEqual(split(`echo "a \\"b\\" \\\\ \\n"`), ['echo', 'a "b" \\ \\n']);
  assert.deepEqual(split('echo a#b \\| one\\\ntwo'), ['echo', 'a#b', '|', 'onetwo']);
});

test('refuses what only a shell would understand, and unterminated quotes, naming the flag', () => {
  const cases: [string, RegExp][] = [
    ['uname -m | grep arm', /uses "\|", which needs a shell; quote it, or run a shell yourself/],
    ['true && false', /uses "&"/],
    ['echo $HOME', /uses "\$"/],
    ['echo `id`', /uses "`"/],
    ['app > /dev/null', /uses ">"/],
    ['app # comment', /uses "#"/],
    ["sh -c 'exit 1", /unterminated single quote/],
    ['echo "x', /unterminated double quote/],
  ];
  for (const [text, pattern] of cases) {
    assert.throws(
      () => split(text),
      (err: unknown) => err instanceof InvalidInputError && err.field === '--smoke' && pattern.test(err.message),
      text,
    );
  }
});

test('quoteShellWords reads back as the same argv', () => {
  const argvs = [['uname', '-m'], ['sh', '-c', "echo it's | cat"], ['printf', '%s\n', ''], ['a b', '$x', '`y`', 'k=v,w:1/2@3']];
  for (const argv of argvs) assert.deepEqual(split(quoteShellWords(argv)), argv);
  assert.equal(quoteShellWords(['sh', '-c', 'uname -m']), "sh -c 'uname -m'");
});
