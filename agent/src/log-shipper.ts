import { appendFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { ClientWritableStream } from '@grpc/grpc-js';
import { errorMessage, type Logger } from '@archfarm/common';
import type { AgentServiceClient, LogAck, LogChunk } from '@archfarm/proto';

const FLUSH_MS = 200;
const MAX_CHUNK = 64 * 1024;
const RETRY_MS = 1000;

/**
 * Ships one job attempt's log. Every line goes first to a spool file in the state dir, then
 * to the coordinator on an UploadLog stream of its own (so a burst never delays heartbeats).
 * Each upload sends [committed, end) with byte offsets; after a failure the agent asks the
 * coordinator for its committed offset and resends from there, so a reconnect neither loses
 * nor doubles a byte.
 */
export class LogShipper {
  private size = 0;
  private committed = 0;
  private knowsOffset = true;
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  /** After close(): nothing more is scheduled, even if bytes are left (the job was abandoned). */
  private closed = false;

  constructor(
    private readonly client: () => AgentServiceClient,
    private readonly jobId: string,
    private readonly attempt: number,
    readonly spoolPath: string,
    private readonly logger: Logger,
  ) {
    appendFileSync(spoolPath, '');
  }

  /** Adds one line (a newline is appended). */
  line(text: string): void {
    if (this.closed) return;
    const bytes = Buffer.from(`${text}\n`);
    appendFileSync(this.spoolPath, bytes);
    this.size += bytes.length;
    this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  /**
   * Uploads everything, retrying until the coordinator has it all or `giveUp` aborts (the
   * job was abandoned). Resolves to the committed offset.
   */
  async close(giveUp: AbortSignal): Promise<number> {
    clearTimeout(this.timer);
    this.timer = undefined;
    try {
      while (this.committed < this.size && !giveUp.aborted) {
        await (this.sending ?? this.startSend());
        if (this.committed < this.size && !giveUp.aborted) await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
      return this.committed;
    } finally {
      this.closed = true;
      clearTimeout(this.timer);
    }
  }

  private flush(): void {
    this.timer = undefined;
    if (!this.sending) void this.startSend();
  }

  private startSend(): Promise<void> {
    this.sending = this.send()
      .catch((err: unknown) => {
        this.knowsOffset = false;
        this.logger.debug({ jobId: this.jobId, err: errorMessage(err) }, 'log upload failed; will resend from the committed offset');
      })
      .finally(() => {
        this.sending = undefined;
        if (this.committed < this.size && !this.closed) this.timer ??= setTimeout(() => this.flush(), this.knowsOffset ? FLUSH_MS : RETRY_MS);
      });
    return this.sending;
  }

  private async send(): Promise<void> {
    if (!this.knowsOffset) {
      this.committed = await this.askOffset();
      this.knowsOffset = true;
    }
    const end = this.size;
    if (this.committed >= end) return;
    let stream!: ClientWritableStream<LogChunk>;
    const ack = new Promise<LogAck>((resolve, reject) => {
      stream = this.client().uploadLog((err, res) => (err ? reject(err) : resolve(res)));
    });
    ack.catch(() => {}); // a broken stream rejects it before we await it
    const file = await open(this.spoolPath, 'r');
    try {
      for (let offset = this.committed; offset < end; ) {
        const buffer = Buffer.alloc(Math.min(MAX_CHUNK, end - offset));
        const { bytesRead } = await file.read(buffer, 0, buffer.length, offset);
        if (bytesRead === 0) break;
        const chunk: LogChunk = { jobId: this.jobId, attempt: this.attempt, offset, data: buffer.subarray(0, bytesRead) };
        if (!stream.write(chunk)) await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
        offset += bytesRead;
      }
    } finally {
      await file.close();
      stream.end();
    }
    this.committed = (await ack).committed;
  }

  private askOffset(): Promise<number> {
    return new Promise((resolve, reject) =>
      this.client().logOffset({ jobId: this.jobId, attempt: this.attempt }, (err, res) => (err ? reject(err) : resolve(res.committed))),
    );
  }
}
