import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { errorMessage, type Logger, type Platform } from '@archfarm/common';
import type { Engine } from './engine';
import { BuildCancelledError, BuildFailedError } from './errors';
import { canProbe, exitProgram } from './exit-program';
import { memoryTree } from './session/context-tree';
import { tarArchive } from './tar-archive';

/** A platform this agent's engine builds, and how. */
export interface ProbedPlatform {
  platform: Platform;
  /** 'native': the engine's own architecture; 'emulated': another CPU, run through QEMU (or alike). */
  mode: 'native' | 'emulated';
}

/** Options of {@link probePlatforms}. */
export interface ProbeOptions {
  /**
   * Local repository of the probe images, default "archfarm-probe" (the agent names it after
   * itself, so its start-up cleanup removes only its own leftovers).
   */
  repository?: string;
  /** Probe builds run at once; default 2 (each starts an emulator, and a Pi has little memory). */
  concurrency?: number;
  /** Time one probe may take before its platform counts as not buildable; default 120 s. */
  timeoutMs?: number;
  /** Stops the whole probe; it then rejects with BuildCancelledError. */
  signal?: AbortSignal;
  /** Gets one line per platform that failed, with the reason. */
  logger?: Logger;
}

/**
 * The nonce (an argument the program ignores) makes each probe's RUN a step of its own: BuildKit
 * merges identical steps of concurrent builds, and two agents probing one engine at once then
 * shared a step whose session ended with the other build (seen: each agent lost a platform).
 */
const dockerfile = (nonce: string): string => ['FROM scratch', 'COPY probe /probe', `RUN ["/probe", "${nonce}"]`, ''].join('\n');

/**
 * Finds the platforms the engine can build for by really running a program of each
 * candidate CPU in a build (a RUN step goes through the same executor and binfmt handlers as
 * a job's RUN steps). The engine's native platform is always included, first; then the
 * candidates that passed, in the order given. A candidate that fails or times out is left out;
 * an unreachable engine fails the whole probe (EngineUnavailableError).
 */
export async function probePlatforms(engine: Engine, candidates: readonly Platform[], opts: ProbeOptions = {}): Promise<ProbedPlatform[]> {
  const { platform: native } = await engine.info();
  const todo = candidates.filter((p, i) => !p.equals(native) && candidates.findIndex((q) => q.equals(p)) === i);
  const passed = new Array<boolean>(todo.length).fill(false);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < todo.length) {
      const i = next++;
      passed[i] = await probeOne(engine, todo[i]!, opts);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 2) }, worker));
  const found = todo.filter((_, i) => passed[i]);
  return [{ platform: native, mode: 'native' }, ...found.map((platform) => ({ platform, mode: modeOf(platform, native) }))];
}

/** Same architecture, other variant (arm/v6 on an arm/v7 CPU) runs without an emulator. */
function modeOf(platform: Platform, native: Platform): ProbedPlatform['mode'] {
  return platform.architecture === native.architecture ? 'native' : 'emulated';
}

async function probeOne(engine: Engine, platform: Platform, opts: ProbeOptions): Promise<boolean> {
  if (!canProbe(platform)) {
    opts.logger?.warn({ platform: platform.toString() }, 'no probe program for this CPU; not offering it');
    return false;
  }
  const program = exitProgram(platform);
  const nonce = randomBytes(4).toString('hex');
  const files = [
    { path: 'Dockerfile', data: dockerfile(nonce) },
    { path: 'probe', data: program, mode: 0o755 },
  ];
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? 120_000);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  const tag = `${opts.repository ?? 'archfarm-probe'}:${platform.toString().replaceAll('/', '-')}-${nonce}`;
  const tail: string[] = [];
  try {
    await engine.build({
      context: { tree: () => Promise.resolve(memoryTree(files)), tar: () => Readable.from([tarArchive(files)]) },
      contextKey: `archfarm-probe-${platform.toString()}-${nonce}`,
      platform,
      buildArgs: {},
      tag,
      labels: {},
      noCache: true, // a cached RUN would prove nothing
      signal,
      onLog: (line) => {
        tail.push(line); // the last lines say why a probe failed (e.g. "exec format error")
        if (tail.length > 5) tail.shift();
      },
    });
    return true;
  } catch (err) {
    if (opts.signal?.aborted) throw new BuildCancelledError('probe cancelled', { cause: err });
    if (!(err instanceof BuildFailedError || err instanceof BuildCancelledError)) throw err;
    const reason = err instanceof BuildCancelledError ? `timed out after ${opts.timeoutMs ?? 120_000} ms` : errorMessage(err);
    opts.logger?.info({ platform: platform.toString(), reason, log: tail }, 'platform probe failed; not offering it');
    return false;
  } finally {
    await engine.removeImage(tag).catch(() => undefined);
  }
}
