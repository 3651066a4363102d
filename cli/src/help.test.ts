import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createProgram, runCli } from './cli';
import { completionTree, flatten } from './commands/completion-tree';
import { testIo } from './testing/io';

/** "Example:", "Examples:" or "Example (a Raspberry Pi, first start):" on a line of its own. */
const EXAMPLE_SECTION = /^Examples?(?: \([^)]*\))?:$/m;

test('every command in the tree answers --help with exit 0 and an Example(s) section', async () => {
  const paths = flatten(completionTree(createProgram({ io: testIo('/'), errorFormat: 'text' }))).map((n) => n.path);
  // The walk reaches the whole tree, groups and their commands alike.
  for (const known of [[], ['build'], ['builds', 'ls'], ['agents', 'drain'], ['schedules', 'rm'], ['tokens', 'list'], ['completion']]) {
    assert.ok(paths.some((p) => p.join(' ') === known.join(' ')), `the walk finds "${known.join(' ')}"`);
  }
  const missing: string[] = [];
  for (const path of paths) {
    const io = testIo('/');
    assert.equal(await runCli([...path, '--help'], io), 0, `archfarm ${path.join(' ')} --help: ${io.stderr.text}`);
    assert.match(io.stdout.text, /^Usage: archfarm/m, `archfarm ${path.join(' ')} --help prints its usage`);
    if (!EXAMPLE_SECTION.test(io.stdout.text)) missing.push(`archfarm ${path.join(' ')}`.trim());
  }
  assert.deepEqual(missing, [], 'commands whose --help has no example');
});

test('every listing takes --output json (declared, so --help and completion show the choice)', () => {
  const nodes = flatten(completionTree(createProgram({ io: testIo('/'), errorFormat: 'text' })));
  for (const listing of [['builds'], ['builds', 'ls'], ['builds', 'inspect'], ['agents'], ['tokens', 'list'], ['schedules'], ['schedules', 'list'], ['schedules', 'show']]) {
    const node = nodes.find((n) => n.path.join(' ') === listing.join(' '));
    assert.ok(node, `archfarm ${listing.join(' ')} exists`);
    const output = node.options.find((o) => o.names.includes('--output'));
    assert.deepEqual(output?.choices, ['text', 'json'], `archfarm ${listing.join(' ')} --output`);
  }
});
