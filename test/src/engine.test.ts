import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { machine } from 'node:os';
import { Platform } from '@archfarm/common';
import {
  BuildCancelledError,
  BuildFailedError,
  DockerEngine,
  EngineUnavailableError,
  type BuildRequest,
} from '@archfarm/agent';
import { contextOf, DOCKER_SOCKET, inspectImage, processesMatching, requireBaseImage, requireDocker, runContainer } from './support/docker';

const engine = new DockerEngine({ host: { kind: 'unix', socketPath: DOCKER_SOCKET } });
const jobId = `engine-test-${randomBytes(4).toString('hex')}`;
const tags: string[] = [];
let base = '';

before(async () => {
  await requireDocker();
  base = await requireBaseImage();
});

after(async () => {
  for (const tag of tags) await engine.removeImage(tag);
});

/** A build of `dockerfile` for `platform`, collecting its lines; tagged and labelled for cleanup. */
function request(dockerfile: string, platform: string, extra: Partial<BuildRequest> = {}): BuildRequest & { lines: string[] } {
  const lines: string[] = [];
  const tag = `archfarm-test/${jobId}:${tags.length + 1}`;
  tags.push(tag);
  return {
    context: contextOf([{ path: 'Dockerfile', data: dockerfile }]),
    contextKey: `${jobId}-${dockerfile.length}`,
    platform: Platform.parse(platform),
    buildArgs: {},
    tag,
    labels: { 'io.archfarm.job': jobId },
    onLog: (line) => lines.push(line),
    lines,
    ...extra,
  };
}

/** base64 runs (a forwarded BuildKit record would be one); hex digests are fine. */
function junk(lines: string[]): string[] {
  return lines.filter((l) => /moby\.buildkit\.trace/.test(l) || (l.match(/[A-Za-z0-9+/=]{40,}/g) ?? []).some((run) => !/^[0-9a-f]+$/.test(run)));
}

test('info reports the native platform of the engine', async () => {
  const docker = await requireDocker();
  const info = await engine.info();
  assert.equal(info.platform.toString(), Platform.fromUname(docker.architecture).toString());
  assert.match(info.description, new RegExp(`^docker ${docker.serverVersion.replace(/[.+]/g, '\\$&')} \\(${info.platform.toString()}\\)`));
});

test('builds for s390x under emulation, with readable progress', async () => {
  const req = request(`FROM ${base}\nRUN uname -m > /m && cat /m\n`, 'linux/s390x', { noCache: true });
  const started = Date.now();
  const { imageId } = await engine.build(req);
  const seconds = (Date.now() - started) / 1000;
  assert.match(imageId, /^sha256:[0-9a-f]{64}$/);
  assert.ok(req.lines.some((l) => /^#\d+ \d+\.\d{3} s390x$/.test(l)), req.lines.join('\n'));
  assert.ok(req.lines.some((l) => /^#\d+ DONE \d+\.\d+s$/.test(l)));
  assert.deepEqual(junk(req.lines), []);
  const image = await inspectImage(req.tag);
  assert.equal(image?.Id, imageId);
  assert.equal(image?.Architecture, 's390x');
  assert.equal(image?.Config.Labels?.['io.archfarm.job'], jobId);
  console.log(`s390x build: ${seconds.toFixed(1)} s, ${req.lines.length} lines`);
});

test('a failing RUN is a BuildFailedError with the exit code, and its output is logged', async () => {
  const req = request(`FROM ${base}\nRUN echo boom && exit 3\n`, 'linux/amd64', { noCache: true });
  await assert.rejects(engine.build(req), (err: unknown) => {
    assert.ok(err instanceof BuildFailedError, String(err));
    assert.equal(err.kind, 'build');
    assert.match(err.message, /exit code: 3/);
    return true;
  });
  assert.ok(req.lines.some((l) => /^#\d+ \d+\.\d{3} boom$/.test(l)), req.lines.join('\n'));
  assert.ok(req.lines.some((l) => /^#\d+ ERROR: .*exit code: 3/.test(l)));
});

test('aborting stops the build in the engine', async () => {
  const marker = 'sleep 317'; // an unusual duration, to find this RUN's process on the host
  const controller = new AbortController();
  const req = request(`FROM ${base}\nRUN echo started && ${marker}\n`, 'linux/amd64', { noCache: true, signal: controller.signal });
  const running = new Promise<void>((resolve) => {
    const onLog = req.onLog;
    req.onLog = (line) => (onLog(line), / started$/.test(line) && resolve());
  });
  const build = engine.build(req);
  await Promise.race([running, build]);
  assert.equal(processesMatching(new RegExp(marker)).length, 1, 'the RUN step is running');
  const abortedAt = Date.now();
  controller.abort();
  await assert.rejects(build, BuildCancelledError);
  assert.ok(Date.now() - abortedAt < 3000, 'rejects promptly');
  // BuildKit cancels the step when the request closes: its process goes away.
  while (processesMatching(new RegExp(marker)).length > 0) {
    assert.ok(Date.now() - abortedAt < 5000, `"${marker}" still running 5 s after the abort`);
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log(`abort: step gone ${Date.now() - abortedAt} ms after the abort`);
  await assert.rejects(engine.build(request(`FROM ${base}\n`, 'linux/amd64', { signal: AbortSignal.abort() })), BuildCancelledError);
});

test('a cross build runs the first stage natively and produces an arm64 image', async () => {
  const dockerfile = [
    `FROM --platform=$BUILDPLATFORM ${base} AS build`,
    'RUN uname -m > /built-on',
    `FROM ${base}`,
    'COPY --from=build /built-on /built-on',
    'CMD ["cat", "/built-on"]',
    '',
  ].join('\n');
  const req = request(dockerfile, 'linux/arm64', { noCache: true });
  await engine.build(req);
  const image = await inspectImage(req.tag);
  assert.equal(image?.Architecture, 'arm64');
  assert.equal((await runContainer(req.tag, 'linux/arm64')).trim(), machine());
});

test('saves, removes, and cleans up images by name, not by label', async () => {
  const prefix = `archfarm-test/${jobId}-cleanup/`;
  const req = { ...request(`FROM ${base}\nLABEL purpose=cleanup\n`, 'linux/amd64'), tag: `${prefix}a:1` };
  const other = request(`FROM ${base}\nLABEL purpose=kept\n`, 'linux/amd64');
  const { imageId } = await engine.build(req);
  await engine.build(other);
  const chunks: Buffer[] = [];
  for await (const chunk of await engine.saveImage(imageId)) chunks.push(chunk as Buffer);
  assert.ok(Buffer.concat(chunks).includes('manifest.json'), 'a docker save archive');
  assert.equal(await engine.removeLeftovers(`io.archfarm.test-${randomBytes(4).toString('hex')}`, prefix), 1);
  assert.equal(await inspectImage(req.tag), undefined);
  assert.notEqual(await inspectImage(other.tag), undefined, 'an image outside the prefix stays');
  assert.equal(await engine.removeLeftovers('io.archfarm.none', prefix), 0);
  await engine.removeImage(req.tag); // already gone: not an error
});

test('an engine that is not there is EngineUnavailableError', async () => {
  const nowhere = new DockerEngine({ host: { kind: 'unix', socketPath: '/nonexistent/docker.sock' } });
  await assert.rejects(nowhere.info(), (err: unknown) => err instanceof EngineUnavailableError && err.kind === 'infrastructure');
  await assert.rejects(nowhere.build(request(`FROM ${base}\n`, 'linux/amd64')), EngineUnavailableError);
});
