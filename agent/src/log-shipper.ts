import { setTimeout as sleep } from 'node:timers/promises';
import { status, type ClientWritableStream, type ServiceError } from '@grpc/grpc-js';
import { errorMessage, type Logger } from '@archfarm/common';
import { remoteCodeOf, type LogAck, type LogChunk } from '@archfarm/proto';
import type { AgentCalls } from './coordinator-client';
import { LogSpool } from './log-spool';

const FLUSH_MS = 200;
const MAX_CHUNK = 64 * 1024;
const RETRY_MS = 1000;
/**
 * An upload stream with no deadline waits forever on a coordinator that froze with the
 * connection open; with one, the shipper asks the offset again and resends. One upload sends
 * at most maxBytes, so even a slow link (8 MiB at 100 kB/s is 80 s) finishes in time.
 */
const UPLOAD_LIMITS: UploadLimits = { deadlineMs: 120_000, maxBytes: 8 * 1024 * 1024 };

/** One upload's deadline and size (tests shrink them). */
export interface UploadLimits {
  deadlineMs: number;
  maxBytes: number;
}
/** close() gives up when the coordinator has taken no byte for this long (it answers, but refuses). */
const CLOSE_STALL_MS = 60_000;

/** An upload for an attempt the coordinator no longer grants (StaleAttemptError). */
const STALE_ATTEMPT = 'STALE_ATTEMPT';
/** Answers no resend can change: the one table of upload errors that are never retried. */
const NEVER_RETRIED = new Set<number>([status.INVALID_ARGUMENT, status.NOT_FOUND, status.PERMISSION_DENIED, status.UNAUTHENTICATED, status.UNIMPLEMENTED]);

/** What a shipper tells its job runner. */
export interface LogShipperEvents {
  /** The spool could not be written (called once); later lines are kept in a small memory tail. */
  spoolFailed?: (err: unknown) => void;
  /** The coordinator refused an upload as a stale attempt: nothing more is sent. */
  stale?: () => void;
}

/** Why a shipper sends nothing more. */
type Stopped = 'abandoned' | 'stale' | 'refused';

/**
 * Ships one job attempt's log. Every line goes first to a spool in the state dir (see
 * LogSpool), then to the coordinator on an UploadLog stream of its own (so a burst never
 * delays heartbeats). Each upload sends [committed, end) with byte offsets; after a failure
 * the agent asks the coordinator for its committed offset and resends from there, so a
 * reconnect neither loses nor doubles a byte. Nothing is retried without end: a stale attempt
 * (STALE_ATTEMPT) or a refusal stops it, abandon() drops what is pending, and close() gives up
 * when the coordinator takes nothing for a minute.
 */
export class LogShipper {
  private readonly spool: LogSpool;
  private committed = 0;
  private knowsOffset = true;
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private upload: ClientWritableStream<LogChunk> | undefined;
  /** After close() or abandon(): no more lines are taken, nothing more is scheduled. */
  private closed = false;
  private stopped: Stopped | undefined;

  constructor(
    private readonly client: () => Pick<AgentCalls, 'uploadLog' | 'logOffset'>,
    private readonly jobId: string,
    private readonly attempt: number,
    readonly spoolPath: string,
    private readonly logger: Logger,
    private readonly events: LogShipperEvents = {},
    private readonly limits: UploadLimits = UPLOAD_LIMITS,
  ) {
    this.spool = new LogSpool(spoolPath, (err) => {
      this.logger.error({ jobId, attempt, spool: spoolPath, err: errorMessage(err) }, 'cannot write the log spool; keeping the rest of the log in memory');
      this.events.spoolFailed?.(err);
    });
  }

  /** The spool's write error, if it had one. */
  get spoolFailure(): unknown {
    return this.spool.failure;
  }

  /** Adds one line (a newline is appended). Never throws. */
  line(text: string): void {
    if (this.closed || !this.spool.append(Buffer.from(`${text}\n`))) return;
    this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  /** Resolves when every line so far is in the spool (or the spool has failed). */
  settled(): Promise<void> {
    return this.spool.settled();
  }

  /**
   * Uploads everything, retrying until the coordinator has it all, `giveUp` aborts (the
   * job was abandoned), the attempt turns out stale, or the coordinator takes nothing for
   * CLOSE_STALL_MS. Resolves to the committed offset.
   */
  async close(giveUp: AbortSignal): Promise<number> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    try {
      await this.spool.settled();
      let progressAt = Date.now();
      let progress = this.committed;
      while (this.pending() && !giveUp.aborted) {
        await (this.sending ?? this.startSend());
        if (!this.pending() || giveUp.aborted) break;
        // The coordinator took the last upload (capped at maxBytes): send the next one at once.
        if (this.committed > progress) {
          [progress, progressAt] = [this.committed, Date.now()];
          continue;
        }
        if (Date.now() - progressAt > CLOSE_STALL_MS) {
          this.logger.warn({ jobId: this.jobId, attempt: this.attempt, committed: this.committed, size: this.spool.size }, 'the coordinator took no log bytes for a minute; giving up the rest of the log');
          break;
        }
        await sleep(RETRY_MS, undefined, { signal: giveUp }).catch(() => undefined);
      }
      if (this.spool.dropped > 0) this.logger.warn({ jobId: this.jobId, lines: this.spool.dropped }, 'log lines lost: the spool could not be written and its memory tail was full');
      return this.committed;
    } finally {
      await this.spool.close();
    }
  }

  /** Drops the attempt's log: the upload in flight is cancelled, nothing more is sent. */
  abandon(): void {
    this.stop('abandoned');
    void this.spool.close();
  }

  /** Bytes the coordinator has not taken yet, and nothing stops them from being sent. */
  private pending(): boolean {
    return this.committed < this.spool.size && this.stopped === undefined;
  }

  private stop(why: Stopped): void {
    this.closed = true;
    this.stopped ??= why;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.upload?.cancel();
  }

  private flush(): void {
    this.timer = undefined;
    if (!this.sending) void this.startSend();
  }

  private startSend(): Promise<void> {
    this.sending = this.send()
      .catch((err: unknown) => this.failed(err))
      .finally(() => {
        this.sending = undefined;
        this.upload = undefined;
        if (this.pending() && !this.closed) this.timer ??= setTimeout(() => this.flush(), this.knowsOffset ? FLUSH_MS : RETRY_MS);
      });
    return this.sending;
  }

  private failed(err: unknown): void {
    if (this.stopped) return;
    const refusal = refusalOf(err);
    if (refusal === 'stale') {
      this.logger.warn({ jobId: this.jobId, attempt: this.attempt }, 'the coordinator says this attempt is not current; its log is not sent');
      this.stop('stale');
      this.events.stale?.();
    } else if (refusal === 'refused') {
      this.logger.warn({ jobId: this.jobId, attempt: this.attempt, err: errorMessage(err) }, 'the coordinator refused the log upload; not retrying');
      this.stop('refused');
    } else {
      this.knowsOffset = false;
      this.logger.debug({ jobId: this.jobId, err: errorMessage(err) }, 'log upload failed; will resend from the committed offset');
    }
  }

  private async send(): Promise<void> {
    if (!this.knowsOffset) {
      this.committed = await this.askOffset();
      this.knowsOffset = true;
      this.spool.release(this.committed);
    }
    const end = Math.min(this.spool.size, this.committed + this.limits.maxBytes);
    if (this.committed >= end || this.stopped) return;
    let stream!: ClientWritableStream<LogChunk>;
    const ack = new Promise<LogAck>((resolve, reject) => {
      stream = this.client().uploadLog({ deadline: Date.now() + this.limits.deadlineMs }, (err, res) => (err ? reject(err) : resolve(res)));
    });
    // A broken or cancelled stream settles the ack before we await it, and ends the loop.
    let over = false;
    const ended = ack.then(
      () => undefined,
      () => undefined,
    );
    void ended.then(() => (over = true));
    this.upload = stream;
    try {
      for (let offset = this.committed; offset < end && !this.stopped && !over; ) {
        const data = await this.spool.read(offset, Math.min(MAX_CHUNK, end - offset));
        if (data.length === 0 || over) break;
        const chunk: LogChunk = { jobId: this.jobId, attempt: this.attempt, offset, data };
        if (!stream.write(chunk)) await Promise.race([new Promise<void>((resolve) => stream.once('drain', () => resolve())), ended]);
        offset += data.length;
      }
    } finally {
      stream.end();
    }
    this.committed = (await ack).committed;
    this.spool.release(this.committed);
  }

  private async askOffset(): Promise<number> {
    return (await this.client().logOffset({ jobId: this.jobId, attempt: this.attempt })).committed;
  }
}

/** Whether an upload error is final: the attempt is stale, or no resend can succeed. */
function refusalOf(err: unknown): 'stale' | 'refused' | undefined {
  const e = err as Partial<ServiceError> | null;
  if (remoteCodeOf(err) === STALE_ATTEMPT) return 'stale';
  return typeof e?.code === 'number' && NEVER_RETRIED.has(e.code) ? 'refused' : undefined;
}
