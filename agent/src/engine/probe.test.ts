import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Platform } from '@archfarm/common';
import type { BuildRequest, Engine, EngineInfo } from './engine';
import { BuildFailedError, EngineUnavailableError } from './errors';
import { UNAME_MARKER } from './exit-program';
import { machineFromLog, probePlatforms } from './probe';

/**
 * An engine that "runs" the probe for the platforms it is told to: the probe's logic
 * (which platforms, how many at once, cleanup) is pure; tests/probe.test.ts runs it for real.
 */
class FakeEngine implements Engine {
  readonly builds: BuildRequest[] = [];
  readonly removed: string[] = [];
  running = 0;
  maxRunning = 0;
  constructor(
    private readonly native: string,
    private readonly runs: (p: Platform) => boolean | Error,
    /** What the probe program prints as `uname -m`, by architecture, as BuildKit's plain log shows it. */
    private readonly unameM: Record<string, string> = {},
  ) {}
  async info(): Promise<EngineInfo> {
    return { platform: Platform.parse(this.native), description: 'fake' };
  }
  async build(req: BuildRequest): Promise<{ imageId: string; bases: [] }> {
    this.builds.push(req);
    this.running += 1;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    await new Promise((r) => setTimeout(r, 5));
    this.running -= 1;
    const ok = this.runs(req.platform);
    if (ok instanceof Error) throw ok;
    const machine = this.unameM[req.platform.architecture];
    if (machine !== undefined) req.onLog(`#3 0.052 ${UNAME_MARKER}${machine}`);
    if (!ok) throw new BuildFailedError('executor failed running [/probe]: exit code: 1');
    return { imageId: `sha256:${req.platform.architecture}`, bases: [] };
  }
  async saveImage(): Promise<never> {
    throw new Error('not used');
  }
  async run(): Promise<never> {
    throw new Error('not used');
  }
  async removeImage(ref: string): Promise<void> {
    this.removed.push(ref);
  }
  async removeLeftovers(): Promise<number> {
    return 0;
  }
}

const list = (text: string) => Platform.parseList(text);
const shown = (r: Array<{ platform: Platform; mode: string }>) => r.map((x) => `${x.platform.toString()} ${x.mode}`);

test('native first, then the candidates that ran, in order; failures left out', async () => {
  const engine = new FakeEngine('linux/amd64', (p) => p.architecture !== 'ppc64le');
  const result = await probePlatforms(engine, list('linux/arm64,linux/amd64,linux/ppc64le,linux/s390x,linux/arm64,linux/amd64/v2'));
  assert.deepEqual(shown(result), ['linux/amd64 native', 'linux/arm64 emulated', 'linux/s390x emulated', 'linux/amd64/v2 native']);
  // The native platform is not probed; duplicates are probed once.
  assert.deepEqual(engine.builds.map((b) => b.platform.toString()).sort(), ['linux/amd64/v2', 'linux/arm64', 'linux/ppc64le', 'linux/s390x']);
});

test('every probe is uncached, unlabelled, named in the repository given, and its image removed', async () => {
  const engine = new FakeEngine('linux/arm64', (p) => p.architecture === 'arm', { arm: 'armv7l' });
  const result = await probePlatforms(engine, list('linux/arm/v7,linux/arm/v6,linux/s390x'), { repository: 'archfarm-job/pi-1/probe' });
  assert.deepEqual(shown(result), ['linux/arm64 native', 'linux/arm/v7 emulated', 'linux/arm/v6 emulated']);
  for (const b of engine.builds) {
    assert.equal(b.noCache, true);
    assert.deepEqual(b.labels, {});
    assert.match(b.tag, /^archfarm-job\/pi-1\/probe:/);
    // Both forms of the context hold the probe program and its Dockerfile.
    assert.deepEqual((await b.context.tree()).entries.map((e) => e.path), ['Dockerfile', 'probe']);
    assert.ok(engine.removed.includes(b.tag), `${b.tag} removed`);
  }
});

test('32-bit code takes its mode from the uname -m its probe printed: the kernel (native) or QEMU (emulated)', async () => {
  const pi = new FakeEngine('linux/arm64', (p) => p.architecture === 'arm', { arm: 'aarch64' });
  const found = await probePlatforms(pi, list('linux/arm/v7,linux/arm/v6'));
  assert.deepEqual(shown(found), ['linux/arm64 native', 'linux/arm/v7 native', 'linux/arm/v6 native']);
  assert.deepEqual(found.map((f) => f.machine), [undefined, 'aarch64', 'aarch64']);
  assert.match(found[1]!.reason, /said aarch64: the arm64 kernel ran the code itself/);

  const x86 = new FakeEngine('linux/amd64', () => true, { '386': 'x86_64', arm: 'armv7l' });
  assert.deepEqual(shown(await probePlatforms(x86, list('linux/386,linux/arm/v7'))), ['linux/amd64 native', 'linux/386 native', 'linux/arm/v7 emulated']);

  // A probe log without the line (an engine that dropped the step's output) proves nothing.
  const silent = new FakeEngine('linux/arm64', () => true);
  assert.deepEqual(shown(await probePlatforms(silent, list('linux/arm/v7'))), ['linux/arm64 native', 'linux/arm/v7 emulated']);
});

test('machineFromLog reads the marker line in BuildKit and Podman form, nothing else', () => {
  assert.equal(machineFromLog(`#5 0.213 ${UNAME_MARKER}armv8l`), 'armv8l');
  assert.equal(machineFromLog(`${UNAME_MARKER}aarch64`), 'aarch64');
  assert.equal(machineFromLog('#5 0.213 aarch64'), undefined);
  assert.equal(machineFromLog(`#5 ${UNAME_MARKER}`), undefined);
  assert.equal(machineFromLog(`#5 ${UNAME_MARKER}arm v7; rm -rf`), undefined);
});

test('runs at most `concurrency` probes at once', async () => {
  const engine = new FakeEngine('linux/amd64', () => true);
  await probePlatforms(engine, list('linux/arm64,linux/arm/v7,linux/s390x,linux/ppc64le,linux/riscv64,linux/386'), { concurrency: 2 });
  assert.equal(engine.maxRunning, 2);
});

test('skips CPUs without a probe program, fails when the engine is gone', async () => {
  const skip = new FakeEngine('linux/amd64', () => true);
  assert.deepEqual(shown(await probePlatforms(skip, list('linux/mips64le'))), ['linux/amd64 native']);
  assert.equal(skip.builds.length, 0);
  const gone = new FakeEngine('linux/amd64', () => new EngineUnavailableError('connect ECONNREFUSED', undefined));
  await assert.rejects(probePlatforms(gone, list('linux/arm64')), EngineUnavailableError);
});
