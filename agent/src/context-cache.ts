import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import type { AgentServiceClient, DataChunk } from '@archfarm/proto';
import { ContextCorruptError } from './errors';

/**
 * Build contexts fetched from the coordinator, kept by digest in the state dir so the
 * next platform of the same build (or a rebuild) does not fetch them again.
 */
export class ContextCache {
  constructor(
    private readonly dir: string,
    private readonly client: () => AgentServiceClient,
  ) {}

  /** The path of the context's tar, fetched and verified if it is not here yet. */
  async get(digest: string): Promise<string> {
    const path = join(this.dir, digest.replace(':', '-') + '.tar');
    if (await exists(path)) return path;
    await mkdir(this.dir, { recursive: true });
    const tmp = `${path}.${process.pid}.${Date.now()}.part`;
    try {
      const actual = await this.download(digest, tmp);
      if (actual !== digest) throw new ContextCorruptError(digest, actual);
      await rename(tmp, path);
      return path;
    } finally {
      await rm(tmp, { force: true });
    }
  }

  private async download(digest: string, to: string): Promise<string> {
    const hash = createHash('sha256');
    const out = createWriteStream(to);
    const call = this.client().fetchContext({ digest });
    for await (const chunk of call as AsyncIterable<DataChunk>) {
      hash.update(chunk.data);
      if (!out.write(chunk.data)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    }
    out.end();
    await finished(out);
    return `sha256:${hash.digest('hex')}`;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
