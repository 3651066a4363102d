import { SavedImageInvalidError } from './errors';

/** PAX records that hold times; BuildKit's rewrite-timestamp clamps all three. */
const TIME_KEYS = new Set(['mtime', 'atime', 'ctime']);

/** What clamping one PAX extended header gave. */
export interface ClampedPax {
  /** The records, re-encoded only where a time changed; the same Buffer when none did. */
  data: Buffer;
  clamped: number;
  /** A `size` record: the data length of the entry that follows. */
  size?: number;
}

/**
 * Clamps the time records of a PAX extended header ("%d %s=%s\n" each, the length counting
 * itself) to `epoch`. Every other record keeps its bytes; a clamped one is re-encoded with
 * its new length, so the header's size may shrink.
 */
export function clampPaxRecords(data: Buffer, epoch: number): ClampedPax {
  const parts: Buffer[] = [];
  let clamped = 0;
  let size: number | undefined;
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    const length = space > pos ? Number(data.toString('latin1', pos, space)) : NaN;
    if (!Number.isSafeInteger(length) || length <= space - pos || pos + length > data.length || data[pos + length - 1] !== 0x0a) {
      throw new SavedImageInvalidError('a layer tar has a malformed PAX record');
    }
    const record = data.subarray(pos, pos + length);
    const text = record.toString('utf8', space - pos + 1, length - 1);
    const eq = text.indexOf('=');
    const key = eq < 0 ? '' : text.slice(0, eq);
    const value = text.slice(eq + 1);
    if (key === 'size') size = Number(value);
    if (TIME_KEYS.has(key) && isLater(value, epoch)) {
      parts.push(paxRecord(key, String(epoch)));
      clamped++;
    } else {
      parts.push(record);
    }
    pos += length;
  }
  return { data: clamped ? Buffer.concat(parts) : data, clamped, ...(size !== undefined && { size }) };
}

/** True when a PAX time ("1700000000", "1700000000.25", "-3.5") is later than `epoch`. */
export function isLater(value: string, epoch: number): boolean {
  const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(value);
  if (!m) throw new SavedImageInvalidError(`a layer tar has a PAX time that is not a number: ${JSON.stringify(value)}`);
  if (m[1]) return false;
  const seconds = BigInt(m[2]!);
  const whole = BigInt(epoch);
  return seconds > whole || (seconds === whole && /[1-9]/.test(m[3] ?? ''));
}

/** One record; its length prefix counts its own digits, hence the loop. */
export function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  const bodyBytes = Buffer.byteLength(body);
  let length = bodyBytes + 1;
  while (String(length).length + bodyBytes !== length) length = String(length).length + bodyBytes;
  return Buffer.from(`${length}${body}`);
}
