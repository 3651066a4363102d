import { status } from '@grpc/grpc-js';
import type { BuildEvent, BuildFinished, BuildServiceClient } from '@archfarm/proto';
import { ProtocolError } from './errors';
import { fromServiceError, isServiceError } from './rpc';

/** A running WatchBuild call. */
export interface BuildWatch {
  /** The build's outcome; rejects if the stream fails or ends without one. */
  readonly finished: Promise<BuildFinished>;
  /** Ends the call; `finished` then never settles. */
  stop(): void;
}

/**
 * Follows a build: the coordinator replays its events from the start, then streams new
 * ones, and ends after `finished`. `onEvent` sees every event and returns the outcome
 * when it recognises the final one.
 */
export function watchBuild(
  client: BuildServiceClient,
  address: string,
  buildId: string,
  onEvent: (event: BuildEvent) => BuildFinished | undefined,
): BuildWatch {
  const call = client.watchBuild({ buildId, resume: false, logs: [] });
  let settled = false;
  const finished = new Promise<BuildFinished>((resolve, reject) => {
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
    };
    call.on('data', (event: BuildEvent) => {
      if (settled) return;
      try {
        const outcome = onEvent(event);
        if (outcome) settle(() => resolve(outcome));
      } catch (err) {
        settle(() => reject(err));
        call.cancel();
      }
    });
    call.on('error', (err: unknown) => {
      settle(() => reject(isServiceError(err) && err.code !== status.CANCELLED ? fromServiceError(err, 'WatchBuild', address) : err));
    });
    call.on('end', () => {
      settle(() => reject(new ProtocolError(`the coordinator ended the event stream of build ${buildId} before the build finished`)));
    });
  });
  return {
    finished,
    stop: () => {
      settled = true;
      call.cancel();
    },
  };
}
