import { BuildMode, BuildState, JobState, type BuildEvent, type BuildFinished, type JobLog, type JobUpdate } from '@archfarm/proto';

/** Builders of BuildEvents for tests, with the defaults ts-proto would decode. */
export const ev = {
  job(platform: string, state: JobState, over: Partial<JobUpdate> = {}): BuildEvent {
    const value: JobUpdate = { platform, state, agent: '', mode: BuildMode.BUILD_MODE_UNSPECIFIED, digest: '', error: undefined, reason: '', ...over };
    return { buildId: 'b1', timeMs: 1000, event: { $case: 'job', value } };
  },
  /** `offset`: where `text` starts in the attempt's log (the CLI drops bytes it holds already). */
  log(platform: string, agent: string, mode: BuildMode, text: string | Buffer, attempt = 1, offset = 0): BuildEvent {
    return { buildId: 'b1', timeMs: 1001, event: { $case: 'log', value: jobLog(platform, agent, mode, text, attempt, offset) } };
  },
  waiting(platform: string, reason: string): BuildEvent {
    return { buildId: 'b1', timeMs: 1002, event: { $case: 'waiting', value: { platform, reason } } };
  },
  finished(over: Partial<BuildFinished>): BuildEvent {
    const value: BuildFinished = {
      state: BuildState.BUILD_STATE_PUBLISHED,
      digest: '',
      tag: '',
      platforms: [],
      error: undefined,
      failedPlatform: '',
      leftOut: [],
      tags: [],
      mediaType: '',
      size: 0,
      ...over,
    };
    return { buildId: 'b1', timeMs: 1003, event: { $case: 'finished', value } };
  },
};

export function jobLog(platform: string, agent: string, mode: BuildMode, text: string | Buffer, attempt = 1, offset = 0): JobLog {
  return { platform, agent, mode, data: typeof text === 'string' ? Buffer.from(text) : text, attempt, offset };
}

/** A sink that keeps what was written, as text and as the exact bytes. */
export class Captured {
  text = '';
  bytes = Buffer.alloc(0);
  write(chunk: string | Uint8Array): boolean {
    const bytes = Buffer.from(chunk);
    this.bytes = Buffer.concat([this.bytes, bytes]);
    this.text += typeof chunk === 'string' ? chunk : bytes.toString();
    return true;
  }
  get lines(): string[] {
    return this.text.split('\n').filter((l) => l !== '');
  }
}
