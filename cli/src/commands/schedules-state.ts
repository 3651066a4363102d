import type { Command } from 'commander';
import type { CommandContext } from '../command-context';
import type { ConnectionFlags } from '../connection-settings';
import { writeLine } from '../io';
import { parseScheduleName, withSchedules } from './schedules-client';
import { nextRunLines } from './schedules-text';

const PAUSE_HELP = `
Example:
  archfarm schedules pause nightly

The schedule stays, with its ticks and its pinned context, but fires no more until
\`archfarm schedules resume NAME\`; \`schedules run NAME\` still runs it by hand. stdout stays empty.`;

const RESUME_HELP = `
Example:
  archfarm schedules resume nightly

It fires again at its next cron time; ticks missed while paused are not run. stdout stays empty.`;

const RM_HELP = `
Example:
  archfarm schedules rm nightly

The schedule and its ticks are deleted; the builds it started stay (\`archfarm builds\`).
stdout stays empty.`;

/** `archfarm schedules pause NAME`, `resume NAME` and `rm NAME`: a note on stderr says what happened. */
export function addSchedulesStateCommands(schedules: Command, ctx: CommandContext): void {
  const name = ['<NAME>', 'the schedule, as `archfarm schedules` lists it'] as const;
  schedules
    .command('pause')
    .description('stop a schedule firing, until resumed')
    .argument(...name)
    .addHelpText('after', PAUSE_HELP)
    .action((n: string, _flags: unknown, cmd: Command) => runPause(n, true, cmd.optsWithGlobals<ConnectionFlags>(), ctx));
  schedules
    .command('resume')
    .description('let a paused schedule fire again')
    .argument(...name)
    .addHelpText('after', RESUME_HELP)
    .action((n: string, _flags: unknown, cmd: Command) => runPause(n, false, cmd.optsWithGlobals<ConnectionFlags>(), ctx));
  schedules
    .command('rm')
    .description('remove a schedule (its builds stay)')
    .argument(...name)
    .addHelpText('after', RM_HELP)
    .action((n: string, _flags: unknown, cmd: Command) => runRemove(n, cmd.optsWithGlobals<ConnectionFlags>(), ctx));
}

export async function runPause(nameArg: string, pause: boolean, flags: ConnectionFlags, ctx: CommandContext): Promise<void> {
  const name = parseScheduleName(nameArg);
  const schedule = await withSchedules(flags, ctx, (client) =>
    pause
      ? client.pauseSchedule({ name })
      : client.resumeSchedule({ name }),
  );
  if (pause) return writeLine(ctx.io.stderr, `paused schedule ${name}`);
  writeLine(ctx.io.stderr, schedule.nextRunsMs.length === 0 ? `resumed schedule ${name}` : `resumed schedule ${name}; next runs:`);
  for (const line of nextRunLines(schedule)) writeLine(ctx.io.stderr, line);
}

export async function runRemove(nameArg: string, flags: ConnectionFlags, ctx: CommandContext): Promise<void> {
  const name = parseScheduleName(nameArg);
  await withSchedules(flags, ctx, (client) => client.removeSchedule({ name }));
  writeLine(ctx.io.stderr, `removed schedule ${name}`);
}
