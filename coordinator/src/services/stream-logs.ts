import type { ServerWritableStream } from '@grpc/grpc-js';
import { Platform } from '@archfarm/common';
import type { JobLog, StreamLogsRequest } from '@archfarm/proto';
import { TERMINAL_BUILD_STATES } from '../builds/build';
import type { BuildSide } from '../builds/build-manager';
import type { LogFiles } from '../builds/log-files';
import { BuildNotFoundError, BuildNotRestoredError } from '../errors';
import type { Store } from '../store';
import { toServiceError } from './grpc-errors';
import { attemptsOf, LogCursor } from './log-replay';

export interface StreamLogsDeps {
  builds: BuildSide;
  store: Pick<Store, 'getBuild'>;
  logs: LogFiles;
}

/**
 * `archfarm logs`: every attempt's stored log, oldest first, from the offsets the client
 * already holds (`logs`, when `logs -f` re-attaches), then (with follow) new output.
 * Files are read synchronously and the live subscription starts in the same tick, so no
 * chunk can fall between the two; the cursor drops any byte sent already.
 */
export async function streamLogs(deps: StreamLogsDeps, call: ServerWritableStream<StreamLogsRequest, JobLog>): Promise<void> {
  try {
    const { buildId, follow } = call.request;
    const only = call.request.platform ? Platform.parse(call.request.platform).toString() : undefined;
    const stored = await deps.store.getBuild(buildId);
    if (!stored) throw new BuildNotFoundError(buildId);
    const inMemory = deps.builds.has(buildId);
    // Unfinished but not in memory: a restarted coordinator has not restored it yet.
    if (follow && !inMemory && !TERMINAL_BUILD_STATES.has(stored.build.state)) throw new BuildNotRestoredError(buildId);
    const live = inMemory ? deps.builds.get(buildId) : undefined;
    const cursor = new LogCursor(call.request.logs);
    for (const attempts of attemptsOf(stored, live).values()) {
      for (const a of attempts) if (!only || a.platform === only) for (const log of cursor.fromFile(deps.logs, buildId, a)) call.write(log);
    }
    if (!follow || !live || TERMINAL_BUILD_STATES.has(live.state)) {
      call.end();
      return;
    }
    const stop = deps.builds.follow(buildId, (event) => {
      const e = event.event;
      if (e?.$case === 'log' && (!only || e.value.platform === only)) {
        const fresh = cursor.live(e.value);
        if (fresh) call.write(fresh);
      }
      if (e?.$case === 'finished') call.end();
    });
    call.on('close', stop);
    call.on('cancelled', stop);
  } catch (err) {
    call.emit('error', toServiceError(err));
  }
}
