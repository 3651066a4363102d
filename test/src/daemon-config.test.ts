import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseImage, makeContext } from './support/context';
import { BIN, collect, freePort, run, waitForOutput } from './support/processes';
import { testRegistry, uniqueRepository } from './support/registry';

/*
 * Issue 17: every daemon setting has a flag, an ARCHFARM_* variable and a --config key, and
 * the three say the same thing. A coordinator and an agent are started three times with the
 * same non-default settings, once from flags only, once from the environment only and once
 * from config files only (each time in an environment with no ARCHFARM_* variable of the
 * test's own), and each farm must report the same settings (only "from" differs), list the
 * agent alike, serve /readyz on the --http-listen it was given, log at the level it was
 * given, and publish a build. Then a config file with an unknown key or a bad duration must
 * refuse to start, exit 2, naming the file and the key.
 */

type Values = Record<string, string | string[] | boolean>;
type Form = 'flag' | 'env' | 'file';

const cleanEnv = (): NodeJS.ProcessEnv => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ARCHFARM_')));
const camelToFlag = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
const camelToEnv = (key: string) => `ARCHFARM_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

/** Values as flags, variables or a config file (written to `file`), for `form`. */
async function given(values: Values, form: Form, file: string): Promise<{ args: string[]; env: NodeJS.ProcessEnv }> {
  if (form === 'file') {
    await writeFile(file, JSON.stringify(values, null, 2));
    return { args: ['--config', file], env: {} };
  }
  if (form === 'env') {
    const env = Object.fromEntries(Object.entries(values).map(([k, v]) => [camelToEnv(k), Array.isArray(v) ? v.join(',') : String(v)]));
    return { args: [], env };
  }
  const args = Object.entries(values).flatMap(([k, v]) => (v === true ? [camelToFlag(k)] : Array.isArray(v) ? v.flatMap((item) => [camelToFlag(k), item]) : [camelToFlag(k), v as string]));
  return { args, env: {} };
}

interface Daemon {
  child: ChildProcess;
  stderr: () => string;
}

const started: ChildProcess[] = [];
const dirs: string[] = [];

function spawnDaemon(bin: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Daemon {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...cleanEnv(), ...env }, cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  started.push(child);
  let text = '';
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  return { child, stderr: () => text };
}

function jsonLines(text: string): Array<Record<string, unknown>> {
  return text.split('\n').flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

/** The start-up line's settings: key -> value, and the set of sources they came from. */
function settingsLine(text: string): { values: Record<string, unknown>; from: Set<string> } {
  const line = jsonLines(text).find((l) => l.msg === 'settings given (the rest are defaults)');
  assert.ok(line, `a "settings given" line; saw:\n${text.slice(0, 2000)}`);
  const settings = line.settings as Record<string, { value: unknown; from: string }>;
  return { values: Object.fromEntries(Object.entries(settings).map(([k, s]) => [k, s.value])), from: new Set(Object.values(settings).map((s) => s.from)) };
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function status(url: string): Promise<number> {
  return (await fetch(url)).status;
}

after(async () => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(started.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** One farm started with every setting given in `form`; what it reported and did. */
async function farm(form: Form, context: string): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), `archfarm-config-${form}-`));
  dirs.push(dir);
  const [grpc, coordinatorHttp, agentHttp] = [await freePort(), await freePort(), await freePort()];
  const coordinatorValues: Values = {
    listen: `127.0.0.1:${grpc}`,
    dataDir: join(dir, 'data'),
    insecure: true,
    httpListen: `127.0.0.1:${coordinatorHttp}`,
    leaseTtl: '7s',
    heartbeatInterval: '2s',
    nativeWait: '1m',
    maxAttempts: '5',
    maxContextSize: '64MiB',
    insecureRegistry: ['registry.invalid:5000', 'other.invalid:5000'],
    logLevel: 'debug',
  };
  const agentValues: Values = {
    coordinator: `127.0.0.1:${grpc}`,
    name: 'configured',
    insecure: true,
    stateDir: join(dir, 'agent'),
    platforms: 'linux/amd64',
    slots: '2',
    label: ['rack=3', 'site=home'],
    httpListen: `127.0.0.1:${agentHttp}`,
    probeInterval: '10m',
    retention: '2d',
    logLevel: 'debug',
  };
  // The file form keeps a count as a JSON number, as people write it.
  if (form === 'file') [coordinatorValues.maxAttempts, agentValues.slots] = [5 as unknown as string, 2 as unknown as string];
  await mkdir(join(dir, 'cwd'));
  const c = await given(coordinatorValues, form, join(dir, 'coordinator.json'));
  const coordinator = spawnDaemon(BIN.coordinator, c.args, c.env, join(dir, 'cwd'));
  await waitForOutput(coordinator.child, 'stderr', (t) => t.includes('coordinator serving'), 30_000);
  const a = await given(agentValues, form, join(dir, 'agent.json'));
  const agent = spawnDaemon(BIN.agent, a.args, a.env, join(dir, 'cwd'));

  const cli = (args: string[]) => run(process.execPath, [BIN.cli, ...args], { env: { ...cleanEnv(), ARCHFARM_COORDINATOR: `127.0.0.1:${grpc}`, ARCHFARM_INSECURE: '1', ARCHFARM_CONFIG: join(dir, 'cli.json') } });
  const listed = await until('the agent to be listed', async () => {
    const res = await cli(['agents', '--output', 'json']);
    const agents = res.code === 0 ? (JSON.parse(res.stdout) as Array<Record<string, unknown>>) : [];
    return agents.find((x) => x.name === 'configured' && Array.isArray(x.platforms) && x.platforms.length > 0);
  }, 60_000);
  const ready = { coordinator: await status(`http://127.0.0.1:${coordinatorHttp}/readyz`), agent: await until('agent /readyz 200', async () => ((await status(`http://127.0.0.1:${agentHttp}/readyz`)) === 200 ? 200 : undefined), 20_000) };

  const tag = `${testRegistry()}/${uniqueRepository(`config-${form}`)}:1`;
  const built = await cli(['build', '--platform', 'linux/amd64', '-t', tag, '--progress', 'plain', '--output', 'json', context]);
  assert.equal(built.code, 0, `the ${form} farm publishes; stderr:\n${built.stderr}\ncoordinator:\n${coordinator.stderr().slice(-3000)}`);
  const result = JSON.parse(built.stdout) as { digest: string; tag: string; platforms: Array<{ platform: string; agent: string; mode: string; digest: string }> };
  assert.match(result.digest, /^sha256:[0-9a-f]{64}$/, `${form}: the index's digest`);
  assert.equal(result.tag, tag);

  const cs = settingsLine(coordinator.stderr());
  const as = settingsLine(agent.stderr());
  const levels = (text: string) => new Set(jsonLines(text).map((l) => l.level));
  return {
    coordinatorSettings: normalise(cs.values, dir),
    coordinatorFrom: [...cs.from],
    agentSettings: normalise(as.values, dir),
    agentFrom: [...as.from],
    agent: { name: listed.name, platforms: listed.platforms, slots: listed.slots, labels: listed.labels },
    ready,
    debugLines: { coordinator: levels(coordinator.stderr()).has(20), agent: levels(agent.stderr()).has(20) },
    published: result.platforms.map((p) => ({ platform: p.platform, agent: p.agent, mode: p.mode })),
  };
}

/** Ports and temp dirs differ from farm to farm; the rest must not. */
function normalise(values: Record<string, unknown>, dir: string): Record<string, unknown> {
  return JSON.parse(JSON.stringify(values).replaceAll(dir, 'DIR').replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT')) as Record<string, unknown>;
}

test('a coordinator and an agent set from flags only, from ARCHFARM_* variables only and from config files only behave the same', async () => {
  const context = await makeContext({ Dockerfile: `FROM ${baseImage()}\nRUN echo configured > /configured\n` });
  dirs.push(context);
  const seen: Partial<Record<Form, Record<string, unknown>>> = {};
  for (const form of ['flag', 'env', 'file'] as const) seen[form] = await farm(form, context);

  for (const form of ['flag', 'env', 'file'] as const) {
    const s = seen[form]!;
    assert.deepEqual(s.coordinatorFrom, [form], `every coordinator setting came from the ${form}`);
    assert.deepEqual(s.agentFrom, [form], `every agent setting came from the ${form}`);
    assert.deepEqual(s.ready, { coordinator: 200, agent: 200 }, `${form}: /readyz on the --http-listen given`);
    assert.deepEqual(s.debugLines, { coordinator: true, agent: true }, `${form}: --log-level debug took`);
  }
  const flag = seen.flag!;
  // What the flags form parsed, spelled out once, so a setting dropped by all three forms fails too.
  assert.deepEqual(flag.coordinatorSettings, {
    listen: '127.0.0.1:PORT',
    dataDir: 'DIR/data',
    insecure: true,
    httpListen: '127.0.0.1:PORT',
    leaseTtl: 7000,
    heartbeatInterval: 2000,
    nativeWait: 60_000,
    maxAttempts: 5,
    maxContextSize: 64 * 1024 ** 2,
    insecureRegistry: ['registry.invalid:5000', 'other.invalid:5000'],
    logLevel: 'debug',
  });
  assert.deepEqual(flag.agentSettings, {
    coordinator: '127.0.0.1:PORT',
    name: 'configured',
    insecure: true,
    stateDir: 'DIR/agent',
    platforms: 'linux/amd64',
    slots: 2,
    label: ['rack=3', 'site=home'],
    httpListen: '127.0.0.1:PORT',
    probeInterval: 600_000,
    retention: '2d',
    logLevel: 'debug',
  });
  assert.deepEqual(flag.agent, { name: 'configured', platforms: (flag.agent as { platforms: unknown }).platforms, slots: 2, labels: { 'node-arch': process.arch, rack: '3', site: 'home' } });
  assert.deepEqual(flag.published, [{ platform: 'linux/amd64', agent: 'configured', mode: 'native' }]);
  for (const form of ['env', 'file'] as const) {
    const s = seen[form]!;
    for (const key of ['coordinatorSettings', 'agentSettings', 'agent', 'published']) assert.deepEqual(s[key], flag[key], `${form} and flags agree on ${key}`);
  }
});

test('a config file with an unknown key or a bad duration refuses to start, exit 2, naming the file and the key', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'archfarm-config-bad-'));
  dirs.push(dir);
  const cases: Array<[string, string, Record<string, unknown>, RegExp]> = [
    [BIN.coordinator, 'coordinator-unknown.json', { dataDir: join(dir, 'c1'), insecure: true, listen: '127.0.0.1:0', leaseTTL: '30s' }, /coordinator-unknown\.json: leaseTTL: unknown key; the keys are listen, /],
    [BIN.coordinator, 'coordinator-duration.json', { dataDir: join(dir, 'c2'), insecure: true, listen: '127.0.0.1:0', leaseTtl: '30' }, /coordinator-duration\.json: leaseTtl: "30" has no unit; write it with one, e\.g\. .*30s/],
    [BIN.coordinator, 'coordinator-nonsense.json', { dataDir: join(dir, 'c3'), insecure: true, listen: '127.0.0.1:0', heartbeatInterval: 'soon' }, /coordinator-nonsense\.json: heartbeatInterval: "soon" is not a duration/],
    [BIN.agent, 'agent-unknown.json', { coordinator: '127.0.0.1:9', insecure: true, stateDir: join(dir, 'a1'), slot: 2 }, /agent-unknown\.json: slot: unknown key; the keys are coordinator, /],
    [BIN.coordinator, 'coordinator-retention.json', { dataDir: join(dir, 'c4'), insecure: true, listen: '127.0.0.1:0', retention: '7' }, /coordinator-retention\.json: retention: "7" has no unit/],
    [BIN.agent, 'agent-max-disk.json', { coordinator: '127.0.0.1:9', insecure: true, stateDir: join(dir, 'a3'), maxDisk: 'lots' }, /agent-max-disk\.json: maxDisk: /],
    [BIN.agent, 'agent-duration.json', { coordinator: '127.0.0.1:9', insecure: true, stateDir: join(dir, 'a2'), probeInterval: '5 minutes' }, /agent-duration\.json: probeInterval: "5 minutes" is not a duration/],
  ];
  for (const [bin, name, values, message] of cases) {
    const file = join(dir, name);
    await writeFile(file, JSON.stringify(values));
    const child = spawn(process.execPath, [bin, '--config', file], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    started.push(child);
    const res = await collect(child);
    assert.equal(res.code, 2, `${name}: exit 2; stderr:\n${res.stderr}`);
    assert.match(res.stderr, message, name);
    assert.doesNotMatch(res.stderr, /coordinator serving|connected to coordinator/, `${name}: nothing started`);
  }
});
