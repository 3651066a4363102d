import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { AgentServiceClient, BuildMode, type AgentMessage, type CoordinatorMessage } from '@archfarm/proto';
import { CoordinatorChild } from './support/coordinator-child';
import { BIN, run, type RunResult } from './support/processes';
import { PROTOCOL_VERSION } from '@archfarm/common';

/*
 * Threat 13 (issue 15): build output reached operators' terminals raw, so a RUN step (or an
 * agent) could print escape sequences that set the window title, clear the screen, hide lines
 * or, on some terminals, answer back as typed input. Now what people read is neutralised
 * (\n and \t kept, every other control shown as \xNN), and machine outputs stay exact: a raw
 * `archfarm logs` to a pipe is byte for byte, a --progress json line holds the exact text.
 * The agent here is scripted on the real Connect and UploadLog streams; no engine needed.
 */

const HOSTILE = 'step 1\u001b]0;pwned\u0007 \u001b[2J\u001b[31mred\u001b[0m\tC1:\u009b6n\rover\n';
/** Bytes a terminal acts on: ESC, BEL, CR, and the UTF-8 of C1 controls (U+0080-U+009F). */
const ACTIVE = /\u001b|\u0007|\r|\u009b|[\u0080-\u009f]/;

let dir: string;
let coordinator: CoordinatorChild;
let agent: ClientDuplexStream<AgentMessage, CoordinatorMessage>;
let agentClient: AgentServiceClient;

const env = () => ({ ARCHFARM_COORDINATOR: coordinator.address, ARCHFARM_INSECURE: '1', ARCHFARM_CONFIG: join(dir, 'cli-config.json') });
const cli = (args: string[]): Promise<RunResult> => run(process.execPath, [BIN.cli, ...args], { env: env() });

/** An agent that, for every job, logs HOSTILE (over UploadLog) and fails with an escape in its error. */
function scriptedAgent(address: string): void {
  agentClient = new AgentServiceClient(address, credentials.createInsecure());
  agent = agentClient.connect();
  agent.on('error', () => {});
  agent.on('data', (m: CoordinatorMessage) => {
    if (m.msg?.$case !== 'assign') return;
    const { jobId, attempt } = m.msg.value;
    agent.write({ msg: { $case: 'started', value: { jobId, attempt } } });
    const upload = agentClient.uploadLog(() => {
      const error = { code: 'BUILD_FAILED', kind: 'build', message: 'RUN failed \u001b[8mhidden' };
      agent.write({ msg: { $case: 'finished', value: { jobId, attempt, digest: '', mediaType: '', size: 0, error, bases: [] } } });
    });
    upload.write({ jobId, attempt, offset: 0, data: Buffer.from(HOSTILE) });
    upload.end();
  });
  const hello = { name: 'rogue', version: 'test', nodeVersion: process.version, protocol: PROTOCOL_VERSION, engine: 'scripted', labels: {}, slots: 2, running: [] };
  agent.write({ msg: { $case: 'hello', value: { ...hello, platforms: [{ platform: 'linux/amd64', mode: BuildMode.BUILD_MODE_NATIVE }] } } });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'archfarm-hostile-terminal-'));
  coordinator = await CoordinatorChild.start(join(dir, 'data'), ['--insecure', '--max-attempts', '1']);
  scriptedAgent(coordinator.address);
  await mkdir(join(dir, 'ctx'));
  await writeFile(join(dir, 'ctx', 'Dockerfile'), 'FROM scratch\n');
  await new Promise((r) => setTimeout(r, 500)); // the Hello registered
});
after(async () => {
  agent?.cancel();
  agentClient?.close();
  if (coordinator) {
    process.kill(coordinator.pid, 'SIGTERM');
    await coordinator.exited();
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

const build = (progress: string, tag: string) => cli(['build', '--progress', progress, '--platform', 'linux/amd64', '-t', `127.0.0.1:9/term/${tag}:1`, join(dir, 'ctx')]);

let buildId = '';

test('archfarm build --progress plain shows the escape sequences instead of sending them to the terminal', async () => {
  const res = await build('plain', 'plain');
  assert.notEqual(res.code, 0, 'the job failed');
  buildId = /build (\S+): linux\/amd64/.exec(res.stderr)?.[1] ?? '';
  assert.ok(buildId, res.stderr);
  assert.match(res.stderr, /step 1\\x1b\]0;pwned\\x07 \\x1b\[2J\\x1b\[31mred\\x1b\[0m\tC1:\\x9b6n\\x0dover/);
  assert.match(res.stderr, /RUN failed \\x1b\[8mhidden/);
  assert.doesNotMatch(res.stderr, ACTIVE);
  assert.doesNotMatch(res.stdout, ACTIVE);
});

test('archfarm build --progress json keeps the exact text, in lines a terminal cannot act on', async () => {
  const res = await build('json', 'json');
  assert.doesNotMatch(res.stderr, ACTIVE);
  const events = res.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; text?: string });
  const text = events.filter((e) => e.type === 'log').map((e) => e.text).join('');
  assert.equal(text, HOSTILE, 'byte-honest for machines');
});

test('archfarm logs: raw to a pipe is byte for byte; to a terminal (a pty) it is neutralised', async () => {
  assert.ok(buildId);
  const piped = await cli(['logs', buildId]);
  assert.equal(piped.code, 0, piped.stderr);
  assert.equal(piped.stdout, HOSTILE);

  // util-linux script(1) gives the CLI a pty for stdout; the pty turns \n into \r\n itself.
  const shell = [process.execPath, BIN.cli, 'logs', buildId].map((a) => `'${a}'`).join(' ');
  const tty = await run('script', ['-q', '-e', '-c', shell, '/dev/null'], { env: env() });
  assert.equal(tty.code, 0, tty.stderr);
  const shown = tty.stdout.replace(/\r\n/g, '\n');
  assert.match(shown, /step 1\\x1b\]0;pwned\\x07 \\x1b\[2J/);
  assert.doesNotMatch(shown, ACTIVE);
});
