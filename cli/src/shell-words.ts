import { InvalidInputError } from '@archfarm/common';

/** Characters a shell would act on when unquoted; nothing here runs a shell to do so. */
const SHELL_ACTIVE = new Set(['|', '&', ';', '<', '>', '(', ')', '$', '`']);
const SPACE = /[ \t\n]/;
/** Characters a backslash escapes inside double quotes (POSIX); before others it stays. */
const DQUOTE_ESCAPABLE = new Set(['\\', '"', '$', '`', '\n']);
const SHELL_HINT = `quote it, or run a shell yourself, e.g. --smoke "sh -c 'uname -m | grep arm'"`;

/**
 * Splits a command line into argv the way sh splits words: blanks separate words, '...'
 * is literal, "..." keeps blanks, a backslash escapes the next character. Nothing is
 * expanded: the command runs without a shell, so quoted text reaches it as written
 * (`sh -c "test $(uname -m) = armv7l"` gives sh its script intact). An unquoted `|`, `;`,
 * `$`, `>`... is refused: passed on as a word it would make a smoke test pass while
 * testing something else.
 */
export function splitShellWords(text: string, field: string): string[] {
  const bad = (why: string): never => {
    throw new InvalidInputError(field, `"${text}" ${why}`);
  };
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (SPACE.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) bad('has an unterminated single quote');
      word = (word ?? '') + text.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      const [value, end] = doubleQuoted(text, i + 1, bad);
      word = (word ?? '') + value;
      i = end;
    } else if (c === '\\') {
      // Backslash-newline is a line continuation; a trailing backslash stands for itself.
      const next = text[i + 1];
      if (next !== '\n') word = (word ?? '') + (next ?? '\\');
      i += 1;
    } else if (SHELL_ACTIVE.has(c) || (c === '#' && word === undefined)) {
      bad(`uses "${c}", which needs a shell; ${SHELL_HINT}`);
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

function doubleQuoted(text: string, start: number, bad: (why: string) => never): [string, number] {
  let value = '';
  for (let i = start; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') return [value, i];
    if (c === '\\' && DQUOTE_ESCAPABLE.has(text[i + 1] ?? '')) {
      if (text[i + 1] !== '\n') value += text[i + 1];
      i += 1;
    } else {
      value += c;
    }
  }
  return bad('has an unterminated double quote');
}

/** argv as one line a shell (and {@link splitShellWords}) reads back as the same words. */
export function quoteShellWords(argv: readonly string[]): string {
  return argv.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}
