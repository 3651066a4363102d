import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AssignCatcher } from './support/assign-catcher';
import { makeContext } from './support/context';
import { TestFleet } from './support/fleet';
import { run } from './support/processes';
import { uniqueRepository } from './support/registry';
import { TokenRegistry } from './support/token-registry';

// Threat 3 (issue 15): credentials travelled too far. The CLI forwarded the operator's own
// Docker-config password unasked, it went in clear to the agents, and the coordinator fell back
// to its own user's Docker config. Against a real docker-registry configured for token auth
// (its token server is in this process, support/token-registry): a job now receives a token
// for exactly its repository and no password; the operator's login is forwarded only with
// --forward-credentials; the coordinator's host Docker config is read only with
// --use-host-docker-config.

const password = `pw-${randomBytes(12).toString('hex')}`;
let registry: TokenRegistry;
let dir: string;
/** A Docker config dir holding the registry's login, as `docker login` leaves it. */
let dockerConfig: string;
const previousDockerConfig = process.env.DOCKER_CONFIG;

before(async () => {
  registry = await TokenRegistry.start('builder', password);
  dir = await mkdtemp(join(tmpdir(), 'archfarm-hostile-creds-'));
  dockerConfig = join(dir, 'docker');
  await mkdir(dockerConfig);
  const auth = Buffer.from(`builder:${password}`).toString('base64');
  await writeFile(join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [registry.address]: { auth } } }));
  // The coordinators below (in this process, and the fleets' children) run as a user whose own
  // Docker config holds the login: it must stay unread unless --use-host-docker-config.
  process.env.DOCKER_CONFIG = dockerConfig;
});
after(async () => {
  if (previousDockerConfig === undefined) delete process.env.DOCKER_CONFIG;
  else process.env.DOCKER_CONFIG = previousDockerConfig;
  await registry?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const SCRATCH = 'FROM scratch\nCOPY hello.txt /hello.txt\n';
const b64 = (text: string) => Buffer.from(text).toString('base64');
/** The password as text and in the encodings a Docker config or a Basic header carry it. */
const leaks = (text: string) => [password, b64(`builder:${password}`)].some((p) => text.includes(p));

describe('what a job is handed (a coordinator in this process, an agent stand-in that records its Assign)', () => {
  test('forwarded credentials: the job gets a token for exactly repository:NAME:push,pull and no password', async () => {
    const catcher = await AssignCatcher.start({});
    try {
      const repository = uniqueRepository('creds');
      const registryAuth = { registry: registry.address, username: 'builder', password };
      const assign = await catcher.submit(`${registry.address}/${repository}:1`, SCRATCH, { registryAuth });
      assert.equal(assign.tokens.length, 1, 'one push token');
      const [token] = assign.tokens;
      assert.equal(token!.registry, registry.address);
      assert.equal(token!.repository, repository);
      assert.ok(token!.expiresAtMs > Date.now() && token!.expiresAtMs <= Date.now() + 300_000, 'short-lived, as the token server said');
      assert.deepEqual(TokenRegistry.claims(token!.token).access, [{ type: 'repository', name: repository, actions: ['push', 'pull'] }]);
      assert.deepEqual(assign.spec?.auths, [], 'no credentials for the registry in the spec');
      assert.ok(!leaks(JSON.stringify(assign)), 'the password is nowhere in what the agent got');
      const asked = registry.requests.filter((r) => r.userAgent === 'archfarm-coordinator');
      assert.ok(asked.length >= 1 && asked.every((r) => r.scope === `repository:${repository}:push,pull` && r.passwordOk), JSON.stringify(asked));
    } finally {
      await catcher.stop();
    }
  });

  test("without credentials in the request the coordinator's own Docker config is unread; --use-host-docker-config reads it", async () => {
    const repository = uniqueRepository('hostcfg');
    const tag = `${registry.address}/${repository}:1`;
    const unread = await AssignCatcher.start({});
    try {
      const assign = await unread.submit(tag, SCRATCH);
      assert.deepEqual([assign.tokens, assign.spec?.auths], [[], []], 'nothing: the host config was not read');
    } finally {
      await unread.stop();
    }
    const reading = await AssignCatcher.start({ useHostDockerConfig: true });
    try {
      const assign = await reading.submit(tag, SCRATCH);
      assert.deepEqual(assign.tokens.map((t) => TokenRegistry.claims(t.token).access), [[{ type: 'repository', name: repository, actions: ['push', 'pull'] }]]);
      assert.deepEqual(assign.spec?.auths, [], 'still a token, not the password');
    } finally {
      await reading.stop();
    }
  });
});

/** Every file under `root`, as text. */
async function allFiles(root: string): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  for (const entry of await readdir(root, { recursive: true })) {
    const path = join(root, entry);
    if ((await stat(path)).isFile()) out.push([path, await readFile(path, 'latin1')]);
  }
  return out;
}

/** The password is in no file of the agent's state dir, no line it logged, not in its argv or environment. */
async function assertAgentClean(fleet: TestFleet, name: string, pid: number): Promise<void> {
  for (const [path, text] of await allFiles(fleet.agentStateDir(name))) assert.ok(!leaks(text), `the password is not in ${path}`);
  const logged = fleet.logs.filter((l) => l.startsWith(`[${name}] `)).join('');
  assert.ok(logged.length > 0, 'the agent logged something');
  assert.ok(!leaks(logged), "the password is in no line of the agent's log");
  for (const file of ['cmdline', 'environ']) {
    assert.ok(!leaks((await readFile(`/proc/${pid}/${file}`)).toString('latin1')), `the password is not in the agent's /proc/${pid}/${file}`);
  }
}

async function startFleet(coordinatorArgs: string[] = []): Promise<{ fleet: TestFleet; pid: number }> {
  const fleet = await TestFleet.start([], { coordinatorArgs });
  const child = await fleet.addAgent({ name: 'pusher', platforms: 'linux/amd64' });
  await fleet.waitForAgents(['pusher']);
  return { fleet, pid: child.pid! };
}

const context = () => makeContext({ Dockerfile: SCRATCH, 'hello.txt': `hello ${randomBytes(4).toString('hex')}\n` });
const build = (fleet: TestFleet, tag: string, extra: string[], env: NodeJS.ProcessEnv = {}) =>
  context().then((ctx) => fleet.cli(['build', '--platform', 'linux/amd64', '-t', tag, '--progress', 'plain', ...extra, ctx], env));

async function published(tag: string): Promise<boolean> {
  const res = await run('skopeo', ['inspect', '--tls-verify=false', '--raw', '--creds', `builder:${password}`, `docker://${tag}`]);
  return res.code === 0;
}

describe('a real agent pushing to the token-auth registry', () => {
  test('--forward-credentials, else the stored `registry login`: the agent pushes with its token and the password reaches none of its files, logs or arguments', async () => {
    const { fleet, pid } = await startFleet();
    const seen = registry.requests.length;
    try {
      const denied = `${registry.address}/${uniqueRepository('unforwarded')}:1`;
      const plain = await build(fleet, denied, [], { DOCKER_CONFIG: dockerConfig });
      assert.notEqual(plain.code, 0, 'without --forward-credentials (and no login stored, host config unread) the push is refused');
      assert.match(plain.stderr, /REGISTRY_AUTH|refused access/);
      assert.ok(!(await published(denied)));

      const forwardedTag = `${registry.address}/${uniqueRepository('forwarded')}:1`;
      const forwarded = await build(fleet, forwardedTag, ['--forward-credentials'], { DOCKER_CONFIG: dockerConfig });
      assert.equal(forwarded.code, 0, forwarded.stderr);
      assert.ok(await published(forwardedTag));

      const login = await fleet.cli(['registry', 'login', registry.address, '-u', 'builder', '--password-stdin'], {}, `${password}\n`);
      assert.equal(login.code, 0, login.stderr);
      const storedTag = `${registry.address}/${uniqueRepository('stored')}:1`;
      const stored = await build(fleet, storedTag, [], { DOCKER_CONFIG: join(dir, 'none') });
      assert.equal(stored.code, 0, stored.stderr);
      assert.ok(await published(storedTag));

      const asked = registry.requests.slice(seen);
      const fromAgent = asked.filter((r) => r.userAgent === 'archfarm-agent');
      assert.ok(fromAgent.every((r) => r.user === undefined), `the agent never sent a password to the token server: ${JSON.stringify(fromAgent)}`);
      assert.ok(asked.some((r) => r.userAgent === 'archfarm-coordinator'), 'the coordinator fetched the tokens');
      for (const r of asked.filter((q) => q.userAgent === 'archfarm-coordinator')) {
        assert.match(r.scope, /^repository:test\/(forwarded|stored)-[0-9a-f]+:push,pull$/, 'the coordinator asks for one repository, push and pull');
      }
      await assertAgentClean(fleet, 'pusher', pid);
      for (const text of [plain.stderr, forwarded.stderr, stored.stderr]) assert.ok(!leaks(text));
    } finally {
      await fleet.stop();
    }
  });

  test('--use-host-docker-config: the coordinator pushes with its own Docker login, the agent still only with a token', async () => {
    const { fleet, pid } = await startFleet(['--use-host-docker-config']);
    try {
      const tag = `${registry.address}/${uniqueRepository('hostlogin')}:1`;
      const res = await build(fleet, tag, []);
      assert.equal(res.code, 0, res.stderr);
      assert.ok(await published(tag));
      await assertAgentClean(fleet, 'pusher', pid);
    } finally {
      await fleet.stop();
    }
  });
});
