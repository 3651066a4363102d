import type { Command } from 'commander';
import { formatGitSource } from '@archfarm/common';
import { JobState, type BuildDetails, type PlatformDetails } from '@archfarm/proto';
import { connectBuildService } from '../client';
import type { CommandContext } from '../command-context';
import { connect } from '../connection';
import type { ConnectionFlags } from '../connection-settings';
import { writeLine } from '../io';
import { choiceOption } from '../option-choices';
import { OUTPUT_CHOICES, parseChoice } from '../options';
import { buildStateName, jobStateName, modeName } from '../progress/format';
import { quoteShellWords } from '../shell-words';
import { formatLabels, formatTable, shortTime } from '../table';
import { inspectBuild, parseBuildId } from './build-id';
import { buildDetailsJson } from './build-details';
import { kindNote } from './build-result';

const EXAMPLES = `
Examples:
  archfarm builds inspect b7
  archfarm builds inspect b7 --output json | jq '.platforms[] | {platform, attempts: (.attempts | length)}'

Times are UTC. An attempt's outcome is running, succeeded, failed, cancelled, or lost
(its agent went away or its lease ran out; the job went back to the queue). Under each
platform's table, "attempt N on AGENT: ..." says why the scheduler chose that agent and mode.`;

interface InspectFlags extends ConnectionFlags {
  output?: string;
}

/** `archfarm builds inspect ID`: a build's state, its published digest, and every attempt of every platform. */
export function addBuildsInspectCommand(builds: Command, ctx: CommandContext): void {
  builds
    .command('inspect')
    .description("show a build: state, published digest, and each platform's attempts (agent, mode, times, outcome, error)")
    .argument('<ID>', 'the build id, as `archfarm build --detach` or `archfarm builds` print it')
    .addOption(choiceOption('--output <format>', 'text or json (default: text)', OUTPUT_CHOICES))
    .addHelpText('after', EXAMPLES)
    .action((id: string, _flags: unknown, cmd: Command) => runInspect(id, cmd.optsWithGlobals<InspectFlags>(), ctx));
}

export async function runInspect(idArg: string, flags: InspectFlags, ctx: CommandContext): Promise<void> {
  const output = parseChoice(flags.output ?? 'text', OUTPUT_CHOICES, '--output');
  const buildId = parseBuildId(idArg);
  const conn = await connect(flags, ctx);
  const { address } = conn;
  const client = connectBuildService(conn);
  try {
    const details = await inspectBuild(client, address, buildId);
    if (output === 'json') writeLine(ctx.io.stdout, JSON.stringify(buildDetailsJson(details), null, 2));
    else for (const line of inspectLines(details)) writeLine(ctx.io.stdout, line);
  } finally {
    client.close();
  }
}

/** The text form: the build's fields, then each platform with a table of its attempts. */
export function inspectLines(b: BuildDetails): string[] {
  const fields: [string, string][] = [
    ['build', b.buildId],
    ['tag', b.tag],
    ...(b.tags.length > 1 ? [['tags', b.tags.join(', ')] as [string, string]] : []),
    ['state', buildStateName(b.state)],
    ['digest', b.digest || '-'],
    ['created', shortTime(b.createdMs)],
    ['finished', shortTime(b.finishedMs)],
  ];
  if (b.git) fields.push(['git', formatGitSource(b.git)], ['commit', b.git.commit || '-']);
  if (b.schedule) fields.push(['schedule', b.schedule]);
  // Submission options appear only when set: most builds have none.
  if (b.timeoutSeconds > 0) fields.push(['timeout', `${b.timeoutSeconds}s`]);
  if (b.smokeCommand.length > 0) fields.push(['smoke', quoteShellWords(b.smokeCommand)]);
  if (b.allowPartial) fields.push(['partial', 'allowed']);
  if (b.emulation) fields.push(['emulation', b.emulation]);
  const labels = formatLabels(b.requireLabels);
  if (labels) fields.push(['require-label', labels]);
  if (b.error) fields.push(['error', `${b.error.message}${kindNote(b.error, undefined)}`]);
  const lines = formatTable(fields);
  for (const p of b.platforms) lines.push('', platformHeadline(p), ...attemptsTable(p));
  return lines;
}

/** "linux/arm64: succeeded, pushed sha256:…" or "linux/s390x: failed (build error): …". */
function platformHeadline(p: PlatformDetails): string {
  const state = jobStateName(p.state);
  const from = p.bases.length > 0 ? `, from ${p.bases.map((b) => `${b.ref}@${b.digest}`).join(', ')}` : '';
  if (p.state === JobState.JOB_STATE_SUCCEEDED && p.digest) return `${p.platform}: ${state}, pushed ${p.digest}${from}`;
  if (p.error) return `${p.platform}: ${state}${kindNote(p.error, p.attempts.length)}: ${p.error.message}`;
  return `${p.platform}: ${state}`;
}

/** The attempts, then why the scheduler placed each one where it did (reasons are long: not a column). */
function attemptsTable(p: PlatformDetails): string[] {
  if (p.attempts.length === 0) return ['  no attempt yet'];
  const reasons = p.attempts.filter((a) => a.reason).map((a) => `  attempt ${a.attempt} on ${a.agent || '-'}: ${a.reason}`);
  return [...attemptRows(p), ...reasons];
}

function attemptRows(p: PlatformDetails): string[] {
  return formatTable(
    [
      ['ATTEMPT', 'AGENT', 'MODE', 'START', 'END', 'OUTCOME', 'ERROR'],
      ...p.attempts.map((a) => [
        String(a.attempt),
        a.agent || '-',
        modeName(a.mode),
        shortTime(a.startedMs),
        shortTime(a.endedMs),
        a.outcome || '-',
        a.error ? `${a.error.kind || 'unknown'} error: ${a.error.message}` : '-',
      ]),
    ],
    '  ',
  );
}
