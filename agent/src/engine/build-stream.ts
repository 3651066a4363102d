import type { Readable } from 'node:stream';
import { buildkit } from '@archfarm/proto';
import { BuildkitProgress } from './buildkit-progress';
import { EngineUnavailableError } from './errors';
import { failureError } from './failure-error';
import { ResolveWatch } from './resolve-watch';
import type { BaseImage } from './engine';

/** One JSON message of the engine's /build response (the fields archfarm reads). */
interface BuildMessage {
  id?: string;
  aux?: unknown;
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/**
 * Reads the JSON-lines answer of `POST /build?version=2` to its end: BuildKit status records
 * (`{"id":"moby.buildkit.trace","aux":"<base64 StatusResponse>"}`) become readable lines,
 * `{"aux":{"ID":...}}` gives the image id and `{"error":...}` fails the build.
 * Resolves to the image id and the FROM images BuildKit resolved (its FROM steps are named
 * `[stage 1/3] FROM ref@sha256:...`); rejects with what `failed` makes of the engine's error
 * text (by default its classification, see failure-cause.ts), or EngineUnavailableError when
 * the answer ends without either (the engine went away mid-build).
 */
export async function readBuildStream(stream: Readable, onLog: (line: string) => void, options: ReadBuildOptions = {}): Promise<{ imageId: string; bases: BaseImage[] }> {
  const failed = options.failed ?? ((text: string) => Promise.resolve(failureError({ text }, { stage: 'build' })));
  const progress = new BuildkitProgress(onLog);
  const watch = new ResolveWatch(options.resolveTimeoutMs ?? DEFAULT_RESOLVE_TIMEOUT_MS);
  const state: StreamState = { bases: new Map(), watch };
  // Closing the answer is what stops the engine's build (as for a cancel).
  const timer = setInterval(() => {
    const overdue = watch.overdue();
    if (overdue) stream.destroy(overdue);
  }, Math.min(1000, options.resolveTimeoutMs ?? 1000));
  stream.setEncoding('utf8');
  // The start of a line not ended yet, in pieces: a status record of megabytes comes in many
  // chunks, and joining them once (not at every chunk) keeps that linear.
  const pending: string[] = [];
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      let at = 0;
      for (let nl = chunk.indexOf('\n'); nl !== -1; nl = chunk.indexOf('\n', at)) {
        pending.push(chunk.slice(at, nl));
        handleLine(pending.join(''), progress, onLog, state);
        pending.length = 0;
        at = nl + 1;
      }
      if (at < chunk.length) pending.push(chunk.slice(at));
      // Buffered chunks are iterated without a turn of the event loop; a burst of output
      // (the engine's answer piled up while the agent was busy) must not hold heartbeats.
      await new Promise((resolve) => setImmediate(resolve));
    }
    handleLine(pending.join(''), progress, onLog, state);
  } finally {
    clearInterval(timer);
    progress.end();
  }
  if (state.error !== undefined) throw await failed(state.error);
  if (state.imageId === undefined) throw new EngineUnavailableError('the engine ended the build without an image id or an error', undefined);
  return { imageId: state.imageId, bases: [...state.bases].map(([ref, digest]) => ({ ref, digest })) };
}

/** How long a FROM image's lookup may go unanswered before the build is given up as BASE_IMAGE_TIMEOUT. */
export const DEFAULT_RESOLVE_TIMEOUT_MS = 60_000;

export interface ReadBuildOptions {
  /** Makes the engine's error text a typed error; default its classification (failure-cause.ts). */
  failed?: (engineText: string) => Promise<Error>;
  /** Default DEFAULT_RESOLVE_TIMEOUT_MS. */
  resolveTimeoutMs?: number;
}

interface StreamState {
  imageId?: string;
  error?: string;
  bases: Map<string, string>;
  watch: ResolveWatch;
}

const FROM_STEP = /(?:^|\] )FROM (\S+)@(sha256:[0-9a-f]{64})/;

function handleLine(raw: string, progress: BuildkitProgress, onLog: (line: string) => void, state: StreamState): void {
  const line = raw.trim();
  if (line === '') return;
  let msg: BuildMessage;
  try {
    msg = JSON.parse(line) as BuildMessage;
  } catch {
    // Never forward what we cannot read: it may be a base64 blob.
    onLog(`(unreadable engine output, ${line.length} bytes)`);
    return;
  }
  if (msg.id === 'moby.buildkit.trace') {
    if (typeof msg.aux === 'string') writeStatus(msg.aux, progress, onLog, state);
    return;
  }
  const aux = msg.aux as { ID?: unknown } | undefined;
  if (aux && typeof aux === 'object' && typeof aux.ID === 'string') {
    state.imageId = aux.ID;
    return;
  }
  if (typeof msg.error === 'string' || msg.errorDetail?.message !== undefined) {
    state.error = msg.errorDetail?.message || msg.error || 'build failed';
    return;
  }
  const text = msg.stream ?? (msg.status !== undefined ? (msg.id ? `${msg.id}: ${msg.status}` : msg.status) : undefined);
  for (const part of text?.split('\n') ?? []) {
    if (part.trim() === '') continue;
    state.watch.line(part);
    onLog(part.replace(/\r$/, ''));
  }
}

function writeStatus(base64: string, progress: BuildkitProgress, onLog: (line: string) => void, state: StreamState): void {
  let status: buildkit.StatusResponse;
  try {
    status = buildkit.StatusResponse.decode(Buffer.from(base64, 'base64'));
  } catch {
    onLog(`(undecodable BuildKit status, ${base64.length} bytes)`);
    return;
  }
  for (const v of status.vertexes) {
    state.watch.vertex(v);
    const from = FROM_STEP.exec(v.name);
    if (from) state.bases.set(from[1]!, from[2]!);
  }
  progress.write(status);
}
