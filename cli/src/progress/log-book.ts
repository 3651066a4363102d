import { StringDecoder } from 'node:string_decoder';

/** How many lines per platform are kept for the failure report. */
export const TAIL_LINES = 30;

/**
 * Turns each platform's stream of log chunks into lines and remembers the last few.
 * Chunks end anywhere, even inside a line or a UTF-8 character, so each platform keeps
 * its own decoder and unfinished line.
 */
export class LogBook {
  private readonly logs = new Map<string, PlatformLog>();

  constructor(private readonly keep = TAIL_LINES) {}

  /** Adds a chunk of a platform's log; returns the lines it completed, without newlines. */
  append(platform: string, data: Uint8Array): string[] {
    const log = this.log(platform);
    const text = log.partial + log.decoder.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    const parts = text.split('\n');
    log.partial = parts.pop() ?? '';
    const lines = parts.map(stripCarriageReturn);
    for (const line of lines) this.remember(log, line);
    return lines;
  }

  /** Ends a platform's unfinished line (its job ended); returns it when there was one. */
  flush(platform: string): string | undefined {
    const log = this.logs.get(platform);
    if (!log) return undefined;
    const rest = log.partial + log.decoder.end();
    log.partial = '';
    log.decoder = new StringDecoder('utf8');
    if (rest === '') return undefined;
    const line = stripCarriageReturn(rest);
    this.remember(log, line);
    return line;
  }

  /** The last lines of a platform's log, an unfinished last line included. */
  tail(platform: string): string[] {
    const log = this.logs.get(platform);
    if (!log) return [];
    const lines = log.partial === '' ? log.lines : [...log.lines, stripCarriageReturn(log.partial)];
    return lines.slice(-this.keep);
  }

  private log(platform: string): PlatformLog {
    let log = this.logs.get(platform);
    if (!log) {
      log = { decoder: new StringDecoder('utf8'), partial: '', lines: [] };
      this.logs.set(platform, log);
    }
    return log;
  }

  private remember(log: PlatformLog, line: string): void {
    log.lines.push(line);
    if (log.lines.length > this.keep) log.lines.shift();
  }
}

interface PlatformLog {
  decoder: StringDecoder;
  partial: string;
  lines: string[];
}

function stripCarriageReturn(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
