import type { ClientReadableStream, ServiceError } from '@grpc/grpc-js';
import { CoordinatorLostError, ProtocolError } from './errors';
import { isRetriable, lossReason, reattachDelay, REATTACH, type ReattachNote, type ReattachPolicy } from './reattach';
import { isServiceError } from './rpc';

/** One server stream of a build that the CLI keeps following across losses. */
export interface StreamTarget<T, R> {
  /** Opens the call; `resume` is false only for the first. */
  open(resume: boolean): ClientReadableStream<T>;
  /** Handles one message; returns the outcome when it was the last. A throw ends the follow. */
  handle(message: T, call: ClientReadableStream<T>): R | undefined;
  /** What a clean end of the stream means: an outcome, or undefined when it ended too early (a loss). */
  ended(): R | undefined;
  /** The typed error for a failed call that is not re-attached after. */
  fatal(err: ServiceError): unknown;
}

export interface AttachOptions {
  address: string;
  buildId: string;
  /** False: any failure ends the follow (`logs` without -f). */
  reattach: boolean;
  /** Told once when a stream is lost and once when a new one delivers. */
  onNote: (note: ReattachNote) => void;
  policy?: ReattachPolicy;
}

/** A followed stream: its outcome, and a way to stop (then `result` never settles). */
export interface AttachedStream<R> {
  readonly result: Promise<R>;
  stop(): void;
}

/**
 * Follows `target` until it yields an outcome. A retriable failure, or an end without an
 * outcome, opens the stream again with `resume` after a backoff, until a new stream
 * delivers; a loss that lasts `giveUpAfterMs` ends in CoordinatorLostError.
 */
export function attach<T, R>(target: StreamTarget<T, R>, options: AttachOptions): AttachedStream<R> {
  const policy = options.policy ?? REATTACH;
  let call: ClientReadableStream<T> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  /** When the current loss began; undefined while attached. */
  let lostSince: number | undefined;
  let tries = 0;
  let resolve!: (value: R) => void;
  let reject!: (err: unknown) => void;
  const result = new Promise<R>((res, rej) => ((resolve = res), (reject = rej)));

  const end = (settle: () => void) => {
    stopped = true;
    settle();
  };
  const fail = (err: unknown) => end(() => reject(isServiceError(err) ? target.fatal(err) : err));
  const delivered = () => {
    if (lostSince === undefined) return;
    lostSince = undefined;
    tries = 0;
    options.onNote({ type: 'reattached' });
  };
  const lost = (reason: string, cause: unknown) => {
    if (lostSince === undefined) {
      lostSince = Date.now();
      options.onNote({ type: 'lost', reason });
    } else if (Date.now() - lostSince >= policy.giveUpAfterMs) {
      return end(() => reject(new CoordinatorLostError(options.address, options.buildId, Date.now() - (lostSince ?? 0), { cause })));
    }
    timer = setTimeout(() => open(true), reattachDelay(policy, tries++));
  };
  const open = (resume: boolean) => {
    timer = undefined;
    if (stopped) return;
    const current = target.open(resume);
    call = current;
    // grpc-js emits 'end' after 'error' too: the first of them decides.
    let over = false;
    const once = (fn: () => void) => {
      if (over || stopped) return;
      over = true;
      fn();
    };
    current.on('metadata', () => !over && !stopped && delivered());
    current.on('data', (message: T) => {
      if (over || stopped) return;
      delivered();
      let outcome: R | undefined;
      try {
        outcome = target.handle(message, current);
      } catch (err) {
        once(() => end(() => reject(err)));
        current.cancel();
        return;
      }
      if (outcome !== undefined) once(() => end(() => resolve(outcome)));
    });
    current.on('error', (err: unknown) => {
      once(() => {
        if (options.reattach && isServiceError(err) && isRetriable(err)) lost(lossReason(err), err);
        else fail(err);
      });
    });
    current.on('end', () => {
      once(() => {
        const outcome = target.ended();
        if (outcome !== undefined) end(() => resolve(outcome));
        else if (options.reattach) lost('the stream ended before the build did', undefined);
        else fail(new ProtocolError(`the coordinator ended the stream of build ${options.buildId} too early`));
      });
    });
  };

  open(false);
  return {
    result,
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      call?.cancel();
    },
  };
}
