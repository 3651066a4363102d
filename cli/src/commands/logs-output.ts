import { StringDecoder } from 'node:string_decoder';
import type { JobLog } from '@archfarm/proto';
import { writeLine, type OutputSink, type TextSink } from '../io';
import { terminalSafe } from '../progress/terminal-safe';

const NEWLINE = 0x0a;

/**
 * Writes StreamLogs chunks to stdout. Raw: the bytes exactly as the agent produced them,
 * so one platform's single-attempt log is byte-identical to the agent's. Prefixed (several
 * platforms interleaved): every line starts with `[platform] `, and a partial line is held
 * per platform and attempt until its newline arrives, because chunks end anywhere.
 * A new attempt is announced on stderr, never on stdout.
 *
 * Control characters but \n and \t are neutralised (shown as `\xNN`, ../progress/terminal-safe)
 * in prefixed output and whenever stdout is a terminal: a log is others' bytes. Raw output to
 * a file or pipe stays byte for byte, as `docker logs` and buildx's rawjson do, so
 * `archfarm logs B --platform P > build.log` keeps the exact log.
 */
export class LogsOutput {
  /** The last attempt seen per platform. */
  private readonly attempts = new Map<string, number>();
  /** Unfinished lines, by `platform\0attempt`. */
  private readonly partial = new Map<string, Buffer>();
  /** Raw mode: the last byte written was not a newline. */
  private midLine = false;
  /** Whether control characters are neutralised: prefixed, or to a terminal. */
  private readonly safe: boolean;
  /** Raw mode to a terminal: a decoder per platform and attempt, as chunks cut characters anywhere. */
  private readonly decoders = new Map<string, StringDecoder>();

  /** `terminal`: whether stdout is one; by default read from the sink (a tty.WriteStream says so). */
  constructor(
    private readonly out: OutputSink,
    private readonly notes: TextSink,
    private readonly prefixed: boolean,
    terminal = (out as { isTTY?: boolean }).isTTY === true,
  ) {
    this.safe = prefixed || terminal;
  }

  /** Writes one chunk; false when stdout asks the caller to wait for 'drain'. */
  write(log: JobLog): boolean {
    this.noteAttempt(log);
    const key = `${log.platform}\0${log.attempt}`;
    if (!this.prefixed) return this.emit(this.safe ? this.neutralise(key, log.data) : log.data);
    const held = this.partial.get(key);
    const data = held ? Buffer.concat([held, log.data]) : log.data;
    const cut = data.lastIndexOf(NEWLINE) + 1;
    if (cut < data.length) this.partial.set(key, Buffer.from(data.subarray(cut)));
    else this.partial.delete(key);
    if (cut === 0) return true;
    const prefix = Buffer.from(terminalSafe(`[${log.platform}] `));
    const pieces: Buffer[] = [];
    for (let start = 0; start < cut; ) {
      const end = data.indexOf(NEWLINE, start) + 1;
      pieces.push(prefix, safeBytes(data.subarray(start, end)));
      start = end;
    }
    return this.emit(Buffer.concat(pieces));
  }

  /** Ends every held line (prefixed mode); a raw log is left exactly as it ended. */
  end(): void {
    for (const key of [...this.partial.keys()]) this.flush(key);
  }

  /**
   * Announces attempt 2, 3, ... (and a first attempt that is not 1: earlier ones left no
   * log). Attempt 0 is a coordinator that does not number them: nothing to say.
   */
  private noteAttempt(log: JobLog): void {
    const previous = this.attempts.get(log.platform);
    if (log.attempt === 0 || previous === log.attempt) return;
    this.attempts.set(log.platform, log.attempt);
    if (previous === undefined && log.attempt === 1) return;
    if (previous !== undefined) this.closeAttempt(log.platform, previous);
    const on = log.agent ? ` on ${log.agent}` : '';
    writeLine(this.notes, terminalSafe(`--- ${log.platform} attempt ${log.attempt}${on} ---`));
  }

  /** A lost attempt often stops mid-line; the next attempt's log starts on a line of its own. */
  private closeAttempt(platform: string, attempt: number): void {
    if (this.prefixed) this.flush(`${platform}\0${attempt}`);
    else if (this.midLine) this.emit(Buffer.from('\n'));
  }

  private flush(key: string): void {
    const held = this.partial.get(key);
    if (!held) return;
    this.partial.delete(key);
    const platform = key.slice(0, key.indexOf('\0'));
    this.emit(Buffer.concat([Buffer.from(`[${platform}] `), safeBytes(held), Buffer.from('\n')]));
  }

  private neutralise(key: string, data: Uint8Array): Buffer {
    let decoder = this.decoders.get(key);
    if (!decoder) this.decoders.set(key, (decoder = new StringDecoder('utf8')));
    return Buffer.from(terminalSafe(decoder.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength))));
  }

  private emit(data: Buffer): boolean {
    if (data.length === 0) return true;
    this.midLine = data[data.length - 1] !== NEWLINE;
    return this.out.write(data) !== false;
  }
}

/** Whole lines (a UTF-8 character never holds a newline byte), neutralised. */
function safeBytes(data: Uint8Array): Buffer {
  return Buffer.from(terminalSafe(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8')));
}
