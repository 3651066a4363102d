import type { ServerWritableStream } from '@grpc/grpc-js';
import { modeToWire, type BuildEvent, type BuildFinished, type JobLog, type WatchBuildRequest } from '@archfarm/proto';
import { TERMINAL_BUILD_STATES, TERMINAL_JOB_STATES, type Build } from '../builds/build';
import type { BuildSide } from '../builds/build-manager';
import type { LogFiles } from '../builds/log-files';
import { jobStateToWire } from '../builds/wire-state';
import { BuildNotFoundError, BuildNotRestoredError } from '../errors';
import type { Store, StoredBuild } from '../store';
import { buildDetails } from './build-details';
import { toServiceError } from './grpc-errors';
import { attemptOfLog, attemptsOf, LogCursor, type AttemptLog } from './log-replay';
import { LogPump } from './log-pump';
import type { WatchQuota } from './watch-quota';

export interface WatchBuildDeps {
  builds: BuildSide;
  store: Pick<Store, 'getBuild'>;
  logs: LogFiles;
  /** Open watches per caller (security/limits.ts). */
  watches: WatchQuota;
}

type WatchCall = ServerWritableStream<WatchBuildRequest, BuildEvent>;

/**
 * WatchBuild. A first watch gets the build's event history from memory, then follows. A
 * re-attach (`resume`) gets the build's current state and the log bytes it lacks, from the
 * log files (memory may be a restarted coordinator's, without the old events), then follows.
 * A build no longer in memory is answered from the store.
 */
export function watchBuild(deps: WatchBuildDeps, call: WatchCall): void {
  let release: () => void;
  try {
    release = deps.watches.take(call);
  } catch (err) {
    call.emit('error', toServiceError(err));
    return;
  }
  call.on('close', release);
  call.on('cancelled', release);
  if (call.request.resume) void resume(deps, call);
  else if (deps.builds.has(call.request.buildId)) followHistory(deps, call);
  else void replayFinished(deps, call);
}

/** A pump for `call` that stops following (`stop`) when the call ends or the client leaves. */
function pumpFor(deps: WatchBuildDeps, call: WatchCall, cursor: LogCursor, stop: () => void = () => {}): LogPump<BuildEvent> {
  const { buildId } = call.request;
  const pump = new LogPump<BuildEvent>(call, deps.logs, buildId, cursor, (log) => logEvent(buildId, log), stop);
  const gone = () => (pump.stop(), stop());
  call.on('cancelled', gone);
  call.on('close', gone);
  return pump;
}

/** Routes one event of a build in memory into `pump`: a log marker or chunk by its attempt, the rest as it is. */
function route(pump: LogPump<BuildEvent>, build: Build, event: BuildEvent): void {
  const e = event.event;
  if (e?.$case === 'log') {
    const a = attemptOfLog(build, e.value);
    if (!a) return;
    if (e.value.data.length === 0) pump.attempt(a);
    else pump.live(a, e.value);
    return;
  }
  pump.message(event);
  if (e?.$case === 'finished') pump.end();
}

function followHistory(deps: WatchBuildDeps, call: WatchCall): void {
  const build = deps.builds.get(call.request.buildId);
  let unsubscribe = () => {};
  const pump = pumpFor(deps, call, new LogCursor(), () => unsubscribe());
  unsubscribe = deps.builds.watch(build.id, (event) => route(pump, build, event));
}

async function resume(deps: WatchBuildDeps, call: WatchCall): Promise<void> {
  try {
    const { buildId } = call.request;
    // The store names every attempt and who ran it; awaited before the one tick below.
    const stored = await deps.store.getBuild(buildId);
    if (!stored) throw new BuildNotFoundError(buildId);
    if (deps.builds.has(buildId)) resumeLive(deps, call, stored);
    else sendStored(deps, call, stored, new LogCursor(call.request.logs));
  } catch (err) {
    call.emit('error', toServiceError(err));
  }
}

/**
 * One tick: subscribe (the history is replayed into `history` first), queue the catch-up,
 * then follow. The pump reads each attempt's file to its end, so a chunk is either read
 * there or sent live after; the cursor drops any byte sent already.
 */
function resumeLive(deps: WatchBuildDeps, call: WatchCall, stored: StoredBuild): void {
  const { buildId } = call.request;
  const build = deps.builds.get(buildId);
  let unsubscribe = () => {};
  const pump = pumpFor(deps, call, new LogCursor(call.request.logs), () => unsubscribe());
  const history: BuildEvent[] = [];
  let live = false;
  unsubscribe = deps.builds.watch(buildId, (event) => {
    if (!live) return void history.push(event);
    route(pump, deps.builds.get(buildId), event);
  });
  for (const item of catchUp(build, stored, history)) {
    if ('jobId' in item) pump.attempt(item);
    else route(pump, build, item);
  }
  live = true;
}

/**
 * Per job, in platform order: its latest update (and a waiting reason given since), and its
 * attempts' logs. A job that ended gets its logs first: its end flushes the client's
 * unfinished line, which the remaining bytes may complete. Then `finished`, if it came.
 */
function catchUp(build: Build, stored: StoredBuild, history: readonly BuildEvent[]): Array<BuildEvent | AttemptLog> {
  const latest = latestPerPlatform(history);
  const attempts = attemptsOf(stored, build);
  const out: Array<BuildEvent | AttemptLog> = [];
  for (const job of build.jobs) {
    const status = latest.platforms.get(job.platform.toString()) ?? [];
    const logs = attempts.get(job.id) ?? [];
    out.push(...(TERMINAL_JOB_STATES.has(job.state) ? [...logs, ...status] : [...status, ...logs]));
  }
  if (latest.finished) out.push(latest.finished);
  return out;
}

/** The last job update per platform and a waiting event after it; the finished event. */
function latestPerPlatform(history: readonly BuildEvent[]): { platforms: Map<string, BuildEvent[]>; finished?: BuildEvent } {
  const platforms = new Map<string, BuildEvent[]>();
  let finished: BuildEvent | undefined;
  for (const event of history) {
    const e = event.event;
    if (e?.$case === 'job') platforms.set(e.value.platform, [event]);
    else if (e?.$case === 'waiting') platforms.set(e.value.platform, [...(platforms.get(e.value.platform) ?? []).filter((x) => x.event?.$case === 'job'), event]);
    else if (e?.$case === 'finished') finished = event;
  }
  return { platforms, finished };
}

/** A build that ended long ago (or before a restart): its outcome, from the store. */
async function replayFinished(deps: WatchBuildDeps, call: WatchCall): Promise<void> {
  try {
    const stored = await deps.store.getBuild(call.request.buildId);
    if (!stored) throw new BuildNotFoundError(call.request.buildId);
    sendStored(deps, call, stored);
  } catch (err) {
    call.emit('error', toServiceError(err));
  }
}

/** With a cursor (a re-attach), each job's remaining log bytes and its last state come first. */
function sendStored(deps: WatchBuildDeps, call: WatchCall, stored: StoredBuild, cursor?: LogCursor): void {
  const { build } = stored;
  // Unfinished in the store but not in memory: restore() has not reached it yet.
  if (!TERMINAL_BUILD_STATES.has(build.state)) throw new BuildNotRestoredError(build.id);
  const pump = pumpFor(deps, call, cursor ?? new LogCursor());
  if (cursor) {
    const attempts = attemptsOf(stored);
    for (const job of [...stored.jobs].sort((a, b) => a.index - b.index)) {
      for (const a of attempts.get(job.id) ?? []) pump.attempt(a);
      const value = { platform: job.platform, state: jobStateToWire(job.state), agent: job.agent ?? '', mode: modeToWire(job.mode ?? 'emulated'), digest: job.digest ?? '', error: job.error, reason: '' };
      pump.message({ buildId: build.id, timeMs: build.finishedAt ?? Date.now(), event: { $case: 'job', value } });
    }
  }
  pump.message({ buildId: build.id, timeMs: build.finishedAt ?? 0, event: { $case: 'finished', value: finishedFromStore(stored) } });
  pump.end();
}

function finishedFromStore(stored: StoredBuild): BuildFinished {
  const details = buildDetails(stored);
  const platforms = details.platforms.map((p) => {
    const last = p.attempts.at(-1);
    return { platform: p.platform, digest: p.digest, agent: last?.agent ?? '', mode: last?.mode ?? 0, bases: p.bases };
  });
  const { indexMediaType = '', indexSize = 0 } = stored.build;
  return {
    ...{ state: details.state, digest: details.digest, tag: details.tag, platforms, error: details.error, failedPlatform: details.failedPlatform, leftOut: [] },
    ...{ tags: details.tags, mediaType: indexMediaType, size: indexSize },
  };
}

function logEvent(buildId: string, log: JobLog): BuildEvent {
  return { buildId, timeMs: Date.now(), event: { $case: 'log', value: log } };
}
