import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import type { ClientWritableStream } from '@grpc/grpc-js';
import type { UploadContextRequest, UploadContextResponse } from '@archfarm/proto';
import type { BuildCalls } from './client';
import { ProtocolError } from './errors';
import type { ContextNote } from './progress/renderer';
import { fromServiceError } from './rpc';

/** Bytes per data message: big enough to amortise framing, far below gRPC's 4 MiB limit. */
export const UPLOAD_CHUNK_BYTES = 256 * 1024;

/** A packed context on disk and its identity. */
export interface ContextFile {
  file: string;
  digest: string;
  size: number;
}

/**
 * Makes sure the coordinator holds the context: asks by digest and uploads only when it
 * is missing. `note` hears which happened before any bytes move. Returns true if it uploaded.
 */
export async function ensureContext(
  client: BuildCalls,
  address: string,
  context: ContextFile,
  note: (n: ContextNote) => void,
  signal?: AbortSignal,
): Promise<boolean> {
  const { present } = await client.hasContext({ digest: context.digest });
  note({ digest: context.digest, size: context.size, uploading: !present });
  if (present) return false;
  await uploadContext(client, address, context, signal);
  return true;
}

/**
 * Streams the tar: a header with digest and size, then chunks read from the file,
 * waiting for 'drain' whenever gRPC's buffer is full so memory stays at a few chunks.
 */
export async function uploadContext(
  client: BuildCalls,
  address: string,
  context: ContextFile,
  signal?: AbortSignal,
): Promise<UploadContextResponse> {
  let call!: ClientWritableStream<UploadContextRequest>;
  const response = new Promise<UploadContextResponse>((resolve, reject) => {
    call = client.uploadContext((err, res) => (err ? reject(fromServiceError(err, 'UploadContext', address)) : resolve(res)));
  });
  // Awaited below; this only keeps a failure that arrives mid-write from counting as unhandled.
  response.catch(() => {});
  const abort = () => call.cancel();
  signal?.addEventListener('abort', abort, { once: true });
  try {
    await send(call, { msg: { $case: 'header', value: { digest: context.digest, size: context.size } } }, response);
    for await (const chunk of createReadStream(context.file, { highWaterMark: UPLOAD_CHUNK_BYTES })) {
      await send(call, { msg: { $case: 'data', value: chunk as Buffer } }, response);
    }
    call.end();
    const stored = await response;
    if (stored.digest !== context.digest) {
      throw new ProtocolError(`the coordinator stored the context as ${stored.digest}, expected ${context.digest}`);
    }
    return stored;
  } catch (err) {
    call.cancel();
    throw err;
  } finally {
    signal?.removeEventListener('abort', abort);
  }
}

/** Writes one message; when the stream is full, waits for room or for the call to fail. */
async function send(call: ClientWritableStream<UploadContextRequest>, message: UploadContextRequest, response: Promise<unknown>): Promise<void> {
  if (call.write(message)) return;
  const drained = once(call, 'drain');
  drained.catch(() => {});
  await Promise.race([drained, response]);
}
