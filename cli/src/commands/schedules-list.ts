import type { Command } from 'commander';
import type { CommandContext } from '../command-context';
import type { ConnectionFlags } from '../connection-settings';
import { writeLine } from '../io';
import { choiceOption } from '../option-choices';
import { OUTPUT_CHOICES, parseChoice } from '../options';
import { terminalSafe } from '../progress/terminal-safe';
import { terminalWidth } from '../table';
import { parseScheduleName, withSchedules } from './schedules-client';
import { scheduleJson } from './schedules-json';
import { scheduleLines, schedulesTable } from './schedules-text';

const LIST_EXAMPLES = `
Examples:
  archfarm schedules
  archfarm schedules list --output json | jq -r '.[] | select(.paused | not) | .name'

NEXT is the next fire time in UTC (TZ says which clock the cron follows); LAST TICK is what
the newest tick did (built, skipped: its last build still ran, unchanged: --on-base-change
found nothing new, failed) and how long ago.`;

const SHOW_EXAMPLES = `
Examples:
  archfarm schedules show nightly
  archfarm schedules show nightly --output json | jq '.ticks[] | {dueAt, outcome, reason}'

Shows every field, the next five runs (in the schedule's time zone, then UTC) and the recent
ticks, newest first: cause (scheduled, missed: due while the coordinator was down, manual:
\`schedules run\`), outcome, reason, build id, git commit and the base digests per platform.`;

interface OutputFlags extends ConnectionFlags {
  output?: string;
}

/** `archfarm schedules list` (also `ls`, and `schedules` alone). */
export function addSchedulesListCommand(schedules: Command, ctx: CommandContext): void {
  schedules
    .command('list', { isDefault: true })
    .alias('ls')
    .description('list schedules: cron, time zone, next run, last tick, paused (the default)')
    .addOption(choiceOption('--output <format>', 'text (a table) or json (default: text)', OUTPUT_CHOICES))
    // Checked in the action, so `schedules nightly` says "unknown command" rather than "too many arguments".
    .allowExcessArguments()
    .addHelpText('after', LIST_EXAMPLES)
    .action((_flags: unknown, cmd: Command) => {
      const extra = cmd.args[0];
      if (extra !== undefined) cmd.error(`error: unknown command 'schedules ${extra}'; use add, list, show, run, pause, resume or rm`, { code: 'commander.unknownCommand' });
      return runSchedulesList(cmd.optsWithGlobals<OutputFlags>(), ctx);
    });
}

/** `archfarm schedules show NAME`. */
export function addSchedulesShowCommand(schedules: Command, ctx: CommandContext): void {
  schedules
    .command('show')
    .description('show a schedule: its build, the next five runs and its recent ticks')
    .argument('<NAME>', 'the schedule, as `archfarm schedules` lists it')
    .addOption(choiceOption('--output <format>', 'text or json (default: text)', OUTPUT_CHOICES))
    .addHelpText('after', SHOW_EXAMPLES)
    .action((name: string, _flags: unknown, cmd: Command) => runSchedulesShow(name, cmd.optsWithGlobals<OutputFlags>(), ctx));
}

export async function runSchedulesList(flags: OutputFlags, ctx: CommandContext, now = Date.now): Promise<void> {
  const output = parseChoice(flags.output ?? 'text', OUTPUT_CHOICES, '--output');
  await withSchedules(flags, ctx, async (client, address) => {
    const { schedules } = await client.listSchedules({});
    const sorted = [...schedules].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (output === 'json') writeLine(ctx.io.stdout, JSON.stringify(sorted.map(scheduleJson), null, 2));
    else if (sorted.length === 0) writeLine(ctx.io.stderr, `no schedules on the coordinator at ${address}; add one with \`archfarm schedules add\``);
    else for (const line of schedulesTable(sorted, now(), terminalWidth(ctx.io.stdout))) writeLine(ctx.io.stdout, line);
  });
}

export async function runSchedulesShow(nameArg: string, flags: OutputFlags, ctx: CommandContext): Promise<void> {
  const output = parseChoice(flags.output ?? 'text', OUTPUT_CHOICES, '--output');
  const name = parseScheduleName(nameArg);
  await withSchedules(flags, ctx, async (client) => {
    const schedule = await client.getSchedule({ name });
    if (output === 'json') writeLine(ctx.io.stdout, JSON.stringify(scheduleJson(schedule), null, 2));
    // Reasons quote registries and git servers: neutralised for the terminal.
    else for (const line of scheduleLines(schedule)) writeLine(ctx.io.stdout, terminalSafe(line));
  });
}
