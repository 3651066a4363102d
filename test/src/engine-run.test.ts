import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Platform } from '@archfarm/common';
import {
  DockerEngine,
  EngineRequestError,
  EngineUnavailableError,
  ImagePlatformMismatchError,
  RunCancelledError,
  RunNotStartedError,
  RunTimeoutError,
  type RunRequest,
} from '@archfarm/agent';
import {
  containersLabelled,
  contextOf,
  DOCKER_SOCKET,
  processesMatching,
  requireBaseImage,
  requireDocker,
  startContainer,
  TEST_LABEL,
} from './support/docker';

const engine = new DockerEngine({ host: { kind: 'unix', socketPath: DOCKER_SOCKET } });
const jobId = `engine-run-test-${randomBytes(4).toString('hex')}`;
/** What `docker ps -a --filter label=...` looks for: every container these tests run carries it. */
const JOB = `io.archfarm.job=${jobId}`;
const tags: string[] = [];
let native = Platform.parse('linux/amd64');
/** Images built from the base image: native, linux/arm/v7, and native with an ENTRYPOINT. */
const images = { native: '', arm: '', entrypoint: '' };

async function buildImage(name: string, platform: Platform, dockerfile: string): Promise<string> {
  const tag = `archfarm-test/${jobId}:${name}`;
  tags.push(tag);
  await engine.build({
    context: contextOf([{ path: 'Dockerfile', data: dockerfile }]),
    contextKey: `${jobId}-${dockerfile.length}`,
    platform,
    buildArgs: {},
    tag,
    labels: { [TEST_LABEL]: 'run' },
    onLog: () => undefined,
  });
  return tag;
}

before(async () => {
  native = Platform.fromUname((await requireDocker()).architecture);
  const base = await requireBaseImage();
  images.native = await buildImage('native', native, `FROM ${base}\n`);
  images.arm = await buildImage('arm', Platform.parse('linux/arm/v7'), `FROM ${base}\n`);
  images.entrypoint = await buildImage('entrypoint', native, `FROM ${base}\nENTRYPOINT ["echo", "entry:"]\nCMD ["default"]\n`);
});

after(async () => {
  await engine.removeLeftovers(JOB, `archfarm-test/${jobId}-none/`); // a failed test's stray containers (the filter takes key=value too)
  for (const tag of tags) await engine.removeImage(tag);
});

/** A run of `command` in the native image, collecting its lines. */
function request(command: string[], extra: Partial<RunRequest> = {}): RunRequest & { lines: string[] } {
  const lines: string[] = [];
  return { image: images.native, platform: native, command, labels: { 'io.archfarm.job': jobId }, onLog: (l) => lines.push(l), lines, ...extra };
}

async function assertNoContainers(): Promise<void> {
  assert.deepEqual(await containersLabelled(JOB), [], 'the container was removed');
}

test('runs an arm/v7 image as armv7l and removes its container', async () => {
  const req = request(['uname', '-m'], { image: images.arm, platform: Platform.parse('linux/arm/v7') });
  assert.deepEqual(await engine.run(req), { exitCode: 0 });
  assert.deepEqual(req.lines, ['armv7l']);
  await assertNoContainers();
});

test('a non-zero exit is the exit code, with stdout and stderr logged', async () => {
  const req = request(['sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.deepEqual(await engine.run(req), { exitCode: 3 });
  assert.deepEqual([...req.lines].sort(), ['err', 'out']);
  await assertNoContainers();
});

test('lines written in pieces stay whole, also around the other stream; a last line without an end is kept', async () => {
  const req = request(['sh', '-c', 'printf "one "; sleep 0.3; echo err >&2; sleep 0.3; printf "line\\nno end"']);
  assert.deepEqual(await engine.run(req), { exitCode: 0 });
  assert.deepEqual(req.lines, ['err', 'one line', 'no end']);
});

test('the container has no network', async () => {
  const req = request(['ls', '/sys/class/net']);
  assert.deepEqual(await engine.run(req), { exitCode: 0 });
  assert.deepEqual(req.lines, ['lo']);
});

test('the command replaces CMD and keeps the ENTRYPOINT; an empty one runs the CMD', async () => {
  const req = request(['hello', 'world'], { image: images.entrypoint });
  assert.deepEqual(await engine.run(req), { exitCode: 0 });
  assert.deepEqual(req.lines, ['entry: hello world']);
  const plain = request([], { image: images.entrypoint });
  await engine.run(plain);
  assert.deepEqual(plain.lines, ['entry: default']);
});

test('a command that does not exist in the image is RunNotStartedError', async () => {
  await assert.rejects(engine.run(request(['no-such-command', '--version'])), (err: unknown) => {
    assert.ok(err instanceof RunNotStartedError, String(err));
    assert.equal(err.kind, 'build');
    assert.equal(
      err.message,
      `cannot run ["no-such-command","--version"] in ${images.native}: exec: "no-such-command": executable file not found in $PATH`,
    );
    return true;
  });
  await assertNoContainers();
});

test('aborting kills the container promptly and removes it', async (t) => {
  const marker = 'sleep 311'; // an unusual duration, to find the process on the host
  const controller = new AbortController();
  const req = request(['sh', '-c', `echo started; exec ${marker}`], { signal: controller.signal });
  const started = new Promise<void>((resolve) => {
    req.onLog = (line) => line === 'started' && resolve();
  });
  const run = engine.run(req);
  t.after(() => controller.abort()); // a failing assertion must not leave the container running
  await Promise.race([started, run]);
  const [container, ...others] = await containersLabelled(JOB);
  assert.equal(others.length, 0);
  assert.equal(container?.HostConfig.NetworkMode, 'none');
  assert.equal(processesMatching(new RegExp(marker)).length, 1, 'the command runs');
  const abortedAt = Date.now();
  controller.abort();
  await assert.rejects(run, (err: unknown) => err instanceof RunCancelledError && err.kind === 'build');
  const ms = Date.now() - abortedAt;
  assert.ok(ms < 5000, `rejected ${ms} ms after the abort`);
  await assertNoContainers();
  assert.deepEqual(processesMatching(new RegExp(marker)), []);
  console.log(`abort: container killed and removed ${ms} ms after the abort`);
  await assert.rejects(engine.run(request(['true'], { signal: AbortSignal.abort() })), RunCancelledError);
});

test('a run longer than timeoutMs is killed: RunTimeoutError', async () => {
  const startedAt = Date.now();
  await assert.rejects(engine.run(request(['sleep', '60'], { timeoutMs: 1500 })), (err: unknown) => {
    assert.ok(err instanceof RunTimeoutError, String(err));
    assert.equal(err.timeoutMs, 1500);
    assert.equal(err.kind, 'build');
    return true;
  });
  const ms = Date.now() - startedAt;
  assert.ok(ms >= 1500 && ms < 6000, `took ${ms} ms`);
  await assertNoContainers();
});

test('an image of another platform is refused, even where the engine would run it', async () => {
  // dockerd 20.10 creates a container of an arm/v7 image when asked for linux/arm64.
  const req = request(['true'], { image: images.arm, platform: Platform.parse('linux/arm64') });
  await assert.rejects(engine.run(req), (err: unknown) => {
    assert.ok(err instanceof ImagePlatformMismatchError, String(err));
    assert.equal(err.message, `image ${images.arm} is linux/arm/v7, not linux/arm64`);
    return true;
  });
  await assertNoContainers();
});

test('engine failures are classified as for builds', async () => {
  await assert.rejects(engine.run(request(['true'], { image: `archfarm-test/${jobId}:missing` })), (err: unknown) => {
    assert.ok(err instanceof EngineRequestError, String(err));
    assert.equal(err.statusCode, 404);
    return true;
  });
  const nowhere = new DockerEngine({ host: { kind: 'unix', socketPath: '/nonexistent/docker.sock' } });
  await assert.rejects(nowhere.run(request(['true'])), EngineUnavailableError);
});

test('removeLeftovers removes labelled containers, running ones too', async () => {
  const key = `io.archfarm.test-${randomBytes(4).toString('hex')}`;
  await startContainer(images.native, ['sleep', '300'], { [key]: '1' });
  await startContainer(images.native, ['true'], { [key]: '2' });
  let onLog = (): void => undefined;
  const started = new Promise<void>((resolve) => (onLog = resolve));
  const run = engine.run(request(['sh', '-c', 'echo started; exec sleep 300'], { labels: { [key]: '3' }, onLog }));
  await Promise.race([started, run]);
  assert.equal((await containersLabelled(key)).length, 3);
  assert.equal(await engine.removeLeftovers(key, `archfarm-test/${jobId}-none/`), 0); // no images named so
  assert.deepEqual(await containersLabelled(key), []);
  // The run's command was killed under it: a failed run, not an engine error.
  assert.deepEqual(await run, { exitCode: 137 });
});
