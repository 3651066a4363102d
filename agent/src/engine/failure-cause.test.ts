import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classify, registryOf } from './failure-cause';
import { classifyThrown, failureError } from './failure-error';
import { FAILURE_TEXTS } from './failure-texts';
import { BaseImageUnreachableError, BuildFailedError, DiskFullError, EngineUnavailableError, StateDirUnwritableError } from './errors';

for (const row of FAILURE_TEXTS) {
  test(`${row.engine}, ${row.scenario}: ${row.cause}`, () => {
    const got = classify(row.failure, { stage: 'build', engineAnswers: row.engineAnswers ?? true });
    assert.equal(got.cause, row.cause, row.failure.text);
  });
}

test('every captured registry fault names its registry, as the engine quoted it', () => {
  const registryRows = FAILURE_TEXTS.filter((r) => r.source === 'captured' && r.cause.startsWith('registry-'));
  assert.ok(registryRows.length >= 20, `only ${registryRows.length} rows`);
  for (const row of registryRows) {
    const port = /127\.0\.0\.1:(\d+)/.exec(row.failure.text)?.[1];
    assert.equal(classify(row.failure, { stage: 'build' }).registry, `127.0.0.1:${port}`, row.failure.text);
  }
});

test('each engine has a captured text for every cause it showed here', () => {
  const seen = (engine: string) => new Set(FAILURE_TEXTS.filter((r) => r.engine.startsWith(engine) && r.source === 'captured').map((r) => r.cause));
  const everywhere = ['registry-unreachable', 'registry-overloaded', 'registry-denied', 'base-image-missing', 'build-step', 'missing-file', 'dockerfile-invalid', 'engine-gone'];
  for (const engine of ['dockerd 20.10', 'dockerd 26', 'podman 4.3']) for (const cause of everywhere) assert.ok(seen(engine).has(cause as never), `${engine}: ${cause}`);
  assert.ok(seen('podman 4.3').has('disk-full'));
});

test('a failing RUN whose command quotes a registry fault is still the build step', () => {
  for (const text of [
    'executor failed running [/bin/sh -c echo "dial tcp 1.2.3.4:5000: connect: connection refused" && exit 1]: exit code: 1',
    'process "/bin/sh -c echo 503 Service Unavailable; exit 2" did not complete successfully: exit code: 2',
    'building at STEP "RUN echo no space left on device; exit 1": while running runtime: exit status 1\n',
  ]) {
    assert.deepEqual(classify({ text }, { stage: 'build' }), { kind: 'build', cause: 'build-step' }, text);
  }
});

test('an engine that no longer answers after the failure makes it engine-gone, whatever it said', () => {
  const text = 'building at STEP "RUN sleep 20": while running runtime: exit status 1';
  assert.equal(classify({ text }, { stage: 'build', engineAnswers: true }).cause, 'build-step');
  assert.equal(classify({ text }, { stage: 'build', engineAnswers: false }).cause, 'engine-gone');
});

test('an unknown text stays the build\'s own (as before the classification)', () => {
  assert.deepEqual(classify({ text: 'something nobody has seen' }, { stage: 'build' }), { kind: 'build', cause: 'build-other' });
});

test('socket and file errnos: the engine is gone, or a disk is full', () => {
  assert.equal(classify({ text: 'aborted', errno: 'ECONNRESET' }, { stage: 'build' }).cause, 'engine-gone');
  assert.equal(classify({ text: 'connect ENOENT /x.sock', errno: 'ENOENT', syscall: 'connect' }, { stage: 'build' }).cause, 'engine-gone');
  assert.equal(classify({ text: 'ENOENT: no such file', errno: 'ENOENT', syscall: 'open' }, { stage: 'build' }).cause, 'build-other');
  assert.equal(classify({ text: 'ENOSPC: no space left on device, write', errno: 'ENOSPC' }, { stage: 'push' }).kind, 'infrastructure');
});

test('failureError: a stable code per cause, a message naming the cause and the fix', () => {
  const refused = FAILURE_TEXTS.find((r) => r.engine.startsWith('dockerd 20.10') && r.scenario === 'registry-refused')!;
  const err = failureError(refused.failure, { stage: 'build', engineAnswers: true });
  assert.ok(err instanceof BaseImageUnreachableError);
  assert.equal(err.code, 'BASE_IMAGE_UNREACHABLE');
  assert.equal(err.kind, 'infrastructure');
  assert.match(err.message, /^the FROM image's registry 127\.0\.0\.1:41903 cannot be reached \(.*connection refused\); archfarm retries the job with backoff; if it persists, check that the registry runs/);
  const codes = new Map(FAILURE_TEXTS.map((r) => [r.cause, failureError(r.failure, { stage: 'build', engineAnswers: r.engineAnswers ?? true })]));
  assert.deepEqual(Object.fromEntries([...codes].map(([cause, e]) => [cause, `${e.code} ${e.kind}`])), {
    'registry-unreachable': 'BASE_IMAGE_UNREACHABLE infrastructure',
    'registry-timeout': 'BASE_IMAGE_TIMEOUT infrastructure',
    'registry-overloaded': 'BASE_IMAGE_REGISTRY_OVERLOADED infrastructure',
    'registry-denied': 'BASE_IMAGE_DENIED input',
    'base-image-missing': 'BASE_IMAGE_NOT_FOUND build',
    'build-step': 'BUILD_FAILED build',
    'missing-file': 'BUILD_FAILED build',
    'dockerfile-invalid': 'BUILD_FAILED build',
    'engine-gone': 'ENGINE_UNAVAILABLE infrastructure',
    'disk-full': 'DISK_FULL infrastructure',
  });
  const copy = codes.get('missing-file');
  assert.ok(copy instanceof BuildFailedError && copy.reason === 'missing-file');
  assert.match(copy.message, /^a file the Dockerfile copies is not in the build context/);
  assert.ok(codes.get('engine-gone') instanceof EngineUnavailableError);
});

test('at push, a registry fault is the target registry\'s (REGISTRY_UNAVAILABLE)', () => {
  const err = failureError({ text: 'Head "http://reg:5000/v2/x/blobs/sha256:1": dial tcp 1.2.3.4:5000: connect: connection refused' }, { stage: 'push' });
  assert.equal(err.code, 'REGISTRY_UNAVAILABLE');
  assert.equal(err.kind, 'infrastructure');
});

test('classifyThrown: the agent\'s own full disk is DISK_FULL; other values pass unchanged', () => {
  const enospc = Object.assign(new Error("ENOSPC: no space left on device, write '/state/work/x'"), { code: 'ENOSPC' });
  const disk = classifyThrown(enospc);
  assert.ok(disk instanceof DiskFullError && disk.kind === 'infrastructure' && disk.cause === enospc);
  assert.match(disk.message, /^the agent's state dir is full/);
  const bug = new TypeError('x is undefined');
  assert.equal(classifyThrown(bug), bug);
});

test('classifyThrown with the state dir: a file there that cannot be written is STATE_DIR_UNWRITABLE, naming the dir, the file and the errno', () => {
  const where = { stateDir: '/var/lib/agent' };
  const erofs = Object.assign(new Error("EROFS: read-only file system, open '/var/lib/agent/logs/b-0.1.log'"), { code: 'EROFS', path: '/var/lib/agent/logs/b-0.1.log' });
  const ro = classifyThrown(erofs, where);
  assert.ok(ro instanceof StateDirUnwritableError && ro.kind === 'infrastructure' && ro.cause === erofs);
  assert.equal(ro.message.split(';')[0], "the agent's state dir /var/lib/agent is not writable (EROFS: read-only file system, writing /var/lib/agent/logs/b-0.1.log)");
  // A write on an open file has no path of its own: the caller names it.
  const write = Object.assign(new Error('EACCES: permission denied, write'), { code: 'EACCES' });
  const denied = classifyThrown(write, { ...where, path: '/var/lib/agent/logs/x.log' });
  assert.ok(denied instanceof StateDirUnwritableError);
  assert.match(denied.message, /\(EACCES: permission denied, writing \/var\/lib\/agent\/logs\/x\.log\)/);
  const elsewhere = Object.assign(new Error("EACCES: permission denied, connect '/run/docker.sock'"), { code: 'EACCES', path: '/run/docker.sock' });
  assert.equal(classifyThrown(elsewhere, where), elsewhere, 'EACCES outside the state dir is not its fault');
  const full = classifyThrown(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }), where);
  assert.ok(full instanceof DiskFullError);
  assert.match(full.message, /^the agent's state dir \/var\/lib\/agent is full/);
  assert.equal(classifyThrown(erofs), erofs, 'without the state dir nothing is guessed');
});

test('registryOf reads the host the text quotes, not the image\'s', () => {
  assert.equal(registryOf('pulling from host reg.example:5000 failed with status code [manifests 1]: 503 Service Unavailable'), 'reg.example:5000');
  assert.equal(registryOf('nothing here'), undefined);
});
