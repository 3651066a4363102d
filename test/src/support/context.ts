import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testRegistry } from './registry';

/** The multi-platform busybox base image that scripts/test-base.sh pushes. */
export const baseImage = (): string => `${testRegistry()}/archfarm/base:1`;

/** A temporary build context holding `files` (name -> content). */
export async function makeContext(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'archfarm-ctx-'));
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  return dir;
}
