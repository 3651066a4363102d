import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InvalidInputError } from '@archfarm/common';
import { AnnotationLevel } from '@archfarm/proto';
import { testEnv } from '../testing/io';
import { compileBuildOptions, type BuildFlags, type BuildOptions } from './build-options';
import { MAX_SECRET_BYTES } from './build-secrets';

/** buildx's flags as compileBuildOptions reads them; what reaches the wire is in build-buildx.test.ts. */

async function fixture(t: { after: (fn: () => unknown) => void }): Promise<string> {
  const root = await realpath(await mkdtemp(path.join(tmpdir(), 'archfarm-buildx-opts-')));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(path.join(root, 'ctx'));
  await writeFile(path.join(root, 'ctx', 'Dockerfile'), 'FROM scratch\n');
  await writeFile(path.join(root, 'npmrc'), 'token=s3cr3t\n');
  await writeFile(path.join(root, 'API_TOKEN'), 'from-a-file');
  await writeFile(path.join(root, 'big'), Buffer.alloc(MAX_SECRET_BYTES + 1));
  await writeFile(path.join(root, 'limit'), Buffer.alloc(MAX_SECRET_BYTES));
  return root;
}

const TAG = '127.0.0.1:5000/hello:1';
const PLATFORMS = ['linux/amd64,linux/arm64'];

async function compile(root: string, flags: BuildFlags, env: Record<string, string | undefined> = {}): Promise<BuildOptions> {
  return compileBuildOptions('ctx', { tag: [TAG], platform: PLATFORMS, ...flags }, { cwd: root, env: testEnv(env), machine: 'x86_64' });
}

test('-t repeated: every tag, in order, repeats dropped; tag is the first', async (t) => {
  const root = await fixture(t);
  const opts = await compile(root, { tag: ['127.0.0.1:5000/hello:1', '127.0.0.1:5000/hello:latest', '127.0.0.1:5000/hello:1', 'reg.example/team/app'] });
  assert.deepEqual(opts.tags.map(String), ['127.0.0.1:5000/hello:1', '127.0.0.1:5000/hello:latest', 'reg.example/team/app:latest']);
  assert.equal(opts.tag.toString(), '127.0.0.1:5000/hello:1');
});

test('-o: json and text keep their meaning; type=registry is accepted and its name= adds tags', async (t) => {
  const root = await fixture(t);
  assert.equal((await compile(root, { output: ['json'] })).output, 'json');
  assert.equal((await compile(root, { output: ['TEXT'] })).output, 'text');
  const opts = await compile(root, { output: ['json', 'type=registry,"name=127.0.0.1:5000/hello:2,127.0.0.1:5000/other:1",push=true'], push: true });
  assert.equal(opts.output, 'json');
  assert.deepEqual(opts.tags.map(String), [TAG, '127.0.0.1:5000/hello:2', '127.0.0.1:5000/other:1']);
  const image = await compile(root, { output: ['type=image,push=true'] });
  assert.equal(image.output, 'text');
  // buildx's -o name= alone is enough for a tag.
  assert.deepEqual((await compile(root, { tag: [], output: ['type=registry,name=127.0.0.1:5000/only:1'] })).tags.map(String), ['127.0.0.1:5000/only:1']);
});

test('--label: KEY=VALUE, a bare KEY is empty, a later KEY wins', async (t) => {
  const root = await fixture(t);
  const opts = await compile(root, { label: ['org.opencontainers.image.version=1.4', 'a=b=c', 'empty', 'a=d'] });
  assert.deepEqual(opts.labels, { 'org.opencontainers.image.version': '1.4', a: 'd', empty: '' });
});

test('--annotation: buildx prefixes, several types, a platform, unprefixed is manifest', async (t) => {
  const root = await fixture(t);
  const opts = await compile(root, {
    annotation: ['plain=1', 'index:org.opencontainers.image.description=a b=c', 'manifest-descriptor:d=2', 'index,manifest:both=3', 'manifest[linux/aarch64]:arm=4'],
  });
  const { INDEX, MANIFEST, DESCRIPTOR } = { INDEX: AnnotationLevel.ANNOTATION_LEVEL_INDEX, MANIFEST: AnnotationLevel.ANNOTATION_LEVEL_MANIFEST, DESCRIPTOR: AnnotationLevel.ANNOTATION_LEVEL_MANIFEST_DESCRIPTOR };
  assert.deepEqual(opts.annotations, [
    { level: MANIFEST, key: 'plain', value: '1', platform: '' },
    { level: INDEX, key: 'org.opencontainers.image.description', value: 'a b=c', platform: '' },
    { level: DESCRIPTOR, key: 'd', value: '2', platform: '' },
    { level: INDEX, key: 'both', value: '3', platform: '' },
    { level: MANIFEST, key: 'both', value: '3', platform: '' },
    { level: MANIFEST, key: 'arm', value: '4', platform: 'linux/arm64' },
  ]);
});

test('--build-arg KEY takes the environment; SOURCE_DATE_EPOCH is passed on unless given', async (t) => {
  const root = await fixture(t);
  const opts = await compile(root, { buildArg: ['VERSION', 'EMPTY', 'X=1'] }, { VERSION: '1.4', EMPTY: '', SOURCE_DATE_EPOCH: '1700000000' });
  assert.deepEqual(opts.buildArgs, { VERSION: '1.4', EMPTY: '', X: '1', SOURCE_DATE_EPOCH: '1700000000' });
  const given = await compile(root, { buildArg: ['SOURCE_DATE_EPOCH=0'] }, { SOURCE_DATE_EPOCH: '1700000000' });
  assert.deepEqual(given.buildArgs, { SOURCE_DATE_EPOCH: '0' });
  assert.deepEqual((await compile(root, {}, { SOURCE_DATE_EPOCH: '' })).buildArgs, {}, 'an empty SOURCE_DATE_EPOCH is unset');
});

test('--pull, --no-cache; --push changes nothing', async (t) => {
  const root = await fixture(t);
  const opts = await compile(root, { pull: true, cache: false, push: true });
  assert.equal(opts.pull, true);
  assert.equal(opts.noCache, true);
  const plain = await compile(root, {});
  assert.equal(plain.pull, false);
  assert.equal(plain.noCache, false);
});

test('--secret: file, env, type=, the id alone, as buildx resolves them', async (t) => {
  const root = await fixture(t);
  const opts = await compile(
    root,
    {
      secret: ['id=npmrc,src=npmrc', 'id=tok,env=MY_TOKEN', 'type=env,id=viasrc,src=MY_TOKEN', 'id=API_TOKEN', 'id=FROM_FILE_ID,type=file,source=API_TOKEN', `id=limit,src=${root}/limit`],
    },
    { MY_TOKEN: 'env-value', API_TOKEN: 'env-wins' },
  );
  const values = Object.fromEntries(opts.secrets.map((s) => [s.id, s.value.length > 100 ? s.value.length : s.value.toString()]));
  assert.deepEqual(values, { npmrc: 'token=s3cr3t\n', tok: 'env-value', viasrc: 'env-value', API_TOKEN: 'env-wins', FROM_FILE_ID: 'from-a-file', limit: MAX_SECRET_BYTES });
  // Without the variable, the id names a file (relative to the current directory).
  const file = await compile(root, { secret: ['id=API_TOKEN'] });
  assert.equal(file.secrets[0]?.value.toString(), 'from-a-file');
});

test('BUILDKIT_PROGRESS and DOCKER_DEFAULT_PLATFORM are defaults; flags win', async (t) => {
  const root = await fixture(t);
  const env = { BUILDKIT_PROGRESS: 'rawjson', DOCKER_DEFAULT_PLATFORM: 'linux/arm64,linux/s390x' };
  const fromEnv = await compileBuildOptions('ctx', { tag: [TAG] }, { cwd: root, env: testEnv(env), machine: 'x86_64' });
  assert.equal(fromEnv.progress, 'json');
  assert.deepEqual(fromEnv.platforms.map(String), ['linux/arm64', 'linux/s390x']);
  const flags = await compileBuildOptions('ctx', { tag: [TAG], progress: 'quiet', platform: ['linux/amd64'] }, { cwd: root, env: testEnv(env), machine: 'x86_64' });
  assert.equal(flags.progress, 'quiet');
  assert.deepEqual(flags.platforms.map(String), ['linux/amd64']);
  for (const [mode, shown] of [['tty', 'tty'], ['auto', 'auto'], ['rawjson', 'json'], ['plain', 'plain'], ['json', 'json'], ['quiet', 'quiet']] as const) {
    assert.equal((await compile(root, {}, { BUILDKIT_PROGRESS: mode })).progress, shown, mode);
  }
});

test('--metadata-file and --iidfile resolve against the current directory', async (t) => {
  const root = await fixture(t);
  const opts = await compile(root, { metadataFile: 'meta.json', iidfile: path.join(root, 'ctx', 'iid') });
  assert.deepEqual(opts.resultFiles, { metadataFile: path.join(root, 'meta.json'), iidFile: path.join(root, 'ctx', 'iid') });
});

/** Each bad input, the flag (or variable) its error must name, and words of the message. */
const BAD: [string, BuildFlags, Record<string, string>, string, RegExp][] = [
  ['a second tag that is not a reference', { tag: [TAG, 'Bad/Name'] }, {}, '--tag', /must be lowercase/],
  ['a name= that is not a reference', { output: ['type=registry,name=Bad/Name'] }, {}, '--output', /must be lowercase/],
  ['-o type=docker', { output: ['type=docker'] }, {}, '--output', /type=docker writes the image on this machine; .*publishes one multi-platform index .*docker pull TAG.*skopeo copy/],
  ['-o type=local', { output: ['type=local,dest=out'] }, {}, '--output', /type=local writes the image on this machine/],
  ['-o type=tar', { output: ['type=tar,dest=out.tar'] }, {}, '--output', /type=tar writes/],
  ['-o type=oci', { output: ['type=oci,dest=out.tar'] }, {}, '--output', /type=oci writes/],
  ['-o type=image without push', { output: ['type=image'] }, {}, '--output', /type=image without push=true writes/],
  ['-o type=registry,push=false', { output: ['type=registry,push=false'] }, {}, '--output', /push=false writes/],
  ['-o a path', { output: ['outdir'] }, {}, '--output', /"outdir" is not json, text or type=TYPE.*files in the directory outdir/],
  ['-o -', { output: ['-'] }, {}, '--output', /a tar on stdout/],
  ['-o without type', { output: ['name=127.0.0.1:5000/x:1'] }, {}, '--output', /has no type=/],
  ['-o with an attribute the farm ignores', { output: ['type=registry,compression=zstd'] }, {}, '--output', /does not support "compression"/],
  ['-o json and text', { output: ['json', 'text'] }, {}, '--output', /one result format/],
  ['-o with an open quote', { output: ['type=registry,"name=a'] }, {}, '--output', /unterminated quote/],
  ['--load', { load: true }, {}, '--load', /writes the image on this machine/],
  ['a label with an empty key', { label: ['=x'] }, {}, '--label', /is not KEY=VALUE/],
  ['an annotation without =', { annotation: ['index:foo'] }, {}, '--annotation', /is not \[TYPE:\]KEY=VALUE/],
  ['an index-descriptor annotation', { annotation: ['index-descriptor:k=v'] }, {}, '--annotation', /no index-descriptor.*use index: instead/],
  ['an unknown annotation type', { annotation: ['config:k=v'] }, {}, '--annotation', /unknown type "config"/],
  ['an annotation for a platform not built', { annotation: ['manifest[linux/s390x]:k=v'] }, {}, '--annotation', /names linux\/s390x, which this build does not build/],
  ['a bad annotation platform', { annotation: ['manifest[linux/arm/v9]:k=v'] }, {}, '--annotation', /unknown variant/],
  ['an index annotation with a platform', { annotation: ['index[linux/amd64]:k=v'] }, {}, '--annotation', /the index covers every platform/],
  ['a blank in an annotation key', { annotation: ['my key=v'] }, {}, '--annotation', /no blanks in the key/],
  ['a bare build arg with a bad name', { buildArg: ['A B'] }, {}, '--build-arg', /is not KEY=VALUE or KEY/],
  ['a SOURCE_DATE_EPOCH that is no time', {}, { SOURCE_DATE_EPOCH: 'yesterday' }, 'SOURCE_DATE_EPOCH', /not a Unix time/],
  ['a secret without id', { secret: ['src=npmrc'] }, {}, '--secret', /has no id=/],
  ['a secret file that is missing', { secret: ['id=npmrc,src=nope'] }, {}, '--secret', /id=npmrc: cannot read .*nope: no such file; give the file holding the secret with src=FILE/],
  ['a secret id that is neither variable nor file', { secret: ['id=NOPE'] }, {}, '--secret', /id=NOPE: cannot read .*NOPE: no such file/],
  ['a secret variable that is unset', { secret: ['id=tok,env=UNSET_VAR'] }, {}, '--secret', /id=tok: the environment variable UNSET_VAR is not set; export it/],
  ['a secret that is a directory', { secret: ['id=d,src=ctx'] }, {}, '--secret', /not a file/],
  ['a secret over 500 KiB', { secret: ['id=big,src=big'] }, {}, '--secret', /id=big: .*big is 512001 bytes; a secret is at most 500 KiB/],
  ['a secret variable over 500 KiB', { secret: ['id=big,env=BIG'] }, { BIG: 'x'.repeat(MAX_SECRET_BYTES + 1) }, '--secret', /id=big is 512001 bytes/],
  ['a secret of an unknown type', { secret: ['type=ssh,id=x'] }, {}, '--secret', /type=ssh is not file or env/],
  ['a secret with an unknown key', { secret: ['id=x,dst=y'] }, {}, '--secret', /unknown key "dst"/],
  ['a secret with src and env', { secret: ['id=x,src=npmrc,env=HOME'] }, {}, '--secret', /not both/],
  ['a secret id given twice', { secret: ['id=npmrc,src=npmrc', 'id=npmrc,src=API_TOKEN'] }, {}, '--secret', /given twice/],
  ['a bad BUILDKIT_PROGRESS', {}, { BUILDKIT_PROGRESS: 'fancy' }, 'BUILDKIT_PROGRESS', /"fancy" is not one of auto, plain, json, quiet, tty, rawjson/],
  ['a bad DOCKER_DEFAULT_PLATFORM', { platform: undefined }, { DOCKER_DEFAULT_PLATFORM: 'linux/arm/v9' }, 'DOCKER_DEFAULT_PLATFORM', /unknown variant/],
  ['--metadata-file in a missing directory', { metadataFile: 'nodir/meta.json' }, {}, '--metadata-file', /the directory of "nodir\/meta.json" does not exist/],
  ['--iidfile with --detach', { iidfile: 'iid', detach: true }, {}, '--iidfile', /--detach does not wait for/],
  ['--metadata-file with --plan', { metadataFile: 'meta.json', plan: true }, {}, '--metadata-file', /--plan publishes nothing/],
];

for (const [name, flags, env, field, pattern] of BAD) {
  test(`bad input: ${name} -> InvalidInputError naming ${field}`, async (t) => {
    const root = await fixture(t);
    await assert.rejects(compile(root, flags, env), (err: unknown) => {
      assert.ok(err instanceof InvalidInputError, String(err));
      assert.equal(err.field, field);
      assert.match(err.message, pattern);
      assert.doesNotMatch(err.message, /s3cr3t|env-value|from-a-file/, 'no secret value in any message');
      return true;
    });
  });
}
