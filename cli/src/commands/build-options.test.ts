import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InvalidInputError } from '@archfarm/common';
import { testEnv } from '../testing/io';
import { compileBuildOptions, type BuildFlags } from './build-options';

async function fixture(): Promise<{ root: string; ctx: string; cleanup: () => Promise<void> }> {
  const root = await realpath(await mkdtemp(path.join(tmpdir(), 'archfarm-opts-')));
  const ctx = path.join(root, 'ctx');
  await mkdir(path.join(ctx, 'docker'), { recursive: true });
  await writeFile(path.join(ctx, 'Dockerfile'), 'FROM scratch\n');
  await writeFile(path.join(ctx, 'docker', 'Dockerfile.release'), 'FROM scratch\n');
  await writeFile(path.join(root, 'Dockerfile.outside'), 'FROM scratch\n');
  return { root, ctx, cleanup: () => rm(root, { recursive: true, force: true }) };
}

const TAG = ['127.0.0.1:5000/hello:1'];

test('compiles a full, valid command line', async (t) => {
  const f = await fixture();
  t.after(f.cleanup);
  const opts = await compileBuildOptions(
    'ctx',
    {
      coordinator: 'farm:7000',
      platform: ['linux/amd64,linux/aarch64', 'linux/arm/v7', 'linux/s390x'],
      tag: TAG,
      file: 'ctx/docker/Dockerfile.release',
      buildArg: ['VERSION=1.4'],
      target: 'runtime',
      progress: 'plain',
      output: ['json'],
      waitTimeout: '5m',
      timeout: '2h',
      detach: true,
      allowPartial: true,
      smoke: `/app/server --self-test "with space"`,
      emulation: 'Deny',
      requireLabel: ['rack=pi-shelf', 'site=lab'],
    },
    { cwd: f.root, env: testEnv() },
  );
  assert.equal(opts.coordinator, 'farm:7000');
  assert.deepEqual(opts.platforms.map(String), ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/s390x']);
  assert.equal(opts.tag.toString(), '127.0.0.1:5000/hello:1');
  assert.equal(opts.contextDir, f.ctx);
  assert.equal(opts.dockerfile.inContext, 'docker/Dockerfile.release');
  assert.deepEqual(opts.buildArgs, { VERSION: '1.4' });
  assert.equal(opts.target, 'runtime');
  assert.equal(opts.output, 'json');
  assert.equal(opts.waitTimeoutSeconds, 300);
  assert.equal(opts.timeoutSeconds, 7200);
  assert.equal(opts.detach, true);
  assert.equal(opts.allowPartial, true);
  assert.deepEqual(opts.smokeCommand, ['/app/server', '--self-test', 'with space']);
  assert.equal(opts.emulation, 'deny');
  assert.deepEqual(opts.requireLabels, { rack: 'pi-shelf', site: 'lab' });
  assert.equal(opts.plan, false);
});

test('defaults: this machine, CONTEXT_DIR/Dockerfile, auto progress, no wait limit', async (t) => {
  const f = await fixture();
  t.after(f.cleanup);
  const opts = await compileBuildOptions(f.ctx, { tag: TAG }, { cwd: '/', env: testEnv({ ARCHFARM_COORDINATOR: 'env-host' }), machine: 'aarch64' });
  assert.deepEqual(opts.platforms.map(String), ['linux/arm64']);
  assert.equal(opts.dockerfile.inContext, 'Dockerfile');
  assert.equal(opts.progress, 'auto');
  assert.equal(opts.output, 'text');
  assert.equal(opts.waitTimeoutSeconds, 0);
  assert.equal(opts.target, '');
  assert.equal(opts.coordinator, 'env-host:7420');
  assert.equal(opts.timeoutSeconds, 0);
  assert.equal(opts.detach, false);
  assert.equal(opts.allowPartial, false);
  assert.deepEqual(opts.smokeCommand, []);
  assert.equal(opts.emulation, 'prefer-native');
  assert.deepEqual(opts.requireLabels, {});
});

/** Each bad input, the flag its error must name, and words of the message. */
const BAD: [string, BuildFlags, string, RegExp, string?][] = [
  ['invalid platform', { platform: ['linux/amd64,linux/arm/v9'] }, '--platform', /unknown variant "v9".*v5, v6, v7, v8/],
  ['empty platform', { platform: [','] }, '--platform', /is empty/],
  ['malformed tag', { tag: ['127.0.0.1:5000/Hello:1'] }, '--tag', /must be lowercase/],
  ['digest instead of tag', { tag: [`reg.example/app@sha256:${'a'.repeat(64)}`] }, '--tag', /names a digest/],
  ['no tag', { tag: [] }, '--tag', /is required/],
  ['missing context', {}, 'CONTEXT_DIR', /"nope" does not exist/, 'nope'],
  ['context is a file', {}, 'CONTEXT_DIR', /is not a directory/, 'ctx/Dockerfile'],
  ['-f outside the context', { file: 'Dockerfile.outside' }, '--file', /lies outside the context/],
  ['-f missing', { file: 'ctx/Dockerfile.nope' }, '--file', /"ctx\/Dockerfile.nope" does not exist/],
  ['-f in a missing directory', { file: 'ctx/nodir/Dockerfile' }, '--file', /does not exist/],
  ['-f is a directory', { file: 'ctx/docker' }, '--file', /is not a file/],
  ['bare build arg not in the environment', { buildArg: ['VERSION'] }, '--build-arg', /"VERSION" has no value and VERSION is not set in the environment; write VERSION=VALUE or export VERSION/],
  ['bad progress', { progress: 'fancy' }, '--progress', /not one of auto, plain, json, quiet, tty, rawjson/],
  ['bad output', { output: ['yaml'] }, '--output', /"yaml" is not json, text or type=TYPE/],
  ['bad wait timeout', { waitTimeout: '5 minutes' }, '--wait-timeout', /not a duration/],
  ['bad timeout', { timeout: '1d' }, '--timeout', /"1d" is not a duration; .* e\.g\. 90, 30s, 5m, 1h/],
  ['empty smoke', { smoke: '  ' }, '--smoke', /is empty; give the command to run in each image/],
  ['smoke with an empty command name', { smoke: `'' -x` }, '--smoke', /has an empty command name/],
  ['smoke that needs a shell', { smoke: 'uname -m | grep arm' }, '--smoke', /uses "\|", which needs a shell/],
  ['smoke with an open quote', { smoke: `sh -c 'exit 1` }, '--smoke', /unterminated single quote/],
  ['bad target', { target: 'my stage' }, '--target', /not a stage name/],
  ['bad emulation', { emulation: 'never' }, '--emulation', /"never" is not one of prefer-native, deny, allow/],
  ['require-label without =', { requireLabel: ['rack'] }, '--require-label', /"rack" is not KEY=VALUE; write e\.g\. --require-label rack=pi-shelf/],
  ['require-label with an empty key', { requireLabel: ['=x'] }, '--require-label', /"=x" is not KEY=VALUE/],
  ['--plan with --detach', { plan: true, detach: true }, '--plan', /nothing to --detach from/],
  ['bad coordinator', { coordinator: 'a:b:c' }, '--coordinator', /not host\[:port\]/],
];

for (const [name, flags, field, pattern, contextArg] of BAD) {
  test(`bad input: ${name} -> InvalidInputError naming ${field}`, async (t) => {
    const f = await fixture();
    t.after(f.cleanup);
    await assert.rejects(compileBuildOptions(contextArg ?? 'ctx', { tag: TAG, ...flags }, { cwd: f.root, env: testEnv() }), (err: unknown) => {
      assert.ok(err instanceof InvalidInputError, String(err));
      assert.equal(err.field, field);
      assert.match(err.message, pattern);
      return true;
    });
  });
}

test('missing default Dockerfile says where it looked', async (t) => {
  const f = await fixture();
  t.after(f.cleanup);
  await assert.rejects(compileBuildOptions('ctx/docker', { tag: TAG }, { cwd: f.root, env: testEnv() }), /--file: no Dockerfile at .*docker\/Dockerfile; add one or point -f at it/);
});
