import { closeSync, fstatSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { LogGapError } from '../errors';

/**
 * Job logs on disk, one file per attempt (`<build>/<job>.<attempt>.log`). The committed
 * offset of an attempt is its file's size, so it survives a restart without bookkeeping.
 * Writes are synchronous: chunks of one attempt arrive in order on one stream, and a sync
 * append cannot interleave with a reader in this single-threaded process.
 */
export class LogFiles {
  private readonly open = new Map<string, number>();

  constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
  ) {}

  /**
   * Appends `data`, which starts at byte `offset` of the attempt's log. Bytes already
   * committed are skipped (a resend after a reconnect); a chunk past the end is refused so
   * the sender resends from the committed offset. Returns the new bytes actually kept and
   * the committed offset; `at` is where `kept` starts in the log.
   */
  append(buildId: string, jobId: string, attempt: number, offset: number, data: Buffer): { kept: Buffer; at: number; committed: number } {
    const fd = this.fd(buildId, jobId, attempt);
    const committed = fstatSync(fd).size;
    // Past the cap every byte counts as taken, or the agent would resend it forever.
    if (committed >= this.maxBytes) return { kept: Buffer.alloc(0), at: committed, committed: offset + data.length };
    if (offset > committed) throw new LogGapError(jobId, committed, offset);
    const room = this.maxBytes - committed;
    const fresh = data.subarray(committed - offset);
    const kept = fresh.length > room ? Buffer.concat([fresh.subarray(0, room), TRUNCATED]) : fresh;
    if (kept.length > 0) writeSync(fd, kept);
    return { kept, at: committed, committed: fresh.length > room ? offset + data.length : committed + kept.length };
  }

  size(buildId: string, jobId: string, attempt: number): number {
    try {
      return statSync(this.path(buildId, jobId, attempt)).size;
    } catch {
      return 0;
    }
  }

  /**
   * The attempt's log opened for reading, or undefined when it has no file yet. Appends made
   * meanwhile (through the writer's descriptor) are read through it too.
   */
  async openForReading(buildId: string, jobId: string, attempt: number): Promise<FileHandle | undefined> {
    try {
      return await open(this.path(buildId, jobId, attempt), 'r');
    } catch {
      return undefined;
    }
  }

  /** Closes an attempt's file once it has ended. */
  close(jobId: string, attempt: number): void {
    const key = `${jobId}.${attempt}`;
    const fd = this.open.get(key);
    if (fd !== undefined) closeSync(fd);
    this.open.delete(key);
  }

  private fd(buildId: string, jobId: string, attempt: number): number {
    const key = `${jobId}.${attempt}`;
    let fd = this.open.get(key);
    if (fd === undefined) {
      mkdirSync(join(this.dir, buildId), { recursive: true });
      fd = openSync(this.path(buildId, jobId, attempt), 'a+');
      this.open.set(key, fd);
    }
    return fd;
  }

  private path(buildId: string, jobId: string, attempt: number): string {
    return join(this.dir, LogFiles.relative(buildId, jobId, attempt));
  }

  /** An attempt's log file relative to the logs dir: what the store's log index records. */
  static relative(buildId: string, jobId: string, attempt: number): string {
    return join(buildId, `${jobId}.${attempt}.log`);
  }
}

const TRUNCATED = Buffer.from('\n[archfarm: log truncated at the per-job limit]\n');
