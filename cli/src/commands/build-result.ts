import { DIGEST } from '@archfarm/common';
import { BuildState, type BuildFinished, type ErrorInfo } from '@archfarm/proto';
import { BuildCancelledError, BuildFailedError, ProtocolError, PublishedPartiallyError } from '../errors';
import { writeLine, type TextSink } from '../io';
import type { OutputFormat } from '../options';
import { buildStateName, modeName } from '../progress/format';
import type { BuildMonitor } from '../progress/monitor';

/** An error as the JSON outputs show it. */
export interface ErrorJson {
  code: string;
  message: string;
  /** "build" (the Dockerfile or smoke test failed; never retried) or "infrastructure". */
  kind: string;
}

/** `archfarm build --output json`: the published index and where each platform came from. */
export interface BuildResultJson {
  digest: string;
  /** The first tag; `tags` has every one. */
  tag: string;
  tags: string[];
  platforms: { platform: string; digest: string; agent: string; mode: string }[];
  /** Platforms not in the index (--allow-partial); empty when every platform is in it. */
  leftOut: { platform: string; error: ErrorJson | null }[];
}

/** `archfarm build --detach --output json`. */
export interface DetachedJson {
  buildId: string;
}

export function errorJson(error: ErrorInfo | undefined): ErrorJson | null {
  return error ? { code: error.code, message: error.message, kind: error.kind } : null;
}

export function buildResultJson(finished: BuildFinished): BuildResultJson {
  return {
    digest: finished.digest,
    tag: finished.tag,
    tags: publishedTags(finished),
    platforms: finished.platforms.map((p) => ({ platform: p.platform, digest: p.digest, agent: p.agent, mode: modeName(p.mode) })),
    leftOut: finished.leftOut.map((p) => ({ platform: p.platform, error: errorJson(p.error) })),
  };
}

/** Every tag the index went under; an old coordinator says only `tag`. */
export function publishedTags(finished: BuildFinished): string[] {
  return finished.tags.length > 0 ? [...finished.tags] : [finished.tag].filter((t) => t !== '');
}

/** `build --detach`: the id alone, so `id=$(archfarm build --detach ...)` just works. */
export function printDetached(buildId: string, output: OutputFormat, stdout: TextSink): void {
  const json: DetachedJson = { buildId };
  writeLine(stdout, output === 'json' ? JSON.stringify(json) : buildId);
}

export interface Settlement {
  monitor: BuildMonitor;
  output: OutputFormat;
  stdout: TextSink;
  /** How many attempts the failed platform had, when known. */
  attempts?: number;
}

/**
 * Turns the `finished` event into the command's result: on PUBLISHED prints the digest
 * (the only stdout line) or the JSON object, then throws PublishedPartiallyError if
 * platforms were left out; otherwise reports the failed platform's last log lines
 * through the monitor and throws the typed error.
 */
export function settleBuild(buildId: string, finished: BuildFinished, how: Settlement): void {
  switch (finished.state) {
    case BuildState.BUILD_STATE_PUBLISHED:
      if (!DIGEST.test(finished.digest)) {
        throw new ProtocolError(`build ${buildId} was published but the coordinator sent no index digest ("${finished.digest}")`);
      }
      writeLine(how.stdout, how.output === 'json' ? JSON.stringify(buildResultJson(finished)) : finished.digest);
      if (finished.leftOut.length > 0) throw new PublishedPartiallyError(buildId, finished.leftOut);
      return;
    case BuildState.BUILD_STATE_FAILED:
      throw failure(buildId, finished, how);
    case BuildState.BUILD_STATE_CANCELLED:
      throw new BuildCancelledError(buildId);
    default:
      throw new ProtocolError(`build ${buildId} ended in state "${buildStateName(finished.state)}", which is not final`);
  }
}

function failure(buildId: string, finished: BuildFinished, how: Settlement): BuildFailedError {
  const platform = finished.failedPlatform || undefined;
  const { error } = finished;
  // The coordinator's message may already start with the platform; say it once.
  const reason = (platform ? withoutPrefix(error?.message, `${platform}: `) : error?.message) || 'no reason given';
  if (platform) how.monitor.reportFailure(platform);
  const message = `${platform ?? `build ${buildId}`} failed${kindNote(error, how.attempts)}: ${reason}`;
  return new BuildFailedError(buildId, platform, message, error?.code || undefined);
}

/**
 * " (build error)", " (infrastructure error, after 3 attempts)": whether to fix the
 * Dockerfile or the farm. The count matters only for infrastructure errors, the retried kind.
 */
export function kindNote(error: ErrorInfo | undefined, attempts: number | undefined): string {
  if (!error?.kind) return '';
  const after = error.kind === 'infrastructure' && attempts !== undefined && attempts > 1 ? `, after ${attempts} attempts` : '';
  return ` (${error.kind} error${after})`;
}

function withoutPrefix(text: string | undefined, prefix: string): string | undefined {
  if (!text) return undefined;
  return text.startsWith(prefix) ? text.slice(prefix.length) : text;
}
