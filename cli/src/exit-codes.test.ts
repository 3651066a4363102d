import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from './cli';
import { EXIT_STATUS_MEANINGS, ExitCode } from './exit-codes';
import { testIo } from './testing/io';

const README = path.join(__dirname, '..', '..', 'README.md');

/** README's exit status table: the rows after its `| status | meaning |` header. */
function readmeTable(): [number, string][] {
  const lines = readFileSync(README, 'utf8').split('\n');
  const start = lines.indexOf('| status | meaning |');
  assert.ok(start >= 0, 'README has an exit status table');
  const rows: [number, string][] = [];
  for (const line of lines.slice(start + 2)) {
    const m = /^\| (\d+) \| (.+) \|$/.exec(line);
    if (!m) break;
    rows.push([Number(m[1]), m[2]!]);
  }
  return rows;
}

test("README's exit status table is exit-codes.ts's, row for row", () => {
  assert.deepEqual(readmeTable(), EXIT_STATUS_MEANINGS.map(([s, m]) => [s, m]));
});

test('every ExitCode has a meaning, and `archfarm --help` lists each one', async () => {
  const described = new Set(EXIT_STATUS_MEANINGS.map(([s]) => s));
  for (const [name, status] of Object.entries(ExitCode)) assert.ok(described.has(status), `${name} (${status}) has a meaning`);
  const io = testIo('/');
  assert.equal(await runCli(['--help'], io), 0);
  const help = io.stdout.text.split('Exit status:\n')[1];
  assert.ok(help, '--help has an Exit status section');
  const rows = help.split('\n').filter((l) => /^ {2}\d/.test(l)).map((l) => [Number(l.trim().split(/\s+/, 1)[0]), l.trim().replace(/^\d+\s+/, '')]);
  assert.deepEqual(rows, EXIT_STATUS_MEANINGS.map(([s, m]) => [s, m]));
});
