import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { credentials } from '@grpc/grpc-js';
import { COORDINATOR_TLS_NAME } from '@archfarm/common';
import { AgentServiceClient, createClient, type DataChunk } from '@archfarm/proto';
import { startCoordinator } from './lib/coordinator-process';
import { Knobs } from './lib/knobs';
import { runMain, say } from './lib/main';
import { BENCH_CLIENT, operatorClient, packContext, uploadContext, type ContextTar } from './lib/operator';
import { rawLoopbackCopy } from './lib/raw-copy';
import { publishResult } from './lib/results';
import { formatMs, formatNumber } from './lib/table';
import { benchPki, type BenchPki } from './sim/certs';

const NAME = 'context';
const MB = 1_000_000;

async function main(): Promise<void> {
  const knobs = new Knobs();
  const megabytes = knobs.int('CONTEXT_MB', 200, 50);
  const fanout = knobs.int('CONTEXT_AGENTS', 4, 4);
  const startedAt = new Date();
  const work = await mkdtemp(join(tmpdir(), 'archfarm-bench-context-'));
  const pki = await benchPki(fanout);
  const coordinator = await startCoordinator(['--data-dir', join(work, 'data'), '--tls-cert', pki.certFile, '--tls-key', pki.keyFile, '--client-ca', pki.caFile]);
  try {
    say(NAME, `making a ${megabytes} MB context of random bytes`);
    const context = await makeContext(work, megabytes);
    const mb = context.size / MB;
    const client = operatorClient(coordinator.address, pki.caPem, coordinator.adminToken);
    let t = Date.now();
    await uploadContext(client, context);
    const uploadMs = Date.now() - t;
    client.close();
    say(NAME, `uploaded in ${formatMs(uploadMs)}; fetching with ${fanout} agents at once`);
    t = Date.now();
    await Promise.all(pki.identities.slice(0, fanout).map((id, i) => fetchAsAgent(coordinator.address, pki, id, context.digest, join(work, `agent-${i}.tar`))));
    const fanoutMs = Date.now() - t;
    const rawOneMs = await rawLoopbackCopy(context.file, [join(work, 'raw-1.tar')]);
    const rawManyMs = await rawLoopbackCopy(context.file, Array.from({ length: fanout }, (_, i) => join(work, `raw-${fanout}-${i}.tar`)));
    const rate = (bytesMb: number, ms: number) => (bytesMb * 1000) / ms;
    const row = (what: string, ms: number, rawMs: number, copies: number) => [what, formatMs(ms), formatNumber(rate(mb * copies, ms)), formatNumber(rate(mb * copies, rawMs)), `${formatNumber((rate(mb * copies, ms) / rate(mb * copies, rawMs)) * 100)} %`];
    await publishResult({
      name: NAME,
      title: `Context: a ${formatNumber(mb)} MB context uploaded once and fanned out to ${fanout} agents`,
      startedAt: startedAt.toISOString(),
      durationMs: Date.now() - startedAt.getTime(),
      settings: knobs.settings(),
      reduced: knobs.reduced,
      table: {
        columns: ['transfer', 'time', 'archfarm MB/s', 'raw loopback MB/s', 'archfarm / raw'],
        rows: [row('upload (CLI → coordinator)', uploadMs, rawOneMs, 1), row(`fan-out (coordinator → ${fanout} agents at once, total)`, fanoutMs, rawManyMs, fanout)],
      },
      notes: [
        `The context: a Dockerfile and ${megabytes} MB of random bytes (incompressible), packed with tar(1): ${context.size} bytes, MB = 10^6 bytes.`,
        'Upload: UploadContext as the CLI sends it (256 KiB chunks, honouring flow control) over TLS with an operator token; the coordinator hashes it, checks it is a safe tar, and stores it in its data dir.',
        `Fan-out: ${fanout} FetchContext streams at once, each with its own agent certificate (mutual TLS), each hashed and written to disk as the agent's context cache does. MB/s counts all bytes delivered (${fanout} copies).`,
        `Raw loopback: in the same run, the same tar sent by a plain TCP server in another process over 127.0.0.1 to 1 and to ${fanout} receivers at once, written to disk, no TLS, gRPC or hashing: the ceiling of this machine.`,
      ],
      data: { bytes: context.size, uploadMs, fanoutMs, rawOneMs, rawManyMs, fanout },
    });
  } finally {
    await coordinator.stop();
    await rm(work, { recursive: true, force: true });
  }
}

async function makeContext(work: string, megabytes: number): Promise<ContextTar> {
  const dir = join(work, 'context');
  await mkdir(dir);
  await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY blob.bin /\n');
  const out = createWriteStream(join(dir, 'blob.bin'));
  for (let written = 0; written < megabytes * MB; written += MB) {
    if (!out.write(randomBytes(MB))) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  out.end();
  await finished(out);
  return packContext(dir, join(work, 'context.tar'));
}

/** What the agent's context cache does: FetchContext, hash, write to disk, check the digest. */
async function fetchAsAgent(address: string, pki: BenchPki, identity: BenchPki['identities'][number], digest: string, to: string): Promise<void> {
  const mtls = credentials.createSsl(Buffer.from(pki.caPem), Buffer.from(identity.keyPem), Buffer.from(identity.certPem));
  const client = createClient(AgentServiceClient, address, mtls, { 'grpc.ssl_target_name_override': COORDINATOR_TLS_NAME, 'grpc.default_authority': COORDINATOR_TLS_NAME }, BENCH_CLIENT);
  try {
    const hash = createHash('sha256');
    const out = createWriteStream(to);
    for await (const chunk of client.fetchContext({ digest }) as AsyncIterable<DataChunk>) {
      hash.update(chunk.data);
      if (!out.write(chunk.data)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    }
    out.end();
    await finished(out);
    const got = `sha256:${hash.digest('hex')}`;
    if (got !== digest) throw new Error(`${identity.name} fetched ${got}, expected ${digest}`);
  } finally {
    client.close();
  }
}

runMain(NAME, main);
