import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createProgram, runCli } from '../cli';
import { testIo } from '../testing/io';
import { completionScript } from './completion';

async function script(shell: string): Promise<string> {
  const io = testIo('/');
  assert.equal(await runCli(['completion', shell], io), 0, io.stderr.text);
  return io.stdout.text;
}

function has(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`]).status === 0;
}

/** Sources the script in a real bash and completes each line as bash would (COMP_WORDS, COMP_CWORD). */
function bashComplete(text: string, lines: string[]): string[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'archfarm-completion-'));
  try {
    const file = path.join(dir, 'archfarm.bash');
    writeFileSync(file, text);
    const driver = `source ${JSON.stringify(file)}
while IFS= read -r line; do
  read -r -a COMP_WORDS <<< "$line"
  [[ $line == *" " ]] && COMP_WORDS+=("")
  COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); COMPREPLY=()
  _archfarm
  echo "\${COMPREPLY[*]}"
done`;
    const out = spawnSync('bash', ['--norc', '--noprofile', '-c', driver], { input: lines.join('\n') + '\n', encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    assert.equal(out.stderr, '');
    return out.stdout.split('\n').slice(0, lines.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('bash: commands, subcommands, a default subcommand\'s flags and declared choices complete', async () => {
  const text = await script('bash');
  assert.deepEqual(
    bashComplete(text, [
      'archfarm bui',
      'archfarm builds --st',
      'archfarm builds --status ',
      'archfarm builds ls --status f',
      'archfarm builds --output ',
      'archfarm --coordinator builds builds ',
      'archfarm builds ls --sched',
      'archfarm agents dr',
      'archfarm completion ',
      'archfarm build --platform linux/arm64 --pla',
      'archfarm logs --platform builds -',
    ]),
    [
      'build builds',
      '--status',
      'running publishing published failed cancelled',
      'failed',
      'text json',
      // --coordinator takes a value: "builds" after it is that value, the next "builds" the command.
      'ls inspect',
      '--schedule',
      'drain',
      'bash zsh fish',
      '--platform --plan',
      // logs' flags, not a `builds` path: the value of --platform is skipped.
      bashLogsFlags(text),
    ],
  );
});

/** What `archfarm logs -` should offer: read from the tree's own help, not written out here. */
function bashLogsFlags(text: string): string {
  const m = /^    'logs'\) REPLY='([^']*)' ;;$/m.exec(text.split('  options)')[1] ?? '');
  assert.ok(m, 'the options table has a logs row');
  return m[1]!;
}

test('completion scripts come from the command tree: a command added at run time is offered', async () => {
  const program = createProgram({ io: testIo('/'), errorFormat: 'text' });
  program.command('zebra-stripes').option('--colour <c>', 'which').description('a test command');
  const text = completionScript(program, 'bash');
  assert.deepEqual(bashComplete(text, ['archfarm zeb', 'archfarm zebra-stripes --col']), ['zebra-stripes', '--colour']);
  assert.match(completionScript(program, 'fish'), /-a 'zebra-stripes' -d 'a test command'/);
  assert.match(completionScript(program, 'zsh'), /'zebra-stripes:a test command'/);
});

test('zsh: the script has the tree with descriptions and parses', async (t) => {
  const text = await script('zsh');
  assert.match(text, /^#compdef archfarm\n/);
  assert.match(text, /compdef _archfarm archfarm/);
  assert.match(text, /^    'builds'\) reply=\('ls:list the most recent builds.*' 'inspect:show a build/m);
  assert.match(text, /'builds\|--status'\) reply=\('running' 'publishing' 'published' 'failed' 'cancelled'\) ;;/);
  // bash parses the same control structures and quoting (zsh's own expansions are run-time only).
  assert.equal(spawnSync('bash', ['-n'], { input: text }).status, 0, 'quotes and blocks balance');
  if (has('zsh')) assert.equal(spawnSync('zsh', ['-n'], { input: text, encoding: 'utf8' }).status, 0);
  else t.diagnostic('zsh is not installed: zsh -n not run');
});

test('fish: one complete line per command and option, choices on --status, and it parses', async (t) => {
  const text = await script('fish');
  assert.match(text, /^complete -c archfarm -n '__archfarm_at '\\''builds'\\''' -f -a 'ls' -d '/m);
  assert.match(text, /^complete -c archfarm -n '__archfarm_at '\\''builds'\\''' -l 'status' -x -a 'running publishing published failed cancelled' -d '/m);
  assert.match(text, /^complete -c archfarm -n '__archfarm_at '\\'''\\''' -f -a 'build' -d '/m);
  for (const line of text.split('\n').filter((l) => l.startsWith('complete '))) {
    // Every quote closed: an even count of ' once each '\'' escape is taken out.
    assert.equal((line.replace(/'\\''/g, '').match(/'/g) ?? []).length % 2, 0, line);
  }
  if (has('fish')) assert.equal(spawnSync('fish', ['-n'], { input: text, encoding: 'utf8' }).status, 0);
  else t.diagnostic('fish is not installed: fish -n not run');
});

test('completion of an unknown shell is bad input (exit 2)', async () => {
  const io = testIo('/');
  assert.equal(await runCli(['completion', 'tcsh'], io), 2);
  assert.match(io.stderr.text, /bash, zsh, fish/);
});
