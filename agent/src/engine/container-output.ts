import { StringDecoder } from 'node:string_decoder';

/** Longest line passed on; output without line ends (a binary blob) is cut into pieces this long. */
export const MAX_LINE_LENGTH = 64 * 1024;

const HEADER_SIZE = 8;
const STDERR = 2;

/**
 * Turns the output of a container without TTY, as the engine's attach endpoint sends it, into
 * lines. That stream is multiplexed: frames of an 8-byte header (stream 0/1/2, three zero bytes,
 * payload size as uint32 BE) and the payload. Each stream has its own partial line, so a line
 * written in pieces, or between lines of the other stream, stays whole.
 *
 * Not docker-modem's demuxStream: that one gives no end, and the partial lines need one.
 */
export class ContainerOutput {
  private buffered: Buffer = Buffer.alloc(0);
  private readonly stdout: LineSplitter;
  private readonly stderr: LineSplitter;

  constructor(onLine: (line: string) => void) {
    this.stdout = new LineSplitter(onLine);
    this.stderr = new LineSplitter(onLine);
  }

  /** Takes the next bytes of the stream, cut anywhere. */
  write(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= HEADER_SIZE) {
      const end = HEADER_SIZE + this.buffered.readUInt32BE(4);
      if (this.buffered.length < end) break;
      const splitter = this.buffered[0] === STDERR ? this.stderr : this.stdout;
      splitter.write(this.buffered.subarray(HEADER_SIZE, end));
      this.buffered = this.buffered.subarray(end);
    }
  }

  /** Passes on the partial last lines. A frame cut short (the stream was aborted) is dropped. */
  end(): void {
    this.stdout.end();
    this.stderr.end();
    this.buffered = Buffer.alloc(0);
  }
}

/** UTF-8 bytes in, lines out; a character split between two writes is kept whole. */
class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';

  constructor(private readonly onLine: (line: string) => void) {}

  write(bytes: Buffer): void {
    const lines = (this.partial + this.decoder.write(bytes)).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.emit(line);
    while (this.partial.length > MAX_LINE_LENGTH) {
      this.emit(this.partial.slice(0, MAX_LINE_LENGTH));
      this.partial = this.partial.slice(MAX_LINE_LENGTH);
    }
  }

  end(): void {
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    if (rest !== '') this.emit(rest);
  }

  private emit(line: string): void {
    this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  }
}
