import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { BIN } from './support/processes';

/** "Example:", "Examples:" or "Example (a Raspberry Pi, first start):" on a line of its own. */
const EXAMPLE_SECTION = /^Examples?(?: \([^)]*\))?:$/m;

function help(bin: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [bin, ...args, '--help'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' }, timeout: 30_000 });
}

// The CLI's whole tree is walked in-process by cli/src/help.test.ts; here each program as
// shipped, spawned, including the two daemons.
for (const [name, bin, args] of [
  ['archfarm-coordinator', BIN.coordinator, []],
  ['archfarm-agent', BIN.agent, []],
  ['archfarm', BIN.cli, []],
  ['archfarm builds', BIN.cli, ['builds']],
  ['archfarm completion', BIN.cli, ['completion']],
] as const) {
  test(`${name} --help exits 0 with an example`, () => {
    const out = help(bin, [...args]);
    assert.equal(out.status, 0, out.stderr);
    assert.match(out.stdout, /^Usage: /m);
    assert.match(out.stdout, EXAMPLE_SECTION);
  });
}
