import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { credentials, Metadata, type ClientWritableStream } from '@grpc/grpc-js';
import { COORDINATOR_TLS_NAME, versionHeaders } from '@archfarm/common';
import { BuildServiceClient, createClient, type BuildServiceService, type TypedClient, type UploadContextRequest, type UploadContextResponse } from '@archfarm/proto';

/** The CLI's chunk size for context uploads (cli/src/upload.ts). */
export const UPLOAD_CHUNK_BYTES = 256 * 1024;

/** A context as the CLI sends it: a tar file and its sha256 digest. */
export interface ContextTar {
  file: string;
  digest: string;
  size: number;
}

/** Packs `dir` with tar(1) into `file` and hashes it. */
export async function packContext(dir: string, file: string): Promise<ContextTar> {
  await promisify(execFile)('tar', ['-cf', file, '-C', dir, '.']);
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return { file, digest: `sha256:${hash.digest('hex')}`, size: (await stat(file)).size };
}

/** Streams the tar with UploadContext as the CLI does (header, then 256 KiB chunks, honouring 'drain'). */
export async function uploadContext(client: Pick<BuildServiceClient, 'uploadContext'>, context: ContextTar): Promise<UploadContextResponse> {
  let stream!: ClientWritableStream<UploadContextRequest>;
  const response = new Promise<UploadContextResponse>((resolve, reject) => {
    stream = client.uploadContext((err, res) => (err ? reject(err) : resolve(res)));
  });
  response.catch(() => {});
  const write = async (message: UploadContextRequest) => {
    if (!stream.write(message)) await Promise.race([once(stream, 'drain'), response]);
  };
  await write({ msg: { $case: 'header', value: { digest: context.digest, size: context.size } } });
  for await (const chunk of createReadStream(context.file, { highWaterMark: UPLOAD_CHUNK_BYTES })) {
    await write({ msg: { $case: 'data', value: chunk as Buffer } });
  }
  stream.end();
  return response;
}

/** The bench's calls as the CLI makes them: a deadline on each unary call, the bench's version headers. */
export type BuildCalls = TypedClient<BuildServiceClient, BuildServiceService>;

/** Settings of every client the bench makes (proto's createClient). */
export const BENCH_CLIENT = { headers: versionHeaders('bench') };

/** An operator's BuildService client: TLS trusting `caPem`, the API token as a bearer credential. */
export function operatorClient(address: string, caPem: string, token: string): BuildCalls {
  const tls = credentials.createSsl(Buffer.from(caPem));
  const bearer = credentials.createFromMetadataGenerator((_params, callback) => {
    const md = new Metadata();
    md.set('authorization', `Bearer ${token}`);
    callback(null, md);
  });
  const options = { 'grpc.ssl_target_name_override': COORDINATOR_TLS_NAME, 'grpc.default_authority': COORDINATOR_TLS_NAME };
  return createClient(BuildServiceClient, address, credentials.combineChannelCredentials(tls, bearer), options, BENCH_CLIENT);
}
