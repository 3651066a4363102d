import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestFleet } from './support/fleet';
import { baseImage, makeContext } from './support/context';
import { foreignNode } from './support/foreign-node';
import { ROOT, run } from './support/processes';
import { testRegistry, uniqueRepository } from './support/registry';

// The one-file CLI a CI job fetches: cli/dist/bundle/archfarm.cjs (scripts/bundle-cli.mjs),
// alone in a directory with no node_modules, run by Node.js 18 (the oldest supported).
const NODE18 = '18.20.8';

describe('the one-file CLI on Node.js 18', { timeout: 10 * 60_000 }, () => {
  let dir: string;
  let cli: string;
  let node: string;
  let fleet: TestFleet | undefined;

  before(async () => {
    const bundled = await run(process.execPath, [join(ROOT, 'scripts/bundle-cli.mjs'), '--quiet']);
    assert.equal(bundled.code, 0, `bundle-cli failed:\n${bundled.stderr}`);
    dir = await mkdtemp(join(tmpdir(), 'archfarm-cli-bundle-'));
    cli = join(dir, 'archfarm.cjs');
    await copyFile(bundled.stdout.trim().split('\n').pop()!, cli);
    node = await foreignNode('x64', NODE18);
  });
  after(async () => {
    await fleet?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const archfarm = (args: string[], env: NodeJS.ProcessEnv = {}) => run(node, [cli, ...args], { cwd: dir, env });

  test('--version is the package version, under Node.js 18', async () => {
    const res = await archfarm(['--version']);
    assert.equal(res.code, 0, res.stderr);
    const { version } = JSON.parse(await readFile(join(ROOT, 'cli/package.json'), 'utf8')) as { version: string };
    assert.equal(res.stdout.trim(), version);
    const v = await run(node, ['--version']);
    assert.match(v.stdout, /^v18\./, 'really Node.js 18');
  });

  test('--help and build --help; bad input is refused as by the CLI itself', async () => {
    const help = await archfarm(['--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /Usage: archfarm/);
    const build = await archfarm(['build', '--help']);
    assert.equal(build.code, 0, build.stderr);
    assert.match(build.stdout, /--metadata-file <file>/);
    const refused = await archfarm(['build', '-t', '127.0.0.1:5000/x:1', '-o', 'type=docker', '.']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /^error: --output: type=docker writes the image on this machine/);
  });

  test("builds on a real fleet and writes --metadata-file, as README's CI job does", async () => {
    fleet = await TestFleet.start([{ name: 'ci-agent', platforms: 'linux/amd64' }]);
    const ctx = await makeContext({ Dockerfile: `FROM ${baseImage()}\nRUN echo from ci\n` });
    const tag = `${testRegistry()}/${uniqueRepository('bundle')}:1`;
    const res = await archfarm(['build', '--platform', 'linux/amd64', '-t', tag, '--push', '--metadata-file', 'meta.json', '--progress', 'plain', ctx], fleet.cliEnv());
    assert.equal(res.code, 0, res.stderr);
    const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(meta['containerimage.digest'], res.stdout.trim());
    assert.equal(meta['image.name'], tag);
  });
});
