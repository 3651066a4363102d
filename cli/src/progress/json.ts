import { StringDecoder } from 'node:string_decoder';
import { BuildMode, type BuildEvent, type ErrorInfo } from '@archfarm/proto';
import type { TextSink } from '../io';
import type { ReattachNote } from '../reattach';
import { buildStateName, jobStateName, modeName } from './format';
import { emit, type ContextNote, type ProgressRenderer } from './renderer';
import { jsonSafe } from './terminal-safe';

/** One JSON object per line on stderr, for machines; log bytes become `text`. */
export class JsonRenderer implements ProgressRenderer {
  /** Per platform, so a UTF-8 character split across chunks is decoded whole. */
  private readonly decoders = new Map<string, StringDecoder>();

  constructor(private readonly out: TextSink) {}

  context(note: ContextNote): void {
    this.write({ type: 'context', digest: note.digest, size: note.size, upload: note.uploading });
  }

  submitted(buildId: string, platforms: readonly string[]): void {
    this.write({ type: 'submitted', buildId, platforms });
  }

  event(event: BuildEvent): void {
    const json = eventToJson(event, (platform, data) => this.decode(platform, data));
    if (json) this.write(json);
  }

  lines(): void {}

  cancelling(buildId: string): void {
    this.write({ type: 'cancelling', buildId });
  }

  reattach(note: ReattachNote): void {
    this.write(note.type === 'lost' ? { type: 'reattaching', reason: note.reason } : { type: 'reattached' });
  }

  failureLog(): void {}

  close(): void {}

  private decode(platform: string, data: Uint8Array): string {
    let decoder = this.decoders.get(platform);
    if (!decoder) this.decoders.set(platform, (decoder = new StringDecoder('utf8')));
    return decoder.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }

  private write(obj: object): void {
    emit(this.out, jsonSafe(JSON.stringify(obj)));
  }
}

/**
 * The JSON line for a build event: `type` is the event's case, enums are lower-case
 * words ("running", "emulated"), `timeMs` is the coordinator's clock. Undefined for an
 * event this CLI does not know (a newer coordinator).
 */
export function eventToJson(event: BuildEvent, decode: (platform: string, data: Uint8Array) => string): object | undefined {
  const base = { buildId: event.buildId, timeMs: event.timeMs };
  const e = event.event;
  switch (e?.$case) {
    case 'job': {
      const { platform, state, agent, mode, digest, error, reason } = e.value;
      return { type: 'job', ...base, platform, state: jobStateName(state), agent, mode: eventMode(mode), digest, error: errorJson(error), reason };
    }
    case 'log': {
      const { platform, agent, mode, data, attempt } = e.value;
      return { type: 'log', ...base, platform, agent, mode: eventMode(mode), attempt, text: decode(platform, data) };
    }
    case 'waiting':
      return { type: 'waiting', ...base, platform: e.value.platform, reason: e.value.reason };
    case 'finished': {
      const f = e.value;
      const platforms = f.platforms.map((p) => ({ platform: p.platform, digest: p.digest, agent: p.agent, mode: modeName(p.mode) }));
      const leftOut = f.leftOut.map((p) => ({ platform: p.platform, error: errorJson(p.error) }));
      return { type: 'finished', ...base, state: buildStateName(f.state), digest: f.digest, tag: f.tag, platforms, error: errorJson(f.error), failedPlatform: f.failedPlatform, leftOut };
    }
    default:
      return undefined;
  }
}

/** Queued jobs have no mode yet: say nothing rather than guess. */
function eventMode(mode: BuildMode): string {
  return mode === BuildMode.BUILD_MODE_UNSPECIFIED ? '' : modeName(mode);
}

function errorJson(error: ErrorInfo | undefined): { code: string; message: string; kind: string } | null {
  return error ? { code: error.code, message: error.message, kind: error.kind } : null;
}
