/*
 * Tar entries no tool would write: PAX global headers, symlinks with bodies, device nodes,
 * headers whose PAX records say one thing and ustar fields another. Written byte by byte, so
 * the tests control exactly what each reader sees (./tar-headers writes the plain ones).
 */

export interface CraftedEntry {
  /** The typeflag: '0' file, '1' hard link, '2' symlink, '3'/'4' devices, '5' dir, 'x'/'g' PAX. */
  type: string;
  body?: Buffer;
  link?: string;
  /** The size field when it should not be the body's length. */
  size?: number;
}

/** One header block and its padded body. */
export function crafted(name: string, entry: CraftedEntry): Buffer {
  const body = entry.body ?? Buffer.alloc(0);
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, 'utf8');
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${(entry.size ?? body.length).toString(8).padStart(11, '0')}\0`, 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148);
  header.write(entry.type, 156);
  if (entry.link) header.write(entry.link, 157, 100, 'utf8');
  header.write('ustar\u000000', 257);
  const sum = header.reduce((a, b) => a + b, 0);
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return Buffer.concat([header, body, Buffer.alloc((512 - (body.length % 512)) % 512)]);
}

/** A PAX header block ('x': for the next entry; 'g': global, for every later one) with these records. */
export function paxHeader(type: 'x' | 'g', records: Record<string, string>): Buffer {
  const body = Object.entries(records)
    .map(([key, value]) => {
      const rest = ` ${key}=${value}\n`;
      let len = Buffer.byteLength(rest) + 1;
      while (Buffer.byteLength(`${len}${rest}`) !== len) len = Buffer.byteLength(`${len}${rest}`);
      return `${len}${rest}`;
    })
    .join('');
  return crafted(type === 'g' ? 'pax_global_header' : 'PaxHeader/entry', { type, body: Buffer.from(body) });
}
