import { DIGEST } from '@archfarm/common';
import { BuildState, type BuildFinished } from '@archfarm/proto';
import { BuildCancelledError, BuildFailedError, ProtocolError } from '../errors';
import type { TextSink } from '../io';
import type { OutputFormat } from '../options';
import { buildStateName, modeName } from '../progress/format';
import type { BuildMonitor } from '../progress/monitor';

/** `archfarm build --output json`: the published index and where each platform came from. */
export interface BuildResultJson {
  digest: string;
  tag: string;
  platforms: { platform: string; digest: string; agent: string; mode: string }[];
}

export function buildResultJson(finished: BuildFinished): BuildResultJson {
  return {
    digest: finished.digest,
    tag: finished.tag,
    platforms: finished.platforms.map((p) => ({ platform: p.platform, digest: p.digest, agent: p.agent, mode: modeName(p.mode) })),
  };
}

/**
 * Turns the `finished` event into the command's result: on PUBLISHED prints the digest
 * (the only stdout line) or the JSON object; otherwise reports the failed platform's last
 * log lines through the monitor and throws the typed error.
 */
export function settleBuild(buildId: string, finished: BuildFinished, monitor: BuildMonitor, output: OutputFormat, stdout: TextSink): void {
  switch (finished.state) {
    case BuildState.BUILD_STATE_PUBLISHED:
      if (!DIGEST.test(finished.digest)) {
        throw new ProtocolError(`build ${buildId} was published but the coordinator sent no index digest ("${finished.digest}")`);
      }
      stdout.write(output === 'json' ? `${JSON.stringify(buildResultJson(finished))}\n` : `${finished.digest}\n`);
      return;
    case BuildState.BUILD_STATE_FAILED:
      throw failure(buildId, finished, monitor);
    case BuildState.BUILD_STATE_CANCELLED:
      throw new BuildCancelledError(buildId);
    default:
      throw new ProtocolError(`build ${buildId} ended in state "${buildStateName(finished.state)}", which is not final`);
  }
}

function failure(buildId: string, finished: BuildFinished, monitor: BuildMonitor): BuildFailedError {
  const platform = finished.failedPlatform || undefined;
  // The coordinator's message may already start with the platform; say it once.
  const reason = platform ? withoutPrefix(finished.error?.message, `${platform}: `) : finished.error?.message || undefined;
  if (platform) monitor.reportFailure(platform);
  const message = platform ? `${platform} failed: ${reason ?? 'no reason given'}` : (reason ?? `build ${buildId} failed`);
  return new BuildFailedError(buildId, platform, message, finished.error?.code || undefined);
}

function withoutPrefix(text: string | undefined, prefix: string): string | undefined {
  if (!text) return undefined;
  return text.startsWith(prefix) ? text.slice(prefix.length) : text;
}
