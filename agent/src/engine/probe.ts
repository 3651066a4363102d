import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { errorMessage, type Logger, type Platform } from '@archfarm/common';
import type { Engine } from './engine';
import { BuildCancelledError, BuildFailedError } from './errors';
import { canProbe, exitProgram, UNAME_MARKER } from './exit-program';
import { probeMode, type BuildMode } from './probe-mode';
import { memoryTree } from './session/context-tree';
import { tarArchive } from './tar-archive';

/** A platform this agent's engine builds, and how. */
export interface ProbedPlatform {
  platform: Platform;
  /**
   * 'native': the CPU runs the code itself (the engine's own architecture, or 32-bit code its
   * kernel was seen to run); 'emulated': through QEMU (or alike). See probe-mode.ts.
   */
  mode: BuildMode;
  /** Why that mode, in words (for logs and tests). */
  reason: string;
  /** `uname -m` in the probe's RUN step, where its program prints it (arm, 386). */
  machine?: string;
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
  const ran = new Array<ProbeRun | undefined>(todo.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < todo.length) {
      const i = next++;
      ran[i] = await probeOne(engine, todo[i]!, opts);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 2) }, worker));
  const found = todo.flatMap((platform, i) => {
    const run = ran[i];
    if (run === undefined) return [];
    const { mode, reason } = probeMode({ engine: native, platform, machine: run.machine });
    opts.logger?.debug({ platform: platform.toString(), mode, reason, machine: run.machine }, 'platform probed');
    return [{ platform, mode, reason, ...(run.machine === undefined ? {} : { machine: run.machine }) }];
  });
  return [{ platform: native, ...probeMode({ engine: native, platform: native, machine: undefined }) }, ...found];
}

/** What a probe that ran showed. */
interface ProbeRun {
  machine: string | undefined;
}

/** The machine name the probe program printed after UNAME_MARKER, if a log line holds one. */
export function machineFromLog(line: string): string | undefined {
  const at = line.indexOf(UNAME_MARKER);
  if (at < 0) return undefined;
  const name = line.slice(at + UNAME_MARKER.length).trim();
  return /^[A-Za-z0-9_.-]{1,64}$/.test(name) ? name : undefined;
}

/** Runs the probe program for one platform; undefined when it did not run. */
async function probeOne(engine: Engine, platform: Platform, opts: ProbeOptions): Promise<ProbeRun | undefined> {
  if (!canProbe(platform)) {
    opts.logger?.warn({ platform: platform.toString() }, 'no probe program for this CPU; not offering it');
    return undefined;
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
  let machine: string | undefined;
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
        machine ??= machineFromLog(line);
        tail.push(line); // the last lines say why a probe failed (e.g. "exec format error")
        if (tail.length > 5) tail.shift();
      },
    });
    return { machine };
  } catch (err) {
    if (opts.signal?.aborted) throw new BuildCancelledError('probe cancelled', { cause: err });
    if (!(err instanceof BuildFailedError || err instanceof BuildCancelledError)) throw err;
    const reason = err instanceof BuildCancelledError ? `timed out after ${opts.timeoutMs ?? 120_000} ms` : errorMessage(err);
    opts.logger?.info({ platform: platform.toString(), reason, log: tail }, 'platform probe failed; not offering it');
    return undefined;
  } finally {
    await engine.removeImage(tag).catch(() => undefined);
  }
}
