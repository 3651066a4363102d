import type { Command } from 'commander';
import { TickOutcome } from '@archfarm/proto';
import type { CommandContext } from '../command-context';
import type { ConnectionFlags } from '../connection-settings';
import { ScheduleTickFailedError } from '../errors';
import { writeLine } from '../io';
import { choiceOption } from '../option-choices';
import { OUTPUT_CHOICES, parseChoice } from '../options';
import { terminalSafe } from '../progress/terminal-safe';
import { GIT_SUBMIT_DEADLINE_MS } from './build-request';
import { parseScheduleName, withSchedules } from './schedules-client';
import { tickJson } from './schedules-json';
import { ranLines } from './schedules-text';

const EXAMPLES = `
Examples:
  archfarm schedules run nightly
  id=$(archfarm schedules run nightly --output json | jq -r .buildId) && archfarm logs -f "$id"

One tick now, as the cron would run it: it builds (and prints the build id), or says why not:
skipped (the schedule's last build still runs: a schedule never overlaps itself) or unchanged
(--on-base-change: no base image digest and no git commit changed). It does not wait for the
build. Exit status: 0 built, skipped or unchanged; 1 the tick failed (its reason is printed).`;

interface RunFlags extends ConnectionFlags {
  output?: string;
}

/** `archfarm schedules run NAME`: one tick now. */
export function addSchedulesRunCommand(schedules: Command, ctx: CommandContext): void {
  schedules
    .command('run')
    .description('run one tick of a schedule now: it builds, or says why not')
    .argument('<NAME>', 'the schedule, as `archfarm schedules` lists it')
    .addOption(choiceOption('--output <format>', 'text or json (default: text)', OUTPUT_CHOICES))
    .addHelpText('after', EXAMPLES)
    .action((name: string, _flags: unknown, cmd: Command) => runSchedulesRun(name, cmd.optsWithGlobals<RunFlags>(), ctx));
}

export async function runSchedulesRun(nameArg: string, flags: RunFlags, ctx: CommandContext): Promise<void> {
  const output = parseChoice(flags.output ?? 'text', OUTPUT_CHOICES, '--output');
  const name = parseScheduleName(nameArg);
  // A tick may fetch a git ref and resolve every base image in its registry before it submits.
  const tick = await withSchedules(flags, ctx, (client) => client.runSchedule({ name }, { deadlineMs: GIT_SUBMIT_DEADLINE_MS }));
  if (output === 'json') writeLine(ctx.io.stdout, JSON.stringify(tickJson(tick), null, 2));
  else for (const line of ranLines(name, tick)) writeLine(ctx.io.stdout, terminalSafe(line));
  if (tick.outcome === TickOutcome.TICK_OUTCOME_FAILED) throw new ScheduleTickFailedError(name, tick.reason);
}
