import { BuildMode, BuildState, JobState, type BuildEvent, type BuildFinished, type JobUpdate } from '@archfarm/proto';

/** Builders of BuildEvents for tests, with the defaults ts-proto would decode. */
export const ev = {
  job(platform: string, state: JobState, over: Partial<JobUpdate> = {}): BuildEvent {
    const value: JobUpdate = { platform, state, agent: '', mode: BuildMode.BUILD_MODE_UNSPECIFIED, digest: '', error: undefined, ...over };
    return { buildId: 'b1', timeMs: 1000, event: { $case: 'job', value } };
  },
  log(platform: string, agent: string, mode: BuildMode, text: string | Buffer): BuildEvent {
    const data = typeof text === 'string' ? Buffer.from(text) : text;
    return { buildId: 'b1', timeMs: 1001, event: { $case: 'log', value: { platform, agent, mode, data } } };
  },
  waiting(platform: string, reason: string): BuildEvent {
    return { buildId: 'b1', timeMs: 1002, event: { $case: 'waiting', value: { platform, reason } } };
  },
  finished(over: Partial<BuildFinished>): BuildEvent {
    const value: BuildFinished = { state: BuildState.BUILD_STATE_PUBLISHED, digest: '', tag: '', platforms: [], error: undefined, failedPlatform: '', ...over };
    return { buildId: 'b1', timeMs: 1003, event: { $case: 'finished', value } };
  },
};

/** A text sink that keeps what was written. */
export class Captured {
  text = '';
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
  get lines(): string[] {
    return this.text.split('\n').filter((l) => l !== '');
  }
}
