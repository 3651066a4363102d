import { BuildMode, type ModeName, type PlannedJob } from '@archfarm/proto';
import type { BuildCalls } from '../client';
import { InterruptedError } from '../errors';
import type { Interrupts } from '../interrupts';
import { writeLine, type TextSink } from '../io';
import type { OutputFormat } from '../options';
import { modeName } from '../progress/format';
import { formatTable } from '../table';
import type { BuildOptions } from './build-options';
import { submitDeadlineMs, submitRequest } from './build-request';

/** One platform of `archfarm build --plan --output json`. */
export interface PlannedJobJson {
  platform: string;
  /** null when no agent can take the platform now. */
  agent: string | null;
  /** "native" or "emulated"; null when there is no agent. */
  mode: ModeName | null;
  /** The scheduler's words: why this agent and mode, or why none. */
  reason: string;
}

/**
 * `build --plan`: asks the coordinator where each platform would run, with the request a
 * build would send (the context already uploaded: the coordinator reads its Dockerfile).
 */
export async function planBuild(client: BuildCalls, opts: BuildOptions, contextDigest: string, interrupts: Interrupts): Promise<PlannedJob[]> {
  const call = client.planBuild(submitRequest(opts, contextDigest), { deadlineMs: submitDeadlineMs(opts) });
  // A plan builds nothing: on Ctrl-C just stop waiting; closing the client cancels the call.
  call.catch(() => {});
  const first = await Promise.race([call, interrupts.fired]);
  if (typeof first === 'string') throw new InterruptedError(first);
  return first.jobs;
}

/** The plan on stdout: a table, or the JSON array. */
export function printPlan(jobs: readonly PlannedJob[], output: OutputFormat, stdout: TextSink): void {
  if (output === 'json') writeLine(stdout, JSON.stringify(jobs.map(plannedJobJson), null, 2));
  else for (const line of planTable(jobs)) writeLine(stdout, line);
}

export function plannedJobJson(job: PlannedJob): PlannedJobJson {
  const placed = job.agent !== '';
  return {
    platform: job.platform,
    agent: placed ? job.agent : null,
    mode: placed && job.mode !== BuildMode.BUILD_MODE_UNSPECIFIED ? modeName(job.mode) : null,
    reason: job.reason,
  };
}

export function planTable(jobs: readonly PlannedJob[]): string[] {
  return formatTable([
    ['PLATFORM', 'AGENT', 'MODE', 'REASON'],
    ...jobs.map(plannedJobJson).map((j) => [j.platform, j.agent ?? '-', j.mode ?? '-', j.reason || '-']),
  ]);
}
