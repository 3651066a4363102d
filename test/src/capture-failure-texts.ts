/**
 * Not a test: runs each failure scenario on a real engine through the agent's own DockerEngine
 * and prints, as JSON lines, what the agent got (error class, code, the engine's own text).
 * agent/src/engine/failure-texts.ts is made of its output; run it again when an engine
 * changes: `node test/dist/capture-failure-texts.js docker20|docker26|podman [scenario...]`.
 */
import { randomBytes } from 'node:crypto';
import { Platform } from '@archfarm/common';
import { DockerEngine, parseDockerHost, type BuildRequest } from '@archfarm/agent';
import { baseImage } from './support/context';
import { contextOf, DOCKER_SOCKET } from './support/docker';
import { DOCKER26_SOCKET } from './support/docker26';
import { refusingRegistry, silentRegistry, statusRegistry, type FaultRegistry } from './support/fault-registry';
import { OutageProxy } from './support/outage-proxy';
import { AuthRegistry } from './support/auth-registry';
import { SocketProxy } from './support/socket-proxy';
import { pushUniqueImage } from './support/unique-image';
import { testRegistry, uniqueRepository } from './support/registry';
import { captureEngine, type CaptureEngine } from './support/capture-engine';

/** What one scenario gave. */
interface Captured {
  engine: string;
  version: string;
  scenario: string;
  outcome: 'failed' | 'built' | 'hung' | 'not-captured';
  seconds: number;
  errorClass?: string;
  code?: string;
  message?: string;
  /** The engine's own words, before the agent's classification put a cause in front. */
  engineText?: string;
  causeCode?: string;
  causeMessage?: string;
}

interface Scenario {
  name: string;
  run(engine: CaptureEngine): Promise<Captured>;
}

const LIMIT_MS = 150_000;

async function build(engine: CaptureEngine, scenario: string, dockerfile: string, files: Record<string, string> = {}, during?: (lines: string[]) => Promise<void>, host?: string): Promise<Captured> {
  await engine.ready();
  const lines: string[] = [];
  const nonce = randomBytes(4).toString('hex');
  const target = host === undefined ? engine.engine : new DockerEngine({ host: parseDockerHost(host) });
  const req: BuildRequest = {
    context: contextOf([{ path: 'Dockerfile', data: dockerfile }, ...Object.entries(files).map(([path, data]) => ({ path, data }))]),
    contextKey: `capture-${nonce}`,
    platform: Platform.parse('linux/amd64'),
    buildArgs: {},
    tag: `archfarm-capture/${scenario}:${nonce}`,
    labels: {},
    noCache: true,
    signal: AbortSignal.timeout(LIMIT_MS),
    onLog: (line) => lines.push(line),
  };
  const started = Date.now();
  const base = { engine: engine.name, version: engine.version, scenario };
  const watcher = during?.(lines);
  try {
    await target.build(req);
    await engine.engine.removeImage(req.tag).catch(() => undefined);
    return { ...base, outcome: 'built', seconds: (Date.now() - started) / 1000 };
  } catch (err) {
    const e = err as Error & { code?: string; detail?: unknown; cause?: Error & { code?: string } };
    const hung = req.signal?.aborted === true;
    return {
      ...base,
      outcome: hung ? 'hung' : 'failed',
      seconds: (Date.now() - started) / 1000,
      errorClass: e.constructor.name,
      code: e.code,
      message: e.message,
      engineText: typeof e.detail === 'string' ? e.detail : undefined,
      causeCode: e.cause?.code,
      causeMessage: e.cause?.message,
    };
  } finally {
    await watcher?.catch(() => undefined);
  }
}

/** A scenario against a fault registry: FROM an image there. */
function faulty(name: string, make: () => Promise<FaultRegistry>): Scenario {
  return {
    name,
    run: async (engine) => {
      const registry = await make();
      engine.allowInsecure(registry.address);
      try {
        return await build(engine, name, `FROM ${registry.address}/archfarm/base:1\nRUN true\n`);
      } finally {
        await registry.stop();
      }
    },
  };
}

/**
 * The real registry behind an outage proxy that drops every connection, and refuses new ones
 * for 60 s, when the image's config blob (read while resolving FROM) or its layer (read when
 * the build needs the base's files) is fetched.
 */
function dropped(name: string, at: 'config' | 'layer'): Scenario {
  return {
    name,
    run: async (engine) => {
      const [host, port] = testRegistry().split(':');
      const image = await pushUniqueImage(testRegistry(), uniqueRepository('capture'), 8 << 20);
      const trigger = at === 'layer' ? new RegExp(`^GET /v2/.*/blobs/${image.layer}`) : new RegExp(`^GET /v2/.*/blobs/(?!${image.layer})`);
      const proxy = new OutageProxy({ host: host!, port: Number(port) }, trigger, 60_000);
      await proxy.start();
      engine.allowInsecure(`127.0.0.1:${proxy.port}`);
      try {
        const from = image.ref.replace(testRegistry(), `127.0.0.1:${proxy.port}`);
        return await build(engine, name, `FROM ${from}\nCOPY Dockerfile /x\n`);
      } finally {
        await proxy.stop();
      }
    },
  };
}

const waitFor = async (lines: string[], pattern: RegExp): Promise<void> => {
  const deadline = Date.now() + 60_000;
  while (!lines.some((l) => pattern.test(l)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
};

export const SCENARIOS: Scenario[] = [
  {
    // The FROM image's layer (24 MiB of random bytes) does not fit the store's 16 MB disk.
    name: 'disk-full',
    run: async (engine) => {
      if (!engine.onSmallDisk) return { engine: engine.name, version: engine.version, scenario: 'disk-full', outcome: 'not-captured', seconds: 0 };
      const image = await pushUniqueImage(testRegistry(), uniqueRepository('capture'), 24 << 20);
      return engine.onSmallDisk(16, () => build(engine, 'disk-full', `FROM ${image.ref}\nCOPY Dockerfile /x\n`));
    },
  },
  faulty('registry-refused', refusingRegistry),
  faulty('registry-silent', silentRegistry),
  faulty('registry-429', () => statusRegistry(429)),
  faulty('registry-500', () => statusRegistry(500)),
  faulty('registry-502', () => statusRegistry(502)),
  faulty('registry-503', () => statusRegistry(503)),
  dropped('registry-dropped-at-config', 'config'),
  dropped('registry-dropped-mid-layer', 'layer'),
  {
    name: 'registry-denied',
    run: async (engine) => {
      const registry = await AuthRegistry.start('capture', 'capture-secret');
      engine.allowInsecure(registry.address);
      try {
        return await build(engine, 'registry-denied', `FROM ${registry.address}/archfarm/base:1\nRUN true\n`);
      } finally {
        await registry.stop();
      }
    },
  },
  { name: 'base-repository-missing', run: (e) => build(e, 'base-repository-missing', `FROM ${testRegistry()}/archfarm/no-such-${randomBytes(3).toString('hex')}:1\nRUN true\n`) },
  { name: 'base-tag-missing', run: (e) => build(e, 'base-tag-missing', `FROM ${testRegistry()}/archfarm/base:no-such-tag\nRUN true\n`) },
  { name: 'run-fails', run: (e) => build(e, 'run-fails', `FROM ${baseImage()}\nRUN echo boom && exit 3\n`) },
  { name: 'copy-missing', run: (e) => build(e, 'copy-missing', `FROM ${baseImage()}\nCOPY no-such-file /x\n`) },
  { name: 'dockerfile-invalid', run: (e) => build(e, 'dockerfile-invalid', `FROM ${baseImage()}\nFROBNICATE x\n`) },
  { name: 'engine-absent', run: (e) => build(e, 'engine-absent', `FROM ${baseImage()}\n`, {}, undefined, 'unix:///run/archfarm-no-such-engine.sock') },
  {
    // The agent's connections to the engine (the /build request and the BuildKit session) drop mid-RUN.
    name: 'engine-gone-mid-build',
    run: async (engine) => {
      const proxy = new SocketProxy(engine.socketPath);
      await proxy.start();
      try {
        return await build(engine, 'engine-gone-mid-build', `FROM ${baseImage()}\nRUN echo go-${randomBytes(3).toString('hex')} && sleep 20\n`, {}, async (lines) => {
          await waitFor(lines, /go-[0-9a-f]{6}$/);
          await new Promise((r) => setTimeout(r, 1000));
          await proxy.cut();
        }, proxy.dockerHost);
      } finally {
        await proxy.stop();
      }
    },
  },
  {
    // The engine itself stops mid-RUN (Podman's service, ours to stop; dockerd is the host's).
    name: 'engine-stopped-mid-build',
    run: async (engine) => {
      const stop = engine.stopEngine?.bind(engine);
      if (!stop) return { engine: engine.name, version: engine.version, scenario: 'engine-stopped-mid-build', outcome: 'not-captured', seconds: 0 };
      return build(engine, 'engine-stopped-mid-build', `FROM ${baseImage()}\nRUN echo go-${randomBytes(3).toString('hex')} && sleep 20\n`, {}, async (lines) => {
        await waitFor(lines, /go-[0-9a-f]{6}$/);
        await stop();
      });
    },
  },
];

async function main(): Promise<void> {
  const [which, ...only] = process.argv.slice(2);
  const engine = await captureEngine(which ?? 'docker20', { docker20: DOCKER_SOCKET, docker26: DOCKER26_SOCKET });
  try {
    for (const scenario of SCENARIOS.filter((s) => only.length === 0 || only.includes(s.name))) {
      process.stderr.write(`${engine.name}: ${scenario.name}...\n`);
      const captured = await scenario.run(engine);
      process.stdout.write(`${JSON.stringify(captured)}\n`);
    }
  } finally {
    await engine.stop();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
