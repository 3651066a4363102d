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
import { attemptsOf, LogCursor } from './log-replay';

export interface WatchBuildDeps {
  builds: BuildSide;
  store: Pick<Store, 'getBuild'>;
  logs: LogFiles;
}

type WatchCall = ServerWritableStream<WatchBuildRequest, BuildEvent>;

/**
 * WatchBuild. A first watch gets the build's event history from memory, then follows. A
 * re-attach (`resume`) gets the build's current state and the log bytes it lacks, from the
 * log files (memory may be a restarted coordinator's, without the old events), then follows.
 * A build no longer in memory is answered from the store.
 */
export function watchBuild(deps: WatchBuildDeps, call: WatchCall): void {
  if (call.request.resume) void resume(deps, call);
  else if (deps.builds.has(call.request.buildId)) followHistory(deps, call);
  else void replayFinished(deps, call);
}

function followHistory(deps: WatchBuildDeps, call: WatchCall): void {
  const sink = new EventSink(call);
  const unsubscribe = deps.builds.watch(call.request.buildId, (event) => sink.send(event));
  sink.onEnd(unsubscribe);
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
 * One tick: subscribe (the history is replayed into `history` first), read the files, send.
 * Appends are synchronous too, so a chunk is either in the files read here or in a live
 * event after; the cursor drops any byte sent already.
 */
function resumeLive(deps: WatchBuildDeps, call: WatchCall, stored: StoredBuild): void {
  const { buildId } = call.request;
  const cursor = new LogCursor(call.request.logs);
  const sink = new EventSink(call);
  const history: BuildEvent[] = [];
  let live = false;
  const unsubscribe = deps.builds.watch(buildId, (event) => {
    if (!live) return void history.push(event);
    if (event.event?.$case !== 'log') return sink.send(event);
    const fresh = cursor.live(event.event.value);
    if (fresh) sink.send(logEvent(buildId, fresh));
  });
  live = true;
  for (const event of catchUp(deps.builds.get(buildId), stored, history, cursor, deps.logs)) sink.send(event);
  sink.onEnd(unsubscribe);
}

/**
 * Per job, in platform order: its latest update (and a waiting reason given since), and the
 * log bytes the client lacks. A job that ended gets its logs first: its end flushes the
 * client's unfinished line, which the remaining bytes may complete. Then `finished`, if it came.
 */
function catchUp(build: Build, stored: StoredBuild, history: readonly BuildEvent[], cursor: LogCursor, logs: LogFiles): BuildEvent[] {
  const latest = latestPerPlatform(history);
  const attempts = attemptsOf(stored, build);
  const out: BuildEvent[] = [];
  for (const job of build.jobs) {
    const status = latest.platforms.get(job.platform.toString()) ?? [];
    const bytes = (attempts.get(job.id) ?? []).flatMap((a) => cursor.fromFile(logs, build.id, a)).map((log) => logEvent(build.id, log));
    out.push(...(TERMINAL_JOB_STATES.has(job.state) ? [...bytes, ...status] : [...status, ...bytes]));
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
  if (cursor) {
    const attempts = attemptsOf(stored);
    for (const job of [...stored.jobs].sort((a, b) => a.index - b.index)) {
      for (const a of attempts.get(job.id) ?? []) for (const log of cursor.fromFile(deps.logs, build.id, a)) call.write(logEvent(build.id, log));
      const value = { platform: job.platform, state: jobStateToWire(job.state), agent: job.agent ?? '', mode: modeToWire(job.mode ?? 'emulated'), digest: job.digest ?? '', error: job.error, reason: '' };
      call.write({ buildId: build.id, timeMs: build.finishedAt ?? Date.now(), event: { $case: 'job', value } });
    }
  }
  call.write({ buildId: build.id, timeMs: build.finishedAt ?? 0, event: { $case: 'finished', value: finishedFromStore(stored) } });
  call.end();
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

/** Writes events until `finished`, then ends the call; stops following when the client goes. */
class EventSink {
  private ended = false;

  constructor(private readonly call: WatchCall) {}

  send(event: BuildEvent): void {
    if (this.ended) return;
    this.call.write(event);
    if (event.event?.$case === 'finished') {
      this.ended = true;
      this.call.end();
    }
  }

  /** Runs `stop` once the stream has ended, or when the client leaves. */
  onEnd(stop: () => void): void {
    if (this.ended) stop();
    this.call.on('cancelled', stop);
    this.call.on('close', stop);
  }
}
