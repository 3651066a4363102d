import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { baseImage, makeContext } from './support/context';
import { TestFleet } from './support/fleet';
import { inspect, waitFor } from './support/builds';
import { coordinatorTail, indexPlatforms, manifestDigest, skopeoRaw } from './support/lifecycle';
import { BIN } from './support/processes';
import { testRegistry, uniqueRepository } from './support/registry';
import { TmuxTerminal } from './support/tmux';

// Issue 17: `archfarm build --progress tty` in a real terminal (tmux): one live line per
// platform while it builds, the summary table after; Ctrl-C then d detaches and the build
// still publishes.

const PLATFORMS = ['linux/amd64', 'linux/arm64'];
const SIZE = { columns: 140, rows: 40 };
const AGENT = 'tty-agent';

/** A live line: platform, agent, mode, then a step count (the RUN takes seconds, so it is seen). */
const liveLine = (platform: string, mode: string) => new RegExp(`^${platform}\\s+${AGENT}\\s+${mode}\\s+step \\d+/\\d+\\s`);
const MODES: Record<string, string> = { 'linux/amd64': 'native', 'linux/arm64': 'emulated' };

describe('build --progress tty in a real terminal', () => {
  let fleet: TestFleet | undefined;
  let dir = '';
  const terminals: TmuxTerminal[] = [];
  after(async () => {
    for (const t of terminals) await t.kill();
    await fleet?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('live lines per platform, the summary table; Ctrl-C then d detaches and the build publishes', { timeout: 300_000 }, async (t) => {
    fleet = await TestFleet.start([{ name: AGENT, platforms: PLATFORMS.join(','), slots: 2 }]);
    const agents = await fleet.waitForAgents([AGENT]);
    const modes = Object.fromEntries(agents[0]!.platforms.map((p) => [p.platform, p.mode]));
    assert.deepEqual([modes['linux/amd64'], modes['linux/arm64']], ['native', 'emulated'], 'one native and one emulated platform');
    dir = await mkdtemp(join(tmpdir(), 'af-tty-'));

    // --- a build followed to its end -----------------------------------------------------
    const first = await inTerminal(fleet, dir, 'one', await slowContext(4));
    terminals.push(first.term);
    let live: string[] | undefined;
    for (;;) {
      const screen = await first.term.capture();
      if (!live && PLATFORMS.every((p) => rowsOf(screen, p).length === 1 && liveLine(p, MODES[p]!).test(rowsOf(screen, p)[0]!))) live = screen;
      if (await first.exited()) break;
      await sleep(200);
    }
    const end = await first.term.capture();
    t.diagnostic(`a live frame:\n${live?.join('\n')}\nthe end:\n${end.join('\n')}`);
    assert.ok(live, `no capture showed one live line per platform; the end:\n${end.join('\n')}`);
    assert.equal(await first.rc(), 0, end.join('\n'));
    const built = await inspect(fleet, await first.buildId(end));
    assert.equal(built.state, 'published');
    assert.equal(await first.stdout(), `${built.digest}\n`, 'the index digest alone on stdout');
    // The live lines gave way to the table: one row per platform with its agent, mode and digest.
    const header = end.findIndex((l) => /^PLATFORM\s+AGENT\s+MODE\s+DURATION\s+DIGEST$/.test(l));
    assert.ok(header >= 0, `summary table header:\n${end.join('\n')}`);
    for (const p of built.platforms) {
      const rows = rowsOf(end, p.platform);
      assert.equal(rows.length, 1, `${p.platform}: one row left on screen, its table row\n${end.join('\n')}`);
      const cells = rows[0]!.split(/\s+/);
      assert.deepEqual(cells.slice(0, 3), [p.platform, AGENT, MODES[p.platform]]);
      assert.ok(p.digest.startsWith(cells[4]!) && cells[4]!.length >= 'sha256:'.length + 12, `${p.platform}: digest ${cells[4]} is ${p.digest}`);
      assert.ok(end.indexOf(rows[0]!) > header);
    }
    assert.ok(end.includes(`published ${first.tag}`), end.join('\n'));

    // --- Ctrl-C, then d ------------------------------------------------------------------
    const second = await inTerminal(fleet, dir, 'two', await slowContext(12));
    terminals.push(second.term);
    await until(second.term, (s) => PLATFORMS.every((p) => rowsOf(s, p).some((r) => liveLine(p, MODES[p]!).test(r) && / RUN /.test(r))), 'both platforms running their RUN step');
    await second.term.sendKeys('C-c');
    await until(second.term, (s) => s.some((l) => l.startsWith('cancel the build or detach? [c/d]')), 'the question');
    await second.term.sendKeys('d');
    const deadline = Date.now() + 30_000;
    while (!(await second.exited())) {
      assert.ok(Date.now() < deadline, `the CLI did not exit after d:\n${(await second.term.capture()).join('\n')}`);
      await sleep(200);
    }
    const detached = await second.term.capture();
    t.diagnostic(`after d:\n${detached.join('\n')}`);
    assert.equal(await second.rc(), 0, detached.join('\n'));
    const id = (await second.stdout()).trim();
    assert.match(id, /^\S+$/, 'the build id on stdout, as with --detach');
    assert.ok(detached.some((l) => l.startsWith(`detached from build ${id}`)), detached.join('\n'));
    assert.ok(detached.some((l) => l.includes(`archfarm logs -f ${id}`)) && detached.some((l) => l.includes(`archfarm builds inspect ${id}`)), detached.join('\n'));
    const atDetach = await inspect(fleet, id);
    assert.notEqual(atDetach.state, 'cancelled');
    assert.notEqual(atDetach.state, 'published', 'the CLI left while the build ran');

    const done = await waitFor(fleet, id, (b) => b.state === 'published' || b.state === 'failed' || b.state === 'cancelled', 180_000, 'the detached build');
    assert.equal(done.state, 'published', `${JSON.stringify(done)}\n${coordinatorTail(fleet)}`);
    for (const p of done.platforms) assert.deepEqual(p.attempts.map((a) => a.outcome), ['succeeded'], `${p.platform}: built once, not cancelled`);
    const raw = await skopeoRaw(second.tag);
    assert.equal(raw.code, 0, raw.stderr);
    assert.equal(manifestDigest(raw.stdout), done.digest, 'the registry holds the index the build published');
    // The registry's index names arm64 with its variant, as the engine wrote it.
    assert.deepEqual(indexPlatforms(raw.stdout).filter((p) => !p.startsWith('unknown/')), ['linux/amd64', 'linux/arm64/v8'], raw.stdout);
  });
});

/** The screen's rows that start with `platform` and a space. */
function rowsOf(screen: readonly string[], platform: string): string[] {
  return screen.filter((l) => l.startsWith(`${platform} `));
}

/** A context whose RUN prints a marker (so no cache serves it) and takes `seconds`. */
function slowContext(seconds: number): Promise<string> {
  const marker = `tty${randomBytes(4).toString('hex')}`;
  return makeContext({ Dockerfile: `FROM ${baseImage()}\nRUN echo ${marker} && sleep ${seconds} && echo ${marker}-done\n` });
}

async function until(term: TmuxTerminal, ok: (screen: string[]) => boolean, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const screen = await term.capture();
    if (ok(screen)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${screen.join('\n')}`);
    await sleep(200);
  }
}

/**
 * Runs `archfarm build --progress tty` in a tmux window: stderr and stdin are the terminal,
 * stdout goes to a file (the result, as a script would take it), the exit status to another.
 * bash's `trap : INT` keeps the shell alive across the Ctrl-C (its child resets it to the
 * default, so the CLI gets SIGINT as usual) to record the CLI's status.
 */
async function inTerminal(fleet: TestFleet, dir: string, name: string, context: string) {
  const tag = `${testRegistry()}/${uniqueRepository('tty')}:1`;
  const files = { out: join(dir, `${name}.out`), rc: join(dir, `${name}.rc`), script: join(dir, `${name}.sh`) };
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const env = Object.entries(fleet.cliEnv()).map(([k, v]) => `export ${k}=${q(v ?? '')}`);
  const argv = [process.execPath, BIN.cli, 'build', '--progress', 'tty', '--platform', PLATFORMS.join(','), '-t', tag, context];
  const script = ['trap : INT', ...env, `${argv.map(q).join(' ')} >${q(files.out)}`, `echo $? >${q(`${files.rc}.tmp`)} && mv ${q(`${files.rc}.tmp`)} ${q(files.rc)}`, 'exec sleep 3600', ''];
  await writeFile(files.script, script.join('\n'));
  await chmod(files.script, 0o700);
  const term = await TmuxTerminal.start(join(dir, `${name}.sock`), ['/bin/bash', files.script], SIZE);
  return {
    term,
    tag,
    exited: () => readFile(files.rc, 'utf8').then(() => true, () => false),
    rc: async () => Number((await readFile(files.rc, 'utf8')).trim()),
    stdout: () => readFile(files.out, 'utf8'),
    /** The id from the "build ID: platforms" line the CLI printed first. */
    buildId: (screen: string[]) => {
      const line = screen.find((l) => /^build \S+: linux\//.test(l));
      assert.ok(line, screen.join('\n'));
      return line.split(' ')[1]!.replace(/:$/, '');
    },
  };
}
