import type { Readable } from 'node:stream';

interface Writable<T> {
  write(message: T): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

/** Copies `source` into a gRPC stream as messages, waiting for 'drain' when write() says so. */
export async function writeAll<T>(sink: Writable<T>, source: Readable, wrap: (chunk: Buffer) => T): Promise<void> {
  for await (const chunk of source) {
    if (!sink.write(wrap(chunk as Buffer))) await new Promise<void>((resolve) => sink.once('drain', resolve));
  }
}
