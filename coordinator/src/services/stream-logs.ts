import type { ServerWritableStream } from '@grpc/grpc-js';
import { Platform } from '@archfarm/common';
import type { JobLog, StreamLogsRequest } from '@archfarm/proto';
import { TERMINAL_BUILD_STATES } from '../builds/build';
import type { BuildSide } from '../builds/build-manager';
import type { LogFiles } from '../builds/log-files';
import { BuildNotFoundError, BuildNotRestoredError } from '../errors';
import type { Store } from '../store';
import { toServiceError } from './grpc-errors';
import { attemptOfLog, attemptsOf, LogCursor } from './log-replay';
import { LogPump } from './log-pump';
import type { WatchQuota } from './watch-quota';

export interface StreamLogsDeps {
  builds: BuildSide;
  store: Pick<Store, 'getBuild'>;
  logs: LogFiles;
  /** Open watches per caller (security/limits.ts). */
  watches: WatchQuota;
}

/**
 * `archfarm logs`: every attempt's stored log, oldest first, from the offsets the client
 * already holds (`logs`, when `logs -f` re-attaches), then (with follow) new output. The
 * files are read in pieces as the stream drains (./log-pump); the live subscription starts in
 * the same tick as the reads are queued, and each read goes to the file's end, so no chunk
 * falls between the two; the cursor drops any byte sent already.
 */
export async function streamLogs(deps: StreamLogsDeps, call: ServerWritableStream<StreamLogsRequest, JobLog>): Promise<void> {
  try {
    const release = deps.watches.take(call);
    call.on('close', release);
    call.on('cancelled', release);
    const { buildId, follow } = call.request;
    const only = call.request.platform ? Platform.parse(call.request.platform).toString() : undefined;
    const stored = await deps.store.getBuild(buildId);
    if (!stored) throw new BuildNotFoundError(buildId);
    const inMemory = deps.builds.has(buildId);
    // Unfinished but not in memory: a restarted coordinator has not restored it yet.
    if (follow && !inMemory && !TERMINAL_BUILD_STATES.has(stored.build.state)) throw new BuildNotRestoredError(buildId);
    const live = inMemory ? deps.builds.get(buildId) : undefined;
    let stop = () => {};
    const pump = new LogPump<JobLog>(call, deps.logs, buildId, new LogCursor(call.request.logs), (log) => log, () => stop());
    call.on('close', () => (pump.stop(), stop()));
    call.on('cancelled', () => (pump.stop(), stop()));
    for (const attempts of attemptsOf(stored, live).values()) for (const a of attempts) if (!only || a.platform === only) pump.attempt(a);
    if (!follow || !live || TERMINAL_BUILD_STATES.has(live.state)) return pump.end();
    stop = deps.builds.follow(buildId, (event) => {
      const e = event.event;
      if (e?.$case === 'log' && (!only || e.value.platform === only)) {
        const a = attemptOfLog(live, e.value);
        if (a) pump.live(a, e.value);
      }
      if (e?.$case === 'finished') pump.end();
    });
  } catch (err) {
    call.emit('error', toServiceError(err));
  }
}
