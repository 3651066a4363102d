import type { ClientWritableStream } from '@grpc/grpc-js';
import type { AgentServiceClient, LogAck, LogChunk } from '@archfarm/proto';

const FLUSH_MS = 200;
const MAX_CHUNK = 64 * 1024;

/**
 * Ships one job attempt's log on its own UploadLog stream, so a burst of output never
 * delays the Connect stream's heartbeats. Lines are batched for FLUSH_MS; each chunk carries
 * its byte offset so the coordinator can drop a resent duplicate.
 */
export class LogShipper {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private offset = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly stream: ClientWritableStream<LogChunk>;
  private readonly ack: Promise<LogAck>;
  private blocked: Promise<void> | undefined;

  constructor(
    client: AgentServiceClient,
    private readonly jobId: string,
    private readonly attempt: number,
  ) {
    let stream!: ClientWritableStream<LogChunk>;
    this.ack = new Promise<LogAck>((resolve, reject) => {
      stream = client.uploadLog((err, res) => (err ? reject(err) : resolve(res)));
    });
    this.ack.catch(() => {}); // observed in close()
    this.stream = stream;
  }

  /** Adds one line (a newline is appended). */
  line(text: string): void {
    const bytes = Buffer.from(`${text}\n`);
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes >= MAX_CHUNK) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  /** Sends what is pending, ends the stream and waits for the coordinator's acknowledgement. */
  async close(): Promise<number> {
    this.flush();
    await this.blocked;
    this.stream.end();
    return (await this.ack).committed;
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pendingBytes === 0) return;
    const data = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    const chunk: LogChunk = { jobId: this.jobId, attempt: this.attempt, offset: this.offset, data };
    this.offset += data.length;
    // grpc-js queues writes even when write() returns false; remember to wait for 'drain'
    // before ending so close() does not race a full buffer.
    if (!this.stream.write(chunk)) this.blocked = new Promise((resolve) => this.stream.once('drain', () => resolve()));
  }
}
