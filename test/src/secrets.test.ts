import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { TestFleet } from './support/fleet';
import { baseImage, makeContext } from './support/context';
import { run } from './support/processes';
import { testRegistry, uniqueRepository } from './support/registry';

/**
 * `--secret` as buildx users pass it: the RUN step that mounts it sees the value, and the value
 * is nowhere else: not in a log, the coordinator's store, the agent's files, nor any layer.
 */
let fleet: TestFleet;
let scratch: string;

before(async () => {
  testRegistry();
  scratch = await mkdtemp(join(tmpdir(), 'archfarm-secret-'));
  fleet = await TestFleet.start([{ name: 'secret-agent', platforms: 'linux/amd64,linux/arm64' }]);
});

after(async () => {
  await fleet?.stop();
  await rm(scratch, { recursive: true, force: true });
});

/** Every file under `dir` whose bytes (gunzipped where gzip) contain `needle`. */
async function filesHolding(dir: string, needle: Buffer): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const bytes = await readFile(path).catch(() => Buffer.alloc(0));
    let plain = bytes;
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) plain = (() => { try { return gunzipSync(bytes); } catch { return bytes; } })();
    if (bytes.includes(needle) || plain.includes(needle)) found.push(path);
  }
  return found;
}

test('a RUN step sees --secret values from a file and from the environment; they are in no log, store, agent file or layer', async () => {
  const fromFile = `file-${randomBytes(12).toString('hex')}`;
  const fromEnv = `env-${randomBytes(12).toString('hex')}`;
  const secretFile = join(scratch, 'token.txt');
  await writeFile(secretFile, fromFile);
  const context = await makeContext({
    Dockerfile: [
      `FROM ${baseImage()}`,
      // The step proves it saw both values without printing them: it prints their sha256. BuildKit's
      // cache key of a RUN leaves secret values out, so the build runs with --no-cache.
      'RUN --mount=type=secret,id=token --mount=type=secret,id=api sh -c \'echo "token=$(sha256sum < /run/secrets/token | cut -c1-16) api=$(sha256sum < /run/secrets/api | cut -c1-16)" > /seen && cat /seen\'',
      '',
    ].join('\n'),
  });
  const tag = `${testRegistry()}/${uniqueRepository('secret')}:1`;
  const res = await fleet.cli(
    ['build', '--platform', 'linux/amd64,linux/arm64', '-t', tag, '--secret', `id=token,src=${secretFile}`, '--secret', 'id=api,env=ARCHFARM_TEST_API_KEY', '--no-cache', '--progress', 'plain', '--metadata-file', join(scratch, 'meta.json'), context],
    { ARCHFARM_TEST_API_KEY: fromEnv },
  );
  assert.equal(res.code, 0, res.stderr);
  const sha = (v: string) => createHash('sha256').update(v).digest('hex').slice(0, 16);
  const expected = `token=${sha(fromFile)} api=${sha(fromEnv)}`;
  assert.ok(res.stderr.includes(expected), `the step saw both secrets (${expected}):\n${res.stderr.slice(-3000)}`);

  const meta = JSON.parse(await readFile(join(scratch, 'meta.json'), 'utf8')) as Record<string, unknown>;
  const logs = await fleet.cli(['logs', String(meta['archfarm.build'])]);
  assert.equal(logs.code, 0, logs.stderr);
  assert.ok(logs.stdout.includes(expected), 'the job log has the step output');
  for (const value of [fromFile, fromEnv]) {
    const needle = Buffer.from(value);
    assert.ok(!res.stdout.includes(value) && !res.stderr.includes(value), 'not in the CLI output');
    assert.ok(!fleet.logs.join('').includes(value), 'not in the coordinator or agent logs');
    assert.ok(!logs.stdout.includes(value), 'not in the job logs');
    // The fleet's dir holds the coordinator's data dir (store, contexts, logs) and each agent's state dir.
    assert.deepEqual(await filesHolding(fleet.dir, needle), [], 'not in any coordinator or agent file');
  }

  // Every blob of every platform's image, through an independent client.
  const copy = join(scratch, 'oci');
  const copied = await run('skopeo', ['copy', '--all', '--src-tls-verify=false', `docker://${tag}`, `oci:${copy}`]);
  assert.equal(copied.code, 0, copied.stderr);
  const blobs = await readdir(join(copy, 'blobs', 'sha256'));
  assert.ok(blobs.length >= 5, `an index, two manifests, two configs and layers: ${blobs.length}`);
  for (const value of [fromFile, fromEnv]) assert.deepEqual(await filesHolding(copy, Buffer.from(value)), [], 'not in any layer or config');
});
