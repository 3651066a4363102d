/**
 * Versions and protocols across processes: `archfarm version` against the real coordinator
 * and against a test server that speaks an older protocol; the coordinator refusing, by
 * name, an agent's Hello and a CLI's header with a protocol it does not accept.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, Server, ServerCredentials, status, type ServiceError } from '@grpc/grpc-js';
import { ACCEPTED_PROTOCOLS, ARCHFARM_VERSION, COORDINATOR_TLS_NAME, PROTOCOL_VERSION } from '@archfarm/common';
import { AgentServiceClient, BuildMode, BuildServiceClient, VersionServiceClient, VersionServiceService, type CoordinatorMessage, type GetVersionResponse, type ListAgentsResponse } from '@archfarm/proto';
import { BIN, run } from './support/processes';
import { call, SecureCoordinator } from './support/secure-coordinator';

const OPTIONS = { 'grpc.ssl_target_name_override': COORDINATOR_TLS_NAME, 'grpc.default_authority': COORDINATOR_TLS_NAME };

let secure: SecureCoordinator;
let dir: string;

before(async () => {
  secure = await SecureCoordinator.start();
  dir = await mkdtemp(join(tmpdir(), 'archfarm-version-'));
  await writeFile(join(dir, 'ca.crt'), secure.caPem);
});

after(async () => {
  await secure.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The CLI as a user runs it: TLS with the coordinator's CA, no token (version needs none). */
const archfarm = (args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, [BIN.cli, ...args], { env: { ARCHFARM_CONFIG: join(dir, 'config.json'), ARCHFARM_TOKEN: '', ...env } });

test('archfarm version against the real coordinator prints both versions and the protocols', async () => {
  const env = { ARCHFARM_COORDINATOR: secure.address, ARCHFARM_CA_FILE: join(dir, 'ca.crt') };
  const text = await archfarm(['version'], env);
  assert.equal(text.code, 0, text.stderr);
  const [cli, coordinator] = text.stdout.trimEnd().split('\n');
  assert.match(cli ?? '', new RegExp(`^cli\\s+${ARCHFARM_VERSION}\\s+protocol ${PROTOCOL_VERSION} \\(accepts protocols? ${ACCEPTED_PROTOCOLS.min}`));
  assert.match(coordinator ?? '', new RegExp(`^coordinator\\s+${ARCHFARM_VERSION}\\s+protocol ${PROTOCOL_VERSION} .* at ${secure.address}$`));

  const json = await archfarm(['version', '--output', 'json'], env);
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual(JSON.parse(json.stdout), {
    cli: { version: ARCHFARM_VERSION, protocol: PROTOCOL_VERSION, accepts: ACCEPTED_PROTOCOLS },
    coordinator: { address: secure.address, version: ARCHFARM_VERSION, protocol: PROTOCOL_VERSION, accepts: ACCEPTED_PROTOCOLS },
    compatible: true,
  });
});

test('archfarm version against a coordinator of an older protocol says so and exits non-zero', async (t) => {
  // A server that implements only GetVersion and accepts only the protocol before this one.
  const older = PROTOCOL_VERSION - 1;
  const server = new Server();
  server.addService(VersionServiceService, {
    getVersion: (_call: unknown, callback: (err: null, res: GetVersionResponse) => void) => callback(null, { version: '0.0.9', protocol: older, minProtocol: older, maxProtocol: older }),
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  t.after(() => server.forceShutdown());
  const address = `127.0.0.1:${port}`;

  const res = await archfarm(['version'], { ARCHFARM_COORDINATOR: address, ARCHFARM_INSECURE: '1' });
  assert.equal(res.code, 1, `exit status: ${res.code}\n${res.stderr}`);
  assert.match(res.stdout, /^coordinator\s+0\.0\.9\s+protocol 0 /m);
  assert.match(
    res.stderr,
    new RegExp(`error: this archfarm CLI \\(${ARCHFARM_VERSION}\\) speaks protocol ${PROTOCOL_VERSION}; the coordinator at ${address} \\(0\\.0\\.9\\) accepts protocol ${older}: upgrade the coordinator`),
  );
  const json = await archfarm(['version', '--output', 'json'], { ARCHFARM_COORDINATOR: address, ARCHFARM_INSECURE: '1' });
  assert.equal(json.code, 1);
  assert.equal((JSON.parse(json.stdout) as { compatible: boolean }).compatible, false);
});

test('an agent whose Hello announces a protocol the coordinator does not accept is refused by name', async () => {
  const keys = await secure.enrol('pi-future', await secure.joinToken());
  const client = new AgentServiceClient(secure.address, secure.agent(keys), OPTIONS);
  try {
    const stream = client.connect();
    const refused = new Promise<ServiceError>((resolve, reject) => {
      stream.on('data', (m: CoordinatorMessage) => m.msg?.$case === 'welcome' && reject(new Error('the coordinator welcomed an agent of protocol 99')));
      stream.on('error', resolve);
    });
    const hello = { name: 'pi-future', version: '9.0.0', nodeVersion: process.version, protocol: 99, engine: 'none', labels: {}, slots: 1, running: [] };
    stream.write({ msg: { $case: 'hello', value: { ...hello, platforms: [{ platform: 'linux/arm64', mode: BuildMode.BUILD_MODE_NATIVE }] } } });
    const err = await refused;
    assert.equal(err.code, status.FAILED_PRECONDITION);
    assert.equal(err.metadata.get('archfarm-code')[0], 'PROTOCOL_MISMATCH');
    assert.match(err.details, new RegExp(`^archfarm agent 9\\.0\\.0 speaks protocol 99; this coordinator \\(${ARCHFARM_VERSION}\\) accepts protocols? [0-9.]+: upgrade the coordinator$`));
    const { agents } = await call<ListAgentsResponse>((cb) => secure.builds().listAgents({ all: true }, cb));
    assert.equal(agents.find((a) => a.name === 'pi-future' && a.connected), undefined, 'the refused agent never joined the fleet');
  } finally {
    client.close();
  }
});

test("a CLI whose header says a protocol the coordinator does not accept is refused; GetVersion still answers it, and a CLI that sends none is served", async () => {
  const builds = new BuildServiceClient(secure.address, secure.operator(), OPTIONS);
  const versions = new VersionServiceClient(secure.address, secure.operator(null), OPTIONS);
  try {
    const future = new Metadata();
    future.set('archfarm-program', 'cli');
    future.set('archfarm-version', '9.0.0');
    future.set('archfarm-protocol', '99');
    const err = await new Promise<ServiceError>((resolve, reject) => builds.listAgents({ all: false }, future, (e) => (e ? resolve(e) : reject(new Error('served a CLI of protocol 99')))));
    assert.equal(err.code, status.FAILED_PRECONDITION);
    assert.equal(err.metadata.get('archfarm-code')[0], 'PROTOCOL_MISMATCH');
    assert.match(err.details, /^archfarm CLI 9\.0\.0 speaks protocol 99; this coordinator \(.+\) accepts .+: upgrade the coordinator$/);

    const answer = await new Promise<GetVersionResponse>((resolve, reject) => versions.getVersion({}, future, (e, r) => (e ? reject(e) : resolve(r))));
    assert.deepEqual(answer, { version: ARCHFARM_VERSION, protocol: PROTOCOL_VERSION, minProtocol: ACCEPTED_PROTOCOLS.min, maxProtocol: ACCEPTED_PROTOCOLS.max });

    // No header: a CLI from before versioning, which this coordinator still serves.
    const served = await call<ListAgentsResponse>((cb) => builds.listAgents({ all: false }, cb));
    assert.ok(Array.isArray(served.agents));
  } finally {
    builds.close();
    versions.close();
  }
});
