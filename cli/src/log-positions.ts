import type { JobLog, LogPosition } from '@archfarm/proto';

/**
 * How many bytes of each attempt's log this client holds, from each chunk's true offset in
 * its attempt's log. A re-attach asks for what comes after; a chunk that overlaps what is
 * held (a replay racing a live event) is cut, so each byte is shown once.
 */
export class LogPositions {
  private readonly held = new Map<string, LogPosition>();

  /** The part of `log` not held yet (undefined when it holds nothing new); counts it as held. */
  take(log: JobLog): JobLog | undefined {
    const key = `${log.platform}\0${log.attempt}`;
    const have = this.held.get(key)?.offset ?? 0;
    const end = log.offset + log.data.length;
    if (end <= have) return undefined;
    this.held.set(key, { platform: log.platform, attempt: log.attempt, offset: end });
    return log.offset >= have ? log : { ...log, data: log.data.subarray(have - log.offset), offset: have };
  }

  /** Every attempt's position, for WatchBuildRequest.logs and StreamLogsRequest.logs. */
  list(): LogPosition[] {
    return [...this.held.values()];
  }
}
