import type { ClientReadableStream } from '@grpc/grpc-js';
import type { BuildEvent, BuildServiceClient } from '@archfarm/proto';

/**
 * Follows a build's events (WatchBuild replays, then follows) until `until` returns a value;
 * resolves to it. Rejects after `timeoutMs` or when the stream ends first.
 */
export function watchUntil<T>(client: Pick<BuildServiceClient, 'watchBuild'>, buildId: string, until: (event: BuildEvent) => T | undefined, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const stream: ClientReadableStream<BuildEvent> = client.watchBuild({ buildId, resume: false, logs: [] });
    const timer = setTimeout(() => finish(() => reject(new Error(`build ${buildId}: nothing expected happened in ${timeoutMs} ms`))), timeoutMs);
    let done = false;
    const seen: string[] = [];
    const finish = (settle: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      stream.cancel();
      settle();
    };
    stream.on('data', (event: BuildEvent) => {
      if (event.event?.$case !== 'log') seen.push(JSON.stringify(event.event).slice(0, 300));
      const value = until(event);
      if (value !== undefined) finish(() => resolve(value));
    });
    stream.on('error', (err: Error) => finish(() => reject(err)));
    stream.on('end', () => finish(() => reject(new Error(`build ${buildId}: the event stream ended first; events:\n${seen.slice(-6).join('\n')}`))));
  });
}
