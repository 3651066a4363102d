import { Header } from 'tar';

/** A regular file to put in a small in-memory tar. */
export interface TarFile {
  path: string;
  data: Buffer | string;
  /** Unix mode; default 0o644. */
  mode?: number;
}

const BLOCK = 512;
// A fixed time keeps the archive, and so BuildKit's cache key of a COPY, the same every run.
const EPOCH = new Date(0);

/**
 * A tar archive of a few generated files, as a build context (the probe's program and its
 * Dockerfile). The `tar` package writes headers; its Pack only reads from disk, so the
 * blocks are laid out here: header, data padded to 512 bytes, two empty blocks at the end.
 */
export function tarArchive(files: readonly TarFile[]): Buffer {
  const parts: Buffer[] = [];
  for (const file of files) {
    const data = typeof file.data === 'string' ? Buffer.from(file.data) : file.data;
    const header = Buffer.alloc(BLOCK);
    const fields = { path: file.path, mode: file.mode ?? 0o644, size: data.length, mtime: EPOCH, type: 'File' as const, uid: 0, gid: 0 };
    const needsPax = new Header(fields).encode(header);
    if (needsPax) throw new RangeError(`tarArchive: "${file.path}" needs a pax header; keep generated paths short`);
    parts.push(header, data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}
