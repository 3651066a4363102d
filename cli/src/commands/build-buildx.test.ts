import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AnnotationLevel, BuildMode, BuildState } from '@archfarm/proto';
import { runCli } from '../cli';
import { ev } from '../testing/events';
import { FakeCoordinator } from '../testing/fake-coordinator';
import { testIo } from '../testing/io';

/** buildx's flags through the whole command, against a real gRPC server on port 0. */

const INDEX = `sha256:${'1'.repeat(64)}`;
const ARM = `sha256:${'2'.repeat(64)}`;
const BASE = `sha256:${'3'.repeat(64)}`;
const TAGS = ['127.0.0.1:5000/hello:1', '127.0.0.1:5000/hello:latest'];
const SECRET = 'pa55-w0rd-never-shown';

const published = ev.finished({
  digest: INDEX,
  tag: TAGS[0]!,
  tags: TAGS,
  mediaType: 'application/vnd.oci.image.index.v1+json',
  size: 733,
  platforms: [{ platform: 'linux/arm64', digest: ARM, agent: 'pi-1', mode: BuildMode.BUILD_MODE_NATIVE, bases: [{ ref: '127.0.0.1:5000/base:1', digest: BASE }] }],
});

async function setup(t: { after: (fn: () => unknown) => void }) {
  const fake = await FakeCoordinator.start();
  t.after(() => fake.stop());
  const dir = await mkdtemp(path.join(tmpdir(), 'archfarm-buildx-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'Dockerfile'), 'FROM scratch\n');
  await writeFile(path.join(dir, 'secret.txt'), SECRET);
  fake.watch = (call) => {
    call.write(published);
    call.end();
  };
  const args = (...extra: string[]) => ['build', '--coordinator', fake.address, '--platform', 'linux/arm64', '-t', TAGS[0]!, ...extra, '.'];
  return { fake, dir, args };
}

test('every buildx flag reaches SubmitBuild as its field', async (t) => {
  const { fake, dir, args } = await setup(t);
  const io = testIo(dir, { VERSION: '1.4', SOURCE_DATE_EPOCH: '0', TOKEN_VAR: 'tok' });
  const code = await runCli(
    args(
      '-t', TAGS[1]!, '--label', 'org.opencontainers.image.version=1.4', '--annotation', 'index:org.opencontainers.image.description=hello',
      '--annotation', 'manifest[linux/arm64]:arch=arm', '--build-arg', 'VERSION', '--pull', '--no-cache', '--push',
      '--secret', 'id=pw,src=secret.txt', '--secret', 'id=tok,env=TOKEN_VAR', '-o', 'type=registry,name=127.0.0.1:5000/other:1',
      '--progress', 'plain',
    ),
    io,
  );
  assert.equal(code, 0, io.stderr.text);
  const [sent] = fake.submitted;
  assert.equal(sent?.tag, TAGS[0], 'old coordinators read tag');
  assert.deepEqual(sent?.tags, [...TAGS, '127.0.0.1:5000/other:1']);
  assert.deepEqual(sent?.labels, { 'org.opencontainers.image.version': '1.4' });
  assert.deepEqual(sent?.annotations, [
    { level: AnnotationLevel.ANNOTATION_LEVEL_INDEX, key: 'org.opencontainers.image.description', value: 'hello', platform: '' },
    { level: AnnotationLevel.ANNOTATION_LEVEL_MANIFEST, key: 'arch', value: 'arm', platform: 'linux/arm64' },
  ]);
  assert.deepEqual(sent?.buildArgs, { VERSION: '1.4', SOURCE_DATE_EPOCH: '0' });
  assert.equal(sent?.pull, true);
  assert.equal(sent?.noCache, true);
  assert.deepEqual(sent?.secrets.map((s) => [s.id, Buffer.from(s.value).toString()]), [['pw', SECRET], ['tok', 'tok']]);
  assert.equal(io.stdout.text, `${INDEX}\n`);
  assert.doesNotMatch(io.stderr.text, new RegExp(SECRET), 'the secret is never shown');
});

test('without the flags, the fields are empty', async (t) => {
  const { fake, dir, args } = await setup(t);
  const io = testIo(dir);
  assert.equal(await runCli(args('--progress', 'quiet'), io), 0, io.stderr.text);
  const [sent] = fake.submitted;
  assert.deepEqual(sent?.tags, [TAGS[0]]);
  assert.deepEqual(sent?.labels, {});
  assert.deepEqual(sent?.annotations, []);
  assert.deepEqual(sent?.secrets, []);
  assert.equal(sent?.pull, false);
  assert.equal(sent?.noCache, false);
});

test('--plan sends no secret values', async (t) => {
  const { fake, dir, args } = await setup(t);
  const io = testIo(dir);
  assert.equal(await runCli(args('--plan', '--secret', 'id=pw,src=secret.txt', '--progress', 'quiet'), io), 0, io.stderr.text);
  assert.deepEqual(fake.planned[0]?.secrets, []);
  assert.equal(fake.submitted.length, 0);
});

test('--output json gains tags, -o json is the same; an old coordinator that says only tag gives [tag]', async (t) => {
  const { fake, dir, args } = await setup(t);
  const io = testIo(dir);
  assert.equal(await runCli(args('-o', 'json', '--progress', 'quiet'), io), 0, io.stderr.text);
  const json = JSON.parse(io.stdout.text) as { digest: string; tag: string; tags: string[] };
  assert.equal(json.digest, INDEX);
  assert.equal(json.tag, TAGS[0]);
  assert.deepEqual(json.tags, TAGS);

  fake.watch = (call) => {
    call.write(ev.finished({ digest: INDEX, tag: TAGS[0]! }));
    call.end();
  };
  const old = testIo(dir);
  assert.equal(await runCli(args('--output', 'json', '--output', 'type=registry', '--progress', 'quiet'), old), 0, old.stderr.text);
  assert.deepEqual((JSON.parse(old.stdout.text) as { tags: string[] }).tags, [TAGS[0]]);
});

test("--metadata-file has buildx's keys and archfarm's; --iidfile the index digest; nothing else is left", async (t) => {
  const { dir, args } = await setup(t);
  const io = testIo(dir);
  assert.equal(await runCli(args('--metadata-file', 'meta.json', '--iidfile', 'iid', '--progress', 'quiet'), io), 0, io.stderr.text);
  assert.deepEqual(JSON.parse(await readFile(path.join(dir, 'meta.json'), 'utf8')), {
    'containerimage.digest': INDEX,
    'image.name': TAGS.join(','),
    'containerimage.descriptor': { mediaType: 'application/vnd.oci.image.index.v1+json', digest: INDEX, size: 733 },
    'archfarm.build': 'b1',
    'archfarm.platforms': [{ platform: 'linux/arm64', digest: ARM, agent: 'pi-1', mode: 'native', bases: [{ ref: '127.0.0.1:5000/base:1', digest: BASE }] }],
  });
  assert.equal(await readFile(path.join(dir, 'iid'), 'utf8'), INDEX);
  assert.deepEqual((await readdir(dir)).sort(), ['Dockerfile', 'iid', 'meta.json', 'secret.txt'], 'no temporary file is left');
});

test('a failed build writes neither file, and an old one is left as it was', async (t) => {
  const { fake, dir, args } = await setup(t);
  await writeFile(path.join(dir, 'iid'), 'old');
  fake.watch = (call) => {
    call.write(ev.finished({ state: BuildState.BUILD_STATE_FAILED, failedPlatform: 'linux/arm64', error: { code: 'BUILD_STEP_FAILED', message: 'RUN false', kind: 'build' } }));
    call.end();
  };
  const io = testIo(dir);
  assert.equal(await runCli(args('--metadata-file', 'meta.json', '--iidfile', 'iid', '--progress', 'quiet'), io), 1);
  assert.equal(await readFile(path.join(dir, 'iid'), 'utf8'), 'old');
  await assert.rejects(readFile(path.join(dir, 'meta.json')), /ENOENT/);
});

test('a metadata file that cannot be written: exit 1, saying the build was published', async (t) => {
  const { dir, args } = await setup(t);
  // A directory where the file should go: rename onto it fails.
  await mkdir(path.join(dir, 'meta.json'));
  const io = testIo(dir);
  assert.equal(await runCli(args('--metadata-file', 'meta.json', '--progress', 'quiet'), io), 1);
  assert.match(io.stderr.text, /error: build b1 was published \(sha256:1+\), but --metadata-file .*meta\.json could not be written/);
  assert.equal(io.stdout.text, '', 'the digest is printed only when everything was written');
});

test('bad input from the buildx flags exits 2 before anything is sent', async (t) => {
  const { fake, dir, args } = await setup(t);
  const cases: [string, string[]][] = [
    ['--output', ['-o', 'type=docker']],
    ['--load', ['--load']],
    ['--secret', ['--secret', 'id=x,src=missing']],
    ['--build-arg', ['--build-arg', 'UNSET_ARG']],
    ['--annotation', ['--annotation', 'index-descriptor:a=b']],
  ];
  for (const [field, extra] of cases) {
    const io = testIo(dir);
    assert.equal(await runCli(args(...extra), io), 2, extra.join(' '));
    assert.match(io.stderr.text, new RegExp(`^error: ${field}: `), io.stderr.text);
  }
  assert.equal(fake.submitted.length, 0);
  assert.equal(fake.uploads.length, 0);
});

test('--help shows the buildx flags and an example using them', async () => {
  const io = testIo('/');
  assert.equal(await runCli(['build', '--help'], io), 0);
  for (const flag of ['-t, --tag', '--label', '--annotation', '--secret', '--pull', '--no-cache', '--push', '-o, --output', '--metadata-file', '--iidfile', 'BUILDKIT_PROGRESS', 'DOCKER_DEFAULT_PLATFORM', 'SOURCE_DATE_EPOCH']) {
    assert.ok(io.stdout.text.includes(flag), `help shows ${flag}`);
  }
  assert.match(io.stdout.text, /--metadata-file meta\.json \./);
  assert.match(io.stdout.text, /type=docker,\s+local, tar, oci, a path and --load are refused/);
});

test('--provenance=false and --provenance false set noProvenance; true, mode=max and no flag do not', async (t) => {
  const { fake, dir, args } = await setup(t);
  const cases: Array<[string[], boolean]> = [[[], false], [['--provenance=false'], true], [['--provenance', 'false'], true], [['--provenance=true'], false], [['--provenance', 'mode=max'], false]];
  for (const [flags, expected] of cases) {
    const io = testIo(dir);
    assert.equal(await runCli(args(...flags, '--progress', 'quiet'), io), 0, io.stderr.text);
    assert.equal(fake.submitted.at(-1)?.noProvenance, expected, flags.join(' '));
  }
});
