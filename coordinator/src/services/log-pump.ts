import { modeToWire, type JobLog } from '@archfarm/proto';
import type { LogFiles } from '../builds/log-files';
import { LOG_READ_CHUNK_BYTES } from '../security/limits';
import type { AttemptLog, LogCursor } from './log-replay';

/** The part of a server stream the pump writes to. */
export interface PumpSink<T> {
  write(message: T, done?: (err?: Error | null) => void): boolean;
  end(): void;
  once(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
  readonly destroyed: boolean;
}

type Item<T> = { kind: 'log'; attempt: AttemptLog } | { kind: 'message'; message: T } | { kind: 'end' };

/**
 * One watcher's way out: log bytes come from the log files, read in pieces of at most
 * LOG_READ_CHUNK_BYTES, one message in flight at a time, so a watcher holds no more than one
 * piece of any log however slow it reads. A live chunk goes straight out while
 * nothing waits before it; otherwise only "this attempt has more" is queued and the bytes
 * are read back from the file. The queue holds messages (job updates, small) and at most
 * one entry per attempt between two messages. The cursor drops any byte sent already.
 */
export class LogPump<T> {
  private readonly queue: Array<Item<T>> = [];
  private busy = false;
  private done = false;
  /** One read buffer per watcher, reused: a message is serialized when written, and one is in flight at a time. */
  private buffer: Buffer | undefined;

  constructor(
    private readonly sink: PumpSink<T>,
    private readonly logs: LogFiles,
    private readonly buildId: string,
    private readonly cursor: LogCursor,
    private readonly wrap: (log: JobLog) => T,
    private readonly onEnd: () => void = () => {},
  ) {}

  /** The attempt's stored bytes the client lacks, after what is queued. */
  attempt(a: AttemptLog): void {
    if (!this.queuedSinceMessage(a)) this.queue.push({ kind: 'log', attempt: a });
    this.kick();
  }

  private queuedSinceMessage(a: AttemptLog): boolean {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const item = this.queue[i]!;
      if (item.kind !== 'log') return false;
      if (item.attempt.jobId === a.jobId && item.attempt.attempt === a.attempt) return true;
    }
    return false;
  }

  /** A live chunk of attempt `a`. */
  live(a: AttemptLog, log: JobLog): void {
    if (this.done) return;
    if (this.busy || this.queue.length > 0) return this.attempt(a);
    const fresh = this.cursor.live(log);
    if (!fresh) return;
    this.busy = true;
    void this.send(this.wrap(fresh)).then(() => {
      this.busy = false;
      this.kick();
    });
  }

  message(message: T): void {
    this.queue.push({ kind: 'message', message });
    this.kick();
  }

  /** Ends the call once everything queued is out. */
  end(): void {
    this.queue.push({ kind: 'end' });
    this.kick();
  }

  /** The client went: nothing more is read or sent. */
  stop(): void {
    this.done = true;
    this.queue.length = 0;
  }

  /**
   * Writes one message and resolves once the transport took it (or the client went): one
   * message in flight per watcher, since grpc-js's write() alone buffers without bound.
   */
  private send(message: T): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.sink.off('close', done);
        resolve();
      };
      this.sink.once('close', done);
      this.sink.write(message, done);
    });
  }

  private kick(): void {
    if (this.busy || this.done || this.queue.length === 0) return;
    this.busy = true;
    this.run().then(
      () => {
        this.busy = false;
        this.kick(); // items queued after run() last looked
      },
      () => this.finish(),
    );
  }

  private async run(): Promise<void> {
    for (let item = this.queue.shift(); item && !this.done; item = this.queue.shift()) {
      if (this.sink.destroyed) return this.stop();
      if (item.kind === 'end') return this.finish();
      if (item.kind === 'log') await this.copy(item.attempt);
      else await this.send(item.message);
    }
  }

  /**
   * Sends the attempt's bytes past the cursor up to the file's end, which may grow meanwhile;
   * the file is opened once for the whole copy, not per piece.
   */
  private async copy(a: AttemptLog): Promise<void> {
    const file = await this.logs.openForReading(this.buildId, a.jobId, a.attempt);
    if (!file) return;
    try {
      for (;;) {
        const at = this.cursor.position(a.platform, a.attempt);
        this.buffer ??= Buffer.allocUnsafe(LOG_READ_CHUNK_BYTES);
        const { bytesRead } = await file.read(this.buffer, 0, this.buffer.length, at);
        if (bytesRead === 0 || this.done || this.sink.destroyed) return;
        const data = this.buffer.subarray(0, bytesRead);
        const log: JobLog = { platform: a.platform, agent: a.agent, mode: modeToWire(a.mode), data, attempt: a.attempt, offset: at };
        this.cursor.advance(a.platform, a.attempt, at + data.length);
        await this.send(this.wrap(log));
      }
    } finally {
      await file.close();
    }
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.queue.length = 0;
    if (!this.sink.destroyed) this.sink.end();
    this.onEnd();
  }
}
