import type { BuildEvent, BuildFinished } from '@archfarm/proto';
import type { BuildCalls } from './client';
import { attach } from './attached-stream';
import { LogPositions } from './log-positions';
import type { ReattachNote, ReattachPolicy } from './reattach';
import { fromServiceError } from './rpc';

/** A running WatchBuild follow. */
export interface BuildWatch {
  /** The build's outcome; rejects on a failure that re-attaching cannot fix, or when it gives up. */
  readonly finished: Promise<BuildFinished>;
  /** Ends the call; `finished` then never settles. */
  stop(): void;
}

export interface WatchOptions {
  /** Sees every event once, log bytes included; returns the outcome for the final one. */
  onEvent: (event: BuildEvent) => BuildFinished | undefined;
  /** A lost stream and a re-attach, one note each. */
  onNote: (note: ReattachNote) => void;
  policy?: ReattachPolicy;
}

/**
 * Follows a build to its end. The first call gets its events from the start, then new ones.
 * When the stream is lost (a dropped connection, a coordinator restart) it re-attaches with
 * `resume` and the log bytes held per attempt: the coordinator answers with each job's latest
 * state and the bytes after those offsets, then follows. Bytes already held are cut here too,
 * so `onEvent` sees each log byte once; repeated job states are its to ignore.
 */
export function watchBuild(client: BuildCalls, address: string, buildId: string, options: WatchOptions): BuildWatch {
  const positions = new LogPositions();
  const attached = attach<BuildEvent, BuildFinished>(
    {
      open: (resume) => client.watchBuild({ buildId, resume, logs: resume ? positions.list() : [] }),
      handle: (event) => {
        if (event.event?.$case !== 'log') return options.onEvent(event);
        const fresh = positions.take(event.event.value);
        return fresh ? options.onEvent({ ...event, event: { $case: 'log', value: fresh } }) : undefined;
      },
      ended: () => undefined,
      fatal: (err) => fromServiceError(err, 'WatchBuild', address),
    },
    { address, buildId, reattach: true, onNote: options.onNote, policy: options.policy },
  );
  return { finished: attached.result, stop: attached.stop };
}
