import type { Command } from 'commander';
import type { CommandContext } from '../command-context';
import { addSchedulesAddCommand } from './schedules-add';
import { addSchedulesListCommand, addSchedulesShowCommand } from './schedules-list';
import { addSchedulesRunCommand } from './schedules-run';
import { addSchedulesStateCommands } from './schedules-state';

const EXAMPLES = `
Examples:
  archfarm schedules add nightly --cron "0 3 * * *" --timezone Europe/Zurich \\
      --platform linux/amd64,linux/arm64 -t 127.0.0.1:5000/hello:1 --on-base-change .
  archfarm schedules
  archfarm schedules show nightly
  archfarm schedules run nightly     # one tick now
  archfarm schedules pause nightly
  archfarm schedules resume nightly
  archfarm schedules rm nightly
  archfarm builds --schedule nightly # the builds it started

A builder token manages the schedules it added; an admin token manages all.`;

/**
 * `archfarm schedules`: builds the coordinator runs on a cron. A group whose default is
 * `list`, as `archfarm builds` is `builds ls`.
 */
export function addSchedulesCommand(program: Command, ctx: CommandContext): void {
  const schedules = program
    .command('schedules')
    .description('rebuild on a cron, optionally only when a base image changed: add, list, show, run, pause, resume, rm')
    .addHelpText('after', EXAMPLES);
  addSchedulesListCommand(schedules, ctx);
  addSchedulesAddCommand(schedules, ctx);
  addSchedulesShowCommand(schedules, ctx);
  addSchedulesRunCommand(schedules, ctx);
  addSchedulesStateCommands(schedules, ctx);
}
