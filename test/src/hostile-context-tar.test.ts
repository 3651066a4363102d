import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { BuildServiceClient } from '@archfarm/proto';
import { CoordinatorChild } from './support/coordinator-child';
import { crafted, paxHeader } from './support/crafted-tar';
import { BIN, run } from './support/processes';
import { sha256, tarEntry, tarOf } from './support/tar-headers';

/*
 * Threat 7 (issue 15): the context scanner trusted node-tar's reading. node-tar applies a PAX
 * global header's linkpath to every later entry; Docker's Go tar ignores global headers. So a
 * symlink whose own header points out of the context passed the scan as a link to a harmless
 * name, and the agent's engine extracted the escaping one. Now the scanner also reads the raw
 * headers, refuses global and unknown PAX headers, and any entry the two readings disagree on.
 */

let dir: string;
let coordinator: CoordinatorChild;
let builds: BuildServiceClient;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'archfarm-hostile-tar-'));
  coordinator = await CoordinatorChild.start(join(dir, 'data'), ['--insecure']);
  builds = new BuildServiceClient(coordinator.address, credentials.createInsecure());
});
after(async () => {
  builds?.close();
  if (coordinator) {
    process.kill(coordinator.pid, 'SIGTERM');
    await coordinator.exited();
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Uploads a tar; resolves to the refusal, or undefined when the coordinator kept it. */
function upload(data: Buffer): Promise<ServiceError | undefined> {
  return new Promise((resolve) => {
    const call = builds.uploadContext((err) => resolve(err ?? undefined));
    call.on('error', () => {});
    call.write({ msg: { $case: 'header', value: { digest: sha256(data), size: data.length } } });
    call.write({ msg: { $case: 'data', value: data } });
    call.end();
  });
}

async function refused(data: Buffer, message: RegExp): Promise<void> {
  const err = await upload(data);
  assert.ok(err, 'the context was accepted');
  assert.equal(err.code, status.INVALID_ARGUMENT, err.details);
  assert.match(err.details, message);
}

const DOCKERFILE = tarEntry('Dockerfile', { body: Buffer.from('FROM scratch\nCOPY . /\n') });

test("a PAX global header's linkpath no longer hides a symlink out of the context", async () => {
  // node-tar reads "ok" as a link to "inside"; Docker reads it as a link to ../../../etc/shadow.
  const tar = tarOf(DOCKERFILE, paxHeader('g', { linkpath: 'inside' }), crafted('inside', { type: '0' }), crafted('ok', { type: '2', link: '../../../etc/shadow' }));
  await refused(tar, /context entry "pax_global_header" is a PAX global header, which tar readers apply differently \(Docker ignores it\)/);
});

test('a global header with nothing dangerous in it is refused all the same', async () => {
  await refused(tarOf(paxHeader('g', { comment: 'made by a tool' }), DOCKERFILE), /"pax_global_header" is a PAX global header/);
});

test('entries the raw headers and node-tar read differently are refused, naming the entry', async () => {
  // A newline in a PAX value: node-tar drops the record (line by line), Go keeps it.
  await refused(tarOf(DOCKERFILE, paxHeader('x', { linkpath: '../../etc\nx' }), crafted('l', { type: '2', link: 'Dockerfile' })), /context entry "l" has a link target of "\.\.\/\.\.\/etc\\nx" in its raw tar headers but "Dockerfile" as parsed/);
  // A symlink with a body: node-tar skips 512 bytes Go reads as the next header (here a hidden symlink out).
  const hidden = crafted('hidden', { type: '2', link: '/etc/passwd' }).subarray(0, 512);
  await refused(tarOf(DOCKERFILE, crafted('s', { type: '2', link: 'Dockerfile', size: 512 }), hidden), /context entry "s" is a header-only entry \(type 2\) with a 512-byte body/);
  // An unknown PAX keyword and a GNU sparse file: meaning only one reader knows.
  await refused(tarOf(DOCKERFILE, paxHeader('x', { 'GNU.sparse.size': '10' }), crafted('f', { type: '0' })), /keyword "GNU\.sparse\.size", which the context scanner does not know/);
  await refused(tarOf(DOCKERFILE, crafted('old', { type: 'S' })), /"old" is a tar entry of type "S"/);
});

test('contexts written by GNU tar (gnu and pax formats) and by the archfarm CLI are still accepted', async () => {
  const src = join(dir, 'src');
  await mkdir(join(src, 'd'.repeat(120)), { recursive: true });
  await writeFile(join(src, 'Dockerfile'), 'FROM scratch\n');
  await writeFile(join(src, 'd'.repeat(120), 'f'.repeat(110)), 'long name\n');
  await symlink('Dockerfile', join(src, 'link'));
  for (const format of ['gnu', 'pax']) {
    const file = join(dir, `${format}.tar`);
    const res = await run('tar', ['-c', `--format=${format}`, '-f', file, '-C', src, '.']);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(await upload(await readFile(file)), undefined, `${format} tar refused`);
  }
  const res = await coordinatorCli(['build', '--plan', '--platform', 'linux/amd64', '-t', '127.0.0.1:9/ctx/ok:1', src]);
  assert.doesNotMatch(res.stderr, /UNSAFE|entry/, res.stderr);
  assert.match(res.stdout + res.stderr, /linux\/amd64/);
});

function coordinatorCli(args: string[]) {
  return run(process.execPath, [BIN.cli, ...args], {
    env: { ARCHFARM_COORDINATOR: coordinator.address, ARCHFARM_INSECURE: '1', ARCHFARM_CONFIG: join(dir, 'cli-config.json') },
  });
}
