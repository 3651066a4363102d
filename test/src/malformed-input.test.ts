import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { status, type ServiceError } from '@grpc/grpc-js';
import type { BuildServiceClient, SubmitBuildRequest } from '@archfarm/proto';
import { TestFleet } from './support/fleet';
import { buildClient, operatorCredentials } from './support/grpc';
import { baseImage, makeContext } from './support/context';
import { testRegistry, uniqueRepository } from './support/registry';
import { crafted, paxHeader } from './support/crafted-tar';
import { sha256, tarEntry, tarOf } from './support/tar-headers';

const DOCKERFILE = tarEntry('Dockerfile', { body: Buffer.from('FROM scratch\n') });

/** Uploads raw bytes as a context; resolves to the refusal (or undefined when accepted). */
function upload(client: BuildServiceClient, data: Buffer, header = { digest: sha256(data), size: data.length }, chunk = 256 * 1024): Promise<ServiceError | undefined> {
  return new Promise((resolve) => {
    const call = client.uploadContext((err) => resolve(err ?? undefined));
    call.on('error', () => {});
    call.write({ msg: { $case: 'header', value: header } });
    for (let i = 0; i < data.length; i += chunk) call.write({ msg: { $case: 'data', value: data.subarray(i, i + chunk) } });
    call.end();
  });
}

function submit(client: BuildServiceClient, patch: Partial<SubmitBuildRequest>, contextDigest: string): Promise<ServiceError | undefined> {
  const req: SubmitBuildRequest = {
    platforms: ['linux/amd64'],
    tag: `${testRegistry()}/${uniqueRepository('bad')}:1`,
    contextDigest,
    dockerfile: 'Dockerfile',
    buildArgs: {},
    target: '',
    waitTimeoutSeconds: 1,
    timeoutSeconds: 0,
    allowPartial: false,
    smokeCommand: [],
    emulation: '',
    requireLabels: {},
    registryAuth: undefined,
    tags: [],
    labels: {},
    annotations: [],
    pull: false,
    noCache: false,
    secrets: [],
    git: undefined,
    noProvenance: false,
    crossCheck: [],
    ...patch,
  };
  return new Promise((resolve) => client.submitBuild(req, (err) => resolve(err ?? undefined)));
}

/** Raw bytes to the gRPC port, as a confused or hostile client would send. */
function rawBytes(address: string, data: Buffer): Promise<void> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const socket = connect(Number(port), host!, () => socket.end(data));
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
    socket.setTimeout(5000, () => socket.destroy());
  });
}

describe('bad input is refused and loses nothing', () => {
  let fleet: TestFleet;
  let client: BuildServiceClient;
  let good: string;

  before(async () => {
    fleet = await TestFleet.start([{ name: 'steadfast', platforms: 'linux/amd64' }], { coordinatorArgs: ['--max-context-size', '8MiB'] });
    client = buildClient(fleet, operatorCredentials(fleet));
    const ok = tarOf(DOCKERFILE);
    assert.equal(await upload(client, ok), undefined);
    good = sha256(ok);
  });
  after(async () => {
    client?.close();
    await fleet?.stop();
  });

  const contexts: Array<[string, () => Buffer, RegExp]> = [
    ['a symlink that escapes the context', () => tarOf(DOCKERFILE, tarEntry('evil', { type: '2', link: '../../etc/passwd' })), /"evil" is a symlink to .*outside the context/],
    ['an absolute symlink target', () => tarOf(DOCKERFILE, tarEntry('abs', { type: '2', link: '/etc/shadow' })), /abs/],
    ['a hard link out of the context', () => tarOf(DOCKERFILE, tarEntry('hard', { type: '1', link: '../outside' })), /hard/],
    ['an entry with ..', () => tarOf(DOCKERFILE, tarEntry('../up.txt', { body: Buffer.from('x') })), /\.\.\/up\.txt|leaves/],
    ['an absolute path entry', () => tarOf(DOCKERFILE, tarEntry('/etc/cron.d/x', { body: Buffer.from('x') })), /absolute|\/etc\/cron\.d/],
    ['a device file', () => tarOf(DOCKERFILE, tarEntry('dev', { type: '3' })), /device|dev/],
    ['a context over --max-context-size', () => tarOf(DOCKERFILE, tarEntry('huge.bin', { body: Buffer.alloc(9 * 1024 * 1024) })), /limit|max-context-size/],
    ['bytes that are not a tar', () => Buffer.from('this is not a tar archive at all, just words'.repeat(40)), /not a tar|tar/],
    // Crafted tars (issue 15): each refusal names the entry.
    ['a PAX global header', () => tarOf(paxHeader('g', { linkpath: 'Dockerfile' }), DOCKERFILE, crafted('up', { type: '2', link: '../../etc' })), /context entry "pax_global_header" is a PAX global header/],
    ['a hard link to an absolute path', () => tarOf(DOCKERFILE, crafted('hard-abs', { type: '1', link: '/etc/shadow' })), /context entry "hard-abs" is a hard link to "\/etc\/shadow", an absolute path/],
    ['a hard link climbing out', () => tarOf(DOCKERFILE, crafted('sub/hard-up', { type: '1', link: 'sub/../../secret' })), /context entry "sub\/hard-up" is a hard link to "sub\/\.\.\/\.\.\/secret", outside the context/],
    ['a block device node', () => tarOf(DOCKERFILE, crafted('disk', { type: '4' })), /context entry "disk" is a block device/],
    ['a character device node', () => tarOf(DOCKERFILE, crafted('dev/mem', { type: '3' })), /context entry "dev\/mem" is a character device/],
    ['an absolute name from a PAX path', () => tarOf(DOCKERFILE, paxHeader('x', { path: '/etc/cron.d/job' }), crafted('job', { type: '0', body: Buffer.from('x') })), /context entry "\/etc\/cron\.d\/job" has an absolute path/],
    ['an absolute directory name', () => tarOf(DOCKERFILE, crafted('/root/', { type: '5' })), /context entry "\/root\/" has an absolute path/],
  ];
  for (const [name, make, message] of contexts) {
    test(`context with ${name} is refused`, async () => {
      const err = await upload(client, make());
      assert.ok(err, 'refused');
      assert.equal(err.code, status.INVALID_ARGUMENT, err.details);
      assert.match(err.details, message);
    });
  }

  test('10,000 empty files are accepted (under MAX_CONTEXT_ENTRIES) without freezing the coordinator', async () => {
    const files = Array.from({ length: 10_000 }, (_, i) => crafted(`files/${i}.txt`, { type: '0' }));
    const data = tarOf(DOCKERFILE, ...files);
    const started = Date.now();
    const uploaded = upload(client, data);
    // The coordinator answers other calls while it scans.
    const agents = await new Promise<Error | null>((resolve) => client.listAgents({ all: false }, (err) => resolve(err)));
    assert.equal(agents, null);
    assert.equal(await uploaded, undefined);
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
  });

  test('an upload whose bytes do not match its digest is refused', async () => {
    const data = tarOf(DOCKERFILE, tarEntry('a.txt', { body: Buffer.from('a') }));
    const err = await upload(client, data, { digest: `sha256:${'1'.repeat(64)}`, size: data.length });
    assert.match(err?.details ?? '', /hash/);
  });

  test('an upload shorter than its declared size is refused', async () => {
    const data = tarOf(DOCKERFILE, tarEntry('b.txt', { body: Buffer.from('b') }));
    const err = await upload(client, data, { digest: sha256(data), size: data.length + 10 });
    assert.match(err?.details ?? '', /size|bytes/);
  });

  test('an oversized gRPC message is refused before any handler sees it', async () => {
    const err = await submit(client, { target: 'x'.repeat(9 * 1024 * 1024) }, good);
    assert.equal(err?.code, status.RESOURCE_EXHAUSTED, err?.details);
  });

  const submissions: Array<[string, Partial<SubmitBuildRequest>, RegExp]> = [
    ['an invalid platform', { platforms: ['linux/arm/v9'] }, /platform.*v9/],
    ['a malformed tag', { tag: 'Upper/Case:tag' }, /tag/],
    ['a tag with only a digest', { tag: `reg.example/app@sha256:${'a'.repeat(64)}` }, /digest/],
    ['a bad build arg name', { buildArgs: { '1-bad': 'x' } }, /build-arg/],
    ['a Dockerfile outside the context', { dockerfile: '../Dockerfile' }, /outside/],
    ['an absolute Dockerfile path', { dockerfile: '/etc/passwd' }, /outside/],
    ['an unknown emulation policy', { emulation: 'sometimes' }, /emulation/],
    ['too many build args', { buildArgs: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`A${i}`, 'x'])) }, /build-arg/],
    ['too many platforms', { platforms: Array.from({ length: 40 }, () => 'linux/amd64') }, /platform/],
    ['an empty smoke command', { smokeCommand: [' '] }, /smoke/],
  ];
  for (const [name, patch, message] of submissions) {
    test(`a build with ${name} is refused`, async () => {
      const err = await submit(client, patch, good);
      assert.equal(err?.code, status.INVALID_ARGUMENT, err?.details);
      assert.match(err!.details, message);
    });
  }

  test('a build naming a context that was never uploaded is refused', async () => {
    const err = await submit(client, {}, `sha256:${'2'.repeat(64)}`);
    assert.equal(err?.code, status.FAILED_PRECONDITION);
  });

  test('garbage and plain HTTP on the gRPC port do not hurt the coordinator', async () => {
    await rawBytes(fleet.address, Buffer.from('\x16\x03\x01garbage\xff\xfe'.repeat(100), 'latin1'));
    await rawBytes(fleet.address, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await rawBytes(fleet.address, Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
  });

  test('after all that, the coordinator still serves and a build succeeds', async () => {
    const ctx = await makeContext({ Dockerfile: `FROM ${baseImage()}\nCMD ["uname", "-m"]\n` });
    const res = await fleet.cli(['build', '--platform', 'linux/amd64', '-t', `${testRegistry()}/${uniqueRepository('after')}:1`, ctx]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout.trim(), /^sha256:[a-f0-9]{64}$/);
  });
});
