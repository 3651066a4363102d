/*
 * Tar entries no tool would write: PAX global headers, symlinks with bodies, device nodes,
 * headers whose PAX records say one thing and ustar fields another. Written byte by byte, so
 * the tests control exactly what each reader sees (through ./tar-headers' tarEntry).
 */
import { tarEntry } from './tar-headers';

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
  return tarEntry(name, entry);
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
