import type { Readable } from 'node:stream';

interface Writable<T> {
  write(message: T): boolean;
  once(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
  readonly destroyed: boolean;
}

/**
 * Copies `source` into a gRPC stream as messages, waiting for 'drain' when write() says so.
 * Stops early when the peer goes away, so a cancelled call never leaves this waiting.
 */
export async function writeAll<T>(sink: Writable<T>, source: Readable, wrap: (chunk: Buffer) => T): Promise<void> {
  try {
    for await (const chunk of source) {
      if (sink.destroyed) return;
      if (!sink.write(wrap(chunk as Buffer))) await drainOrClose(sink);
    }
  } finally {
    source.destroy();
  }
}

/** Resolves when `sink` may be written again, or has gone. */
export function drainOrClose<T>(sink: Writable<T>): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      sink.off('drain', done);
      sink.off('close', done);
      resolve();
    };
    sink.once('drain', done);
    sink.once('close', done);
  });
}
