import type { ServerWritableStream } from '@grpc/grpc-js';
import { Platform } from '@archfarm/common';
import { modeToWire, type JobLog, type StreamLogsRequest } from '@archfarm/proto';
import { TERMINAL_BUILD_STATES } from '../builds/build';
import type { BuildSide } from '../builds/build-manager';
import type { LogFiles } from '../builds/log-files';
import { BuildNotFoundError } from '../errors';
import type { Store } from '../store';
import { toServiceError } from './grpc-errors';

export interface StreamLogsDeps {
  builds: BuildSide;
  store: Store;
  logs: LogFiles;
}

/**
 * `archfarm logs`: every attempt's stored log, oldest first, then (with follow) new output.
 * Files are read synchronously and the live subscription starts in the same tick, so no
 * chunk can fall between the two or be sent twice.
 */
export async function streamLogs(deps: StreamLogsDeps, call: ServerWritableStream<StreamLogsRequest, JobLog>): Promise<void> {
  try {
    const { buildId, follow } = call.request;
    const only = call.request.platform ? Platform.parse(call.request.platform).toString() : undefined;
    const stored = await deps.store.getBuild(buildId);
    if (!stored) throw new BuildNotFoundError(buildId);
    for (const job of [...stored.jobs].sort((a, b) => a.index - b.index)) {
      if (only && job.platform !== only) continue;
      for (const a of stored.attempts.filter((x) => x.jobId === job.id).sort((x, y) => x.attempt - y.attempt)) {
        const data = deps.logs.read(buildId, job.id, a.attempt);
        if (data.length > 0) call.write({ platform: job.platform, agent: a.agent, mode: modeToWire(a.mode), data, attempt: a.attempt, offset: 0 });
      }
    }
    if (!follow || !deps.builds.has(buildId) || TERMINAL_BUILD_STATES.has(deps.builds.get(buildId).state)) {
      call.end();
      return;
    }
    const stop = deps.builds.follow(buildId, (event) => {
      if (event.event?.$case === 'log' && (!only || event.event.value.platform === only)) call.write(event.event.value);
      if (event.event?.$case === 'finished') call.end();
    });
    call.on('close', stop);
    call.on('cancelled', stop);
  } catch (err) {
    call.emit('error', toServiceError(err));
  }
}
