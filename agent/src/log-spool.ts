import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * After the spool failed, at most this many bytes not yet shipped are kept in memory: enough
 * for the lines between the failure and the job's end, its "archfarm: ERROR: ..." line above
 * all, and never a whole build's output.
 */
export const TAIL_LIMIT = 256 * 1024;

/**
 * One attempt's log bytes, on disk in the state dir so a reconnect (or a coordinator restart)
 * can resend them. Lines are queued in memory and written by one async writer, so a burst
 * costs the event loop a buffer copy, not a syscall per line. When a write fails (a read-only
 * remount, a full disk), the spool says so once and keeps what follows in a bounded memory
 * tail: it never throws to the caller of append().
 */
export class LogSpool {
  private file: FileHandle | undefined;
  /** Bytes [at, size) not on disk yet (or, after a failure, not released yet). */
  private chunks: Buffer[] = [];
  private at = 0;
  private queued = 0;
  /** Bytes [0, written) are in the file. */
  private written = 0;
  private writing: Promise<void> | undefined;
  private failed: { err: unknown } | undefined;
  private closed = false;
  /** Lines refused because the memory tail was full. */
  dropped = 0;

  constructor(
    readonly path: string,
    private readonly onFailure: (err: unknown) => void,
  ) {}

  /** Bytes taken so far: the offset the next line starts at. */
  get size(): number {
    return this.at + this.queued;
  }

  /** The write error, once there was one. */
  get failure(): unknown {
    return this.failed?.err;
  }

  /** Takes the bytes unless the spool is closed or, after a failure, its memory tail is full. */
  append(bytes: Buffer): boolean {
    if (this.closed) return false;
    if (this.failed && this.queued + bytes.length > TAIL_LIMIT) {
      this.dropped += 1;
      return false;
    }
    this.chunks.push(bytes);
    this.queued += bytes.length;
    if (!this.failed) this.writing ??= this.write();
    return true;
  }

  /** Resolves when every byte appended so far is on disk, or the spool has failed. */
  async settled(): Promise<void> {
    while (this.writing) await this.writing;
  }

  /** Up to `max` bytes from `offset` (which must be at least what release() let go). */
  async read(offset: number, max: number): Promise<Buffer> {
    if (offset < this.written) {
      if (!this.file) throw new Error(`the spool ${this.path} is closed`);
      const buffer = Buffer.alloc(Math.min(max, this.written - offset));
      const { bytesRead } = await this.file.read(buffer, 0, buffer.length, offset);
      return buffer.subarray(0, bytesRead);
    }
    if (offset < this.at) throw new RangeError(`log bytes from ${offset} were released (kept from ${this.at})`);
    const parts: Buffer[] = [];
    let skip = offset - this.at;
    let room = max;
    for (const chunk of this.chunks) {
      if (room === 0) break;
      if (skip >= chunk.length) {
        skip -= chunk.length;
        continue;
      }
      const part = chunk.subarray(skip, skip + room);
      parts.push(part);
      room -= part.length;
      skip = 0;
    }
    return Buffer.concat(parts);
  }

  /** The coordinator holds [0, offset): after a failure, memory below it is let go (on disk nothing changes). */
  release(offset: number): void {
    if (!this.failed) return;
    while (this.chunks.length > 0 && this.at + this.chunks[0]!.length <= offset) this.consume(this.chunks[0]!.length);
  }

  /** Takes no more bytes; waits for the writer and closes the file. */
  async close(): Promise<void> {
    this.closed = true;
    await this.settled();
    const file = this.file;
    this.file = undefined;
    await file?.close().catch(() => undefined);
  }

  private async write(): Promise<void> {
    try {
      if (!this.file) {
        await mkdir(dirname(this.path), { recursive: true });
        // Truncated: a file left by an earlier run must not shift the offsets the coordinator is sent.
        this.file = await open(this.path, 'w+');
      }
      // Everything queued goes to disk, also what came before a close(): close only stops new lines.
      while (this.chunks.length > 0) {
        const batch = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
        for (let done = 0; done < batch.length; ) {
          const { bytesWritten } = await this.file.write(batch, done);
          done += bytesWritten;
          this.written += bytesWritten;
          this.consume(bytesWritten);
        }
      }
    } catch (err) {
      this.failed = { err };
      this.onFailure(err);
    } finally {
      this.writing = undefined;
    }
  }

  /** Drops `n` bytes from the front of the queue. */
  private consume(n: number): void {
    this.at += n;
    this.queued -= n;
    while (n > 0) {
      const head = this.chunks[0]!;
      if (head.length <= n) {
        this.chunks.shift();
        n -= head.length;
      } else {
        this.chunks[0] = head.subarray(n);
        n = 0;
      }
    }
  }
}
