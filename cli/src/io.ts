import type { EventEmitter } from 'node:events';

/** Anything lines can be written to: process.stdout/stderr, or a buffer in tests. */
export interface TextSink {
  write(text: string): unknown;
}

/** stdout: text, or raw bytes (`archfarm logs` copies a log byte for byte). */
export interface OutputSink extends TextSink {
  /** Returns false when the sink wants the writer to wait for its 'drain' (as streams do). */
  write(chunk: string | Uint8Array): unknown;
}

/**
 * The process's surroundings, passed to every command instead of reaching for `process`,
 * so commands run unchanged inside tests.
 */
export interface CliIo {
  /** Results only: the digest, a table, a JSON document, a log. */
  readonly stdout: OutputSink;
  /** Progress, logs and errors. */
  readonly stderr: TextSink;
  /** Read only for secrets a command was told to take from it (--token-stdin, --password-stdin). */
  readonly stdin: NodeJS.ReadableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Emits 'SIGINT' and 'SIGTERM'; `process` outside tests. */
  readonly signals: EventEmitter;
  /** Ends the process at once; used only on a second Ctrl-C. */
  readonly exit: (code: number) => never;
}

/** The real process's io. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    signals: process,
    exit: (code) => process.exit(code),
  };
}

/** Writes `text` and a newline. */
export function writeLine(sink: TextSink, text: string): void {
  sink.write(`${text}\n`);
}
