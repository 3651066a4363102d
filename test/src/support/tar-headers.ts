import { createHash } from 'node:crypto';

/**
 * Hand-made ustar entries. Tools refuse to write the hostile entries these tests need
 * (absolute paths, `..`, escaping links, devices), so the tests write the headers themselves.
 */
export function tarEntry(name: string, opts: { type?: string; body?: Buffer; link?: string; size?: number } = {}): Buffer {
  const body = opts.body ?? Buffer.alloc(0);
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, 'utf8');
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  // `size` only where a test wants the field to disagree with the body.
  header.write((opts.size ?? body.length).toString(8).padStart(11, '0') + '\0', 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148);
  header.write(opts.type ?? '0', 156);
  if (opts.link) header.write(opts.link, 157, 100, 'utf8');
  header.write('ustar\0', 257);
  header.write('00', 263);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  const padding = Buffer.alloc((512 - (body.length % 512)) % 512);
  return Buffer.concat([header, body, padding]);
}

/** A whole tar of the given entries, with the two zero blocks that end it. */
export function tarOf(...entries: Buffer[]): Buffer {
  return Buffer.concat([...entries, Buffer.alloc(1024)]);
}

export function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}
