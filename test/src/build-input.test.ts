import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { TestFleet } from './support/fleet';
import { baseImage, makeContext } from './support/context';
import { waitForOutput } from './support/processes';
import { testRegistry, uniqueRepository } from './support/registry';
import { skopeoInspect } from './support/skopeo';

/** Bad input gets a clear error and writes nothing; an unserved platform waits and says so. */
describe('archfarm build: bad input and waiting', () => {
  let fleet: TestFleet;
  let ctx: string;

  before(async () => {
    testRegistry();
    fleet = await TestFleet.start([{ name: 'only-amd64', platforms: 'linux/amd64' }]);
    ctx = await makeContext({ Dockerfile: `FROM ${baseImage()}\nCMD ["uname", "-m"]\n` });
    await mkdir(join(ctx, 'sub'));
    await writeFile(join(ctx, 'sub', 'Dockerfile'), `FROM ${baseImage()}\n`);
  });

  after(async () => {
    await fleet?.stop();
  });

  const storedContexts = async () => readdir(join(fleet.dataDir, 'contexts', 'sha256')).catch(() => []);

  const cases: Array<[string, (tag: string) => string[], RegExp]> = [
    ['an invalid platform', (tag) => ['--platform', 'linux/arm/v9', '-t', tag, ctx], /--platform.*unknown variant "v9"/],
    ['a malformed tag', () => ['--platform', 'linux/amd64', '-t', '127.0.0.1:5000/Bad_Name:1', ctx], /--tag|-t/],
    ['a missing context directory', (tag) => ['--platform', 'linux/amd64', '-t', tag, join(ctx, 'nope')], /context.*(does not exist|not found|no such)/i],
    ['-f outside the context', (tag) => ['--platform', 'linux/amd64', '-t', tag, '-f', '/etc/hostname', join(ctx, 'sub')], /(-f|--file).*outside/],
    // A bare KEY takes its value from the environment, as with buildx; one that is not set is the error.
    [
      'a bare build arg not set in the environment',
      (tag) => ['--platform', 'linux/amd64', '-t', tag, '--build-arg', 'ARCHFARM_TEST_UNSET_ARG', ctx],
      /--build-arg: "ARCHFARM_TEST_UNSET_ARG" has no value and ARCHFARM_TEST_UNSET_ARG is not set in the environment/,
    ],
  ];

  for (const [name, args, message] of cases) {
    test(`${name} is refused, naming the flag, with nothing written`, async () => {
      const tag = `${testRegistry()}/${uniqueRepository('bad')}:1`;
      const before = await storedContexts();
      const res = await fleet.cli(['build', ...args(tag)]);
      assert.equal(res.code, 2, `exit status 2 for bad input; stderr:\n${res.stderr}`);
      assert.match(res.stderr, message);
      assert.equal(res.stdout, '');
      assert.deepEqual(await storedContexts(), before, 'no context was uploaded');
      assert.notEqual((await skopeoInspect(tag)).code, 0, 'no tag was written');
    });
  }

  test('a platform no agent serves waits, says so, and gives up at --wait-timeout', async () => {
    const tag = `${testRegistry()}/${uniqueRepository('wait')}:1`;
    const res = await fleet.cli(['build', '--platform', 'linux/amd64,linux/ppc64le', '-t', tag, '--wait-timeout', '3s', ctx]);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /\[linux\/ppc64le\] waiting: no connected agent builds linux\/ppc64le/);
    assert.match(res.stderr, /wait-timeout/);
    assert.notEqual((await skopeoInspect(tag)).code, 0, 'no tag was written');
  });

  test('Ctrl-C stops waiting and cancels the build', async () => {
    const tag = `${testRegistry()}/${uniqueRepository('sigint')}:1`;
    const child = fleet.spawnCli(['build', '--platform', 'linux/s390x', '-t', tag, ctx]);
    await waitForOutput(child, 'stderr', (t) => t.includes('waiting'), 30_000);
    child.kill('SIGINT');
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 130);
    assert.notEqual((await skopeoInspect(tag)).code, 0, 'no tag was written');
  });
});
